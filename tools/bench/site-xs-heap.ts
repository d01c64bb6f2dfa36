#!/usr/bin/env node
/**
 * The firmware's live heap without its uplink, alone: run B of site-xs-run (docs/memory.md, "How it
 * is measured") without run A, for measuring a change to the firmware's state quickly. At each sample
 * the figure is exact (the machine less the world its copy leaves once the firmware is freed);
 * between samples the world is interpolated, as site-xs-run does.
 *
 *   node dist/tools/bench/site-xs-heap.js [--minutes M] [--seed S] [--modules N] [--step-s S] [--sample-min M]
 *
 * Prints one JSON object: `atSamples` (simulated ms, firmware slots, its chunk bytes on the device as
 * site-xs-run reads them, whether the copy freed it) and
 * `peakSlots`/`peakAtMs` over every crank.
 */
import { parseOptions } from "../cli-args.js";
import { bundleForXsWithClasses } from "../xs/bundle.js";
import { fileURLToPath } from "node:url";
import { at, peakOf, run, SITE_256 } from "./site-xs-run.js";

const entry = fileURLToPath(new URL("../../../tools/bench/site-xs-entry.ts", import.meta.url));
const o = parseOptions(process.argv.slice(2), { minutes: "number", seed: "string", modules: "number", "step-s": "number", "sample-min": "number" });
const options = { seed: o.seed ?? "1", minutes: o.minutes ?? 15, modules: o.modules ?? SITE_256.modules, stepS: o["step-s"] ?? 5, sampleMin: o["sample-min"] ?? 5, onlyA: false };
const b = await run(await bundleForXsWithClasses(entry), options, false);
const atSamples = b.samples.map((s) => ({ atMs: s.atMs, firmwareSlots: s.slots - s.sampled, firmwareChunkBytes: s.chunks.deviceBytes - s.worldChunks.deviceBytes, released: s.released }));
const peak = peakOf(b.cranks, (t) => at(b.samples, t));
console.log(JSON.stringify({ options, atSamples, peakSlots: peak.slots, peakAtMs: peak.atMs, readingsStored: b.report.readingsStored, lost: b.report.lost }));
