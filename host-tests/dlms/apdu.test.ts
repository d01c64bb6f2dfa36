import assert from "node:assert/strict";
import fc from "fast-check";
import { AssociationResult, Context, decodeAare, encodeAarq, Mechanism, UserDiagnostic } from "../../firmware/dlms/apdu/acse.js";
import { decodeInitiateAnswer, decodeResponse, encodeGetNormal, encodeInitiateRequest } from "../../firmware/dlms/apdu/xdlms.js";
import { decode, DecodeError, encode } from "../../firmware/dlms/axdr/codec.js";
import { Tag, type Data } from "../../firmware/dlms/axdr/data.js";
import { scaledValue } from "../../firmware/dlms/cosem/classes.js";
import { decodeDateTime, encodeDateTime } from "../../firmware/dlms/cosem/date-time.js";
import { Obis } from "../../firmware/dlms/cosem/obis.js";
import { byRange } from "../../firmware/dlms/cosem/profile.js";
import { scaledText } from "../../firmware/dlms/cosem/units.js";
import { checkHlsResponse, hlsResponse, openApdu, parseCiphered, sealApdu } from "../../firmware/dlms/security/ciphering.js";
import type { CryptoService } from "../../hal/system.js";
import { aesGcmOpenSync, aesGcmSealSync } from "../../hal/sim/aes-gcm.js";
import { SoftSha256 } from "../../hal/sim/sha256.js";
import { DLMS_COSEM, GREEN_BOOK, hex, toHex } from "./vectors.js";

/** The software AES-GCM answering at once (these tests check bytes, not turns). */
const crypto: CryptoService = {
  verifyEd25519: (_m, _s, _k, cb) => cb(false),
  aesGcmSeal: (k, iv, aad, p, t, cb) => cb(aesGcmSealSync(k, iv, aad, p, t)),
  aesGcmOpen: (k, iv, aad, c, t, cb) => cb(aesGcmOpenSync(k, iv, aad, c, t)),
  secretboxSeal: (_k, _n, _p, cb) => cb(undefined),
  secretboxOpen: (_k, _n, _b, cb) => cb(undefined),
  sha256: () => new SoftSha256(),
};
const KEYS = { encryptionKey: GREEN_BOOK.encryptionKey, authenticationKey: GREEN_BOOK.authenticationKey };

function sync<T>(f: (done: (v: T) => void) => void): T {
  let out: { v: T } | undefined;
  f((v) => (out = { v }));
  assert.ok(out, "answered");
  return out.v;
}

describe("dlms/security: AES-GCM (hal/sim, @noble/ciphers) against NIST SP 800-38D test cases", () => {
  const zero16 = new Uint8Array(16);
  const zero12 = new Uint8Array(12);
  it("GCM test case 1: empty plaintext, zero key and IV", () => {
    assert.equal(toHex(aesGcmSealSync(zero16, zero12, new Uint8Array(0), new Uint8Array(0), 16)!), "58E2FCCEFA7E3061367F1D57A4E7455A");
  });
  it("GCM test case 2: one zero block", () => {
    assert.equal(toHex(aesGcmSealSync(zero16, zero12, new Uint8Array(0), zero16, 16)!), "0388DACE60B6A392F328C2B971B2FE78AB6E47D42CEC13BDF53A67B21257BDDF");
  });
  it("a truncated tag opens only the bytes it sealed", () => {
    const sealed = aesGcmSealSync(zero16, zero12, Uint8Array.of(1), zero16, 12)!;
    assert.deepEqual(aesGcmOpenSync(zero16, zero12, Uint8Array.of(1), sealed, 12), zero16);
    assert.equal(aesGcmOpenSync(zero16, zero12, Uint8Array.of(2), sealed, 12), undefined, "other AAD");
    sealed[3] = sealed[3]! ^ 1;
    assert.equal(aesGcmOpenSync(zero16, zero12, Uint8Array.of(1), sealed, 12), undefined, "a flipped bit");
  });
});

