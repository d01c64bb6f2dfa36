import assert from "node:assert/strict";
import fc from "fast-check";
import { hexDecode, hexEncode } from "../../firmware/modem/ascii.js";
import { APP_IEI, AppKind, appElement, findAppHeader } from "../../firmware/modem/sms/app-header.js";
import { gsm7Text, unpackSeptets } from "../../firmware/modem/sms/gsm7.js";
import { decodePdu, deliveryOutcome, encodeSubmit, isValidNumber, MAX_USER_DATA_OCTETS, type DecodeResult, type PduErrorCode } from "../../firmware/modem/sms/pdu.js";
import { decodeSubmit, encodeDeliver, encodeStatusReport } from "../../hal/sim/modem/sms-tpdu.js";

/** Annotated hex → bytes: on each line, the hex tokens before the first word of comment. */
function h(annotated: string): Uint8Array {
  let hex = "";
  for (const line of annotated.split("\n")) {
    for (const token of line.trim().split(/\s+/)) {
      if (!/^([0-9A-Fa-f]{2})+$/.test(token)) break;
      hex += token;
    }
  }
  return hexDecode(hex)!;
}

const SCA = "07 91 04 07 00 00 01 F0"; // 7 octets: international, +40700000100

describe("SMS PDU: decoding", () => {
  it("decodes an 8-bit SMS-DELIVER with the application header", () => {
    const pdu = h(`
      ${SCA}
      44                     first octet: DELIVER, more-messages-to-send clear, UDHI
      0B 91 04 07 00 00 09 F0  OA: 11 digits, international, +40700000900
      00                     PID
      04                     DCS: 8-bit data
      62 10 20 30 40 50 00   SCTS: 2026-01-02 03:04:05 +00
      09                     UDL: 9 octets
      05 80 03 01 12 34      UDH: IEI 0x80, length 3, kind 1, reference 0x1234
      43 4D 44               data
    `);
    const r = decodePdu(pdu);
    assert.ok(r.ok && r.pdu.type === "deliver");
    assert.deepEqual(r.pdu.from, { kind: "international", text: "+40700000900" });
    assert.equal(r.pdu.alphabet, "8bit");
    assert.deepEqual(r.pdu.timestamp, { year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, zoneQuarterHours: 0 });
    assert.deepEqual(Array.from(r.pdu.data), [0x43, 0x4d, 0x44]);
    assert.deepEqual(findAppHeader(r.pdu.header), { kind: AppKind.dataConfirm, ref: 0x1234 });
  });

  it("decodes the classic 7-bit example \"hellohello\" (subscriber number, time zone +2 h)", () => {
    const r = decodePdu(h("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"));
    assert.ok(r.ok && r.pdu.type === "deliver");
    assert.deepEqual(r.pdu.from, { kind: "other", text: "27838890001" });
    assert.equal(r.pdu.alphabet, "gsm7");
    assert.equal(gsm7Text(r.pdu.data), "hellohello");
    assert.equal(r.pdu.timestamp.zoneQuarterHours, 8);
    assert.equal(r.pdu.timestamp.month, 3);
  });

  it("decodes an alphanumeric sender", () => {
    const septets = Array.from("Operator", (c) => c.charCodeAt(0));
    const packed = pack(septets);
    const pdu = new Uint8Array([...h(SCA), 0x04, septets.length * 2 - 2, 0xd0, ...packed, 0x00, 0x04, ...h("62102030405000"), 0x01, 0x55]);
    const r = decodePdu(pdu);
    assert.ok(r.ok && r.pdu.type === "deliver");
    assert.deepEqual(r.pdu.from, { kind: "alphanumeric", text: "Operator" });
  });

  it("decodes an SMS-STATUS-REPORT", () => {
    const pdu = h(`
      ${SCA}
      06                     first octet: STATUS-REPORT
      2A                     TP-MR 42
      0B 91 04 07 00 00 09 F0  recipient +40700000900
      62 10 20 30 40 50 00   SCTS
      62 10 20 30 41 50 29   discharge time, 14 minutes; zone: bit 3 = minus, 1·10 + 2 = 12 quarters
      00                     TP-ST: received by the SME
    `);
    const r = decodePdu(pdu);
    assert.ok(r.ok && r.pdu.type === "status-report");
    assert.equal(r.pdu.messageRef, 42);
    assert.equal(r.pdu.recipient.text, "+40700000900");
    assert.equal(r.pdu.status, 0);
    assert.equal(r.pdu.dischargeTime.minute, 14);
    assert.equal(r.pdu.dischargeTime.zoneQuarterHours, -12);
  });

  const errors: Array<[string, string, PduErrorCode]> = [
    ["an SCA longer than the PDU", "07 91 04", "truncated"],
    ["nothing after the SCA", SCA, "truncated"],
    ["a SUBMIT (not for us)", `${SCA} 01 00 0B 91 04 07 00 00 09 F0 00 04 00`, "unsupported-type"],
    ["a reserved message type", `${SCA} 03`, "unsupported-type"],
    ["a filler digit inside the number", `${SCA} 04 0B 91 04 F7 00 00 09 F0 00 04 62102030405000 00`, "bad-address"],
    ["a number of 21 digits", `${SCA} 04 15 91 0000000000000000000000 00 04 62102030405000 00`, "bad-address"],
    ["month 13", `${SCA} 04 0B 91 04 07 00 00 09 F0 00 04 62312030405000 00`, "bad-timestamp"],
    ["a non-decimal time digit", `${SCA} 04 0B 91 04 07 00 00 09 F0 00 04 6A102030405000 00`, "bad-timestamp"],
    ["compressed text", `${SCA} 04 0B 91 04 07 00 00 09 F0 00 24 62102030405000 00`, "unsupported-dcs"],
    ["a reserved coding group", `${SCA} 04 0B 91 04 07 00 00 09 F0 00 84 62102030405000 00`, "unsupported-dcs"],
    ["a header longer than the user data", `${SCA} 44 0B 91 04 07 00 00 09 F0 00 04 62102030405000 03 05 80 03`, "bad-udh"],
    ["an element running past the header", `${SCA} 44 0B 91 04 07 00 00 09 F0 00 04 62102030405000 04 03 80 05 01`, "bad-udh"],
    ["user data shorter than UDL", `${SCA} 04 0B 91 04 07 00 00 09 F0 00 04 62102030405000 05 01 02`, "truncated"],
    ["bytes after the user data", `${SCA} 04 0B 91 04 07 00 00 09 F0 00 04 62102030405000 01 01 02`, "bad-length"],
    ["UDL over 140 octets", `${SCA} 04 0B 91 04 07 00 00 09 F0 00 04 62102030405000 8D ${"00".repeat(141)}`, "bad-length"],
  ];
  for (const [name, hex, code] of errors) {
    it(`rejects ${name} with "${code}"`, () => assert.deepEqual(decodePdu(h(hex)), { ok: false, error: code }));
  }

  it("never throws on random bytes, and names the error when it rejects", () => {
    const codes = new Set(["truncated", "bad-length", "bad-address", "bad-timestamp", "bad-udh", "unsupported-dcs", "unsupported-type"]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodePdu(bytes);
        assert.ok(r.ok || codes.has(r.error));
      }),
      { numRuns: 20_000 },
    );
  });

  it("maps TP-Status to delivered, pending or failed (23.040 §9.2.3.15)", () => {
    assert.equal(deliveryOutcome(0x00), "delivered");
    assert.equal(deliveryOutcome(0x02), "delivered");
    assert.equal(deliveryOutcome(0x1f), "delivered");
    assert.equal(deliveryOutcome(0x20), "pending");
    assert.equal(deliveryOutcome(0x3f), "pending");
    assert.equal(deliveryOutcome(0x40), "failed");
    assert.equal(deliveryOutcome(0x46), "failed");
    assert.equal(deliveryOutcome(0x65), "failed");
    assert.equal(deliveryOutcome(0x80), "failed");
  });
});

