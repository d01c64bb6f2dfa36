/**
 * A simulated circuit that can lose power: a concentrator board, a local module, a modem.
 *
 * Every callback that simulated hardware delivers to code running on the circuit goes through
 * `guard`, so after a power cut (or a reset) nothing scheduled by the previous boot runs again, and
 * any HAL call made by code that is still unwinding throws PowerLossError. Hardware parts register
 * `onPowerOff` to lose their volatile state (FIFOs, pin levels).
 */
import type { Scheduler } from "./scheduler.js";

/** Thrown by simulated hardware used while its circuit has no power. Not a firmware error. */
export class PowerLossError extends Error {
  constructor() {
    super("power lost");
    this.name = "PowerLossError";
  }
}

export type PowerOffReason = "power-cut" | "brownout" | "watchdog" | "software" | "panic";

export class PowerDomain {
  readonly name: string;
  readonly scheduler: Scheduler;
  #on = false;
  #epoch = 0;
  #bootTime = 0;
  #offHandlers: Array<(reason: PowerOffReason) => void> = [];
  #onHandlers: Array<() => void> = [];

  constructor(scheduler: Scheduler, name: string) {
    this.scheduler = scheduler;
    this.name = name;
  }

  get on(): boolean {
    return this.#on;
  }

  /** Increments at every power-on and power-off: a callback of an older epoch is stale. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Milliseconds since this circuit last powered on. */
  uptime(): number {
    return this.uptimeAt(this.scheduler.now);
  }

  /** What `uptime()` will say at scheduler time `time` (in this boot). */
  uptimeAt(time: number): number {
    return time - this.#bootTime;
  }

  /** Throws PowerLossError when the circuit is off. */
  check(): void {
    if (!this.#on) throw new PowerLossError();
  }

  /** Wraps `fn` so that it only runs in the current epoch, and a PowerLossError it throws is contained. */
  guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    const epoch = this.#epoch;
    return (...args: A) => {
      if (epoch !== this.#epoch || !this.#on) return;
      try {
        fn(...args);
      } catch (e) {
        if (!(e instanceof PowerLossError)) throw e;
      }
    };
  }

  /** Schedules `fn` on this circuit after `delayMs`; cancelled (and let go) if power goes off first. */
  after(delayMs: number, fn: () => void) {
    return this.scheduler.after(delayMs, this.guard(fn), this);
  }

  /** Schedules `fn` on this circuit at scheduler time `time`; cancelled (and let go) if power goes off first. */
  at(time: number, fn: () => void) {
    return this.scheduler.at(time, this.guard(fn), this);
  }

  onPowerOff(handler: (reason: PowerOffReason) => void): void {
    this.#offHandlers.push(handler);
  }

  /** `handler` runs at every power-on, after the hardware is reset: it is the boot entry point. */
  onPowerOn(handler: () => void): void {
    this.#onHandlers.push(handler);
  }

  powerOff(reason: PowerOffReason): void {
    if (!this.#on) return;
    this.#on = false;
    this.#epoch++;
    // What the circuit had posted would no longer run (`guard`); cancelled now, its callbacks (and
    // the code they hold) are let go at the cut rather than when their time comes.
    this.scheduler.cancelOwnedBy(this);
    for (const h of this.#offHandlers) h(reason);
  }

  powerOn(): void {
    if (this.#on) return;
    this.#on = true;
    this.#epoch++;
    this.#bootTime = this.scheduler.now;
    for (const h of this.#onHandlers) this.guard(h)();
  }
}
