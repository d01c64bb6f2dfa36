#!/usr/bin/env node
/**
 * Power-cut campaign for firmware/store on simulated NOR flash (tools/powercut/campaign.ts).
 *
 *   npm run --silent powercut -- --cuts N --seed S --json
 *   npm run --silent powercut -- [--geometry esp32|small] [--max-gap OPS] [--worn N] [--linear --steps N]
 *
 * Default: seeded random cuts (1 … max-gap flash operations apart, 150 by default; cuts land in
 * recovery too), each followed by recovery, the checks, and more workload; `--worn N` also wears N
 * sectors out at random moments. `--linear` instead cuts
 * once at every flash operation of a workload of `--steps` steps. `--json` prints only
 * {"cuts","lostAcknowledged","corruptReturned","criticalStateViolations","counterRepeats"}.
 * Exits 1 if any invariant was violated.
 */
import { GEOMETRIES, linearCampaign, RandomCampaign, type CampaignReport } from "./powercut/campaign.js";
import { parseOptions, UsageError } from "./cli-args.js";

function main(): void {
  const o = parseOptions(process.argv.slice(2), { cuts: "number", seed: "string", geometry: "string", "max-gap": "number", worn: "number", linear: "boolean", steps: "number", json: "boolean" });
  const geometry = GEOMETRIES[o.geometry ?? "esp32"];
  if (!geometry) throw new UsageError(`--geometry: one of ${Object.keys(GEOMETRIES).join(", ")}`);
  const seed = o.seed ?? "1";
  const started = Date.now();
  let r: CampaignReport;
  if (o.linear) {
    r = linearCampaign({ seed, geometry, steps: o.steps ?? 500 });
  } else {
    const cuts = o.cuts ?? 10_000;
    if (!(Number.isInteger(cuts) && cuts > 0)) throw new UsageError("--cuts: a positive integer");
    const c = new RandomCampaign({ seed, geometry, cuts, maxGap: o["max-gap"] ?? 150, wornSectors: o.worn ?? 0 });
    const tty = !o.json && process.stderr.isTTY;
    for (let n = 0; c.step(); n++) if (tty && n % 5000 === 0) process.stderr.write(`\rcuts: ${c.report().cuts} of ${cuts}`);
    if (tty) process.stderr.write("\n");
    r = c.report();
  }
  const verdict = { cuts: r.cuts, lostAcknowledged: r.lostAcknowledged, corruptReturned: r.corruptReturned, criticalStateViolations: r.criticalStateViolations, counterRepeats: r.counterRepeats };
  if (o.json) console.log(JSON.stringify(verdict));
  else {
    console.log(`${o.linear ? "linear" : "random"} campaign, seed ${seed}, geometry ${o.geometry ?? "esp32"}: ${JSON.stringify(verdict)}`);
    console.log(`  boots ${r.boots}, workload steps ${r.steps}, appends ${r.appends}, released ${r.released}, evictions seen ${r.evictions}, journal collections ${r.collections}, flash operations ${r.flashOperations}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const f of r.failures) console.log(`  ${f}`);
  }
  process.exitCode = r.lostAcknowledged + r.corruptReturned + r.criticalStateViolations + r.counterRepeats > 0 ? 1 : 0;
}

try {
  main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`powercut: ${e.message}`);
  process.exitCode = 2;
}
