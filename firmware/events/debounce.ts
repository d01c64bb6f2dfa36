/**
 * Debounce and hold-off for condition events (a tamper contact, a door, a voltage out of band), per
 * (type, subject): a condition is raised only after it has been seen continuously for the type's
 * debounce time, and a repeat within the hold-off after a raise is counted instead of raised again, so
 * a chattering contact produces one alarm and a count, not a flood.
 *
 * Memory is bounded: one small entry per (type, subject) that is currently asserted or held off;
 * entries are dropped when both have expired.
 */
import type { EventType } from "../model/records.js";
import { policyOf } from "./catalogue.js";

interface Entry {
  /** When the condition was first seen in its current run, ms; undefined while it is not asserted. */
  assertedSince: number | undefined;
  raised: boolean;
  /** End of the hold-off window after the last raise, ms. */
  holdOffUntil: number;
  /** Repeats swallowed by the hold-off since the last raise. */
  suppressed: number;
}

export type DebounceVerdict = { raise: false } | { raise: true; suppressedBefore: number };

export class EventDebouncer {
  readonly #entries = new Map<string, Entry>();
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
    const key = `${type}:${subject}`;
    let e = this.#entries.get(key);
    if (!asserted) {
      if (e) {
        e.assertedSince = undefined;
        e.raised = false;
        if (nowMs >= e.holdOffUntil) this.#entries.delete(key);
      }
      return { raise: false };
    }
    e ??= this.#track(key, nowMs);
    if (!e) return { raise: true, suppressedBefore: 0 };
    e.assertedSince ??= nowMs;
    if (e.raised || nowMs - e.assertedSince < policyOf(type).debounceMs) return { raise: false };
    e.raised = true;
    return this.#raise(e, type, nowMs);
  }

  /** A one-shot event (nothing to clear, no debounce): raised unless held off. */
  pulse(type: EventType, subject: number, nowMs: number): DebounceVerdict {
    const key = `${type}:${subject}`;
    const e = this.#entries.get(key) ?? this.#track(key, nowMs);
    if (!e) return { raise: true, suppressedBefore: 0 };
    const verdict = this.#raise(e, type, nowMs);
    if (e.holdOffUntil <= nowMs) this.#entries.delete(key);
    return verdict;
  }

  #track(key: string, nowMs: number): Entry | undefined {
    if (this.#entries.size >= this.#maxEntries) {
      this.#dropped++;
      return undefined;
    }
    const e: Entry = { assertedSince: nowMs, raised: false, holdOffUntil: 0, suppressed: 0 };
    this.#entries.set(key, e);
    return e;
  }

  #raise(e: Entry, type: EventType, nowMs: number): DebounceVerdict {
    if (nowMs < e.holdOffUntil) {
      e.suppressed++;
      return { raise: false };
    }
    const suppressedBefore = e.suppressed;
    e.suppressed = 0;
    e.holdOffUntil = nowMs + policyOf(type).holdOffMs;
    return { raise: true, suppressedBefore };
  }
}
