import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidKeyError, InvalidRecordError, StoreFullError } from "../../firmware/store/errors.js";
import { FRAME_OVERHEAD } from "../../firmware/store/frame.js";
import { MAX_VALUE_BYTES, StateJournal } from "../../firmware/store/state-journal.js";
import { SimClock } from "../../hal/sim/clock.js";
import { simFlash } from "./fixtures.js";

const bytes = (...xs: number[]) => Uint8Array.from(xs);

describe("store: state journal", () => {
  it("returns the newest value of a key, also after a reboot, and undefined for a key never written", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 64 });
    j.put(3, bytes(1));
    j.put(3, bytes(2, 2));
    j.put(60, bytes());
    const again = StateJournal.open(flash, { keyCount: 64 });
    assert.deepEqual(again.get(3), bytes(2, 2));
    assert.deepEqual(again.get(60), bytes());
    assert.equal(again.get(4), undefined);
  });

  // A live value costs what copying it alone would: a record's framing, its key and length, the value.
  const liveOf = (m: Map<number, Uint8Array>) => [...m.values()].reduce((sum, v) => sum + FRAME_OVERHEAD + 3 + v.length, 0);
  const entry = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.uint8Array({ maxLength: 120 }));
  type Op = Array<[number, Uint8Array]> | "maintain" | "reboot";

  /**
   * Runs `ops` on a journal of 6 x 1 KiB sectors (1,416 B of capacity) and a map: the same values,
   * the same live bytes after every step, and StoreFullError exactly when a write would take the live
   * values past the capacity. Returns how many writes were refused.
   */
  function agreesWithMap(ops: Op[]): number {
    const { flash } = simFlash(6, 1024);
    let j = StateJournal.open(flash, { keyCount: 24 });
    const model = new Map<number, Uint8Array>();
    let refused = 0;
    for (const op of ops) {
      if (op === "maintain") j.maintain();
      else if (op === "reboot") j = StateJournal.open(flash, { keyCount: 24 });
      else {
        const next = new Map(model);
        for (const [k, v] of op) next.set(k, v);
        if (liveOf(next) > j.capacity) {
          assert.throws(() => j.putAll(op), StoreFullError);
          refused++;
        } else {
          j.putAll(op);
          for (const [k, v] of op) model.set(k, v);
        }
      }
      assert.equal(j.liveBytes, liveOf(model));
    }
    for (let k = 0; k < 24; k++) assert.deepEqual(j.get(k), model.get(k));
    return refused;
  }

  it("agrees with a map, and counts its live bytes exactly, through puts, multi-key puts, collections and reboots; it refuses only a write past its capacity", () => {
    let refused = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: entry.map((e) => [e]) },
            { weight: 1, arbitrary: fc.uniqueArray(entry, { minLength: 2, maxLength: 3, selector: (e) => e[0] }).filter((es) => es.reduce((n, e) => n + 3 + e[1].length, 1) <= 256) },
            { weight: 1, arbitrary: fc.constant("maintain" as const) },
            { weight: 1, arbitrary: fc.constant("reboot" as const) },
          ),
          { maxLength: 400 },
        ),
        (ops) => void (refused += agreesWithMap(ops)),
      ),
      { numRuns: 300 },
    );
    assert.ok(refused > 0, "no run came near the capacity");
  });

  it("keeps the room of a collection a reboot cut short: puts before the next maintenance turn cannot lock the journal", () => {
    // Reboots as often as maintenance turns, and single puts: about one run in several hundred reaches a boot with
    // every sector live and the collection's copies still to go into the head. Not shrunk (a run is
    // hundreds of steps): the seed and path replay it.
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 3, arbitrary: entry.map((e) => [e]) }, fc.constant("maintain" as const), fc.constant("reboot" as const)), { maxLength: 400 }), (ops) => void agreesWithMap(ops)),
      { numRuns: 3000, endOnFailure: true },
    );
  });

  it("writes several keys in one record: a put of two keys is one program", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 16 });
    j.put(0, bytes(0));
    const before = flash.counters.programs;
    j.putAll([
      [1, bytes(1)],
      [2, bytes(2)],
    ]);
    assert.equal(flash.counters.programs - before, 1);
    assert.deepEqual([j.get(1), j.get(2)], [bytes(1), bytes(2)]);
  });

  it("rejects bad keys and values with typed errors and writes nothing", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 16 });
    const ops = flash.counters.operations;
    assert.throws(() => j.put(16, bytes(1)), InvalidKeyError);
    assert.throws(() => j.put(-1, bytes(1)), InvalidKeyError);
    assert.throws(() => j.put(1.5, bytes(1)), InvalidKeyError);
    assert.throws(() => j.put(1, new Uint8Array(MAX_VALUE_BYTES + 1)), InvalidRecordError);
    assert.throws(() => j.putAll([[1, bytes(1)], [1, bytes(2)]]), InvalidKeyError);
    assert.throws(() => j.putAll([]), InvalidKeyError);
    assert.throws(() => j.region(10, 7), InvalidKeyError);
    assert.equal(flash.counters.operations, ops);
  });

  it("refuses a write that would leave no room to collect garbage, and keeps what it holds", () => {
    const { flash } = simFlash(6, 1024);
    const j = StateJournal.open(flash, { keyCount: 64 });
    let k = 0;
    assert.throws(() => {
      for (; k < 64; k++) j.put(k, new Uint8Array(100).fill(k));
    }, StoreFullError);
    assert.ok(k > 5 && j.liveBytes <= j.capacity);
    for (let i = 0; i < k; i++) j.put(i, new Uint8Array(100).fill(i + 1));
    for (let i = 0; i < k; i++) assert.deepEqual(StateJournal.open(flash, { keyCount: 64 }).get(i), new Uint8Array(100).fill(i + 1));
  });

  it("collects garbage in maintenance turns of its own when it has timers", () => {
    const r = simFlash(8, 4096);
    const j = StateJournal.open(r.flash, { keyCount: 16, timers: new SimClock(r.domain) });
    r.scheduler.runFor(1000); // a fresh partition: the first sector is erased in a turn of its own
    for (let i = 0; i < 2000; i++) {
      j.put(i % 16, new Uint8Array(20).fill(i & 0xff));
      r.scheduler.runFor(1000);
    }
    assert.ok(j.stats.collections > 5);
    assert.equal(j.stats.inlineMaintenance, 0);
    for (let k = 0; k < 16; k++) assert.equal(j.get(k)![0], (2000 - 16 + k) & 0xff);
  });

  it("collects a sector over several maintenance steps, each copying a few records and erasing at most once", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 512 });
    // 200 keys written once stay live in the oldest sectors; a few keys written again and again fill
    // the next ones, so collecting an old sector copies over a hundred records.
    const put = (k: number, v: number) => {
      j.put(k, new Uint8Array(20).fill(v));
      const before = { programs: flash.counters.programs, erases: flash.counters.erases };
      while (j.maintain()) {
        assert.ok(flash.counters.programs - before.programs <= 12 + 2, `${flash.counters.programs - before.programs} programs in one step`);
        assert.ok(flash.counters.erases - before.erases <= 1);
        before.programs = flash.counters.programs;
        before.erases = flash.counters.erases;
      }
    };
    for (let k = 0; k < 200; k++) put(k, k);
    for (let i = 0; i < 3000; i++) put(200 + (i % 8), i & 0xff);
    assert.ok(j.stats.collections > 3 && j.stats.copies > 300, `${j.stats.collections} collections, ${j.stats.copies} copies`);
    const again = StateJournal.open(flash, { keyCount: 512 });
    for (let k = 0; k < 200; k++) assert.equal(again.get(k)![0], k);
    for (let k = 0; k < 8; k++) assert.equal(again.get(200 + k)![0], (2992 + k) & 0xff);
  });

  it("notes the live records of a sector to collect over several steps, with puts between them, and copies them all", () => {
    const { flash } = simFlash(8, 4096);
    const keyCount = 3400;
    const j = StateJournal.open(flash, { keyCount });
    // 200 keys across the whole key range written once; 8 keys written again and again, two
    // maintenance steps after each put: the noting of a sector (4 steps of 1,024 keys) has puts between its steps.
    const once = Array.from({ length: 200 }, (_, i) => i * 17);
    const churn = Array.from({ length: 8 }, (_, i) => 5 + i * 421);
    for (const k of once) j.put(k, new Uint8Array(20).fill(k & 0xff));
    for (let i = 0; i < 3000; i++) {
      j.put(churn[i % 8]!, new Uint8Array(20).fill(i & 0xff));
      j.maintain();
      j.maintain();
    }
    assert.ok(j.stats.collections > 3, `${j.stats.collections} collections`);
    assert.ok(j.stats.inlineMaintenance < j.stats.collections / 2, `${j.stats.inlineMaintenance} of ${j.stats.collections} collections finished inline`);
    for (const again of [j, StateJournal.open(flash, { keyCount })]) {
      for (const k of once) assert.equal(again.get(k)?.[0], k & 0xff, `key ${k}`);
      churn.forEach((k, i) => assert.equal(again.get(k)?.[0], (2992 + i) & 0xff, `key ${k}`));
    }
  });

  it("addresses a region's keys from 0 and keeps them inside it", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 32 });
    const latches = j.region(16, 8);
    latches.put(0, bytes(9));
    assert.deepEqual(j.get(16), bytes(9));
    assert.equal(latches.key(7), 23);
    assert.throws(() => latches.put(8, bytes(1)), InvalidKeyError);
  });
});
