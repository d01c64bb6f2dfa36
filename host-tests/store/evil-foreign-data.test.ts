// A partition full of something else (random bytes, another file system, a half-erased part): open
// reads it without erasing anything, returns nothing from it, and the store starts working beside it.
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventType } from "../../firmware/model/records.js";
import { RecordLog } from "../../firmware/store/log.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { Prng } from "../../hal/sim/prng.js";
import { event, simFlash } from "./fixtures.js";

describe("evil: foreign data in the partition", () => {
  it("opens over random bytes without erasing, returns nothing, then appends and reads back", () => {
    fc.assert(
      fc.property(fc.string(), (seed) => {
        const { flash } = simFlash(16, 1024);
        const junk = new Uint8Array(16 * 1024);
        new Prng(seed).fill(junk);
        for (let i = 0; i < junk.length; i++) if (junk[i] !== 0xff) flash.corrupt(i, 0xff ^ junk[i]!);
        const erases = flash.counters.erases;
        const log = RecordLog.open(flash);
        const j = StateJournal.open(flash, { keyCount: 8 });
        assert.equal(flash.counters.erases, erases);
        assert.deepEqual(log.cursor().next(10), []);
        assert.equal(j.get(0), undefined);
        const seq = log.appendEvent(event(EventType.door, 1));
        assert.deepEqual(RecordLog.open(flash).cursor().next(10).map((r) => r.seq), [seq]);
      }),
      { numRuns: 30 },
    );
  });
});
