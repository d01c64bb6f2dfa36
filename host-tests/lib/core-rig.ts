/**
 * Helpers for scenarios on the whole concentrator (firmware/app) in the simulated site (tools/site):
 * a calm site (no random faults, so each scenario injects exactly the faults it is about), what the
 * firmware stored, the consumers behind a simulated module, and a script of steps whose first failed
 * check sticks, so a failure inside a step is reported by `check()` on both engines.
 * Pure ECMAScript: scenarios built on it run under mocha and inside XS.
 */
import { ConcentratorCommands } from "../../firmware/app/command-handlers.js";
import type { Concentrator } from "../../firmware/app/concentrator.js";
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import type { AuditEntry } from "../../firmware/store/audit.js";
import { decodeRecord } from "../../firmware/store/record-codec.js";
import { BusMaster } from "../../firmware/bus/bus-master.js";
import { SimClock } from "../../hal/sim/clock.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import { SimLocalModule, type LocalModuleOptions } from "../../hal/sim/local-module.js";
import { SimMeter, type MeterModel } from "../../hal/sim/meters.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import { SimUart } from "../../hal/sim/uart.js";
import { Site, type SiteOptions } from "../../tools/site/site.js";
import type { CommandOutcome } from "../../firmware/uplink/ports.js";
import * as check from "./check.js";
import type { ScenarioRun } from "./scenario.js";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** The default poll interval (config poll.intervalMin). */
export const POLL_MS = 15 * MINUTE;

/** No random faults at all: a scenario injects its own. */
export const CALM = {
  mainsFailuresPerDay: 0,
  moduleRebootsPerDay: 0,
  openingsPerDay: 0,
  repeaterOutagesPerDay: 0,
  flatBatteryShare: 0,
  balanceConsumers: 0,
  disconnectedShare: 0,
  plc: 0,
  radio: 0,
  dlmsMeters: 0,
} as const;

/** A site without random faults (override any option). */
export function calmSite(seed: string, options: Partial<SiteOptions> & { modules: number }): Site {
  return new Site({ seed, days: 1, ...CALM, ...options });
}

/** The running firmware; fails the check when the board is off. */
export function firmware(site: Site): Concentrator {
  const c = site.concentrator;
  check.ok(c, "the concentrator is running");
  return c;
}

/** The consumers (meter numbers) behind a simulated module, as the firmware knows them now. */
export function consumersOf(site: Site, module: SimLocalModule): number[] {
  const c = firmware(site);
  const n = site.moduleNumber(module);
  check.ok(n !== undefined, `module ${module.serial} is known`);
  return [...c.topology.module(n)!.meters.values()];
}

/**
 * A serial meter whose display a scenario can falsify: a voltage out of band, or a corrupted import
 * register in the next readouts (as a dropped or flipped digit would be on a line without a BCC).
 */
export class ProbeMeter implements MeterModel {
  readonly inner: SimMeter;
  /** Shown instead of the measured voltage while set, 0.1 V. */
  voltageOverride: number | undefined;
  /** Added to the import registers while set, Wh. */
  corruptionWh = 0;

  constructor(inner: SimMeter) {
    this.inner = inner;
  }

  get serial(): string {
    return this.inner.serial;
  }
  get kind(): "serial" | "pulse" {
    return this.inner.kind;
  }
  get phases(): 1 | 3 {
    return this.inner.phases;
  }
  get impPerKwh(): number {
    return this.inner.impPerKwh;
  }
  get powerW(): number {
    return this.inner.powerW;
  }
  get currentMilliA(): number {
    return this.inner.currentMilliA;
  }
  get pulses(): number {
    return this.inner.pulses;
  }
  get voltageDeciV(): number {
    return this.voltageOverride ?? this.inner.voltageDeciV;
  }
  advance(atMs: number, localHour: (ms: number) => number, tariff: (ms: number) => number): void {
    this.inner.advance(atMs, localHour, tariff);
  }
  importWh(tariff?: 1 | 2): number {
    return this.inner.importWh(tariff) + (tariff === undefined ? this.corruptionWh : 0);
  }
  exportWh(tariff?: 1 | 2): number {
    return this.inner.exportWh(tariff);
  }
  setRelay(closed: boolean): void {
    this.inner.setRelay(closed);
  }
}

/** Installs one more local module on bus `bus` of the site (its bus supply follows the board like the others). */
export function addModule(site: Site, bus: number, options: Omit<LocalModuleOptions, "scheduler" | "bus" | "prng" | "identity" | "meters"> & { meters?: MeterModel[] }): SimLocalModule {
  const w = site.world;
  const p = w.prng.fork(`added-${options.address}`);
  const m = new SimLocalModule({
    identity: { manufacturer: "ISk", model: "MT174" },
    meters: [new SimMeter({ serial: `5${options.serial}`, kind: "serial", meanPowerW: 400, prng: p })],
    ...options,
    scheduler: w.scheduler,
    prng: p,
    bus: w.buses[bus]!,
  });
  w.local[bus]!.push(m);
  return m;
}

/** A field engineer's hand-held terminal on bus `bus`: a bus master of its own (it can collide with the concentrator). */
export function handheld(site: Site, bus: number): BusMaster {
  const w = site.world;
  const domain = new PowerDomain(w.scheduler, "handheld");
  const uart = new SimUart(domain, "handheld.rs485", w.prng.fork("handheld"));
  const de = new SimDigitalOutput(domain);
  w.buses[bus]!.attach({ uart, de, echo: true });
  domain.powerOn();
  const clock = new SimClock(domain);
  return new BusMaster({ port: { serial: uart, direction: de }, clock, timers: clock });
}

