/**
 * Drives a simulation `Scheduler` while real I/O (sockets on loopback) is involved.
 *
 * The simulation runs on virtual time and real sockets run in real time. The runner:
 * - runs virtual time freely (as fast as the host can) while no real I/O is outstanding, yielding to
 *   Node's event loop between batches;
 * - paces virtual time against real time while some is (`speed` virtual ms per real ms), so that a
 *   server's answer arrives at a plausible virtual moment and timeouts keep their meaning; when the
 *   simulation cannot keep up, virtual time slips (runs slower) rather than blocking real I/O: no run
 *   of the simulation between two looks at the sockets covers more than `maxSleepMs × speed`;
 * - takes real events in with `deliver(fn)`: `fn` runs as a scheduler event at the current virtual
 *   time, on the next loop iteration (it wakes a paced wait at once).
 *
 * I/O sources tell whether anything is outstanding through `RealIo.busy` (open or opening sockets).
 */
import type { Scheduler } from "../../hal/sim/scheduler.js";

export interface RealIo {
  /** True while real events may still arrive (a socket is open or connecting). */
  readonly busy: boolean;
}

export interface RealTimeRunnerOptions {
  /** Virtual milliseconds per real millisecond while real I/O is outstanding. Default 1. */
  speed?: number;
  /** Events run between yields to Node's event loop when running freely. Default 2000. */
  batch?: number;
  /** Longest real sleep while paced, ms; bounds how late a real event is noticed. Default 10. */
  maxSleepMs?: number;
  /** Pace even while no real I/O is outstanding (a device that must keep real time). Default false. */
  alwaysPaced?: boolean;
}

export interface RunnerStats {
  /** Virtual time run freely / paced, ms. */
  freeVirtualMs: number;
  pacedVirtualMs: number;
  /** Real time spent paced, ms. */
  pacedRealMs: number;
  /** Virtual time the simulation fell behind `speed` and gave up catching up, ms. */
  slipMs: number;
  delivered: number;
}

export class RealTimeRunner {
  readonly scheduler: Scheduler;
  readonly stats: RunnerStats = { freeVirtualMs: 0, pacedVirtualMs: 0, pacedRealMs: 0, slipMs: 0, delivered: 0 };
  readonly #speed: number;
  readonly #batch: number;
  readonly #maxSleepMs: number;
  readonly #alwaysPaced: boolean;
  readonly #sources: RealIo[] = [];
  #wake: (() => void) | undefined;

  constructor(scheduler: Scheduler, options: RealTimeRunnerOptions = {}) {
    this.scheduler = scheduler;
    this.#speed = options.speed ?? 1;
    this.#batch = options.batch ?? 2000;
    this.#maxSleepMs = options.maxSleepMs ?? 10;
    this.#alwaysPaced = options.alwaysPaced ?? false;
    if (!(this.#speed > 0)) throw new RangeError('"speed" is not greater than 0');
  }

  /** Adds a source of real I/O whose `busy` paces the simulation. */
  watch(io: RealIo): void {
    this.#sources.push(io);
  }

  get ioBusy(): boolean {
    return this.#alwaysPaced || this.#sources.some((s) => s.busy);
  }

  /** Runs `fn` in the simulation, as an event at the current virtual time. */
  deliver(fn: () => void): void {
    this.stats.delivered++;
    this.scheduler.after(0, fn);
    this.#wake?.();
  }

  /** Runs until `done()` or `limitMs` of virtual time have passed; resolves with `done()`. */
  async run(done: () => boolean, limitMs: number): Promise<boolean> {
    const s = this.scheduler;
    const end = s.now + limitMs;
    let anchor: { real: number; virtual: number } | undefined;
    for (;;) {
      if (done()) return true;
      if (s.now >= end) return false;
      if (!this.ioBusy) {
        anchor = undefined;
        const from = s.now;
        for (let n = 0; n < this.#batch && !this.ioBusy; n++) {
          if (done()) break;
          const next = s.peek();
          if (next === undefined || next > end) {
            if (!this.ioBusy) s.runUntil(end); // nothing can happen any more before the end
            break;
          }
          s.step();
        }
        this.stats.freeVirtualMs += s.now - from;
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const realNow = performance.now();
      anchor ??= { real: realNow, virtual: s.now };
      let allowed = Math.min(end, anchor.virtual + (realNow - anchor.real) * this.#speed);
      const bound = s.now + this.#maxSleepMs * this.#speed;
      if (allowed > bound) {
        this.stats.slipMs += allowed - bound;
        allowed = bound;
        anchor = { real: realNow, virtual: bound };
      }
      const from = s.now;
      if (allowed > s.now) s.runUntilTrue(done, allowed - s.now);
      this.stats.pacedVirtualMs += s.now - from;
      if (done()) return true;
      const next = s.peek();
      const waitMs = next === undefined ? this.#maxSleepMs : Math.min(this.#maxSleepMs, Math.max(0, (next - s.now) / this.#speed));
      await this.#sleep(waitMs);
      this.stats.pacedRealMs += performance.now() - realNow;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
