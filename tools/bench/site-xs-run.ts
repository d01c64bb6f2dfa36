#!/usr/bin/env node
/**
 * The firmware's live heap and event-loop turns in the 256-meter site, measured inside XS (in its
 * own process: the xsnap driver locks down its process). docs/memory.md says what each figure is
 * and how it is measured.
 *
 *   node dist/tools/bench/site-xs-run.js [--minutes M] [--seed S] [--modules N] [--step-s S] [--sample-min M] [--check]
 *   node dist/tools/bench/site-xs-run.js --profile [--minutes M] ...
 *
 * Prints one JSON object (SiteXsMeasurement). With `--check`, exits 1 when the budget is not met
 * (`budgetViolations`: the live-heap margin under 25 %, a running turn over 150,000 units). The site
 * runs twice, in cranks of `--step-s` simulated seconds (default 5) that each end with a garbage
 * collection: A, the site as it is (the firmware's turns, XS units per reading, its live heap), and
 * B, the same site whose firmware has no uplink (the modem, broker and head-end are there, idle), for
 * what the uplink adds. A run's machine is sampled: copied (an xsnap snapshot), and the copy cuts the
 * board's power and frees the firmware, which leaves the simulated world alone (each copy checks
 * that the firmware's parts were collected); the firmware's heap then is the machine's less the
 * world's, exactly. A run samples every `--sample-min` simulated minutes (default 1); between two
 * samples the world is taken as growing evenly, so the firmware's heap at every crank is the
 * machine's less the world interpolated (`peakSlots`, the largest over the cranks), and exact at the
 * samples (`peakSampledSlots`, the largest over them).
 *
 * `--profile` is a diagnostic instead: run A alone with every method of the bundle's classes wrapped
 * (site-xs-entry.ts), printing the kinds' largest turns and the method calls inside each (`calls`:
 * per method, calls, units inclusive and self, the wrapping's own units taken out), and per kind
 * and first method called the largest turn (`byRoot`).
 */
import { fileURLToPath } from "node:url";
import { parseOptions } from "../cli-args.js";
import { bundleForXsWithClasses } from "../xs/bundle.js";
import { resumeXs, startXs, type XsWorker } from "../xs/xs-worker.js";
import type { CallFigures, KindFigures, RootFigures } from "./site-xs-entry.js";
import { budgetViolations } from "./memory-budget.js";

/** 156 local modules and the default bridges and DLMS meters: 256 meters with seed 1. */
export const SITE_256 = { modules: 156 } as const;
/** The firmware's parts the entry watches (site-xs-entry.ts): each copy checks that they were freed. */
const WATCHED_NO_UPLINK = ["acquirer", "concentrator", "console", "journal", "log", "poller", "topology"];
const WATCHED_UPLINK = [...WATCHED_NO_UPLINK, "modem", "uplink"];

export interface MeasureOptions {
  seed: string;
  minutes: number;
  modules: number;
  stepS: number;
  sampleMin: number;
}

/** A sample: the machine's live slots at a crank and, in its copy, the simulated world's. */
export interface HeapSample {
  atMs: number;
  machineSlots: number;
  worldSlots: number;
  /** The machine's less the world's. */
  firmwareSlots: number;
}

export interface SiteXsMeasurement {
  options: MeasureOptions;
  meters: number;
  modules: number;
  /** The firmware's turns by kind: count, units in all, the largest and when. */
  kinds: Record<string, KindFigures>;
  /** The simulated head-end's turns (not the firmware's). */
  headendTurns: KindFigures;
  readingsStored: number;
  readingsDelivered: number;
  lost: number;
  internalErrors: number;
  /** XS units of the firmware's turns (but the boot's) per reading delivered to the head-end. */
  unitsPerReading: number;
  /** The largest firmware turn but the boot's, its kind. */
  largestTurn: { kind: string; units: number };
  /** The firmware's live heap slots (A): the largest over the cranks (the world interpolated between samples), and when (simulated ms). */
  peakSlots: number;
  peakAtMs: number;
  /** The same over the samples alone: exact. */
  peakSampledSlots: number;
  peakSampledAtMs: number;
  /** The firmware's live heap without its uplink (B): the largest over the cranks, and when; over the samples alone. */
  peakSlotsWithoutUplink: number;
  peakWithoutUplinkAtMs: number;
  peakSampledSlotsWithoutUplink: number;
  /** A's samples and B's. */
  samples: HeapSample[];
  samplesWithoutUplink: HeapSample[];
  /** Whether every copy of A and B freed the firmware (else its world's figure holds some of it). */
  firmwareReleased: boolean;
}

