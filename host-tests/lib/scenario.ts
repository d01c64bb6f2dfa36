/**
 * A scenario is a simulation with a verdict, written once and run by both engines: mocha on Node
 * (host-tests/scenarios.test.ts) and the XS engine (host-tests/xs/). It must be pure ECMAScript.
 *
 * `start` builds everything from the seed; the runner then steps the scheduler one turn at a time
 * until `done()` or `limitMs` of virtual time, and calls `check()`, which throws on failure.
 */
import type { Scheduler } from "../../hal/sim/scheduler.js";

export interface ScenarioRun {
  readonly scheduler: Scheduler;
  /** Virtual time after which the run stops even if not done, ms. */
  readonly limitMs: number;
  /** Virtual time run at the start, unmetered by the XS runner (what comes before the part measured), ms. */
  readonly warmUpMs?: number;
  done(): boolean;
  check(): void;
  /** What the turn just run was, for the XS runner's figures per kind (e.g. "firmware", "head-end"). */
  turnKind?(): string;
}

export interface Scenario {
  readonly name: string;
  start(seed: string): ScenarioRun;
}

/** Runs a scenario to completion on the calling engine. */
export function runScenario(scenario: Scenario, seed: string): ScenarioRun {
  const run = scenario.start(seed);
  run.scheduler.runUntilTrue(() => run.done(), run.limitMs + (run.warmUpMs ?? 0));
  run.check();
  return run;
}
