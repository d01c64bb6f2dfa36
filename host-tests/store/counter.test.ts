import assert from "node:assert/strict";
import { InvalidRecordError } from "../../firmware/store/errors.js";
import { HighWaterMark, MonotonicCounter } from "../../firmware/store/counter.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { simFlash } from "./fixtures.js";

describe("store: counters", () => {
  it("hands out 0, 1, 2 … and writes the journal once per block", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 4 });
    const c = new MonotonicCounter(j, 0, { block: 16 });
    const values = Array.from({ length: 40 }, () => c.next());
    assert.deepEqual(values, Array.from({ length: 40 }, (_, i) => i));
    assert.equal(j.stats.puts, 3);
  });

  it("continues after the reserved block after a reboot: values are skipped, never repeated", () => {
    const { flash } = simFlash(8, 4096);
    const c = new MonotonicCounter(StateJournal.open(flash, { keyCount: 4 }), 0, { block: 16 });
    for (let i = 0; i < 20; i++) c.next();
    const after = new MonotonicCounter(StateJournal.open(flash, { keyCount: 4 }), 0, { block: 16 });
    assert.equal(after.next(), 32);
  });

  it("accepts only counters above every one accepted before, across reboots", () => {
    const { flash } = simFlash(8, 4096);
    const h = new HighWaterMark(StateJournal.open(flash, { keyCount: 4 }), 1);
    assert.equal(h.value, -1);
    assert.equal(h.accept(5), true);
    assert.equal(h.accept(5), false);
    assert.equal(h.accept(3), false);
    const again = new HighWaterMark(StateJournal.open(flash, { keyCount: 4 }), 1);
    assert.equal(again.value, 5);
    assert.equal(again.accept(5), false);
    assert.equal(again.accept(6), true);
    assert.throws(() => again.accept(-1), InvalidRecordError);
  });
});