const entry = fileURLToPath(new URL("../../../tools/bench/site-xs-entry.ts", import.meta.url));

/** Slots a copy of `xs` frees with `ops` (the last op's crank is measured, after its collection). */
async function inCopy(xs: XsWorker, name: string, ops: string[]): Promise<{ slots: number; reply: unknown }> {
  const copy = await resumeXs(await xs.snapshot(), name);
  try {
    let r = await copy.command<unknown>({ op: "noop" });
    for (const op of ops) r = await copy.command<unknown>({ op });
    return { slots: r.heapSlots, reply: r.reply };
  } finally {
    await copy.close();
  }
}

export interface Run {
  meters: number;
  modules: number;
  cranks: Array<{ atMs: number; slots: number }>;
  samples: Array<{ atMs: number; slots: number; sampled: number; released: boolean }>;
  report: {
    kinds: Record<string, KindFigures>;
    headendTurns: KindFigures;
    readingsDelivered: number;
    readingsStored: number;
    lost: number;
    internalErrors: number;
    /** With `profile`: per kind, the method calls inside its largest turn; per kind and first method, the largest turn. */
    calls?: Record<string, Record<string, CallFigures>>;
    byRoot?: Record<string, Record<string, RootFigures>>;
    /** With `profile`: the units the wrapping adds per call, taken out of the figures. */
    callOverhead?: number;
  };
}

export async function run(bundle: string, o: MeasureOptions, firmwareUplink: boolean, profile = false): Promise<Run> {
  const xs = await startXs(bundle, firmwareUplink ? "site-a" : "site-b");
  const watched = firmwareUplink ? WATCHED_UPLINK : WATCHED_NO_UPLINK;
  try {
    const started = await xs.command<{ meters: number; modules: number }>({ op: "start", seed: o.seed, modules: o.modules, days: Math.max(1, Math.ceil(o.minutes / 1440)), firmwareUplink, profile });
    const samples: Run["samples"] = [];
    const sample = async (atMs: number, slots: number) => {
      if (profile) return;
      const c = await inCopy(xs, `world-${atMs}`, ["release", "released"]);
      const r = c.reply as { boardOff: boolean; freed: string[] };
      samples.push({ atMs, slots, sampled: c.slots, released: r.boardOff && watched.every((p) => r.freed.includes(p)) });
    };
    const cranks: Run["cranks"] = [{ atMs: 0, slots: started.heapSlots }];
    await sample(0, started.heapSlots);
    const step = o.stepS * 1000;
    const end = o.minutes * 60_000;
    let nextSample = o.sampleMin * 60_000;
    for (let t = step; t <= end; t += step) {
      const r = await xs.command({ op: "run", untilMs: t });
      cranks.push({ atMs: t, slots: r.heapSlots });
      if (t >= nextSample || t + step > end) {
        await sample(t, r.heapSlots);
        nextSample += o.sampleMin * 60_000;
      }
    }
    const report = (await xs.command<Run["report"]>({ op: "report" })).reply;
    return { meters: started.reply.meters, modules: started.reply.modules, cranks, samples, report };
  } finally {
    await xs.close();
  }
}

/** A sampled figure at `atMs`, linear between the samples around it. */
export function at(samples: ReadonlyArray<{ atMs: number; sampled: number }>, atMs: number): number {
  let i = 1;
  while (i < samples.length - 1 && samples[i]!.atMs < atMs) i++;
  const a = samples[i - 1]!, b = samples[i] ?? a;
  if (b.atMs === a.atMs) return a.sampled;
  return Math.round(a.sampled + ((b.sampled - a.sampled) * (atMs - a.atMs)) / (b.atMs - a.atMs));
}

