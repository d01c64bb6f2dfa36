#!/usr/bin/env node
/**
 * The firmware's live heap and event-loop turns in the 256-meter site, measured inside XS (in its
 * own process: the xsnap driver locks down its process). docs/memory.md says what each figure is
 * and how it is measured.
 *
 *   node dist/tools/bench/site-xs-run.js [--minutes M] [--seed S] [--modules N] [--step-s S] [--sample-min M] [--check]
 *
 * Prints one JSON object (SiteXsMeasurement). With `--check`, exits 1 when the budget is not met
 * (`budgetViolations`: the live-heap margin under 25 %, a running turn over 150,000 units). The site runs twice, in cranks of `--step-s` simulated
 * seconds (default 5) that each end with a garbage collection:
 *
 * - A, the site as it is: the firmware's turns, XS units per reading, and the machine's live heap.
 * - B, the same site whose firmware has no uplink (the modem, broker and head-end are there, idle):
 *   every `--sample-min` simulated minutes (default 15) the machine is copied (an xsnap snapshot) and
 *   the copy cuts the board's power and frees the firmware, which leaves the world alone.
 *
 * The firmware's heap in A is bounded above by A's machine less its head-end's database (measured
 * in copies of A that drop it) less B's world (interpolated between samples): what A's world holds
 * beyond B's (the broker's sessions, the modem emulator's buffers) counts as the firmware's. XS keeps
 * the firmware of A alive after the cut when its uplink is configured (not understood; B's is freed,
 * which each copy checks), which is why the world is measured in B.
 */
import { fileURLToPath } from "node:url";
import { parseOptions } from "../cli-args.js";
import { bundleForXsWithClasses } from "../xs/bundle.js";
import { resumeXs, startXs, type XsWorker } from "../xs/xs-worker.js";
import type { KindFigures } from "./site-xs-entry.js";
import { budgetViolations } from "./memory-budget.js";

/** 156 local modules and the default bridges and DLMS meters: 256 meters with seed 1. */
export const SITE_256 = { modules: 156 } as const;
/** The firmware's parts the entry watches; without an uplink, all but the uplink's must be freed. */
const WATCHED_NO_UPLINK = ["acquirer", "concentrator", "console", "journal", "log", "poller", "topology"];

export interface MeasureOptions {
  seed: string;
  minutes: number;
  modules: number;
  stepS: number;
  sampleMin: number;
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
  /** Upper bound of the firmware's live heap slots: the largest over A's cranks, and when (simulated ms). */
  peakSlots: number;
  peakAtMs: number;
  /** The firmware's live heap without its uplink (B, exact): the largest over B's cranks. */
  peakSlotsWithoutUplink: number;
  samples: Array<{ atMs: number; machineSlots: number; headendSlots: number; worldSlots: number }>;
  /** Whether every copy of B freed the firmware (else its world's figure holds some of it). */
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
  samples: Array<{ atMs: number; slots: number; sampled: number; released?: boolean }>;
  report: { kinds: Record<string, KindFigures>; headendTurns: KindFigures; readingsDelivered: number; readingsStored: number; lost: number; internalErrors: number };
}

export async function run(bundle: string, o: MeasureOptions, firmwareUplink: boolean): Promise<Run> {
  const xs = await startXs(bundle, firmwareUplink ? "site-a" : "site-b");
  try {
    const started = await xs.command<{ meters: number; modules: number }>({ op: "start", seed: o.seed, modules: o.modules, days: Math.max(1, Math.ceil(o.minutes / 1440)), firmwareUplink });
    const samples: Run["samples"] = [];
    const sample = async (atMs: number, slots: number) => {
      if (firmwareUplink) {
        const c = await inCopy(xs, `headend-${atMs}`, ["forgetHeadend"]);
        samples.push({ atMs, slots, sampled: slots - c.slots });
      } else {
        const c = await inCopy(xs, `world-${atMs}`, ["release", "released"]);
        const r = c.reply as { boardOff: boolean; freed: string[] };
        samples.push({ atMs, slots, sampled: c.slots, released: r.boardOff && WATCHED_NO_UPLINK.every((p) => r.freed.includes(p)) });
      }
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

export async function measure(o: MeasureOptions): Promise<SiteXsMeasurement> {
  const bundle = await bundleForXsWithClasses(entry);
  const a = await run(bundle, o, true);
  const b = await run(bundle, o, false);
  let peakSlots = 0, peakAtMs = 0;
  for (const c of a.cranks) {
    const f = c.slots - at(a.samples, c.atMs) - at(b.samples, c.atMs);
    if (f > peakSlots) (peakSlots = f), (peakAtMs = c.atMs);
  }
  const peakSlotsWithoutUplink = Math.max(...b.cranks.map((c) => c.slots - at(b.samples, c.atMs)));
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
    peakSlots,
    peakAtMs,
    peakSlotsWithoutUplink,
    samples: a.samples.map((s) => ({ atMs: s.atMs, machineSlots: s.slots, headendSlots: s.sampled, worldSlots: at(b.samples, s.atMs) })),
    firmwareReleased: b.samples.every((s) => s.released),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseOptions(process.argv.slice(2), { minutes: "number", seed: "string", modules: "number", "step-s": "number", "sample-min": "number", check: "boolean" });
  const m = await measure({
    seed: o.seed ?? "1",
    minutes: o.minutes ?? 180,
    modules: o.modules ?? SITE_256.modules,
    stepS: o["step-s"] ?? 5,
    sampleMin: o["sample-min"] ?? 15,
  });
  console.log(JSON.stringify(m));
  if (o.check) {
    const problems = budgetViolations(m);
    for (const p of problems) console.error(`over budget: ${p}`);
    process.exitCode = problems.length ? 1 : 0;
  }
}
