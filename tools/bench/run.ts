#!/usr/bin/env node
/**
 * Runs the benchmarks (npm run bench) and prints their figures.
 *
 *   npm run bench                          every benchmark, as text
 *   npm run bench -- --only TEXT           those whose id or name contains TEXT
 *   npm run --silent bench -- --json       one JSON document on standard output (progress on standard error)
 *   npm run bench -- --out FILE            the same document written to FILE as well
 *
 * The document, to compare across commits: `{ schema, commit, node, cpus, startedAt, wallMs,
 * benchmarks: { <id>: { name, wallMs, figures } | { name, wallMs, error } } }`. Each benchmark is
 * one entry under its id below; a new one slots in by its own id.
 * Wall-clock figures on shared machines are noisy: compare ratios measured in the same run. The XS
 * meter figures are deterministic.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseOptions, UsageError } from "../cli-args.js";
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
import { deviceImage } from "./device-image.js";
import { dlmsBench } from "./dlms.js";
import { siteRecording } from "./site-record.js";
import { otaGprs } from "./ota-gprs.js";
import { otaXs } from "./ota-xs.js";
import { backfillBench } from "./backfill.js";
import { siteXs } from "./site-xs.js";
import { fleetIngest } from "./fleet.js";

/** Every benchmark by its id: the id is the key of its figures in the JSON document. */
const BENCHES: Record<string, Bench> = {
  simSpeed,
  xsTurns,
  d0Parse,
  d0Xs,
  pollCycle,
  remotePoll,
  store: storeBench,
  modem: modemBench,
  uplinkBytes,
  uplinkXs,
  drainRate,
  siteUplinkBytes,
  siteBacklog,
  siteRecording,
  deviceImage,
  dlms: dlmsBench,
  otaXs,
  otaGprs,
  backfill: backfillBench,
  siteXs,
  fleetIngest,
};

type Entry = { name: string; wallMs: number } & ({ figures: Record<string, number | string> } | { error: string });

function commit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), { json: "boolean", out: "string", only: "string" });
  // With --json, standard output carries the document alone.
  const say = o.json ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);
  const chosen = Object.entries(BENCHES).filter(([id, b]) => !o.only || id.includes(o.only) || b.name.includes(o.only));
  if (chosen.length === 0) throw new UsageError(`--only ${o.only}: no benchmark matches (ids: ${Object.keys(BENCHES).join(", ")})`);
  const started = Date.now();
  const benchmarks: Record<string, Entry> = {};
  for (const [id, b] of chosen) {
    if (o.json) say(`bench: ${id} (${b.name}) ...`);
    const t = performance.now();
    let entry: Entry;
    try {
      entry = { name: b.name, wallMs: 0, figures: await b.run() };
    } catch (e) {
      entry = { name: b.name, wallMs: 0, error: e instanceof Error ? e.message : String(e) };
    }
    entry.wallMs = Math.round(performance.now() - t);
    benchmarks[id] = entry;
    if (o.json) say(`bench: ${id} ${"error" in entry ? `FAILED: ${entry.error}` : "done"} in ${(entry.wallMs / 1000).toFixed(1)} s`);
    else {
      say(`\n${b.name}`);
      if ("error" in entry) say(`  FAILED: ${entry.error}`);
      else for (const [k, v] of Object.entries(entry.figures)) say(`  ${k}: ${v}`);
    }
  }
  const document = {
    schema: "concentrator-bench/1",
    commit: commit(),
    node: process.version,
    cpus: cpus().length,
    startedAt: new Date(started).toISOString(),
    wallMs: Date.now() - started,
    benchmarks,
  };
  const text = JSON.stringify(document, null, 2);
  if (o.json) process.stdout.write(`${text}\n`);
  if (o.out) writeFileSync(o.out, `${text}\n`);
  if (Object.values(benchmarks).some((e) => "error" in e)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
