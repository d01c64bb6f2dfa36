#!/usr/bin/env node
/**
 * Power cuts during OTA updates (tools/otacut/campaign.ts, docs/ota.md "Power cuts").
 *
 *   npm run --silent otacut -- --cuts N --seed S --json      random: one or two cuts per run
 *   npm run --silent otacut -- --linear [--stride K] [--seed S] [--json]   a cut at every K-th flash operation
 *
 * `--json` prints {"cuts","bootedOld","bootedNew","bricked","readingsLost","latchesLost",
 * "counterRegressions","cutsBeforeSwitch","cutsAfterSwitch","runs","updateOperations"}. Exits 1 when
 * a run bricked, lost a reading or a latch, or a counter went backwards.
 */
import { parseOptions, UsageError } from "./cli-args.js";
import { linearCampaign, randomCampaign, type OtaCutVerdict } from "./otacut/campaign.js";

function main(): void {
  const o = parseOptions(process.argv.slice(2), { cuts: "number", seed: "string", linear: "boolean", stride: "number", json: "boolean" });
  const seed = o.seed ?? "1";
  const tty = !o.json && process.stderr.isTTY;
  const onRun = tty ? (done: number, total: number) => process.stderr.write(`\r${o.linear ? "operation" : "cuts"} ${done} of ${total}   `) : undefined;
  const started = Date.now();
  let v: OtaCutVerdict;
  if (o.linear) v = linearCampaign({ seed, stride: o.stride ?? 1, ...(onRun ? { onRun } : {}) });
  else {
    const cuts = o.cuts ?? 100;
    if (!(Number.isInteger(cuts) && cuts > 0)) throw new UsageError("--cuts: a positive integer");
    v = randomCampaign({ seed, cuts, ...(onRun ? { onRun } : {}) });
  }
  if (tty) process.stderr.write("\n");
  const { failures, ...figures } = v;
  if (o.json) console.log(JSON.stringify(figures));
  else {
    console.log(`${o.linear ? "linear" : "random"} OTA power-cut campaign, seed ${seed}: ${JSON.stringify(figures)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const f of failures) console.log(`  ${f}`);
  }
  process.exitCode = v.bricked + v.readingsLost + v.latchesLost + v.counterRegressions > 0 ? 1 : 0;
}

try {
  main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`otacut: ${e.message}`);
  process.exitCode = 2;
}
