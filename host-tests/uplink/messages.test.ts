import assert from "node:assert/strict";
import { encode } from "cbor-x";
import fc from "fast-check";
import type { Reading } from "../../firmware/model/records.js";
import { isCborSubset } from "../../firmware/uplink/cbor-subset.js";
import {
  type Command,
  decodeDownlink,
  decodeUplink,
  encodeMessage,
  encodeSeries,
  decodeSeries,
  DEFAULT_LIMITS,
  MessageError,
  type UplinkMessage,
  type DownlinkMessage,
} from "../../firmware/uplink/messages.js";
import { seqSetFromWire, seqSetOf, seqSetToWire, seqSetValues } from "../../firmware/uplink/seq-set.js";

const reading = fc.record({
  meter: fc.integer({ min: 0, max: 0xffff }),
  register: fc.constantFrom(0x010800, 0x020800, 0x200700),
  time: fc.integer({ min: 1_700_000_000, max: 1_900_000_000 }),
  value: fc.integer({ min: -1e12, max: 1e12 }),
  status: fc.constantFrom(0, 0, 0, 1, 4, 16),
});

/** Readings as the decoder returns them: by meter, register, then time (stable for equal times). */
function normalise(readings: Reading[]): Reading[] {
  return readings.map((r) => ({ ...r })).sort((a, b) => a.meter - b.meter || a.register - b.register || a.time - b.time);
}

const seqSet = fc.uniqueArray(fc.integer({ min: 1, max: 1e9 }), { minLength: 1, maxLength: 50 }).map(seqSetOf);

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ id: fc.nat(), op: fc.constant("read" as const), meters: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 5 }), registers: fc.array(fc.constantFrom(0x010800, 0x200700), { maxLength: 3 }) }),
  fc.record({ id: fc.nat(), op: fc.constantFrom("disconnect" as const, "reconnect" as const), meter: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    id: fc.nat(),
    op: fc.constant("configure" as const),
    changes: fc.array(fc.record({ key: fc.constantFrom("poll.intervalS", "tariff.t1.start", "alarm.voltageHighDeciV"), value: fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 10 })) }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ id: fc.nat(), op: fc.constant("time" as const), epochMs: fc.integer({ min: 0, max: 4e12 }) }),
  fc.record({ id: fc.nat(), op: fc.constant("mode" as const), meter: fc.integer({ min: 0, max: 0xffff }), mode: fc.integer({ min: 0, max: 6 }) }),
  fc
    .record({ id: fc.nat(), meter: fc.integer({ min: 0, max: 0xffff }), fromS: fc.integer({ min: 0, max: 0xffffffff - 86_400 }), spanS: fc.integer({ min: 0, max: 86_400 }) })
    .map(({ id, meter, fromS, spanS }) => ({ id, op: "profile" as const, meter, fromS, toS: fromS + spanS })),
  fc.record({
    id: fc.nat(),
    op: fc.constant("limit" as const),
    meter: fc.integer({ min: 0, max: 0xffff }),
    limit: fc.option(
      fc.record({
        thresholdNormal: fc.integer({ min: 0, max: 0xffffffff }),
        thresholdEmergency: fc.integer({ min: 0, max: 0xffffffff }),
        minOverMs: fc.integer({ min: 0, max: 86_400_000 }),
        minUnderMs: fc.integer({ min: 0, max: 86_400_000 }),
        emergencyGroups: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 4 }),
      }),
      { nil: null },
    ),
  }),
).map((c) => structuredClone(c));