describe(`dlms/security: suite 0 against the Green Book examples (${DLMS_COSEM} tests/test_security.py, tests/test_xdlms/test_initiate.py)`, () => {
  it("the clock GET sealed by the server's title with IC 0x01234567", () => {
    const c = sync<Uint8Array | undefined>((d) => sealApdu(crypto, KEYS, GREEN_BOOK.serverSystemTitle, 0x01234567, GREEN_BOOK.getClock, d))!;
    assert.equal(toHex(c), "C81E3001234567" + toHex(GREEN_BOOK.getClockSealed));
    const opened = sync<{ ok: boolean; apdu?: Uint8Array }>((d) => openApdu(crypto, KEYS, GREEN_BOOK.serverSystemTitle, parseCiphered(c), d));
    assert.equal(opened.ok && toHex(opened.apdu!), toHex(GREEN_BOOK.getClock));
    const other = sync<{ ok: boolean }>((d) => openApdu(crypto, { ...KEYS, authenticationKey: new Uint8Array(16) }, GREEN_BOOK.serverSystemTitle, parseCiphered(c), d));
    assert.equal(other.ok, false, "a wrong AK does not open it");
  });

  it("an InitiateRequest with a dedicated key, and its glo-initiateRequest", () => {
    const plain = encodeInitiateRequest({ dedicatedKey: hex("00112233445566778899AABBCCDDEEFF"), conformance: 0x007e1f, maxReceivePduSize: 1200 });
    assert.equal(toHex(plain), toHex(GREEN_BOOK.initiateWithKey));
    const c = sync<Uint8Array | undefined>((d) => sealApdu(crypto, KEYS, GREEN_BOOK.serverSystemTitle, 0x01234567, plain, d))!;
    assert.equal(toHex(c), toHex(GREEN_BOOK.gloInitiate));
  });

  it("HLS pass 3: f(StoC) = SC | IC | GMAC, and its check", () => {
    const f = sync<Uint8Array | undefined>((d) => hlsResponse(crypto, KEYS, GREEN_BOOK.clientSystemTitle, 1, GREEN_BOOK.stoc, d))!;
    assert.equal(toHex(f), "1000000001" + toHex(GREEN_BOOK.stocGmac));
    assert.equal(sync<number | undefined>((d) => checkHlsResponse(crypto, KEYS, GREEN_BOOK.clientSystemTitle, GREEN_BOOK.stoc, f, d)), 1);
    f[16] = f[16]! ^ 1;
    assert.equal(sync<number | undefined>((d) => checkHlsResponse(crypto, KEYS, GREEN_BOOK.clientSystemTitle, GREEN_BOOK.stoc, f, d)), undefined);
  });
});