describe("SMS PDU: encoding", () => {
  it("encodes an 8-bit SMS-SUBMIT with a status-report request and the application header", () => {
    const { pdu, tpduLength } = encodeSubmit({ to: "+40700000900", data: new Uint8Array([1, 2, 3]), header: [appElement({ kind: AppKind.dataConfirm, ref: 0x1234 })], statusReport: true });
    const expected = h(`
      00                       SCA: the modem's stored service centre
      71                       first octet: SUBMIT, relative validity, status report, UDHI
      00                       TP-MR: assigned by the modem
      0B 91 04 07 00 00 09 F0  DA: 11 digits, international
      00                       PID
      04                       DCS: 8-bit data
      A7                       VP: 24 hours
      09                       UDL
      05 80 03 01 12 34        UDH: application element
      01 02 03                 data
    `);
    assert.equal(hexEncode(pdu), hexEncode(expected));
    assert.equal(tpduLength, expected.length - 1);
  });

  it("encodes a national number with an odd digit count and no header", () => {
    const { pdu } = encodeSubmit({ to: "0722123", data: new Uint8Array([0xff]), statusReport: false });
    assert.equal(hexEncode(pdu), "0011000781702221F30004A701FF");
  });

  it("refuses an invalid number and more than 140 octets of user data", () => {
    assert.throws(() => encodeSubmit({ to: "+40-722", data: new Uint8Array(1), statusReport: false }), RangeError);
    assert.throws(() => encodeSubmit({ to: "", data: new Uint8Array(1), statusReport: false }), RangeError);
    assert.throws(() => encodeSubmit({ to: "1".repeat(21), data: new Uint8Array(1), statusReport: false }), RangeError);
    assert.throws(() => encodeSubmit({ to: "+1", data: new Uint8Array(MAX_USER_DATA_OCTETS + 1), statusReport: false }), RangeError);
    assert.throws(() => encodeSubmit({ to: "+1", data: new Uint8Array(135), header: [appElement({ kind: 0, ref: 1 })], statusReport: false }), RangeError);
    encodeSubmit({ to: "+1", data: new Uint8Array(134), header: [appElement({ kind: 0, ref: 1 })], statusReport: false });
  });

  it("validates numbers: + and 1..20 digits", () => {
    for (const n of ["+1", "0722000111", "+" + "9".repeat(20)]) assert.ok(isValidNumber(n), n);
    for (const n of ["", "+", "12a", "+" + "9".repeat(21), "+40 722", "++1"]) assert.ok(!isValidNumber(n), n);
  });
});

