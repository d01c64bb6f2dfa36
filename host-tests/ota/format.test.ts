import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeFrame, encodeFrame, FrameObject } from "../../firmware/ota/frames.js";
import {
  ChunkTable,
  decodeKeySet,
  encodeHead,
  encodeImageTable,
  encodeKeySet,
  encodeSigned,
  OtaReason,
  PackageKind,
  packVersion,
  parseHead,
  SIGNED_BYTES,
  unpackVersion,
  type HeadFields,
} from "../../firmware/ota/format.js";
import { decodeDownlink, decodeUplink, encodeMessage, MessageError } from "../../firmware/uplink/messages.js";
import { buildImagePackage, splitPackage } from "../../tools/ota/package.js";
import { signingKeyPairOf } from "../../tools/sim/keys.js";

const fields: HeadFields = {
  kind: PackageKind.image,
  flags: 1,
  sequence: 7,
  securityCounter: 3,
  expiresS: 1_800_000_000,
  hardwareId: "MC-ESP32S3-R1",
  version: "2.10.300",
  imageLength: 10_000,
  imageSha256: new Uint8Array(32).fill(0xa5),
  chunkBytes: 4096,
  chunkCount: 3,
  tableLength: 4 * 2 + 18 * 3,
  tableSha256: new Uint8Array(32).fill(0x5a),
  payloadLength: 6000,
  unitCount: 2,
};
const sig = { keyId: new Uint8Array(8).fill(1), signature: new Uint8Array(64).fill(2) };

/** A head with one field of the signed part rewritten (offsets of docs/ota.md). */
function withByte(at: number, value: number): Uint8Array {
  const head = encodeHead(encodeSigned(fields), [sig]);
  head[at] = value;
  return head;
}

describe("OTA package format", () => {
  it("round-trips the signed part and its signatures", () => {
    const head = parseHead(encodeHead(encodeSigned(fields), [sig, { ...sig, keyId: new Uint8Array(8).fill(3) }]));
    assert.ok(typeof head !== "number");
    const { signed, signatures, ...parsed } = head;
    assert.deepEqual({ ...parsed, imageSha256: [...parsed.imageSha256], tableSha256: [...parsed.tableSha256] }, { ...fields, imageSha256: [...fields.imageSha256], tableSha256: [...fields.tableSha256] });
    assert.equal(signed.length, SIGNED_BYTES);
    assert.deepEqual(signatures.map((s) => s.keyId[0]), [1, 3]);
  });

  const cases: Array<[string, Uint8Array, OtaReason]> = [
    ["empty", new Uint8Array(0), OtaReason.malformed],
    ["the signed part only", encodeSigned(fields), OtaReason.malformed],
    ["another magic", withByte(0, 0x4e), OtaReason.malformed],
    ["format version 2", withByte(4, 2), OtaReason.unsupported],
    ["kind 3", withByte(5, 3), OtaReason.unsupported],
    ["an unknown flag", withByte(6, 0x03), OtaReason.unsupported],
    ["chunks of 64 KiB", withByte(76, 16), OtaReason.unsupported],
    ["a chunk count that does not cover the image", withByte(80, 4), OtaReason.malformed],
    ["a table length that is not the units' and chunks'", withByte(84, 71), OtaReason.malformed],
    ["a hardware id that is not ASCII", withByte(20, 0x80), OtaReason.malformed],
    ["one signature announced, two present", (() => {
      const h = encodeHead(encodeSigned(fields), [sig, sig]);
      h[SIGNED_BYTES] = 1;
      return h;
    })(), OtaReason.malformed],
    ["nine signatures", (() => {
      const h = new Uint8Array(SIGNED_BYTES + 1 + 9 * 72);
      h.set(encodeSigned(fields));
      h[SIGNED_BYTES] = 9;
      return h;
    })(), OtaReason.malformed],
  ];
  for (const [name, bytes, reason] of cases) {
    it(`refuses a head with ${name}`, () => assert.equal(parseHead(bytes), reason));
  }

  it("never throws on any bytes, and on any change of a valid head", () => {
    const valid = encodeHead(encodeSigned(fields), [sig]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 800 }), (b) => {
        const r = parseHead(b);
        assert.ok(typeof r === "number" || r.signed.length === SIGNED_BYTES);
        decodeFrame(b);
      }),
    );
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const b = valid.slice();
        b[at]! ^= x;
        const r = parseHead(b);
        if (typeof r !== "number") assert.ok(at >= 6, "the magic, format version or kind changed and it still parsed");
      }),
    );
  });

  it("reads a table: offsets, DEFLATE chunks, the units it names; refuses totals that disagree with the head", () => {
    const chunks = [
      { storedLength: 1000, deflated: true, hash: new Uint8Array(16).fill(1) },
      { storedLength: 4096, deflated: false, hash: new Uint8Array(16).fill(2) },
      { storedLength: 904, deflated: true, hash: new Uint8Array(16).fill(3) },
    ];
    const table = encodeImageTable([17, 99], chunks);
    const t = ChunkTable.parse({ ...fields, payloadLength: 6000 }, table);
    assert.ok(t instanceof ChunkTable);
    assert.deepEqual([t.offset(0), t.offset(1), t.offset(2)], [0, 1000, 5096]);
    assert.deepEqual([t.deflated(0), t.deflated(1), t.storedLength(2)], [true, false, 904]);
    assert.deepEqual([t.names(17), t.names(99), t.names(18)], [true, true, false]);
    assert.equal(ChunkTable.parse({ ...fields, payloadLength: 5999 }, table), OtaReason.length);
    assert.equal(ChunkTable.parse({ ...fields, flags: 0 }, table), OtaReason.length, "DEFLATE chunks in a package without the flag");
    assert.equal(ChunkTable.parse(fields, table.subarray(1)), OtaReason.length);
    const raw = encodeImageTable([], [{ storedLength: 4000, deflated: false, hash: new Uint8Array(16) }]);
    assert.equal(ChunkTable.parse({ ...fields, unitCount: 0, chunkCount: 1, imageLength: 4096, tableLength: 18, payloadLength: 4000 }, raw), OtaReason.length, "a raw chunk shorter than the image's");
  });

  it("packs versions and key sets", () => {
    for (const v of ["0.0.0", "1.2.3", "255.255.65535"]) assert.equal(unpackVersion(packVersion(v)), v);
    for (const v of ["1.2", "256.0.0", "1.2.65536", "v1.2.3"]) assert.equal(packVersion(v), -1);
    const keys = { version: 4, threshold: 2, keys: [1, 2, 3].map((n) => new Uint8Array(32).fill(n)) };
    assert.deepEqual(decodeKeySet(encodeKeySet(keys)), keys);
    assert.equal(decodeKeySet(encodeKeySet(keys).subarray(1)), undefined);
    assert.throws(() => encodeKeySet({ ...keys, threshold: 4 }), RangeError);
  });

  it("splits a built package back into head, table and chunks whose bytes rebuild the image", () => {
    const image = new Uint8Array(10_000).map((_, i) => (i * 31) & 0xff);
    const k = signingKeyPairOf("t");
    const parts = splitPackage(buildImagePackage({ image, version: "1.0.1", hardwareId: "HW", sequence: 1, securityCounter: 0, expiresS: 2e9, signers: [k.secretKey] }));
    assert.equal(parts.head.chunkCount, 3);
    const back = new Uint8Array(image.length);
    for (let c = 0; c < 3; c++) back.set(parts.payload.subarray(parts.chunks!.offset(c), parts.chunks!.offset(c) + parts.chunks!.storedLength(c)), c * 4096);
    assert.deepEqual(back, image);
  });
});

