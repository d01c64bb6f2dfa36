/**
 * Monotonic clock, timers and an RTC for a simulated circuit, driven by the shared scheduler.
 */
import type { MonotonicClock, TimerId, Timers, WallClock } from "../clock.js";
import { CircuitEvent, type PowerDomain } from "./power-domain.js";
import { NOTHING } from "./scheduler.js";

/**
 * A timer of the circuit: one small record, in the scheduler's queue while it waits (and posted
 * again for its next firing when it repeats). No closure per timer: on the device, a timer costs the
 * firmware a small host record, and the simulation should not add more to the heap it measures.
 */
class SimTimer extends CircuitEvent {
  readonly clock: SimClock;
  readonly id: TimerId;
  callback: () => void;
  readonly repeatMs: number | undefined;
  /** The clock's `now()` at which it fires. */
  due: number;

  constructor(clock: SimClock, domain: PowerDomain, id: TimerId, callback: () => void, repeatMs: number | undefined, due: number) {
    super(domain);
    this.clock = clock;
    this.id = id;
    this.callback = callback;
    this.repeatMs = repeatMs;
    this.due = due;
  }

  fire(): void {
    this.clock.expire(this);
  }

  drop(): void {
    this.callback = NOTHING;
  }
}

export class SimClock implements MonotonicClock, Timers {
  readonly #domain: PowerDomain;
  #next = 1;
  readonly #live = new Map<TimerId, SimTimer>();

  constructor(domain: PowerDomain) {
    this.#domain = domain;
    // A board that loses power loses its timers: cancelled (by the power domain, which cancels what
    // it posted), so nothing of the dead boot stays referenced.
    domain.onPowerOff(() => this.#live.clear());
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
    const due = this.now() + delayMs;
    const timer = new SimTimer(this, this.#domain, id, callback, repeatMs, due);
    this.#live.set(id, this.#domain.scheduler.post(timer, this.#firingTime(due)));
    return id;
  }

  /** @internal A timer's time has come (`SimTimer.fire`): forgotten, or posted again when it repeats, then its callback runs. */
  expire(timer: SimTimer): void {
    if (this.#live.get(timer.id) !== timer) return;
    if (timer.repeatMs === undefined) this.#live.delete(timer.id);
    else this.#domain.scheduler.post(timer, this.#firingTime((timer.due += timer.repeatMs)));
    this.#domain.enter(this, "timer", timer.callback, undefined);
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
    const timer = this.#live.get(id);
    if (!timer) return;
    this.#domain.scheduler.cancel(timer);
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