describe("SMS PDU: round trips between the firmware and the simulated network", () => {
  const number = fc.tuple(fc.boolean(), fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 20 })).map(([intl, d]) => (intl ? `+${d}` : d));
  const element = fc.record({ id: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 8 }) });

  it("what the firmware submits, the network reads back exactly", () => {
    fc.assert(
      fc.property(number, fc.uint8Array({ maxLength: 100 }), fc.array(element, { maxLength: 3 }), fc.boolean(), (to, data, header, statusReport) => {
        const { pdu, tpduLength } = encodeSubmit({ to, data, header, statusReport });
        const tpdu = pdu.subarray(1 + pdu[0]!);
        assert.equal(tpdu.length, tpduLength);
        const d = decodeSubmit(tpdu)!;
        assert.ok(d, "decoded");
        assert.equal(d.to, to);
        assert.equal(d.statusReport, statusReport);
        assert.equal(d.alphabet, "8bit");
        assert.deepEqual(Array.from(d.data), Array.from(data));
        assert.deepEqual(d.header.map((e) => [e.id, Array.from(e.data)]), header.map((e) => [e.id, Array.from(e.data)]));
      }),
      { numRuns: 1000 },
    );
  });

  it("what the network delivers, the firmware reads back exactly (8-bit and 7-bit, with and without a header)", () => {
    fc.assert(
      fc.property(number, fc.constantFrom("8bit" as const, "gsm7" as const), fc.uint8Array({ maxLength: 160 }), fc.array(element, { maxLength: 2 }), fc.integer({ min: 0, max: 2e12 }), (from, alphabet, raw, header, ms) => {
        // As much of `raw` as one SMS carries beside the header, up to its last octet or septet.
        const headerOctets = header.length ? 1 + header.reduce((n, e) => n + 2 + e.data.length, 0) : 0;
        const room = alphabet === "gsm7" ? 160 - Math.ceil((headerOctets * 8) / 7) : MAX_USER_DATA_OCTETS - headerOctets;
        const data = (alphabet === "gsm7" ? raw.map((b) => b & 0x7f) : raw).subarray(0, room);
        const sca = h(SCA);
        const tpdu = encodeDeliver({ from, to: "+1", alphabet, header, data }, ms);
        const r = decodePdu(new Uint8Array([...sca, ...tpdu]));
        assert.ok(r.ok && r.pdu.type === "deliver", JSON.stringify(r));
        assert.equal(r.pdu.from.text, from);
        assert.equal(r.pdu.alphabet, alphabet);
        assert.deepEqual(Array.from(r.pdu.data), Array.from(data));
        assert.deepEqual(r.pdu.header.map((e) => [e.id, Array.from(e.data)]), header.map((e) => [e.id, Array.from(e.data)]));
        const d = new Date(ms);
        assert.deepEqual([r.pdu.timestamp.day, r.pdu.timestamp.hour, r.pdu.timestamp.second], [d.getUTCDate(), d.getUTCHours(), d.getUTCSeconds()]);
      }),
      { numRuns: 1000 },
    );
  });

  it("the network refuses a message one SMS cannot carry (the firmware's refusal: \"UDL over 140 octets\" above)", () => {
    const ie = { id: 0, data: new Uint8Array(8) }; // 1 + 2 × (2 + 8) = 21 header octets: 24 septets
    const sms = (alphabet: "8bit" | "gsm7", length: number) => ({ from: "+1", to: "+2", alphabet, header: [ie, ie], data: new Uint8Array(length) });
    for (const [alphabet, room] of [["8bit", 119], ["gsm7", 136]] as const) {
      const r = decodePdu(new Uint8Array([...h(SCA), ...encodeDeliver(sms(alphabet, room), 0)]));
      assert.ok(r.ok && r.pdu.type === "deliver" && r.pdu.data.length === room, alphabet);
      assert.throws(() => encodeDeliver(sms(alphabet, room + 1), 0), RangeError, alphabet);
    }
  });

  it("status reports keep their reference, recipient and status", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), number, fc.integer({ min: 0, max: 255 }), (mr, to, st) => {
        const r: DecodeResult = decodePdu(new Uint8Array([0, ...encodeStatusReport(mr, to, st, 0, 1000)]));
        assert.ok(r.ok && r.pdu.type === "status-report");
        assert.equal(r.pdu.messageRef, mr);
        assert.equal(r.pdu.recipient.text, to);
        assert.equal(r.pdu.status, st);
      }),
      { numRuns: 500 },
    );
  });
});

