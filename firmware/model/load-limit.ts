/**
 * A consumer's load limit, in the spirit of DLMS/COSEM interface class 71 (DLMS Blue Book, IC 71):
 * what the head-end sends (uplink `limit` command), what the latch module persists with the
 * consumer's latch record and what its limiter applies.
 */
export interface LoadLimit {
  /** Threshold in W (attribute 4, threshold_normal). */
  thresholdNormal: number;
  /** Threshold in W while an emergency profile of one of `emergencyGroups` is in force (attribute 5). */
  thresholdEmergency: number;
  /** Over the threshold this long disconnects (attribute 6), ms. */
  minOverMs: number;
  /** Under the threshold this long allows a local reconnection (attribute 7), ms. */
  minUnderMs: number;
  /** Emergency profile ids that apply to this limit (attribute 9). */
  emergencyGroups: readonly number[];
}

/** What a load limit may hold: whole watts as u32, durations up to a day, at most 4 groups of u16. */
export const LOAD_LIMIT_BOUNDS = Object.freeze({ maxThreshold: 0xffffffff, maxDurationMs: 86_400_000, maxGroups: 4, maxGroup: 0xffff } as const);

const whole = (v: unknown, max: number): boolean => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;

/** Whether `l` is a load limit within LOAD_LIMIT_BOUNDS (also checks the shape of untrusted input). */
export function isValidLoadLimit(l: LoadLimit): boolean {
  const b = LOAD_LIMIT_BOUNDS;
  return (
    whole(l.thresholdNormal, b.maxThreshold) &&
    whole(l.thresholdEmergency, b.maxThreshold) &&
    whole(l.minOverMs, b.maxDurationMs) &&
    whole(l.minUnderMs, b.maxDurationMs) &&
    Array.isArray(l.emergencyGroups) &&
    l.emergencyGroups.length <= b.maxGroups &&
    l.emergencyGroups.every((g) => whole(g, b.maxGroup))
  );
}
