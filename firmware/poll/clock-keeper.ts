/**
 * Module clocks: the concentrator keeps wall time from the head-end and sets a module's clock when it
 * drifts beyond `maxDriftS`, or when the module says its clock is not set (after a cold start). Each
 * setting is audited and raises a clock-set event with the drift corrected. A module is set at most
 * once per `minIntervalMs` unless its clock is not set at all, so a module that cannot keep time does
 * not occupy the bus.
 */
import type { MonotonicClock, WallClock } from "../../hal/clock.js";
import { clockSeconds, readClock, writeClock } from "../bus/local-module.js";
import { EventType } from "../model/records.js";
import type { ModuleAccess } from "./module-access.js";
import { Priority } from "./poller.js";

export interface ClockKeeperOptions {
  access: ModuleAccess;
  clock: MonotonicClock;
  wallClock: WallClock;
  /** Drift beyond which a module clock is set, s. Default 20: small against a 15-minute slot, large against one read's latency. */
  maxDriftS?: number;
  /** A module is set at most this often unless its clock is not set at all, ms. Default 1 h. */
  minIntervalMs?: number;
  pulse(type: EventType, subject: number, detail: number): void;
  audit(subject: number, oldSeconds: number | undefined, newSeconds: number, ok: boolean): void;
  /** Every module clock a readout showed (set, readable): its offset from the wall clock, s, at wall time `atS`. */
  observed?(module: number, offsetS: number, atS: number): void;
}

export class ClockKeeper {
  #o: ClockKeeperOptions;
  readonly #lastSetMs = new Map<number, number>();
  readonly #busy = new Set<number>();
  readonly counters = { set: 0, failed: 0 };

  constructor(options: ClockKeeperOptions) {
    this.#o = options;
  }

  setMaxDrift(seconds: number): void {
    this.#o = { ...this.#o, maxDriftS: seconds };
  }

  /** The wall clock was set: every module is now off by the same step, and each is set at its next readout. */
  wallClockSet(): void {
    this.#lastSetMs.clear();
  }

  /** A readout showed the module's clock (`moduleS`, undefined when unreadable) at wall time `atS`. */
  observe(module: number, moduleS: number | undefined, notSet: boolean, atS: number): void {
    const o = this.#o;
    if (!o.wallClock.valid || this.#busy.has(module)) return;
    const drift = moduleS === undefined ? Infinity : moduleS - atS;
    if (moduleS !== undefined && !notSet) o.observed?.(module, drift, atS);
    if (!notSet && Math.abs(drift) <= (o.maxDriftS ?? 20)) return;
    const last = this.#lastSetMs.get(module);
    if (!notSet && last !== undefined && o.clock.now() - last < (o.minIntervalMs ?? 3_600_000)) return;
    this.#busy.add(module);
    this.#lastSetMs.set(module, o.clock.now());
    const target = Math.round(o.wallClock.now() / 1000);
    o.access.session(module, [writeClock(target), readClock()], Priority.onDemand, (r) => {
      this.#busy.delete(module);
      const readBack = r.ok && r.results[1]?.ok ? clockSeconds(r.results[1].dataSets) : undefined;
      const ok = readBack !== undefined && Math.abs(readBack - target) <= 5;
      this.counters[ok ? "set" : "failed"]++;
      o.audit(module, moduleS, target, ok);
      if (ok) o.pulse(EventType.clockSet, module, Number.isFinite(drift) ? Math.round(drift) : 0);
    });
  }
}
