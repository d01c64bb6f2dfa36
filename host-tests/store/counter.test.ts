import assert from "node:assert/strict";
import { InvalidRecordError } from "../../firmware/store/errors.js";
import { HighWaterMark, MonotonicCounter } from "../../firmware/store/counter.js";
import { walkFrames, type FrameView } from "../../firmware/store/frame.js";
import { HEADERS_BYTES } from "../../firmware/store/sector-format.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import type { SimNorFlash } from "../../hal/sim/nor-flash.js";
import { simFlash } from "./fixtures.js";

/** Flips a bit in the newest journal record holding `key` (bit rot after it was written). */
function rotNewest(flash: SimNorFlash, key: number): void {
  let newest: { at: number; seq: number } | undefined;
  for (let s = 0; s < flash.byteLength / flash.blockSize; s++) {
    const b = flash.read(s * flash.blockSize, flash.blockSize);
    walkFrames(b, HEADERS_BYTES, b.length, () => true, (f: FrameView) => {
      if ((b[f.payloadAt + 1]! | (b[f.payloadAt + 2]! << 8)) === key && (!newest || f.seq > newest.seq)) newest = { at: s * flash.blockSize + f.payloadAt, seq: f.seq };
    });
  }
  flash.corrupt(newest!.at + 4, 0x01);
}

describe("store: counters", () => {
  it("hands out 0, 1, 2 … and writes the journal once per block after the first", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 4 });
    const c = new MonotonicCounter(j, 0, { block: 16 });
    const values = Array.from({ length: 80 }, () => c.next());
    assert.deepEqual(values, Array.from({ length: 80 }, (_, i) => i));
    assert.equal(j.stats.puts, 2 + 4);
  });

  it("continues above both reserved ends after a reboot: values are skipped, never repeated", () => {
    const { flash } = simFlash(8, 4096);
    const c = new MonotonicCounter(StateJournal.open(flash, { keyCount: 4 }), 0, { block: 16 });
    for (let i = 0; i < 20; i++) c.next();
    const after = new MonotonicCounter(StateJournal.open(flash, { keyCount: 4 }), 0, { block: 16 });
    const v = after.next();
    assert.ok(v >= 20 && v <= 20 + 2 * 16, `next after reboot: ${v}`);
  });

  it("does not repeat a value when the newest record of one of its keys rots", () => {
    for (const key of [0, 1]) {
      const { flash } = simFlash(8, 4096);
      const c = new MonotonicCounter(StateJournal.open(flash, { keyCount: 4 }), 0, { block: 16 });
      let last = 0;
      for (let i = 0; i < 50; i++) last = c.next();
      rotNewest(flash, key);
      const after = new MonotonicCounter(StateJournal.open(flash, { keyCount: 4 }), 0, { block: 16 });
      assert.ok(after.next() > last, `key ${key}`);
    }
  });

  it("accepts only counters above every one accepted before, across reboots", () => {
    const { flash } = simFlash(8, 4096);
    const h = new HighWaterMark(StateJournal.open(flash, { keyCount: 4 }), 2);
    assert.equal(h.value, -1);
    assert.equal(h.accept(5), true);
    assert.equal(h.accept(5), false);
    assert.equal(h.accept(3), false);
    const again = new HighWaterMark(StateJournal.open(flash, { keyCount: 4 }), 2);
    assert.equal(again.value, 5);
    assert.equal(again.accept(5), false);
    assert.equal(again.accept(6), true);
    assert.throws(() => again.accept(-1), InvalidRecordError);
  });

  it("still refuses a replay of the last accepted counter when the newest record of one of its keys rots", () => {
    const { flash } = simFlash(8, 4096);
    const h = new HighWaterMark(StateJournal.open(flash, { keyCount: 4 }), 2);
    for (const v of [3, 9, 12]) h.accept(v);
    rotNewest(flash, 3);
    assert.equal(new HighWaterMark(StateJournal.open(flash, { keyCount: 4 }), 2).accept(12), false);
  });
});
