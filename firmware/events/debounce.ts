/**
 * Debounce and hold-off for condition events (a tamper contact, a door, a voltage out of band), per
 * (type, subject): a condition is raised only after it has been seen continuously for the type's
 * debounce time, and a repeat within the hold-off after a raise is counted instead of raised again, so
 * a chattering contact produces one alarm and a count, not a flood.
 *
 * Memory is bounded: one small entry per (type, subject) that is currently asserted or held off;
 * entries are dropped when both have expired.
 */
import { withRoom } from "../model/grow.js";
import type { EventType } from "../model/records.js";
import { policyOf } from "./catalogue.js";

/**
 * An entry's columns, in a row of `EventDebouncer`'s table: its key (type × 2^32 + subject), when the
 * condition was first seen in its current run (ms; NaN while it is not asserted), whether it was
 * raised in that run (0 or 1), the end of the hold-off window after the last raise (ms), and the
 * repeats the hold-off swallowed since the last raise. An object and a Map entry keyed by a string
 * were some 9 slots and a string per entry on the device; a row is 40 B of a chunk.
 */
const KEY = 0, ASSERTED_SINCE = 1, RAISED = 2, HOLD_OFF_UNTIL = 3, SUPPRESSED = 4, COLUMNS = 5;
/** Rows the table starts with (it grows as the other tables do: firmware/model/grow.ts). */
const INITIAL_ROWS = 8;

export type DebounceVerdict = { raise: false } | { raise: true; suppressedBefore: number };

export class EventDebouncer {
  /** The entries, `#count` rows of COLUMNS numbers, in no particular order. */
  #rows = new Float64Array(INITIAL_ROWS * COLUMNS);
  #count = 0;
  readonly #maxEntries: number;
  #dropped = 0;

  /** `maxEntries` bounds memory; beyond it new conditions are raised undebounced (never lost). */
  constructor(maxEntries = 2048) {
    this.#maxEntries = maxEntries;
  }

  /** Conditions that could not be tracked because the table was full. */
  get untracked(): number {
    return this.#dropped;
  }

  /**
   * The condition `type` for `subject` is seen (asserted = true) or seen gone (false) at `nowMs`.
   * Returns whether to raise the event now.
   */
  observe(type: EventType, subject: number, asserted: boolean, nowMs: number): DebounceVerdict {
    const key = type * 0x1_0000_0000 + subject;
    let e = this.find(key);
    const r = this.#rows;
    if (!asserted) {
      if (e >= 0) {
        r[e + ASSERTED_SINCE] = Number.NaN;
        r[e + RAISED] = 0;
        if (nowMs >= r[e + HOLD_OFF_UNTIL]!) this.delete(e);
      }
      return { raise: false };
    }
    if (e < 0) e = this.track(key, nowMs);
    if (e < 0) return { raise: true, suppressedBefore: 0 };
    const rows = this.#rows;
    if (Number.isNaN(rows[e + ASSERTED_SINCE]!)) rows[e + ASSERTED_SINCE] = nowMs;
    if (rows[e + RAISED] || nowMs - rows[e + ASSERTED_SINCE]! < policyOf(type).debounceMs) return { raise: false };
    rows[e + RAISED] = 1;
    return this.#raise(e, type, nowMs);
  }

  /** A one-shot event (nothing to clear, no debounce): raised unless held off. */
  pulse(type: EventType, subject: number, nowMs: number): DebounceVerdict {
    const key = type * 0x1_0000_0000 + subject;
    let e = this.find(key);
    if (e < 0) e = this.track(key, nowMs);
    if (e < 0) return { raise: true, suppressedBefore: 0 };
    const verdict = this.#raise(e, type, nowMs);
    if (this.#rows[e + HOLD_OFF_UNTIL]! <= nowMs) this.delete(e);
    return verdict;
  }

  /** The offset of the row of `key` in `#rows`, or -1. */
  private find(key: number): number {
    const r = this.#rows;
    for (let at = 0, end = this.#count * COLUMNS; at < end; at += COLUMNS) if (r[at + KEY] === key) return at;
    return -1;
  }

  /** A new entry's row offset (asserted since `nowMs`), or -1 when the table is full. */
  private track(key: number, nowMs: number): number {
    if (this.#count >= this.#maxEntries) {
      this.#dropped++;
      return -1;
    }
    const at = this.#count++ * COLUMNS;
    const r = (this.#rows = withRoom(this.#rows, at + COLUMNS - 1));
    r[at + KEY] = key;
    r[at + ASSERTED_SINCE] = nowMs;
    r[at + RAISED] = 0;
    r[at + HOLD_OFF_UNTIL] = 0;
    r[at + SUPPRESSED] = 0;
    return at;
  }

  /** Removes the row at `at`: the last row takes its place. */
  private delete(at: number): void {
    const last = --this.#count * COLUMNS;
    if (at !== last) this.#rows.copyWithin(at, last, last + COLUMNS);
  }

  #raise(e: number, type: EventType, nowMs: number): DebounceVerdict {
    const r = this.#rows;
    if (nowMs < r[e + HOLD_OFF_UNTIL]!) {
      r[e + SUPPRESSED]!++;
      return { raise: false };
    }
    const suppressedBefore = r[e + SUPPRESSED]!;
    r[e + SUPPRESSED] = 0;
    r[e + HOLD_OFF_UNTIL] = nowMs + policyOf(type).holdOffMs;
    return { raise: true, suppressedBefore };
  }
}
