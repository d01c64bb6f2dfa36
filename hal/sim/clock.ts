/**
 * Monotonic clock, timers and an RTC for a simulated circuit, driven by the shared scheduler.
 */
import type { MonotonicClock, TimerId, Timers, WallClock } from "../clock.js";
import type { PowerDomain } from "./power-domain.js";
import type { ScheduledEvent } from "./scheduler.js";

export class SimClock implements MonotonicClock, Timers {
  readonly #domain: PowerDomain;
  #next = 1;
  readonly #live = new Map<TimerId, ScheduledEvent>();

  constructor(domain: PowerDomain) {
    this.#domain = domain;
    // A board that loses power loses its timers: cancelled, so nothing of the dead boot stays referenced.
    domain.onPowerOff(() => {
      for (const e of this.#live.values()) domain.scheduler.cancel(e);
      this.#live.clear();
    });
  }

  now(): number {
    this.#domain.check();
    return this.#domain.uptime();
  }

  set(callback: () => void, delayMs: number, repeatMs?: number): TimerId {
    this.#domain.check();
    if (!(delayMs >= 0)) throw new RangeError("invalid delay");
    if (repeatMs !== undefined && !(repeatMs > 0)) throw new RangeError("invalid repeat");
    const id = this.#next++;
    /** `due`: this clock's `now()` at which the timer fires. */
    const arm = (due: number) => {
      this.#live.set(
        id,
        this.#domain.at(
          this.#firingTime(due),
          () => {
            if (!this.#live.has(id)) return;
            if (repeatMs === undefined) this.#live.delete(id);
            else arm(due + repeatMs);
            callback();
          },
        ),
      );
    };
    arm(this.now() + delayMs);
    return id;
  }

  /**
   * The scheduler time at which `now()` reaches `due`. The scheduler counts from the start of the
   * simulation and `now()` from the boot: rounding between the two must neither let a timer fire a
   * hair before its delay (the contract) nor let a positive delay fire in the same instant, where a
   * firmware that re-arms for the remainder would spin without time ever advancing.
   */
  #firingTime(due: number): number {
    const d = this.#domain;
    const now = d.scheduler.now;
    const later = due > d.uptime();
    let time = now + (due - d.uptime());
    while (d.uptimeAt(time) < due || (later && time <= now)) time += Math.max(Number.MIN_VALUE, Math.abs(time) * Number.EPSILON);
    return time;
  }

  clear(id: TimerId): void {
    const e = this.#live.get(id);
    if (!e) return;
    this.#domain.scheduler.cancel(e);
    this.#live.delete(id);
  }
}

/**
 * The board's real-time clock. It keeps time across power cuts while its coin cell lasts
 * (`keepsTimeWhenOff`); otherwise it restarts invalid at the epoch after a cut. Drift is in ppm.
 */
export class SimRtc implements WallClock {
  readonly #domain: PowerDomain;
  #offset = 0;
  #valid = false;
  readonly #driftPpm: number;

  constructor(domain: PowerDomain, options: { startEpochMs?: number; driftPpm?: number; keepsTimeWhenOff?: boolean } = {}) {
    this.#domain = domain;
    this.#driftPpm = options.driftPpm ?? 0;
    if (options.startEpochMs !== undefined) {
      this.#offset = options.startEpochMs - this.#raw();
      this.#valid = true;
    }
    if (!(options.keepsTimeWhenOff ?? true)) {
      domain.onPowerOff(() => {
        this.#valid = false;
        this.#offset = -this.#raw();
      });
    }
  }

  /** Scheduler time seen through the RTC crystal's drift. */
  #raw(): number {
    return this.#domain.scheduler.now * (1 + this.#driftPpm / 1e6);
  }

  now(): number {
    return Math.floor(this.#raw() + this.#offset);
  }

  set(epochMs: number): void {
    this.#domain.check();
    this.#offset = epochMs - this.#raw();
    this.#valid = true;
  }

  get valid(): boolean {
    return this.#valid;
  }
}