describe("SMS PDU: GSM 7-bit and the application header", () => {
  it("has the 128 characters of the default alphabet", () => {
    const all = gsm7Text(new Uint8Array(128).map((_, i) => i));
    assert.equal(all.length, 128);
    assert.equal(all.slice(0x41, 0x41 + 26), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    assert.equal(all[0], "@");
  });

  it("refuses septets that do not fit their octets", () => {
    assert.equal(unpackSeptets(new Uint8Array(6), 7), undefined);
    assert.equal(unpackSeptets(new Uint8Array(7), 8)?.length, 8);
    assert.equal(unpackSeptets(new Uint8Array(1), 1, 7), undefined);
  });

  it("finds, rejects and ignores application headers", () => {
    assert.deepEqual(findAppHeader([{ id: 0x00, data: new Uint8Array([1, 2, 1]) }, appElement({ kind: AppKind.confirmation, ref: 7 })]), { kind: AppKind.confirmation, ref: 7 });
    assert.equal(findAppHeader([{ id: APP_IEI, data: new Uint8Array([1, 2]) }]), "malformed");
    assert.equal(findAppHeader([{ id: APP_IEI, data: new Uint8Array([9, 0, 1]) }]), "malformed");
    assert.equal(findAppHeader([{ id: 0x81, data: new Uint8Array([1, 0, 1]) }]), undefined);
  });
});

/** 23.038 §6.1.2.1 packing, for fixtures. */
function pack(septets: number[]): number[] {
  const out = new Array<number>(Math.ceil((septets.length * 7) / 8)).fill(0);
  septets.forEach((v, k) => {
    const bit = k * 7;
    out[bit >> 3]! |= (v << (bit & 7)) & 0xff;
    if ((bit & 7) > 1) out[(bit >> 3) + 1]! |= v >> (8 - (bit & 7));
  });
  return out;
}