describe("OTA messages and frames", () => {
  it("round-trips a request and an offer, with byte strings and no CBOR tag", () => {
    const request = { kind: "otaRequest" as const, packageId: new Uint8Array([1, 2, 3, 4, 5, 6]), object: 2, first: 40, count: 2 };
    assert.deepEqual(decodeUplink(encodeMessage(request)), request);
    const head = new Uint8Array(201).fill(9);
    for (const window of [null, { fromMin: 120, toMin: 240 }]) {
      const m = decodeDownlink(encodeMessage({ kind: "command", command: { id: 5, op: "update", head, window } }));
      assert.ok(!(m instanceof MessageError) && m.kind === "command" && m.command.op === "update");
      assert.deepEqual([...m.command.head], [...head]);
      assert.deepEqual(m.command.window, window);
    }
  });

  it("refuses an offer with a window outside the day, a head too long, a request without a 6-byte id", () => {
    const bad = [
      encodeMessage({ kind: "command", command: { id: 5, op: "update", head: new Uint8Array(10), window: { fromMin: 0, toMin: 1440 } } }),
      encodeMessage({ kind: "command", command: { id: 5, op: "update", head: new Uint8Array(1025), window: null } }),
    ];
    for (const b of bad) assert.ok(decodeDownlink(b) instanceof MessageError);
    assert.ok(decodeUplink(encodeMessage({ kind: "otaRequest", packageId: new Uint8Array(5), object: 2, first: 0, count: 1 })) instanceof MessageError);
  });

  it("round-trips frames", () => {
    const f = { object: FrameObject.chunk, packageId: new Uint8Array([9, 8, 7, 6, 5, 4]), index: 70_000, data: new Uint8Array([1, 2, 3]) };
    const back = decodeFrame(encodeFrame(f))!;
    assert.deepEqual([back.object, [...back.packageId], back.index, [...back.data]], [f.object, [...f.packageId], f.index, [...f.data]]);
    assert.equal(decodeFrame(new Uint8Array(11)), undefined);
  });
});
