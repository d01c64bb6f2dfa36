/**
 * The scenario harness evaluated inside the XS engine (xsnap). The Node driver (run-xs.ts) talks to
 * it through `handleCommand`: one command per crank, so the XS meter of a crank is the cost of the
 * work it did. `turn` runs exactly one simulated event-loop turn.
 *
 * Commands (JSON): {op:"list"} | {op:"noop"} | {op:"start", index, seed} | {op:"turn"} |
 * {op:"finish"} (runs the rest of the scenario in this crank and checks it). A scenario's warm-up runs in
 * the `start` crank; `turn` replies with the turn's kind when the scenario tells it.
 */
import { suites } from "../scenarios/index.js";
import type { Scenario, ScenarioRun } from "../lib/scenario.js";
import { serveJsonCommands } from "../../tools/xs/json-commands.js";

const all: Array<{ suite: string; scenario: Scenario }> = [];
for (const { suite, scenarios } of suites) for (const scenario of scenarios) all.push({ suite, scenario });

let run: ScenarioRun | undefined;
let end = 0;

type Command = { op: "list" } | { op: "noop" } | { op: "start"; index: number; seed: string } | { op: "turn" } | { op: "finish" };

function execute(cmd: Command): unknown {
  switch (cmd.op) {
    case "noop":
      return {};
    case "list":
      return all.map((e) => ({ suite: e.suite, name: e.scenario.name }));
    case "start": {
      const r = (run = all[cmd.index]!.scenario.start(cmd.seed));
      if (r.warmUpMs) r.scheduler.runUntilTrue(() => r.done(), r.warmUpMs);
      end = r.scheduler.now + r.limitMs;
      return {};
    }
    case "turn": {
      const r = run!;
      if (r.done()) return { more: false };
      const next = r.scheduler.peek();
      if (next === undefined || next > end) return { more: false };
      r.scheduler.step();
      return { more: true, kind: r.turnKind?.() };
    }
    case "finish": {
      const r = run!;
      run = undefined;
      try {
        r.scheduler.runUntilTrue(() => r.done(), end - r.scheduler.now);
        r.check();
        return { ok: true, turns: r.scheduler.turns, virtualMs: r.scheduler.now };
      } catch (e) {
        const err = e as Error;
        return { ok: false, error: `${err.name}: ${err.message}`, turns: r.scheduler.turns };
      }
    }
  }
}

serveJsonCommands(execute);
