import assert from "node:assert/strict";
import { EventType } from "../../firmware/model/records.js";
import { InvalidRecordError } from "../../firmware/store/errors.js";
import { RecordLog } from "../../firmware/store/log.js";
import { decodeRecord, RecordClass, RecordKind, type StoredRecord } from "../../firmware/store/record-codec.js";
import { SimClock } from "../../hal/sim/clock.js";
import { event, interval, simFlash, T0 } from "./fixtures.js";

function drainAll(log: RecordLog): StoredRecord[] {
  const c = log.cursor();
  const out: StoredRecord[] = [];
  for (let b = c.next(50); b.length > 0; b = c.next(50)) out.push(...b);
  return out;
}

function settle(log: RecordLog): void {
  while (log.maintain());
}

describe("store: record log", () => {
  it("returns increasing sequence numbers once records are durable, and finds them after a reboot", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const a = log.appendReadings(interval(0, 50));
    const b = log.appendEvent(event(EventType.door, 1));
    assert.ok(a.length === 1 && b > a[0]!);
    const again = RecordLog.open(flash);
    assert.deepEqual(drainAll(again).map((r) => r.seq).sort((x, y) => x - y), [...a, b]);
    assert.ok(again.nextSeq > b);
  });

  it("drains alarms, then events, then billing, then profile readings, each by sequence number", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const p1 = log.appendReadings(interval(0, 10))[0]!;
    const e1 = log.appendEvent(event(EventType.door, 1));
    const b1 = log.appendReadings(interval(0, 5), RecordClass.billing)[0]!;
    const a1 = log.appendEvent(event(EventType.tamper, 2, true));
    const p2 = log.appendReadings(interval(1, 10))[0]!;
    const a2 = log.appendEvent(event(EventType.magneticField, 3, true));
    assert.deepEqual(drainAll(log).map((r) => r.seq), [a1, a2, e1, b1, p1, p2]);
  });

  it("sends an alarm raised while readings are being drained before the readings left", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    for (let k = 0; k < 4; k++) log.appendReadings(interval(k, 10));
    const c = log.cursor();
    const first = c.next(2);
    const alarm = log.appendEvent(event(EventType.tamper, 9, true));
    const next = c.next(1);
    assert.equal(first.length, 2);
    assert.equal(next[0]!.seq, alarm);
    assert.equal(c.next(10).length, 2);
  });

  it("releases acknowledged records in any order and never returns them again, also after a reboot", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const readings = [0, 1, 2, 3].map((k) => log.appendReadings(interval(k, 20))[0]!);
    const alarm = log.appendEvent(event(EventType.tamper, 2, true));
    assert.equal(log.acknowledge([{ first: alarm, count: 1 }, { first: readings[2]!, count: 1 }]), 2);
    assert.equal(log.acknowledge([{ first: alarm, count: 1 }]), 0, "an acknowledgement is idempotent");
    const expect = [readings[0], readings[1], readings[3]];
    assert.deepEqual(drainAll(log).map((r) => r.seq), expect);
    assert.deepEqual(drainAll(RecordLog.open(flash)).map((r) => r.seq), expect);
  });

  it("acknowledges runs of sequence numbers spanning sectors and classes, ignoring unknown numbers", () => {
    const { flash } = simFlash(16, 1024);
    const log = RecordLog.open(flash);
    const seqs: number[] = [];
    for (let k = 0; k < 12; k++) seqs.push(...log.appendReadings(interval(k, 40)), log.appendEvent(event(EventType.door, k)));
    settle(log);
    const released = log.acknowledge([{ first: 0, count: seqs[seqs.length - 1]! + 1000 }]);
    assert.equal(released, seqs.length);
    assert.deepEqual(drainAll(RecordLog.open(flash)), []);
  });

  it("resumes a cursor where it stopped and starts over on rewind", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const seqs = [0, 1, 2, 3, 4].map((k) => log.appendReadings(interval(k, 10))[0]!);
    const c = log.cursor();
    assert.deepEqual(c.next(2).map((r) => r.seq), seqs.slice(0, 2));
    assert.deepEqual(c.next(2).map((r) => r.seq), seqs.slice(2, 4));
    c.rewind();
    assert.deepEqual(c.next(10).map((r) => r.seq), seqs);
  });

  it("bounds a batch by payload bytes but always returns at least one record", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    for (let k = 0; k < 3; k++) log.appendReadings(interval(k, 100));
    const c = log.cursor();
    const one = c.next(10, 10);
    assert.equal(one.length, 1);
    assert.ok(one[0]!.payload.length > 10);
  });

  it("keeps command results in the event class and returns them as stored, whatever their detail", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const results = [
      { commandId: 7, code: 0 },
      { commandId: 0xffffffff, code: 2, detail: -123_456 },
      { commandId: 9, code: 1, detail: "unknown meter" },
    ];
    const seqs = results.map((r) => log.appendResult(r));
    const got = drainAll(RecordLog.open(flash)).map((r) => decodeRecord(r));
    assert.deepEqual(got.map((d) => d.seq), seqs);
    assert.deepEqual(got.map((d) => d.cls), [RecordClass.event, RecordClass.event, RecordClass.event]);
    assert.deepEqual(got.map((d) => d.kind === "result" && d.result), results);
    assert.throws(() => log.appendResult({ commandId: -1, code: 0 }), InvalidRecordError);
    assert.throws(() => log.appendResult({ commandId: 1, code: 0, detail: "tab\there" }), InvalidRecordError);
  });

  it("keeps readings whose times go backwards: the sequence number is the key", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const late = interval(10, 5);
    const early = interval(-100, 5).map((r) => ({ ...r, time: r.time }));
    const s1 = log.appendReadings(late)[0]!;
    const s2 = log.appendReadings(early)[0]!;
    const got = drainAll(RecordLog.open(flash)).map((r) => decodeRecord(r));
    assert.deepEqual(got.map((d) => d.seq), [s1, s2]);
    assert.deepEqual(got[1]!.kind === "readings" && got[1]!.readings, early);
  });

  it("rejects a bad reading or event with InvalidRecordError and writes nothing", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const before = flash.counters.operations;
    const rs = interval(0, 3);
    rs[2] = { ...rs[2]!, meter: 70_000 };
    assert.throws(() => log.appendReadings(rs), (e: unknown) => e instanceof InvalidRecordError && e.message === "invalid meter");
    assert.throws(() => log.appendReadings(interval(0, 1), RecordClass.alarm as never), InvalidRecordError);
    assert.throws(() => log.appendEvent({ ...event(EventType.door, 1), time: -1 }), InvalidRecordError);
    assert.throws(() => log.appendEvent({ ...event(EventType.door, 1), detail: 0.5 }), InvalidRecordError);
    assert.equal(flash.counters.operations, before);
    assert.deepEqual(drainAll(log), []);
  });

  it("recovers by reading sector headers: flash reads grow with sectors, not with records", () => {
    const reads = (sectors: number, intervals: number) => {
      const { flash } = simFlash(sectors);
      const log = RecordLog.open(flash);
      for (let k = 0; k < intervals; k++) {
        log.appendReadings(interval(k, 64));
        settle(log);
      }
      const before = flash.counters.reads;
      RecordLog.open(flash);
      return flash.counters.reads - before;
    };
    const few = reads(64, 20);
    assert.equal(reads(64, 150), few, "more records, same reads");
    assert.equal(reads(128, 20), few + 64, "64 more sectors, 64 more reads");
  });

  it("evicts the oldest profile readings first when full, records the eviction, and keeps events and alarms", () => {
    const { flash } = simFlash(16, 4096);
    const log = RecordLog.open(flash);
    const alarms = [log.appendEvent(event(EventType.tamper, 1, true))];
    const events = [log.appendEvent(event(EventType.door, 1))];
    const profile: number[] = [];
    for (let k = 0; k < 400; k++) {
      profile.push(...log.appendReadings(interval(k, 64)));
      if (k % 50 === 0) events.push(log.appendEvent(event(EventType.door, k)));
      settle(log);
    }
    const records = drainAll(log);
    const decoded = records.map((r) => decodeRecord(r));
    const notices = decoded.filter((d) => d.kind === "eviction");
    assert.ok(notices.length > 0 && log.stats.evictions === notices.length);
    for (const d of notices) assert.ok(d.kind === "eviction" && d.notice.evictedClass === RecordClass.profile && d.cls === RecordClass.alarm);
    const present = new Set(records.map((r) => r.seq));
    for (const s of [...alarms, ...events]) assert.ok(present.has(s), `event ${s} kept`);
    // Every profile record is either still there or inside a notice's range.
    for (const s of profile) {
      const evicted = notices.some((d) => d.kind === "eviction" && s >= d.notice.firstSeq && s <= d.notice.lastSeq);
      assert.ok(present.has(s) !== evicted, `profile ${s}: present or evicted, not both`);
    }
    assert.ok(present.has(profile[profile.length - 1]!), "the newest readings are kept");
  });

  it("reclaims sectors whose records are all acknowledged before evicting anything", () => {
    const { flash } = simFlash(16, 4096);
    const log = RecordLog.open(flash);
    const c = log.cursor();
    for (let k = 0; k < 400; k++) {
      log.appendReadings(interval(k, 64));
      log.acknowledge(c.next(100).map((r) => ({ first: r.seq, count: 1 })));
      settle(log);
    }
    assert.equal(log.stats.evictions, 0);
    assert.ok(log.stats.erases > 16, "the ring went round");
  });

  it("erases in maintenance turns of its own, never inside an append, when appends leave slack", () => {
    const r = simFlash(64, 4096);
    const clock = new SimClock(r.domain);
    const log = RecordLog.open(r.flash, { timers: clock });
    const c = log.cursor();
    let worstBusyMs = 0;
    for (let k = 0; k < 2000; k++) {
      r.scheduler.runFor(450);
      const busy = r.flash.counters.busyMs;
      log.appendReadings(interval(k, 64));
      if (k % 4 === 0) log.appendEvent(event(EventType.door, k % 100));
      worstBusyMs = Math.max(worstBusyMs, r.flash.counters.busyMs - busy);
      log.acknowledge(c.next(30).map((x) => ({ first: x.seq, count: 1 })));
      r.scheduler.runFor(450);
    }
    assert.ok(log.stats.erases > 64, "the ring went round");
    assert.equal(log.stats.inlineMaintenance, 0);
    assert.ok(worstBusyMs < 45, `worst append held the flash ${worstBusyMs} ms`);
  });

  it("spreads erases evenly over the ring", () => {
    const { flash } = simFlash(32, 4096);
    const log = RecordLog.open(flash);
    const c = log.cursor();
    for (let k = 0; k < 3000; k++) {
      log.appendReadings(interval(k, 64));
      if (k % 3 === 0) log.acknowledge(c.next(100).map((x) => ({ first: x.seq, count: 1 })));
      settle(log);
    }
    const wear = Array.from(flash.wear);
    assert.ok(Math.min(...wear) >= 5, "the ring went round several times");
    assert.ok(Math.max(...wear) - Math.min(...wear) <= 2, `wear ${wear.join(",")}`);
  });

  it("writes each record's class into its sector, so every kind comes back with its class", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    log.appendReadings(interval(0, 3), RecordClass.billing);
    log.appendEvent(event(EventType.tamper, 1, true));
    const got = drainAll(RecordLog.open(flash)).map((r) => [r.cls, r.kind]);
    assert.deepEqual(got, [
      [RecordClass.alarm, RecordKind.event],
      [RecordClass.billing, RecordKind.readings],
    ]);
    assert.equal(T0 > 0, true);
  });
});