export interface Stored {
  events: MeterEvent[];
  readings: Reading[];
  audits: AuditEntry[];
}

/** Everything the firmware's record log holds (not acknowledged: these scenarios have no uplink). */
export function stored(c: Concentrator): Stored {
  const out: Stored = { events: [], readings: [], audits: [] };
  const cursor = c.log.cursor();
  for (let batch = cursor.next(256); batch.length > 0; batch = cursor.next(256)) {
    for (const rec of batch) {
      const d = decodeRecord(rec);
      if (d.kind === "event") out.events.push(d.event);
      else if (d.kind === "readings") out.readings.push(...d.readings);
      else if (d.kind === "audit") out.audits.push(d.entry);
    }
  }
  return out;
}

/** Stored events of a type (and subject). */
export function eventsOf(s: Stored, type: number, subject?: number): MeterEvent[] {
  return s.events.filter((e) => e.type === type && (subject === undefined || e.subject === subject));
}

/** Checks every site scenario ends with: nothing thrown out of the main loop, no latch violated. */
export function checkHealthy(site: Site): void {
  const r = site.report();
  check.equal(r.internalErrors, 0, "internal errors of the firmware (summed over boots)");
  check.equal(r.latchViolations, 0, "latched consumers supplied longer than one poll interval");
}

/** The head-end's command carried out (as the uplink calls it once it has authenticated it); its outcome. */
export function command(site: Site, op: "disconnect" | "reconnect", meter: number): CommandOutcome {
  return handled(site, op, (h, done) => h[op](meter, done));
}

/** What the concentrator's handler of command `name` answers at once when `call` calls it. */
export function handled(site: Site, name: string, call: (h: ConcentratorCommands, done: (o: CommandOutcome) => void) => void): CommandOutcome {
  let outcome: CommandOutcome | undefined;
  call(new ConcentratorCommands(firmware(site)), (o) => (outcome = o));
  check.ok(outcome, `${name} answers at once`);
  return outcome;
}

/** A script whose first step waits until the firmware has read `count` modules. */
export function afterDiscovery(site: Site, count: number): Script {
  return new Script(site.world.scheduler).within(30 * MINUTE, `${count} modules discovered`, () => (site.concentrator?.topology.size ?? 0) >= count);
}

/** A scenario run of a site driven by a script; `checkEnd` runs after the script's own verdict. */
export function runOf(site: Site, script: Script, limitMs: number, checkEnd: () => void = () => undefined): ScenarioRun {
  return {
    scheduler: site.world.scheduler,
    limitMs,
    done: () => script.done(),
    check() {
      script.check();
      checkEnd();
      checkHealthy(site);
    },
  };
}

/** Runs a site's script to its end (mocha-only scenarios) and checks it. */
export function play(site: Site, script: Script, limitMs: number): void {
  const run = runOf(site, script, limitMs);
  run.scheduler.runUntilTrue(() => run.done(), limitMs);
  run.check();
}

interface Step {
  what: string;
  until: () => boolean;
  then: (() => void) | undefined;
}

/**
 * Steps run in order; each waits for its condition, then acts. A failed check inside a condition or
 * an action ends the script and is thrown again by `check()`, so a failure in the middle of a run is
 * never lost (the XS harness steps turns and only asks for the verdict at the end).
 */
export class Script {
  readonly #s: Scheduler;
  readonly #steps: Step[] = [];
  #next = 0;
  #failure: unknown;
  #since: number | undefined;

  constructor(scheduler: Scheduler) {
    this.#s = scheduler;
  }

  /** Acts now (once the previous step is over). */
  do(what: string, then: () => void): this {
    return this.when(what, () => true, then);
  }

  /** Waits for `until`, then acts. */
  when(what: string, until: () => boolean, then?: () => void): this {
    this.#steps.push({ what, until, then });
    return this;
  }

  /** Waits `ms` of simulated time from the end of the previous step, then acts. */
  wait(ms: number, what: string, then?: () => void): this {
    return this.when(what, () => this.#s.now >= (this.#since ?? this.#s.now) + ms, then);
  }

  /** Waits for `until` at most `ms`; fails naming `what` when it does not come. */
  within(ms: number, what: string, until: () => boolean, then?: () => void): this {
    return this.when(
      what,
      () => {
        if (until()) return true;
        check.ok(this.#s.now < (this.#since ?? this.#s.now) + ms, `${what}: not within ${ms / 1000} s`);
        return false;
      },
      then,
    );
  }

  /** Advances through every step whose condition holds; true when all have run or one failed. */
  done(): boolean {
    if (this.#failure !== undefined) return true;
    try {
      this.#since ??= this.#s.now;
      while (this.#next < this.#steps.length && this.#steps[this.#next]!.until()) {
        const step = this.#steps[this.#next++]!;
        step.then?.();
        this.#since = this.#s.now;
      }
    } catch (e) {
      this.#failure = e;
      return true;
    }
    return this.#next === this.#steps.length;
  }

  /** Throws the first failure, or names the step the run stopped at. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
    const stuck = this.#steps[this.#next];
    check.ok(!stuck, `stopped while waiting for: ${stuck?.what}`);
  }
}
