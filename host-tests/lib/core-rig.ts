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
import type { SimLocalModule } from "../../hal/sim/local-module.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
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
  plc: 0,
  radio: 0,
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
  let outcome: CommandOutcome | undefined;
  new ConcentratorCommands(firmware(site))[op](meter, (o) => (outcome = o));
  check.ok(outcome, `${op} answers at once`);
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
