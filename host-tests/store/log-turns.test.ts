/**
 * What the drain and the acknowledgement read per call (docs/storage.md, "Turn cost"): the cursor
 * reads a sector's first 128 bytes and the frames it passes, the acknowledgement of drained records
 * only the sector's first 128 bytes; and, against a model, that this changes nothing they return.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventType } from "../../firmware/model/records.js";
import { RecordLog } from "../../firmware/store/log.js";
import { RecordClass, type StoredRecord } from "../../firmware/store/record-codec.js";
import { LOG_RECORDS_AT } from "../../firmware/store/sector-format.js";
import { event, interval, simFlash } from "./fixtures.js";

const FRAME_OVERHEAD = 12;

describe("store: record log, turn cost", () => {
  it("reads the first 128 bytes of a sector and then only the frames a cursor call passes", () => {
    const { flash } = simFlash(16, 4096);
    const log = RecordLog.open(flash);
    for (let k = 0; k < 60; k++) log.appendEvent(event(EventType.door, k));
    const c = log.cursor([RecordClass.event]);
    let records = 0;
    for (;;) {
      const before = flash.counters.bytesRead;
      const batch = c.next(3);
      const read = flash.counters.bytesRead - before;
      if (batch.length === 0) break;
      records += batch.length;
      const frames = batch.reduce((n, r) => n + r.payload.length + FRAME_OVERHEAD, 0);
      // Each frame's 8-byte header is read before the frame (its length), the one where it stopped too.
      assert.ok(read <= LOG_RECORDS_AT + frames + 8 * (batch.length + 1), `read ${read} B for ${frames} B of frames`);
    }
    assert.equal(records, 60);
  });

  it("acknowledges drained records by reading each sector's acknowledgement map, not the sector", () => {
    const { flash } = simFlash(16, 4096);
    const log = RecordLog.open(flash);
    const seqs: number[] = [];
    // Records of one class have consecutive sequence numbers: the runs merge into one spanning sectors.
    for (let k = 0; k < 16; k++) seqs.push(...log.appendReadings(interval(k, 150)));
    const sectors = log.usage().live[RecordClass.profile]!;
    assert.ok(sectors >= 3);
    const c = log.cursor();
    const sent = c.next(100).map((r) => r.seq);
    assert.deepEqual(sent, seqs);
    const before = flash.counters.bytesRead;
    assert.equal(log.acknowledge(sent.map((first) => ({ first, count: 1 }))), sent.length);
    // Per sector: its first 128 bytes, and the read-back of the program (at most the 64-byte map).
    assert.ok(flash.counters.bytesRead - before <= sectors * (LOG_RECORDS_AT + 64), `read ${flash.counters.bytesRead - before} B`);
    c.rewind();
    assert.deepEqual(c.next(100), []);
    assert.deepEqual(RecordLog.open(flash).cursor().next(100), []);
  });

  it("acknowledges again what it released through the slot index, without reading flash", () => {
    const { flash } = simFlash(16, 4096);
    const log = RecordLog.open(flash);
    for (let k = 0; k < 8; k++) log.appendReadings(interval(k, 150));
    const sent = log.cursor().next(100).map((r) => r.seq);
    const runs = sent.map((first) => ({ first, count: 1 }));
    assert.equal(log.acknowledge(runs), sent.length);
    const before = flash.counters.bytesRead;
    assert.equal(log.acknowledge(runs), 0);
    assert.equal(flash.counters.bytesRead - before, 0);
  });

  it("acknowledges a run naming records the drain has not read by reading their sector", () => {
    const { flash } = simFlash(16, 4096);
    const log = RecordLog.open(flash);
    const seqs = [0, 1, 2, 3].map((k) => log.appendReadings(interval(k, 40))[0]!);
    const c = log.cursor();
    c.next(2);
    assert.equal(log.acknowledge([{ first: seqs[0]!, count: seqs[3]! - seqs[0]! + 1 }]), 4);
    c.rewind();
    assert.deepEqual(c.next(10), []);
  });

  it("acknowledges records numbered more than 65,534 past their sector's first by reading the sector", () => {
    const { flash } = simFlash(16, 4096);
    let log = RecordLog.open(flash);
    const seqs = [log.appendEvent(event(EventType.door, 0))];
    // Every boot skips 1,024 sequence numbers past the highest record (an alarm written each time)
    // and the event sector is taken again: its span grows beyond what the slot index holds (16 bits
    // relative to the sector's first number).
    while (log.nextSeq - seqs[0]! < 0x10000) {
      log.appendEvent(event(EventType.door, 9, true));
      log = RecordLog.open(flash);
    }
    for (let k = 1; k < 4; k++) seqs.push(log.appendEvent(event(EventType.door, k)));
    assert.equal(log.usage().live[RecordClass.event], 1);
    assert.deepEqual(log.cursor([RecordClass.event]).next(10).map((r) => r.seq), seqs);
    const before = flash.counters.bytesRead;
    assert.equal(log.acknowledge(seqs.map((first) => ({ first, count: 1 }))), 4);
    assert.ok(flash.counters.bytesRead - before >= 4096, "the records beyond the index are found by reading their sector");
    assert.equal(log.acknowledge(seqs.map((first) => ({ first, count: 1 }))), 0);
    assert.deepEqual(log.cursor([RecordClass.event]).next(10), []);
    assert.deepEqual(RecordLog.open(flash).cursor([RecordClass.event]).next(10), []);
  });

  it("releases a queued acknowledgement in maintenance steps that each read at most one whole sector", () => {
    const { flash } = simFlash(64, 4096);
    let log = RecordLog.open(flash);
    const seqs: number[] = [];
    for (let k = 0; k < 60; k++) seqs.push(...log.appendReadings(interval(k, 150)));
    const sectors = log.usage().live[RecordClass.profile]!;
    assert.ok(sectors >= 8, `${sectors} sectors`);
    // After a reset the slot index is empty: every sector named has to be read whole.
    log = RecordLog.open(flash);
    log.acknowledgeLater([{ first: seqs[0]!, count: seqs[seqs.length - 1]! - seqs[0]! + 1 }]);
    assert.deepEqual(log.cursor().next(10), [], "the cursor skips what is queued");
    let steps = 0;
    for (;;) {
      const before = flash.counters.bytesRead;
      if (!log.maintain()) break;
      steps++;
      assert.ok(flash.counters.bytesRead - before <= 4096 + 2 * LOG_RECORDS_AT, `step ${steps} read ${flash.counters.bytesRead - before} B`);
    }
    assert.ok(steps >= sectors, `${steps} steps for ${sectors} sectors`);
    assert.equal(log.usage().unacknowledged[RecordClass.profile], 0);
    assert.deepEqual(RecordLog.open(flash).cursor().next(10), [], "released durably");
  });

  it("loses nothing when a queued acknowledgement is cut short by a reset, or dropped for lack of room", () => {
    const { flash } = simFlash(16, 4096);
    let log = RecordLog.open(flash);
    const seqs = [0, 1, 2, 3].map((k) => log.appendReadings(interval(k, 40))[0]!);
    log.acknowledgeLater(seqs.map((first) => ({ first, count: 1 })));
    log = RecordLog.open(flash);
    assert.deepEqual(log.cursor().next(10).map((r) => r.seq), seqs, "a reset before the steps: all sent again");
    const events = Array.from({ length: 200 }, (_, k) => log.appendEvent(event(EventType.door, k)));
    // Every other event: 100 runs of one, and the same again: only 128 runs fit the queue.
    const odd = events.filter((_, i) => i % 2 === 1).map((first) => ({ first, count: 1 }));
    log.acknowledgeLater(odd);
    log.acknowledgeLater(events.filter((_, i) => i % 2 === 0).map((first) => ({ first, count: 1 })));
    assert.equal(log.stats.droppedAckRuns, 72);
    while (log.maintain());
    const left = log.cursor([RecordClass.event]).next(300).map((r) => r.seq);
    assert.equal(left.length, 72, "what was dropped is still there, to be sent and acknowledged again");
    assert.deepEqual(left, events.filter((_, i) => i % 2 === 0).slice(28));
  });

  type Op =
    | { op: "readings"; meters: number }
    | { op: "event"; alarm: boolean }
    | { op: "next"; max: number; bytes: number }
    | { op: "ackSent"; pick: number }
    | { op: "ackRun"; from: number; count: number }
    | { op: "ackLater"; pick: number }
    | { op: "maintain" }
    | { op: "maintainStep" }
    | { op: "rewind" }
    | { op: "reboot" };

  const ops: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant("readings" as const), meters: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ op: fc.constant("event" as const), alarm: fc.boolean() }),
    fc.record({ op: fc.constant("next" as const), max: fc.integer({ min: 1, max: 20 }), bytes: fc.integer({ min: 1, max: 3000 }) }),
    fc.record({ op: fc.constant("ackSent" as const), pick: fc.integer({ min: 1, max: 7 }) }),
    fc.record({ op: fc.constant("ackRun" as const), from: fc.integer({ min: 0, max: 400 }), count: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ op: fc.constant("ackLater" as const), pick: fc.integer({ min: 1, max: 7 }) }),
    fc.constant({ op: "maintain" as const }),
    fc.constant({ op: "maintainStep" as const }),
    fc.constant({ op: "rewind" as const }),
    fc.constant({ op: "reboot" as const }),
  );

  it("drains and releases exactly what a model of the log says, across sector reuse and reboots (property)", () => {
    fc.assert(
      fc.property(fc.array(ops, { minLength: 20, maxLength: 250, size: "max" }), (script) => {
        const { flash } = simFlash(16, 1024);
        let log = RecordLog.open(flash);
        let cursor = log.cursor();
        /** Records appended and not released, by sequence number. */
        const open = new Set<number>();
        const mine = new Set<number>();
        /** Records queued by acknowledgeLater and perhaps not yet released (`partial`: some steps ran). */
        const queued = new Set<number>();
        let partial = false;
        let sent: number[] = [];
        const model = (seq: number) => mine.has(seq) && (open.has(seq) || queued.has(seq));
        for (const o of script) {
          if (o.op === "readings") for (const s of log.appendReadings(interval(mine.size, o.meters))) open.add(s), mine.add(s);
          else if (o.op === "event") {
            const s = log.appendEvent(event(EventType.door, mine.size, o.alarm));
            open.add(s);
            mine.add(s);
          } else if (o.op === "next") {
            const batch = cursor.next(o.max, o.bytes);
            for (const r of batch) if (mine.has(r.seq)) assert.ok(open.has(r.seq) || log.stats.evictions > 0, `released record ${r.seq} returned`);
            sent.push(...batch.map((r) => r.seq));
          } else if (o.op === "ackSent" || o.op === "ackRun") {
            const runs = o.op === "ackSent" ? sent.filter((_, i) => i % o.pick === 0).map((first) => ({ first, count: 1 })) : [{ first: o.from, count: o.count }];
            let expect = 0;
            for (const r of runs) for (let s = r.first; s < r.first + r.count; s++) if (model(s)) expect++, open.delete(s), queued.delete(s);
            const released = log.acknowledge(runs);
            if (log.stats.evictions === 0 && log.stats.corruptRecords === 0 && !partial) assert.equal(released, expect);
            else assert.ok(released <= expect);
            if (o.op === "ackSent") sent = [];
          } else if (o.op === "ackLater") {
            // Queued: the cursor skips them at once; released by the maintenance steps.
            for (const [i, seq] of sent.entries()) if (i % o.pick === 0 && model(seq)) open.delete(seq), queued.add(seq);
            log.acknowledgeLater(sent.filter((_, i) => i % o.pick === 0).map((first) => ({ first, count: 1 })));
            sent = [];
          } else if (o.op === "maintain") {
            while (log.maintain());
            queued.clear();
            partial = false;
          } else if (o.op === "maintainStep") {
            partial = log.maintain() || partial;
          } else if (o.op === "rewind") cursor.rewind(), (sent = []);
          else {
            log = RecordLog.open(flash);
            cursor = log.cursor();
            sent = [];
            // The queue was in RAM: what its steps had not released yet comes back, nothing else.
            const back = new Set<number>();
            const c = log.cursor();
            for (let b = c.next(50); b.length > 0; b = c.next(50)) for (const r of b) back.add(r.seq);
            for (const seq of queued) if (back.has(seq)) open.add(seq);
            if (!partial && log.stats.evictions === 0) for (const seq of queued) assert.ok(back.has(seq), `queued record ${seq} came back`);
            queued.clear();
            partial = false;
          }
        }
        // Everything the model holds, and nothing released, comes back from a fresh cursor (in drain
        // order per class), also after a reboot, once the queued acknowledgements are released.
        while (log.maintain());
        queued.clear();
        for (const l of [log, RecordLog.open(flash)]) {
          const got: StoredRecord[] = [];
          const c = l.cursor();
          for (let b = c.next(50); b.length > 0; b = c.next(50)) got.push(...b);
          const seqs = got.map((r) => r.seq).filter((s) => mine.has(s));
          for (const s of seqs) assert.ok(open.has(s), `released record ${s} drained`);
          if (log.stats.evictions === 0) assert.deepEqual([...seqs].sort((a, b) => a - b), [...open].sort((a, b) => a - b));
          for (const cls of [RecordClass.alarm, RecordClass.event, RecordClass.profile]) {
            const own = got.filter((r) => r.cls === cls).map((r) => r.seq);
            assert.deepEqual(own, [...own].sort((a, b) => a - b), "each class by sequence number");
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