describe(`dlms/apdu: ACSE and xDLMS against published encodings (${DLMS_COSEM} tests/test_asce, tests/test_xdlms)`, () => {
  it("AARQ without security (conformance 00 1E 1D, PDU 65535)", () => {
    const aarq = encodeAarq({ context: Context.logicalName, mechanism: Mechanism.none, userInformation: encodeInitiateRequest({ conformance: 0x001e1d, maxReceivePduSize: 0xffff }) });
    assert.equal(toHex(aarq), "601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF");
  });

  it("AARQ with LLS, password 12345678", () => {
    const aarq = encodeAarq({ context: Context.logicalName, mechanism: Mechanism.lls, authenticationValue: hex("3132333435363738"), userInformation: encodeInitiateRequest({ conformance: 0x007e1f, maxReceivePduSize: 1200 }) });
    assert.equal(toHex(aarq), "6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738BE10040E01000000065F1F0400007E1F04B0");
  });

  it("AARQ ciphered, with the client's title and the glo-initiateRequest", () => {
    const aarq = encodeAarq({ context: Context.logicalNameCiphered, mechanism: Mechanism.lls, systemTitle: GREEN_BOOK.serverSystemTitle, authenticationValue: hex("3132333435363738"), userInformation: GREEN_BOOK.gloInitiate });
    assert.equal(toHex(aarq), "6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A80083132333435363738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855");
  });

  it("AARE: accepted; context refused; DLMS version refused; HLS pending with the server's challenge", () => {
    const ok = decodeAare(hex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007"));
    assert.equal(ok.result, AssociationResult.accepted);
    assert.deepEqual(decodeInitiateAnswer(ok.userInformation!), { ok: true, response: { conformance: 0x00501f, maxReceivePduSize: 500, vaaName: 7 } });
    const context = decodeAare(hex("6129A109060760857405080101A203020101A305A103020102BE10040E0800065F1F040000501F01F40007"));
    assert.deepEqual([context.result, context.diagnostic], [AssociationResult.rejectedPermanent, UserDiagnostic.contextNotSupported]);
    const version = decodeAare(hex("611FA109060760857405080101A203020101A305A103020101BE0604040E010601"));
    assert.deepEqual(decodeInitiateAnswer(version.userInformation!), { ok: false, error: { service: "initiate", code: 1 } });
    const hls = decodeAare(hex("6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146BE10040E0800065F1F040000501F01F40007"));
    assert.deepEqual([hls.diagnostic, hls.mechanism, toHex(hls.authenticationValue!)], [UserDiagnostic.authenticationRequired, Mechanism.hlsGmac, "503677524A323146"]);
  });

  it("GET requests: normal with the Green Book's invoke byte C1, and by range on a profile", () => {
    assert.equal(toHex(encodeGetNormal(1, { classId: 8, ln: Obis.clock, index: 2 })), "C001C100080000010000FF0200");
    // tests/test_xdlms/test_selective_access.py: the range descriptor's frame up to its dates, and "all columns" after them.
    const bytes = toHex(encodeGetNormal(1, { classId: 7, ln: Obis.loadProfile1, index: 2, access: byRange(1_600_000_000, 1_600_086_400, -60) }));
    assert.ok(bytes.startsWith("C001C1000701006301 00FF 020101 0204 0204 120008 09060000010000FF 0F02 120000 090C".replace(/ /g, "")));
    assert.ok(bytes.endsWith("0100"));
  });

  it("GET, SET and ACTION responses as published", () => {
    assert.deepEqual(decodeResponse(hex("C401C1000600001391")), { kind: "get", invokeId: 1, results: [{ ok: true, data: { tag: Tag.doubleLongUnsigned, value: 0x1391 } }] });
    assert.deepEqual(decodeResponse(hex("C401C10101")), { kind: "get", invokeId: 1, results: [{ ok: false, result: 1 }] });
    assert.deepEqual(decodeResponse(hex("C402C101000000130101")), { kind: "get-block", invokeId: 1, last: true, block: 0x13, raw: undefined, result: 1 });
    const list = decodeResponse(hex("C403C102000910" + toHex(Uint8Array.from("ISK1030777764366", (c) => c.charCodeAt(0))) + "00090C07E50603040E091700FFC400"));
    assert.equal(list.kind === "get" && list.results.length, 2);
    assert.deepEqual(decodeResponse(hex("C501C100")), { kind: "set", invokeId: 1, result: 0 });
    assert.deepEqual(decodeResponse(hex("C701C00000")), { kind: "action", invokeId: 0, result: 0, data: undefined });
    assert.deepEqual(decodeResponse(hex("C701C0000101FA")), { kind: "action", invokeId: 0, result: 0, data: { ok: false, result: 250 } });
    const block = decodeResponse(hex("C402C1000000000100820203" + "01820000" + "00".repeat(0x0203 - 4)));
    assert.equal(block.kind === "get-block" && block.raw!.length, 0x203);
  });
});

describe("dlms/axdr: values", () => {
  it("date-time: the Green Book's set-clock value is 2021-01-24 14:48:57 at deviation −60, i.e. 13:48:57 UTC", () => {
    const t = decodeDateTime(hex("07E50118FF0E303950FFC400"))!;
    assert.deepEqual(t, { epochS: Date.UTC(2021, 0, 24, 13, 48, 57) / 1000, deviation: -60, status: 0 });
    assert.deepEqual(decodeDateTime(encodeDateTime(t.epochS!, -60, 0x80)), { ...t, status: 0x80 });
    assert.equal(decodeDateTime(hex("FFFFFFFFFFFFFFFFFF800000"))!.epochS, undefined, "not specified");
    assert.equal(decodeDateTime(hex("07E5021EFF0E303950FFC400")), undefined, "30 February");
  });

  it("scaler and unit: integers stay exact decimals, 64-bit ones beyond 2^53 too", () => {
    assert.equal(scaledText("8048375", -3), "8048.375");
    assert.equal(scaledText("-5", -2), "-0.05");
    assert.equal(scaledText("12", 2), "1200");
    assert.equal(scaledText("0", 3), "0");
    assert.deepEqual(scaledValue({ tag: Tag.long64Unsigned, value: 12345678901234567891n }, { scaler: -3, unit: 30 }), { text: "12345678901234567.891", unit: "Wh" });
    assert.deepEqual(scaledValue({ tag: Tag.longUnsigned, value: 23012 }, { scaler: -2, unit: 35 }), { text: "230.12", unit: "V" });
    assert.deepEqual(scaledValue({ tag: Tag.float32, value: 0.5 }, { scaler: 3, unit: 27 }), { text: "500", unit: "W" });
  });

  const data: fc.Arbitrary<Data> = fc.letrec<{ d: Data }>((tie) => ({
    d: fc.oneof(
      { depthSize: "small" },
      fc.constant<Data>({ tag: Tag.null }),
      fc.boolean().map((value): Data => ({ tag: Tag.boolean, value })),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value): Data => ({ tag: Tag.doubleLong, value })),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((value): Data => ({ tag: Tag.doubleLongUnsigned, value })),
      fc.integer({ min: -128, max: 127 }).map((value): Data => ({ tag: Tag.integer, value })),
      fc.integer({ min: 0, max: 65535 }).map((value): Data => ({ tag: Tag.longUnsigned, value })),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value): Data => ({ tag: Tag.long64Unsigned, value })),
      fc.uint8Array({ maxLength: 300 }).map((bytes): Data => ({ tag: Tag.octetString, bytes })),
      fc.array(tie("d"), { maxLength: 5 }).map((items): Data => ({ tag: Tag.structure, items })),
      fc.array(tie("d"), { maxLength: 5 }).map((items): Data => ({ tag: Tag.array, items })),
    ),
  })).d;

  it("property: every Data decodes back to itself", () => {
    fc.assert(fc.property(data, (d) => assert.deepEqual(decode(encode(d)), d)), { numRuns: 300 });
  });

  it("fuzz: random and mangled A-XDR either decodes or is a DecodeError, never anything else", () => {
    fc.assert(
      fc.property(data, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), fc.uint8Array({ maxLength: 64 }), (d, flips, noise) => {
        const bytes = Uint8Array.from([...encode(d), ...noise]);
        for (const [at, v] of flips) if (bytes.length) bytes[at % bytes.length] = v;
        for (const input of [bytes, noise]) {
          try {
            decode(input);
          } catch (e) {
            assert.ok(e instanceof DecodeError, String(e));
          }
          try {
            decodeResponse(input);
          } catch (e) {
            assert.ok(e instanceof DecodeError, String(e));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("a compact array decodes to its elements; nesting beyond the limit is refused", () => {
    // compact-array of 3 long-unsigned: description 12, contents 6 bytes.
    assert.deepEqual(decode(hex("13 12 06 0001 0002 0003")), { tag: Tag.array, items: [1, 2, 3].map((value) => ({ tag: Tag.longUnsigned, value })) });
    const deep = hex("0201".repeat(40) + "00");
    assert.throws(() => decode(deep), DecodeError);
  });
});
