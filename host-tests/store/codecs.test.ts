import assert from "node:assert/strict";
import fc from "fast-check";
import type { Reading } from "../../firmware/model/records.js";
import { ByteReader, ByteWriter, unzigzag, varintSize } from "../../firmware/store/bytes.js";
import { crc32 } from "../../firmware/store/crc32.js";
import { decodeReadings, encodeReadings, MAX_ABS_VALUE, MAX_TIME } from "../../firmware/store/readings-codec.js";
import { decodeRecord, encodeEvent, RecordClass, RecordKind, type StoredRecord } from "../../firmware/store/record-codec.js";
import { encodeAudit, ChangeResult, ChangeSource } from "../../firmware/store/audit.js";
import { interval, IMPORT_TOTAL, T0 } from "./fixtures.js";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const zigzag = (n: number) => (n >= 0 ? n * 2 : -n * 2 - 1);

function encode(rs: readonly Reading[], limit = 8192): { bytes: Uint8Array; next: number } {
  const w = new ByteWriter(new Uint8Array(limit));
  const next = encodeReadings(rs, 0, w);
  return { bytes: w.bytes.slice(0, w.pos), next };
}

const reading: fc.Arbitrary<Reading> = fc.record({
  meter: fc.integer({ min: 0, max: 0xffff }),
  register: fc.integer({ min: 0, max: 0xffffff }),
  time: fc.integer({ min: 0, max: MAX_TIME }),
  value: fc.integer({ min: -MAX_ABS_VALUE, max: MAX_ABS_VALUE }),
  status: fc.integer({ min: 0, max: 0xffff }),
}).map((r) => ({ ...r }));

/** Runs of one meter at a regular interval, as a load profile arrives. */
const profile: fc.Arbitrary<Reading[]> = fc
  .tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 1, max: 96 }), fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 96 }))
  .map(([meter, n, deltas]) => {
    let value = 4_000_000;
    return deltas.slice(0, n).map((d, k) => ({ meter, register: IMPORT_TOTAL, time: T0 + k * 900, value: (value += d), status: 0 }));
  });

describe("store codecs", () => {
  it("computes CRC-32/ISO-HDLC: check value 0xCBF43926 for ASCII 123456789", () => {
    assert.equal(crc32(ascii("123456789")), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it("round-trips signed varints up to the codec bounds and sizes them as written", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 50), max: 2 ** 50 })), (ns) => {
        const w = new ByteWriter(new Uint8Array(ns.length * 8));
        for (const n of ns) w.svarint(n);
        assert.equal(w.pos, ns.reduce((a, n) => a + varintSize(zigzag(n)), 0));
        const r = new ByteReader(w.bytes, 0, w.pos);
        assert.deepEqual(ns.map(() => r.svarint()), ns);
        assert.equal(r.error, false);
      }),
    );
    assert.equal(unzigzag(zigzag(-1)), -1);
  });

  it("flags a short or overlong varint as an error instead of throwing", () => {
    assert.equal(new ByteReader(new Uint8Array([0x80])).varint(), 0);
    const r = new ByteReader(new Uint8Array(9).fill(0xff));
    r.varint();
    assert.equal(r.error, true);
  });

  it("decodes what it encodes, readings in the same order, for any valid readings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(reading, { minLength: 1, maxLength: 80 }), profile), (rs) => {
        const { bytes, next } = encode(rs);
        assert.equal(next, rs.length);
        assert.deepEqual(decodeReadings(new ByteReader(bytes)), rs);
      }),
    );
  });

  it("stores a 15-minute register reading of a poll round in 5 bytes, and a profile value (350 Wh steps) in 2.25", () => {
    const round = encode(interval(0, 256)).bytes.length / 256;
    assert.ok(round <= 5.1, `poll round: ${round} B per reading`);
    const day: Reading[] = [];
    for (let k = 0; k < 96; k++) day.push({ meter: 7, register: IMPORT_TOTAL, time: T0 + k * 900, value: 4_000_000 + k * 350, status: 0 });
    const perValue = encode(day).bytes.length / 96;
    assert.ok(perValue <= 2.3, `profile: ${perValue} B per reading`);
  });

  it("encodes only whole groups that fit the limit and leaves the writer unchanged when none fits", () => {
    const rs = interval(0, 100);
    const w = new ByteWriter(new Uint8Array(200));
    const next = encodeReadings(rs, 0, w);
    assert.ok(next > 0 && next < 100);
    assert.deepEqual(decodeReadings(new ByteReader(w.bytes, 0, w.pos)), rs.slice(0, next));
    const tiny = new ByteWriter(new Uint8Array(3));
    assert.equal(encodeReadings(rs, 0, tiny), 0);
    assert.equal(tiny.pos, 0);
  });

  it("never throws on random payloads: they decode or come back undecodable", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), (kind, payload) => {
        const d = decodeRecord({ seq: 1, cls: RecordClass.event, kind: kind as StoredRecord["kind"], payload });
        assert.ok(typeof d.kind === "string");
      }),
      { numRuns: 20_000 },
    );
  });

  it("decodes events and audit entries as written", () => {
    const w = new ByteWriter(new Uint8Array(64));
    const e = { type: 5 as const, subject: 0xffff, time: T0, alarm: true, detail: -12 };
    encodeEvent(e, w);
    assert.deepEqual(decodeRecord({ seq: 9, cls: RecordClass.alarm, kind: RecordKind.event, payload: w.bytes.slice(0, w.pos) }), { kind: "event", seq: 9, cls: 0, event: e });
    const a = { number: 3, time: T0, timeValid: false, source: ChangeSource.console, name: "apn", oldValue: "internet", newValue: "m2m.example", result: ChangeResult.applied };
    const wa = new ByteWriter(new Uint8Array(200));
    encodeAudit(a, wa);
    assert.deepEqual(decodeRecord({ seq: 10, cls: RecordClass.event, kind: RecordKind.audit, payload: wa.bytes.slice(0, wa.pos) }), { kind: "audit", seq: 10, cls: 1, entry: a });
  });
});
