/**
 * Reading schedules for groups of modules (the ENERGSys MC/ML product document: "Rules can be set for defined groups of meters -
 * time frame between automated readings / moment of the day for reading"; ESMIG: 15-minute load
 * profiles, billing values): an interval aligned to the clock (1-60 minutes, a divisor of 60 so every
 * hour starts a slot), an optional time-of-day window, and an optional daily billing snapshot.
 *
 * Pure arithmetic on wall-clock seconds (UTC plus a fixed offset for the site's local time of day).
 */

export interface GroupSchedule {
  id: number;
  /** Module numbers in the group; empty means every module not in another group. */
  modules: readonly number[];
  /** Interval readings every this many minutes, aligned to the hour. */
  intervalMin: number;
  /** Readings only from `fromMin` to `toMin` (minutes of the local day, end exclusive; may wrap midnight). */
  window?: { fromMin: number; toMin: number };
  /** Daily billing snapshot at this minute of the local day. */
  billingAtMin?: number;
}

/** Intervals that divide the hour (IEC 62056-21 P.01 registration periods are 1-60 min). */
export const INTERVALS_MIN = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60] as const;

export function validateSchedule(g: GroupSchedule): void {
  if (!(INTERVALS_MIN as readonly number[]).includes(g.intervalMin)) throw new RangeError("invalid intervalMin");
  const minute = (m: number | undefined) => m === undefined || (Number.isInteger(m) && m >= 0 && m < 1440);
  if (g.window && !(minute(g.window.fromMin) && minute(g.window.toMin))) throw new RangeError("invalid window");
  if (!minute(g.billingAtMin)) throw new RangeError("invalid billingAtMin");
}

/** Slot number of `epochS` for an interval: slots are counted from 1970 in local time. */
export function slotOf(epochS: number, intervalMin: number, utcOffsetMin = 0): number {
  return Math.floor((epochS + utcOffsetMin * 60) / (intervalMin * 60));
}

/** Start of slot `slot` in epoch seconds. */
export function slotStart(slot: number, intervalMin: number, utcOffsetMin = 0): number {
  return slot * intervalMin * 60 - utcOffsetMin * 60;
}

/** Minute of the local day. */
export function minuteOfDay(epochS: number, utcOffsetMin = 0): number {
  const m = Math.floor((epochS + utcOffsetMin * 60) / 60) % 1440;
  return m < 0 ? m + 1440 : m;
}

export function inWindow(g: GroupSchedule, epochS: number, utcOffsetMin = 0): boolean {
  if (!g.window) return true;
  const m = minuteOfDay(epochS, utcOffsetMin);
  const { fromMin, toMin } = g.window;
  return fromMin <= toMin ? m >= fromMin && m < toMin : m >= fromMin || m < toMin;
}

/** Day number (local) of the billing snapshot due at or before `epochS`, or undefined when the group has none. */
export function billingDay(g: GroupSchedule, epochS: number, utcOffsetMin = 0): number | undefined {
  if (g.billingAtMin === undefined) return undefined;
  return Math.floor((epochS + utcOffsetMin * 60 - g.billingAtMin * 60) / 86_400);
}
