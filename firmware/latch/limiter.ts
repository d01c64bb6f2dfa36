/**
 * A load limiter in the spirit of DLMS/COSEM interface class 71 (IEC 62056-6-2 §4.5.9;
 * DLMS Blue Book, IC 71): a monitored value compared with the active threshold (normal, or the
 * emergency threshold while an emergency profile that names this limiter's group is active); when the
 * value stays above it for at least `minOverMs` the limiter asks for a local disconnect (transition g),
 * and when it then stays below for `minUnderMs` it reports that the load is back under the threshold
 * (which enables a local reconnect, h, in control modes 5 and 6).
 *
 * Time comes in with each sample (milliseconds of the caller's monotonic clock).
 */

import { isValidLoadLimit, type LoadLimit } from "../model/load-limit.js";

export interface EmergencyProfile {
  id: number;
  /** Start, caller's monotonic ms. */
  activationMs: number;
  durationMs: number;
}

export type LimiterAction = "none" | "overThreshold" | "underThreshold";

export class Limiter {
  readonly #config: LoadLimit;
  #emergency: EmergencyProfile | undefined;
  /** Since when the value has been on the side opposite to the current verdict; undefined when not. */
  #since: number | undefined;
  #over = false;

  constructor(config: LoadLimit) {
    this.#config = validate(config);
  }

  /** Activates an emergency profile; it applies only if its id is in `emergencyGroups`. */
  setEmergency(profile: EmergencyProfile | undefined): void {
    this.#emergency = profile;
  }

  /** attribute 10 */
  emergencyActive(nowMs: number): boolean {
    const e = this.#emergency;
    return !!e && this.#config.emergencyGroups.includes(e.id) && nowMs >= e.activationMs && nowMs < e.activationMs + e.durationMs;
  }

  /** attribute 3 */
  thresholdActive(nowMs: number): number {
    return this.emergencyActive(nowMs) ? this.#config.thresholdEmergency : this.#config.thresholdNormal;
  }

  /** True while the limiter holds that the load is over the threshold. */
  get over(): boolean {
    return this.#over;
  }

  /** Feeds one sample of the monitored value; returns the action to take now, if any. */
  sample(value: number, nowMs: number): LimiterAction {
    const above = value > this.thresholdActive(nowMs);
    if (above === this.#over) {
      this.#since = undefined;
      return "none";
    }
    if (this.#since === undefined) this.#since = nowMs;
    const needed = above ? this.#config.minOverMs : this.#config.minUnderMs;
    if (nowMs - this.#since < needed) return "none";
    this.#over = above;
    this.#since = undefined;
    return above ? "overThreshold" : "underThreshold";
  }
}

function validate(c: LoadLimit): LoadLimit {
  if (!isValidLoadLimit(c)) throw new RangeError("invalid limiter");
  return { ...c, emergencyGroups: [...c.emergencyGroups] };
}