/** The firmware's largest live heap (the machine's less the world's) over `points`, and when. */
export function peakOf(points: ReadonlyArray<{ atMs: number; slots: number }>, world: (atMs: number) => number): { slots: number; atMs: number } {
  let slots = 0, atMs = 0;
  for (const c of points) if (c.slots - world(c.atMs) > slots) (slots = c.slots - world(c.atMs)), (atMs = c.atMs);
  return { slots, atMs };
}

function samplesOf(r: Run): HeapSample[] {
  return r.samples.map((s) => ({ atMs: s.atMs, machineSlots: s.slots, worldSlots: s.sampled, firmwareSlots: s.slots - s.sampled }));
}

export async function measure(o: MeasureOptions): Promise<SiteXsMeasurement> {
  const bundle = await bundleForXsWithClasses(entry);
  const a = await run(bundle, o, true);
  const b = await run(bundle, o, false);
  const peak = peakOf(a.cranks, (t) => at(a.samples, t));
  const peakB = peakOf(b.cranks, (t) => at(b.samples, t));
  const sampled = peakOf(a.samples, (t) => at(a.samples, t));
  const sampledB = peakOf(b.samples, (t) => at(b.samples, t));
  const kinds = a.report.kinds;
  const running = Object.entries(kinds).filter(([k]) => k !== "boot");
  const units = running.reduce((n, [, v]) => n + v.units, 0);
  const [kind, largest] = running.reduce((m, e) => (e[1].maxUnits > m[1].maxUnits ? e : m), ["none", { maxUnits: 0 } as KindFigures]);
  return {
    options: o,
    meters: a.meters,
    modules: a.modules,
    kinds,
    headendTurns: a.report.headendTurns,
    readingsStored: a.report.readingsStored,
    readingsDelivered: a.report.readingsDelivered,
    lost: a.report.lost,
    internalErrors: a.report.internalErrors,
    unitsPerReading: a.report.readingsDelivered ? Math.round(units / a.report.readingsDelivered) : 0,
    largestTurn: { kind, units: largest.maxUnits },
    peakSlots: peak.slots,
    peakAtMs: peak.atMs,
    peakSampledSlots: sampled.slots,
    peakSampledAtMs: sampled.atMs,
    peakSlotsWithoutUplink: peakB.slots,
    peakWithoutUplinkAtMs: peakB.atMs,
    peakSampledSlotsWithoutUplink: sampledB.slots,
    samples: samplesOf(a),
    samplesWithoutUplink: samplesOf(b),
    firmwareReleased: [...a.samples, ...b.samples].every((s) => s.released),
  };
}

/** The diagnostic (`--profile`, see the module's comment): A's turns by kind and the calls inside each kind's largest. */
export async function profileTurns(o: MeasureOptions): Promise<{ options: MeasureOptions; callOverhead: number; kinds: Record<string, KindFigures>; calls: Record<string, Record<string, CallFigures>>; byRoot: Record<string, Record<string, RootFigures>> }> {
  const a = await run(await bundleForXsWithClasses(entry), o, true, true);
  return { options: o, callOverhead: a.report.callOverhead ?? 0, kinds: a.report.kinds, calls: a.report.calls ?? {}, byRoot: a.report.byRoot ?? {} };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseOptions(process.argv.slice(2), { minutes: "number", seed: "string", modules: "number", "step-s": "number", "sample-min": "number", check: "boolean", profile: "boolean" });
  const options: MeasureOptions = {
    seed: o.seed ?? "1",
    minutes: o.minutes ?? 180,
    modules: o.modules ?? SITE_256.modules,
    stepS: o["step-s"] ?? 5,
    sampleMin: o["sample-min"] ?? 1,
  };
  if (o.profile) console.log(JSON.stringify(await profileTurns(options)));
  else {
    const m = await measure(options);
    console.log(JSON.stringify(m));
    if (o.check) {
      const problems = budgetViolations(m);
      for (const p of problems) console.error(`over budget: ${p}`);
      process.exitCode = problems.length ? 1 : 0;
    }
  }
}