describe("uplink messages (CBOR)", () => {
  it("round-trips readings as series: the same readings, each series in time order", () => {
    fc.assert(
      fc.property(fc.array(reading, { minLength: 1, maxLength: 200 }), seqSet, (readings, seqs) => {
        const m = decodeUplink(encodeMessage({ kind: "readings", seqs, readings }));
        assert.ok(!(m instanceof MessageError), String(m));
        assert.equal(m.kind, "readings");
        if (m.kind !== "readings") return;
        assert.deepEqual(m.seqs, seqs);
        assert.deepEqual(m.readings, normalise(readings));
      }),
      { numRuns: 500 },
    );
  });

  it("encodes regular 15-minute series as a time base, a step, a register table and small differences", () => {
    const at = (meter: number, i: number, register = 0x010800): Reading => ({ meter, register, time: 1_767_225_600 + 900 * i, value: 8_048_375 * meter + 250 * i, status: meter === 3 && i === 2 ? 1 : 0 });
    const readings = [0, 1, 2, 3].flatMap((i) => [at(3, i), at(5, i + 1), at(5, i + 1, 0x020800)]);
    assert.deepEqual(encodeSeries(readings), [
      1_767_225_600, // time base
      900, // step
      [0x010800, 0x020800], // registers
      [3, 0, 0, [24_145_125, 250, 250, 250], [2, 1]], // meter 3, 1.8.0, from the base, status of reading 2
      [2, 0, 900, [40_241_875 + 250, 250, 250, 250]], // meter 5 (3 + 2), 1.8.0, one step later
      [0, 1, 900, [40_241_875 + 250, 250, 250, 250]], // meter 5, 2.8.0
    ]);
    assert.deepEqual(decodeSeries(encodeSeries(readings), DEFAULT_LIMITS), normalise(readings));
  });

  it("encodes one readout of a meter as a row: a mask of its registers in the table, then their values", () => {
    const t = 1_767_225_600;
    const readout = (meter: number, registers: number[], status = 0): Reading[] => registers.map((register, i) => ({ meter, register, time: t, value: 1000 * meter + i, status: i === 1 ? status : 0 }));
    const readings = [...readout(7, [0x200700, 0x010800, 0x020800], 4), ...readout(9, [0x010800, 0x1f0700])];
    assert.deepEqual(encodeSeries(readings), [
      t, // time base
      900, // step (no series)
      [0x010800, 0x020800, 0x1f0700, 0x200700], // registers, by code
      [7, 0b1011, 0, 7001, 7002, 7000, [0, 4]], // meter 7: 1.8.0, 2.8.0, 32.7.0; status of 1.8.0
      [2, 0b0101, 0, 9000, 9001], // meter 9 (7 + 2): 1.8.0, 31.7.0
    ]);
    assert.deepEqual(decodeSeries(encodeSeries(readings), DEFAULT_LIMITS), normalise(readings));
  });

  it("refuses a row whose mask and values disagree or name registers the table has not", () => {
    for (const row of [[1, 0b11, 0, 5], [1, 0b100, 0, 5], [1, 0, 0, 5], [1, 0b1, 0, 5, 6]]) {
      assert.throws(() => decodeSeries([1000, 900, [0x010800, 0x020800], row], DEFAULT_LIMITS), MessageError, JSON.stringify(row));
    }
  });

  it("falls back to explicit time differences when a series is irregular", () => {
    const readings: Reading[] = [0, 900, 2700].map((t, i) => ({ meter: 1, register: 1, time: 1000 + t, value: i, status: 0 }));
    assert.deepEqual(encodeSeries(readings), [1000, 900, [1], [1, 0, 0, [0, 1, 1], [], [900, 1800]]]);
  });

  it("round-trips events, results and status, and acks and commands", () => {
    const event = fc.record({ seq: fc.integer({ min: 1, max: 1e9 }), event: fc.record({ type: fc.integer({ min: 1, max: 23 }), subject: fc.integer({ min: 0, max: 0xffff }), time: fc.integer({ min: 0, max: 2e9 }), alarm: fc.boolean(), detail: fc.integer({ min: -1e6, max: 1e6 }) }) });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 20 }), seqSet, command, (events, seqs, c) => {
        const ups: UplinkMessage[] = [
          { kind: "events", events: structuredClone(events) as never },
          { kind: "result", seq: 5, result: { commandId: 3, code: 0, detail: "x" } },
          { kind: "result", seq: 6, result: { commandId: 4, code: 2 } },
          { kind: "status", time: 1_767_225_600, uptimeS: 10, counters: { "rx.frames": 3, outstanding: 0 } },
        ];
        for (const m of ups) assert.deepEqual(decodeUplink(encodeMessage(m)), m);
        const downs: DownlinkMessage[] = [{ kind: "ack", seqs }, { kind: "command", command: c }];
        for (const m of downs) assert.deepEqual(decodeDownlink(encodeMessage(m)), m);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a mode outside 0-6 and a load limit outside its bounds", () => {
    const limit = { thresholdNormal: 5000, thresholdEmergency: 2000, minOverMs: 60_000, minUnderMs: 300_000, emergencyGroups: [7] };
    const body = (c: object) => encodeMessage({ kind: "command", command: { id: 1, ...c } as Command });
    assert.ok(!(decodeDownlink(body({ op: "limit", meter: 3, limit })) instanceof MessageError));
    for (const bad of [
      { op: "mode", meter: 3, mode: 7 },
      { op: "profile", meter: 3, fromS: 2000, toS: 1000 },
      { op: "profile", meter: 3, fromS: -1, toS: 1000 },
      { op: "limit", meter: 3, limit: { ...limit, minOverMs: 86_400_001 } },
      { op: "limit", meter: 3, limit: { ...limit, thresholdNormal: -1 } },
      { op: "limit", meter: 3, limit: { ...limit, thresholdNormal: 0.5 } },
      { op: "limit", meter: 3, limit: { ...limit, emergencyGroups: [1, 2, 3, 4, 5] } },
    ]) {
      assert.ok(decodeDownlink(body(bad)) instanceof MessageError, JSON.stringify(bad));
    }
  });

  it("refuses a message of the other direction", () => {
    const ack = encodeMessage({ kind: "ack", seqs: seqSetOf([1]) });
    assert.ok(decodeUplink(ack) instanceof MessageError);
    const status = encodeMessage({ kind: "status", time: 0, uptimeS: 0, counters: {} });
    assert.ok(decodeDownlink(status) instanceof MessageError);
  });

  it("refuses CBOR tags (cbor-x records, generic objects) before cbor-x sees them", () => {
    const record = new Uint8Array([0xd9, 0xdf, 0xff, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x61, 0x61, 0x01]); // tag 57343 (record definition)
    const tag27 = encode([27]).slice(); // not a tag, the control
    assert.equal(isCborSubset(record, { maxDepth: 5, maxItems: 100 }), false);
    assert.equal(isCborSubset(tag27, { maxDepth: 5, maxItems: 100 }), true);
    assert.deepEqual((decodeDownlink(record) as MessageError).message, "invalid cbor");
    const generic = new Uint8Array([0xd8, 0x1b, 0x82, 0x65, 0x45, 0x72, 0x72, 0x6f, 0x72, 0x61, 0x78]); // tag 27 ["Error","x"]
    assert.ok(decodeDownlink(generic) instanceof MessageError);
  });

  it("refuses nesting deeper than the schema and trailing bytes", () => {
    let deep: unknown = 0;
    for (let i = 0; i < 50; i++) deep = [deep];
    assert.equal((decodeDownlink(encode(deep)) as MessageError).message, "invalid cbor");
    const ack = encodeMessage({ kind: "ack", seqs: seqSetOf([1]) });
    assert.ok(decodeDownlink(new Uint8Array([...ack, 0])) instanceof MessageError);
  });

  it("never throws on random bytes or mutated bodies, and returns a message or a MessageError", () => {
    const valid = [
      encodeMessage({ kind: "ack", seqs: seqSetOf([1, 2, 3, 9]) }),
      encodeMessage({ kind: "command", command: { id: 4, op: "configure", changes: [{ key: "poll.intervalS", value: 900 }] } }),
      encodeMessage({ kind: "readings", seqs: seqSetOf([1, 2]), readings: [{ meter: 1, register: 2, time: 3, value: 4, status: 0 }, { meter: 1, register: 2, time: 903, value: 5, status: 0 }] }),
    ];
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([v, muts]) => {
      const x = v.slice();
      for (const [i, b] of muts) x[i % x.length] = b;
      return x;
    });
    const inputs = fc.sample(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), { numRuns: 100_000, seed: 7 });
    let decoded = 0;
    for (const b of inputs) {
      const u = decodeUplink(b);
      const d = decodeDownlink(b);
      assert.ok(u instanceof MessageError || typeof u.kind === "string");
      assert.ok(d instanceof MessageError || typeof d.kind === "string");
      if (!(d instanceof MessageError)) decoded++;
    }
    assert.ok(decoded > 100, `some mutations still decode (${decoded})`);
  });
});

describe("sequence sets", () => {
  it("round-trip through the wire form as runs of gaps and counts", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1e6 }), { maxLength: 300 }), (seqs) => {
        const set = seqSetOf(seqs);
        assert.deepEqual(seqSetValues(set), [...new Set(seqs)].sort((a, b) => a - b));
        assert.deepEqual(seqSetFromWire(seqSetToWire(set), 1e9), set);
      }),
    );
    assert.deepEqual(seqSetToWire(seqSetOf([5, 6, 7, 10, 11, 20])), [5, 3, 2, 2, 8, 1]);
  });

  it("refuses overlapping runs, zero counts and sets larger than the limit", () => {
    assert.equal(seqSetFromWire([5, 3, 0, 2], 100), undefined);
    assert.equal(seqSetFromWire([5, 0], 100), undefined);
    assert.equal(seqSetFromWire([5, 101], 100), undefined);
    assert.equal(seqSetFromWire([5, 3, 1], 100), undefined);
  });
});
