/**
 * The readings stored since a time, read back from the newest end of the record log (RecordLog.recent,
 * a part of a sector per turn), a few records decoded per turn. At boot the profile catch-up learns from it
 * which meters were read in the interval the power was cut in (docs/backfill.md), so that interval is
 * not fetched again for them.
 */
import type { Timers } from "../../hal/clock.js";
import type { Reading } from "../model/records.js";
import type { RecentResume, RecordLog } from "../store/log.js";
import { decodeRecord, RecordClass, type StoredRecord } from "../store/record-codec.js";

/** Sectors read at most: the interval cut short is in the newest one or two. */
const MAX_SECTORS = 4;
/** Records decoded per turn (a record is one readout's readings). */
const RECORDS_PER_TURN = 8;

export function readingsSince(log: RecordLog, timers: Timers, guard: (fn: () => void) => void, fromS: number, each: (r: Reading) => void, done: () => void): void {
  let before = log.nextSeq;
  let sectors = 0;
  let records: StoredRecord[] = [];
  let resume: RecentResume | undefined;
  let at = 0;
  let reachedOlder = false;
  const step = () =>
    guard(() => {
      // A sector is read to its end (a part per turn) before its records, newest first, are looked at.
      if (resume || at >= records.length) {
        if (!resume) {
          if (reachedOlder || (sectors > 0 && before === 0) || sectors >= MAX_SECTORS) return done();
          records = [];
          at = 0;
          sectors++;
        }
        const part = log.recent(RecordClass.profile, before, resume);
        for (const r of part.records) records.push(r);
        before = part.next;
        resume = part.resume;
        if (!resume && records.length === 0) return done();
        return void timers.set(step, 0);
      }
      // Newest records first: once one is older than `fromS`, so is the rest of the log.
      for (const end = Math.max(0, records.length - at - RECORDS_PER_TURN); records.length - at > end; at++) {
        const d = decodeRecord(records[records.length - 1 - at]!);
        if (d.kind !== "readings") continue;
        for (const r of d.readings) {
          if (r.time >= fromS) each(r);
          else reachedOlder = true;
        }
      }
      if (reachedOlder) at = records.length;
      timers.set(step, 0);
    });
  timers.set(step, 0);
}
