#!/usr/bin/env node
/**
 * Runs every scenario suite inside a real XS engine and reports the XS meter per event-loop turn.
 *
 *   node dist/host-tests/xs/run-xs.js [--seed S] [--grep TEXT] [--metered-turns N] [--json FILE]
 *
 * Each scenario is stepped one turn per crank for its first N turns (default 20000), so every turn's
 * computation units and live heap slots are measured; the rest runs in one crank. Prints one line per
 * scenario and a closing "N passed, N failed"; exits non-zero on any failure.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundleForXs } from "../../tools/xs/bundle.js";
import { startXs } from "../../tools/xs/xs-worker.js";

interface Options {
  seed: string;
  grep: string | undefined;
  meteredTurns: number;
  json: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seed: "1", grep: undefined, meteredTurns: 20_000, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--seed" && v) (o.seed = v), i++;
    else if (a === "--grep" && v) (o.grep = v), i++;
    else if (a === "--metered-turns" && v) (o.meteredTurns = Number(v)), i++;
    else if (a === "--json" && v) (o.json = v), i++;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

export interface TurnStats {
  suite: string;
  name: string;
  ok: boolean;
  error?: string;
  turns: number;
  meteredTurns: number;
  maxUnitsPerTurn: number;
  p99UnitsPerTurn: number;
  meanUnitsPerTurn: number;
  maxHeapSlots: number;
  finishUnits: number;
  /** Largest units per turn by the kind of turn, when the scenario tells kinds apart. */
  maxUnitsByKind?: Record<string, number>;
}

const opts = parseArgs(process.argv.slice(2));
const entry = fileURLToPath(new URL("../../../host-tests/xs/entry.ts", import.meta.url));
const xs = await startXs(await bundleForXs(entry), "scenarios");
const list = (await xs.command<Array<{ suite: string; name: string }>>({ op: "list" })).reply;
// The harness's own cost per crank (JSON in and out), subtracted from every turn.
let baseline = Infinity;
for (let i = 0; i < 5; i++) baseline = Math.min(baseline, (await xs.command({ op: "noop" })).compute);

const results: TurnStats[] = [];
for (let index = 0; index < list.length; index++) {
  const { suite, name } = list[index]!;
  if (opts.grep && !name.includes(opts.grep) && !suite.includes(opts.grep)) continue;
  await xs.command({ op: "start", index, seed: opts.seed });
  const units: number[] = [];
  const byKind: Record<string, number> = {};
  let maxHeap = 0;
  while (units.length < opts.meteredTurns) {
    const t = await xs.command<{ more: boolean; kind?: string }>({ op: "turn" });
    if (!t.reply.more) break;
    const u = Math.max(0, t.compute - baseline);
    units.push(u);
    if (t.reply.kind) byKind[t.reply.kind] = Math.max(byKind[t.reply.kind] ?? 0, u);
    maxHeap = Math.max(maxHeap, t.heapSlots);
  }
  const fin = await xs.command<{ ok: boolean; error?: string; turns: number }>({ op: "finish" });
  const sorted = [...units].sort((a, b) => a - b);
  const r: TurnStats = {
    suite,
    name,
    ok: fin.reply.ok,
    ...(fin.reply.error ? { error: fin.reply.error } : {}),
    turns: fin.reply.turns,
    meteredTurns: units.length,
    maxUnitsPerTurn: sorted[sorted.length - 1] ?? 0,
    p99UnitsPerTurn: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
    meanUnitsPerTurn: units.length ? Math.round(units.reduce((a, b) => a + b, 0) / units.length) : 0,
    maxHeapSlots: Math.max(maxHeap, fin.heapSlots),
    finishUnits: Math.max(0, fin.compute - baseline),
    ...(Object.keys(byKind).length ? { maxUnitsByKind: byKind } : {}),
  };
  results.push(r);
  const mark = r.ok ? "ok  " : "FAIL";
  console.log(
    `${mark} ${suite}: ${name}\n       turns ${r.turns} (metered ${r.meteredTurns}), units/turn max ${r.maxUnitsPerTurn} p99 ${r.p99UnitsPerTurn} mean ${r.meanUnitsPerTurn}, heap slots ≤ ${r.maxHeapSlots}`,
  );
  if (r.maxUnitsByKind) console.log(`       units/turn max by kind: ${Object.entries(r.maxUnitsByKind).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  if (!r.ok) console.log(`       ${r.error}`);
}
await xs.close();

if (opts.json) writeFileSync(opts.json, JSON.stringify({ seed: opts.seed, baselineUnits: baseline, results }, null, 2));
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
