/**
 * A simulated circuit that can lose power: a concentrator board, a local module, a modem.
 *
 * Every callback that simulated hardware delivers to code running on the circuit goes through
 * `guard` (or is a `CircuitEvent`, which does the same at dispatch), so after a power cut (or a
 * reset) nothing scheduled by the previous boot runs again, and any HAL call made by code that is
 * still unwinding throws PowerLossError. Hardware parts register `onPowerOff` to lose their volatile
 * state (FIFOs, pin levels).
 */
import { NOTHING, SimEvent, type ScheduledEvent, type Scheduler } from "./scheduler.js";

/** Thrown by simulated hardware used while its circuit has no power. Not a firmware error. */
export class PowerLossError extends Error {
  constructor() {
    super("power lost");
    this.name = "PowerLossError";
  }
}

export type PowerOffReason = "power-cut" | "brownout" | "watchdog" | "software" | "panic";

/**
 * An event posted on a circuit: it runs (`fire`) only in the epoch it was posted in and while the
 * circuit has power, and a PowerLossError it throws is contained, as `guard` does, with no closure
 * per event. Power going off cancels it (`Scheduler.cancelOwnedBy`).
 */
export abstract class CircuitEvent extends SimEvent {
  #epoch: number;

  constructor(domain: PowerDomain) {
    super(domain);
    this.#epoch = domain.epoch;
  }

  /** What happens on the circuit. */
  abstract fire(): void;

  run(): void {
    (this.owner as PowerDomain).runIn(this.#epoch, fireEvent, this);
  }
}

function fireEvent(e: CircuitEvent): void {
  e.fire();
}

/** A function posted on a circuit (`PowerDomain.after`, `at`). */
class CircuitCall extends CircuitEvent {
  #fn: () => void;

  constructor(domain: PowerDomain, fn: () => void) {
    super(domain);
    this.#fn = fn;
  }

  fire(): void {
    this.#fn();
  }

  drop(): void {
    this.#fn = NOTHING;
  }
}

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
    return (...args: A) => this.runIn(epoch, fn, ...args);
  }

  /** Runs `fn(...args)` if the circuit is on and still in `epoch`; a PowerLossError it throws (the circuit went off under it) is contained. */
  runIn<A extends unknown[]>(epoch: number, fn: (...args: A) => void, ...args: A): void {
    if (epoch !== this.#epoch || !this.#on) return;
    try {
      fn(...args);
    } catch (e) {
      if (!(e instanceof PowerLossError)) throw e;
    }
  }

  /** Schedules `fn` on this circuit after `delayMs`; cancelled (and let go) if power goes off first. */
  after(delayMs: number, fn: () => void): ScheduledEvent {
    return this.scheduler.post(new CircuitCall(this, fn), this.scheduler.now + (delayMs > 0 ? delayMs : 0));
  }

  /** Schedules `fn` on this circuit at scheduler time `time`; cancelled (and let go) if power goes off first. */
  at(time: number, fn: () => void): ScheduledEvent {
    return this.scheduler.post(new CircuitCall(this, fn), time);
  }

  /**
   * Calls `fn(arg)`, code running on the circuit that its hardware calls (a timer's callback, a
   * UART's onReadable or onWritable, an input's onChange, the supply's mains listener, a crypto
   * result): the one place where the simulated hardware enters the code it serves. The XS bench
   * (tools/bench/site-xs-entry.ts) meters the firmware's turns here, by `source` (the part) and
   * `event`, rather than wrapping each callback the firmware registers in a closure of its own.
   */
  enter<A>(source: object, event: string, fn: (arg: A) => void, arg: A): void {
    fn(arg);
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
