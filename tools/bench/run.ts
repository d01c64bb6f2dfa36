#!/usr/bin/env node
/**
 * Runs the benchmarks (npm run bench) and prints their figures; `--json FILE` also writes them.
 * `--only TEXT` runs the benchmarks whose name contains TEXT.
 * Wall-clock figures on shared machines are noisy: compare ratios measured in the same run. The XS
 * meter figures are deterministic.
 */
import { writeFileSync } from "node:fs";
import { parseOptions } from "../cli-args.js";
import type { Bench } from "./bench.js";
import { simSpeed } from "./sim-speed.js";
import { storeBench } from "./store.js";
import { xsTurns } from "./xs-turns.js";
import { uplinkBytes } from "./uplink-bytes.js";
import { drainRate } from "./drain-rate.js";
import { uplinkXs } from "./uplink-xs.js";
import { d0Parse } from "./d0-parse.js";
import { d0Xs } from "./d0-xs.js";
import { pollCycle } from "./poll-cycle.js";
import { modemBench } from "./modem.js";
import { remotePoll } from "./remote-poll.js";
import { siteBacklog, siteUplinkBytes } from "./site-uplink.js";
import { otaGprs } from "./ota-gprs.js";
import { otaXs } from "./ota-xs.js";

const benches: Bench[] = [simSpeed, xsTurns, d0Parse, d0Xs, pollCycle, remotePoll, storeBench, modemBench, uplinkBytes, uplinkXs, drainRate, siteUplinkBytes, siteBacklog, otaXs, otaGprs];

const o = parseOptions(process.argv.slice(2), { json: "string", only: "string" });
const all: Record<string, Record<string, number | string>> = {};
for (const b of benches) {
  if (o.only && !b.name.includes(o.only)) continue;
  const figures = await b.run();
  all[b.name] = figures;
  console.log(`\n${b.name}`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k}: ${v}`);
}
if (o.json) writeFileSync(o.json, JSON.stringify(all, null, 2));
