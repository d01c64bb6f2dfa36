/**
 * The readings stored since a time, read back from the newest end of the record log, one flash sector
 * per turn (RecordLog.recent). At boot the profile catch-up learns from it which meters were read in
 * the interval the power was cut in (docs/backfill.md), so that interval is not fetched again for them.
 */
import type { Timers } from "../../hal/clock.js";
import type { Reading } from "../model/records.js";
import type { RecordLog } from "../store/log.js";
import { decodeRecord, RecordClass } from "../store/record-codec.js";

/** Sectors read at most: the interval cut short is in the newest one or two. */
const MAX_SECTORS = 4;

export function readingsSince(log: RecordLog, timers: Timers, guard: (fn: () => void) => void, fromS: number, each: (r: Reading) => void, done: () => void): void {
  let before = log.nextSeq;
  let sectors = 0;
  const step = () =>
    guard(() => {
      const { records, next } = log.recent(RecordClass.profile, before);
      let reachedOlder = records.length === 0;
      for (const rec of records) {
        const d = decodeRecord(rec);
        if (d.kind !== "readings") continue;
        for (const r of d.readings) {
          if (r.time >= fromS) each(r);
          else reachedOlder = true;
        }
      }
      before = next;
      if (reachedOlder || next === 0 || ++sectors >= MAX_SECTORS) return done();
      timers.set(step, 0);
    });
  timers.set(step, 0);
}
