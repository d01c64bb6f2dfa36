#!/usr/bin/env node
/**
 * The firmware's live heap and event-loop turns in the 256-meter site, measured inside XS (in its
 * own process: the xsnap driver locks down its process). docs/memory.md says what each figure is
 * and how it is measured.
 *
 *   node dist/tools/bench/site-xs-run.js [--minutes M | --hours H] [--seed S] [--modules N] [--step-s S] [--sample-min M] [--near-limit-slots N] [--only-a] [--snapshots DIR] [--checkpoint DIR [--checkpoint-min M] [--so-far]] [--json-out FILE] [--check | --check-turns]
 *   node dist/tools/bench/site-xs-run.js --profile [--minutes M] ...
 *
 * Prints one JSON object (SiteXsMeasurement), and writes it to `--json-out` as well (what
 * `check-manifest --measured FILE` reads). With `--check`, exits 1 when the budget is not met
 * (`budgetViolations`: a peak, of slots or of chunk bytes, leaving under 25 % of the manifest's
 * `creation` free; a running turn over 150,000 units). `--only-a` runs A alone (the figures without
 * the uplink are then null): for a long run, a day (`--hours 24 --sample-min 15`). The site
 * runs twice, in cranks of `--step-s` simulated seconds (default 5) that each end with a garbage
 * collection: A, the site as it is (the firmware's turns, XS units per reading, its live heap), and
 * B, the same site whose firmware has no uplink (the modem, broker and head-end are there, idle), for
 * what the uplink adds. A run's machine is sampled: copied (an xsnap snapshot), and the copy cuts the
 * board's power and frees the firmware, which leaves the simulated world alone (each copy checks
 * that the firmware's parts were collected); the firmware's heap then is the machine's less the
 * world's, exactly. A run samples every `--sample-min` simulated minutes (default 0.25: 15 s);
 * between two samples the world is taken as growing evenly, so the firmware's heap at every crank is
 * the machine's less the world interpolated (`peakSlots`, the largest over the cranks), and exact at
 * the samples (`peakSampledSlots`, the largest over them). The world has passing peaks of its own
 * (a burst on the wire, the modem): the further apart the samples, the more of those the
 * interpolation counts as the firmware's (a minute apart: 6,748 slots at the peak, where 15 s find
 * 5,555); a crank that comes near the budget's limit (`SAMPLE_NEAR_LIMIT`, or `--near-limit-slots`)
 * by the world extrapolated is sampled at once, and one that the interpolation puts near it, once the
 * next sample is done, is sampled in a replay of the machine from the sample before. A sample's copy
 * (another xsnap process: its start from the snapshot, release, collection and snapshot, and reading
 * both snapshots' chunks) takes about as long as the machine's 15 s of cranks late in a day, so it
 * runs alongside them, one copy at a time.
 *
 * Chunk bytes (strings, ArrayBuffers' bytes, Arrays' elements, Map tables, byte code), which xsnap's
 * meter does not give, are read from the snapshots (tools/xs/snapshot-chunks.ts): the machine's
 * snapshot, taken for the copy, and a second one of the copy once it freed the firmware; the
 * firmware's chunk bytes are the difference, exact at each sample (`peakChunkBytes`, the largest over
 * the samples), laid out as on the 32-bit device without the byte code (in flash there): an upper
 * bound (snapshot-chunks.ts says by what), the host's figure beside it.
 *
 * With `--checkpoint DIR`, the run keeps a checkpoint in DIR every `--checkpoint-min` simulated
 * minutes (default 60; site-xs-checkpoint.ts) and, when DIR holds one of the same bundle and
 * options, goes on from it: a day cut short is finished by running the same command again, with
 * the same figures as a run that was never cut (each is exact: the machine goes on from its snapshot).
 * The same command with `--so-far` prints run A's figures up to its last checkpoint instead (and
 * `--check` checks them), leaving the run and DIR as they are: a day in progress looked at.
 *
 * `--profile` is a diagnostic instead: run A alone with every method of the bundle's classes wrapped
 * (site-xs-entry.ts), printing the kinds' largest turns and the method calls inside each (`calls`:
 * per method, calls, units inclusive and self, the wrapping's own units taken out), and per kind
 * and first method called the largest turn (`byRoot`).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseOptions } from "../cli-args.js";
import { bundleForXsWithClasses } from "../xs/bundle.js";
import { resumeXs, startXs } from "../xs/xs-worker.js";
import type { CallFigures, KindFigures, RootFigures } from "./site-xs-entry.js";
import { chunkFigures, type ChunkFigures, type ChunkKind } from "../xs/snapshot-chunks.js";
import { budgetViolations, creationBudget, heapViolations, MIN_MARGIN, SLOT_BYTES, turnViolations } from "./memory-budget.js";
import { Checkpoints, type RunIdentity, type RunState } from "./site-xs-checkpoint.js";

/**
 * Slots the machine's heap is grown by before the site starts, per simulated minute of the run
 * (xsnap's heap, not the device's: every figure is taken after a collection, so free room changes
 * none of them; the fit gate's figures are the same with and without it). XS grows its slot heap
 * only when two collections in a row leave less than its increment (128 K slots) free; with the
 * world's heap growing all day (about 1,800 slots a minute: the head-end's readings, the site's
 * ground truth), a burst of allocation then cost one full collection per 128 K slots, and a day's
 * run stalled for minutes doing nothing else (docs/memory.md, "Where it stands"). Four million for
 * a day.
 */
const SLOTS_AHEAD_PER_MINUTE = 2_800;

/**
 * A crank whose firmware slots, the world extrapolated from the last two samples whose copies are
 * surely done, come within this share of the most the budget's margin allows is sampled at once:
 * a peak near the limit then rests on a sample of its own, not on the interpolation, which counts
 * the world's passing peaks between two samples as the firmware's (the day of 52ee0a6: 5,792 slots
 * at 12,670 s by the interpolation, 24.6 % of `creation` free, where no sample found above 5,240).
 */
const SAMPLE_NEAR_LIMIT = 0.95;

/** 156 local modules and the default bridges and DLMS meters: 256 meters with seed 1. */
export const SITE_256 = { modules: 156 } as const;

/** What to run (RunIdentity: the seed, minutes, modules, crank and sample intervals, A alone) and where to keep what. */
export interface MeasureOptions extends RunIdentity {
  /** Where to write, at every sample, the machine's snapshot and its copy's (`a-<ms>-machine.snap`, `a-<ms>-copy.snap`): for tools/xs/snapshot-owners.ts. */
  snapshotsDir?: string;
  /** Where to keep checkpoints (site-xs-checkpoint.ts), every `checkpointMin` simulated minutes (default 60): the run goes on from the last one. */
  checkpointDir?: string;
  checkpointMin?: number;
}

/** A sample: the machine's live slots at a crank and, in its copy, the simulated world's. */
export interface HeapSample {
  atMs: number;
  machineSlots: number;
  worldSlots: number;
  /** The machine's less the world's. */
  firmwareSlots: number;
  /** The machine's live chunk bytes and the world's (device layout, snapshot-chunks.ts); the firmware's, their difference. */
  machineChunkBytes: number;
  worldChunkBytes: number;
  firmwareChunkBytes: number;
  /** The firmware's chunk bytes on this 64-bit host, and of them its functions' byte code (in flash on the device). */
  firmwareChunkBytesHost: number;
  firmwareCodeBytesHost: number;
  /** `firmwareChunkBytes` by what the chunks hold (snapshot-chunks.ts). */
  firmwareChunkBytesByKind: Record<ChunkKind, number>;
  /** Taken in a replay from the sample before, at a crank the interpolation put near the limit. */
  replayed: boolean;
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
  /** The firmware's live chunk bytes (A), device layout: the largest over the samples, and when; the host's largest. */
  peakChunkBytes: number;
  peakChunkAtMs: number;
  peakChunkBytesHost: number;
  /** The firmware's live bytes on the device (A), slots × 16 B + chunk bytes: the largest over the samples, and when. */
  peakSampledBytes: number;
  peakSampledBytesAtMs: number;
  /** The firmware's live heap without its uplink (B): the largest over the cranks, and when; over the samples alone. Null with `onlyA`. */
  peakSlotsWithoutUplink: number | null;
  peakWithoutUplinkAtMs: number | null;
  peakSampledSlotsWithoutUplink: number | null;
  /** The same of B's chunk bytes and live bytes, over the samples. */
  peakChunkBytesWithoutUplink: number | null;
  peakChunkWithoutUplinkAtMs: number | null;
  peakSampledBytesWithoutUplink: number | null;
  /** A's samples and B's (empty with `onlyA`). */
  samples: HeapSample[];
  samplesWithoutUplink: HeapSample[];
  /** Whether every copy of A and B freed the firmware (else its world's figure holds some of it). */
  firmwareReleased: boolean;
}

const entry = fileURLToPath(new URL("../../../tools/bench/site-xs-entry.ts", import.meta.url));

/**
 * A copy of the machine `snapshot` recorded runs `ops`: its slots after the last op's crank (after
 * its collection), the op's reply, and the chunk figures of the machine and of the copy afterwards
 * (from their snapshots).
 */
async function inCopy(snapshot: Uint8Array, name: string, ops: string[], snapshotsDir: string | undefined): Promise<{ slots: number; reply: unknown; machineChunks: ChunkFigures; copyChunks: ChunkFigures }> {
  const copy = await resumeXs(snapshot, name);
  try {
    let r = await copy.command<unknown>({ op: "noop" });
    for (const op of ops) r = await copy.command<unknown>({ op });
    const copied = await copy.snapshot();
    if (snapshotsDir) writeFileSync(`${snapshotsDir}/${name}-machine.snap`, snapshot), writeFileSync(`${snapshotsDir}/${name}-copy.snap`, copied);
    return { slots: r.heapSlots, reply: r.reply, machineChunks: chunkFigures(snapshot), copyChunks: chunkFigures(copied) };
  } finally {
    await copy.close();
  }
}

export interface Run {
  meters: number;
  modules: number;
  cranks: Array<{ atMs: number; slots: number }>;
  /** `replayed`: taken in a replay of the machine from the sample before (`run`'s `replayNearTheLimit`). */
  samples: Array<{ atMs: number; slots: number; sampled: number; released: boolean; chunks: ChunkFigures; worldChunks: ChunkFigures; replayed?: boolean }>;
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

type Crank = Run["cranks"][number];
type Sample = Run["samples"][number];
/** Checkpoints of a measurement: the run in progress (A or B) and A's result once it finished. */
export type SiteCheckpoints = Checkpoints<Crank, Sample, Run>;

/**
 * Runs the site for `o.minutes` in cranks of `o.stepS`, sampling every `o.sampleMin`; with
 * `checkpoints`, goes on from the last checkpoint of this run if there is one, and takes one at a
 * sample every so often.
 */
export async function run(bundle: string, o: MeasureOptions, firmwareUplink: boolean, profile = false, checkpoints?: SiteCheckpoints): Promise<Run> {
  const name = firmwareUplink ? "site-a" : "site-b";
  const resumed = checkpoints?.resume(firmwareUplink);
  const xs = resumed ? await resumeXs(resumed.snapshot, name) : await startXs(bundle, name);
  try {
    let state: RunState<Crank, Sample>;
    if (resumed) {
      state = resumed.state;
      console.error(`site-xs-run: run ${firmwareUplink ? "A" : "B"} goes on from its checkpoint at ${state.atMs / 1000} s simulated (${o.checkpointDir})`);
    } else {
      const slotsAhead = Math.round(o.minutes * SLOTS_AHEAD_PER_MINUTE);
      const started = await xs.command<{ meters: number; modules: number }>({ op: "start", seed: o.seed, modules: o.modules, days: Math.max(1, Math.ceil(o.minutes / 1440)), firmwareUplink, profile, slotsAhead });
      state = { firmwareUplink, atMs: 0, nextSampleMs: o.sampleMin * 60_000, meters: started.reply.meters, modules: started.reply.modules, cranks: [{ atMs: 0, slots: started.heapSlots }], samples: [] };
    }
    const { cranks, samples } = state;
    const step = o.stepS * 1000;
    const nearLimit = o.nearLimitSlots ?? SAMPLE_NEAR_LIMIT * (1 - MIN_MARGIN) * creationBudget().slots;
    const sampleOf = async (atMs: number, slots: number, snapshot: Uint8Array, name: string): Promise<Sample> => {
      const c = await inCopy(snapshot, name, ["release", "released"], o.snapshotsDir);
      const r = c.reply as { boardOff: boolean; freed: string[]; watched: string[] };
      return { atMs, slots, sampled: c.slots, released: r.boardOff && r.watched.every((p) => r.freed.includes(p)), chunks: c.machineChunks, worldChunks: c.copyChunks };
    };
    /** The latest crank after `fromMs` and before `toMs` that the interpolation puts at or over the near-limit and no sample covers. */
    const unsampledNearTheLimit = (fromMs: number, toMs: number) => {
      for (let i = cranks.length - 1; i >= 0 && cranks[i]!.atMs > fromMs; i--) {
        const c = cranks[i]!;
        if (c.atMs < toMs && c.slots - at(samples, c.atMs) >= nearLimit && !samples.some((x) => x.atMs === c.atMs)) return c;
      }
      return undefined;
    };
    /**
     * A crank between two samples that the interpolation puts near the limit (the world taken as
     * growing evenly between them) is sampled after all: the machine is replayed from the earlier
     * sample's snapshot to that crank and sampled there. The world grows in bursts, which the
     * interpolation counts as the firmware's (the day of 8219fbc: 5,794 slots at 12,670 s between
     * samples 10 s before and 5 s after; the machine run to that crank again found 5,125), and the
     * extrapolation that decides a sample at the crank itself cannot see the burst coming. The
     * simulation is deterministic: the replay's slots are the crank's (a difference is reported).
     */
    const replayNearTheLimit = async (from: { atMs: number; snapshot: Uint8Array }, toMs: number) => {
      for (let crank = unsampledNearTheLimit(from.atMs, toMs); crank; crank = unsampledNearTheLimit(from.atMs, toMs)) {
        const name = `${firmwareUplink ? "a" : "b"}-${crank.atMs}-replayed`;
        const replay = await resumeXs(from.snapshot, name);
        let slots = 0, snapshot: Uint8Array;
        try {
          for (let t = from.atMs + step; t <= crank.atMs; t += step) slots = (await replay.command({ op: "run", untilMs: t })).heapSlots;
          snapshot = await replay.snapshot();
        } finally {
          await replay.close();
        }
        if (slots !== crank.slots) console.error(`site-xs-run: the replay to ${crank.atMs / 1000} s has ${slots} slots, the machine had ${crank.slots}: the sample there is the replay's`);
        const s = await sampleOf(crank.atMs, slots, snapshot, name);
        samples.splice(samples.findIndex((x) => x.atMs > s.atMs), 0, { ...s, replayed: true });
      }
    };
    // The last sample whose copy is done, and its machine's snapshot: what a replay starts from.
    let before: { atMs: number; snapshot: Uint8Array } | undefined = resumed && { atMs: state.atMs, snapshot: resumed.snapshot };
    const copyOf = async (atMs: number, slots: number, snapshot: Uint8Array) => {
      samples.push(await sampleOf(atMs, slots, snapshot, `${firmwareUplink ? "a" : "b"}-${atMs}`));
      if (before) await replayNearTheLimit(before, atMs);
      before = { atMs, snapshot };
    };
    // A sample's copy runs while the machine goes on (the copy is another process, and most of a
    // sample's time): one copy at a time, so samples stay in order. A checkpoint waits for its
    // sample's copy, since it keeps the figures up to its snapshot and no further.
    // The last sample taken: its copy may still run, so the extrapolation leaves it out (the same
    // samples whatever the copies' timing, and after a resume).
    let lastTakenMs = samples[samples.length - 1]?.atMs ?? -1;
    const nearTheLimit = (atMs: number, slots: number) => {
      let k = samples.length - 1;
      while (k >= 0 && samples[k]!.atMs >= lastTakenMs) k--;
      if (k < 0) return false;
      // With one sample done (the run's start), the world taken as it was then.
      const a = samples[Math.max(0, k - 1)]!, b = samples[k]!;
      const world = k === 0 ? b.sampled : b.sampled + ((b.sampled - a.sampled) * (atMs - b.atMs)) / (b.atMs - a.atMs);
      return slots - world >= nearLimit;
    };
    let copying: Promise<void> = Promise.resolve();
    const sample = async (atMs: number, slots: number) => {
      if (profile) return;
      lastTakenMs = atMs;
      const snapshot = await xs.snapshot();
      await copying;
      if (checkpoints?.due(atMs)) {
        await copyOf(atMs, slots, snapshot);
        checkpoints.save(state, snapshot);
        console.error(`site-xs-run: run ${firmwareUplink ? "A" : "B"} checkpointed at ${atMs / 1000} s simulated of ${o.minutes * 60}`);
        return;
      }
      copying = copyOf(atMs, slots, snapshot);
      // Awaited before the next sample and at the end, where a failure surfaces; not unhandled meanwhile.
      copying.catch(() => undefined);
    };
    if (!resumed) await sample(0, cranks[0]!.slots);
    const end = o.minutes * 60_000;
    for (let t = state.atMs + step; t <= end; t += step) {
      const r = await xs.command({ op: "run", untilMs: t });
      cranks.push({ atMs: t, slots: r.heapSlots });
      state.atMs = t;
      if (t >= state.nextSampleMs || t + step > end) {
        state.nextSampleMs += o.sampleMin * 60_000;
        await sample(t, r.heapSlots);
      } else if (nearTheLimit(t, r.heapSlots)) await sample(t, r.heapSlots);
    }
    await copying;
    const report = (await xs.command<Run["report"]>({ op: "report" })).reply;
    return { meters: state.meters, modules: state.modules, cranks, samples, report };
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
  return r.samples.map((s) => ({
    atMs: s.atMs,
    machineSlots: s.slots,
    worldSlots: s.sampled,
    firmwareSlots: s.slots - s.sampled,
    machineChunkBytes: s.chunks.deviceBytes,
    worldChunkBytes: s.worldChunks.deviceBytes,
    firmwareChunkBytes: s.chunks.deviceBytes - s.worldChunks.deviceBytes,
    firmwareChunkBytesHost: s.chunks.hostBytes - s.worldChunks.hostBytes,
    firmwareCodeBytesHost: s.chunks.codeBytes - s.worldChunks.codeBytes,
    firmwareChunkBytesByKind: Object.fromEntries(Object.entries(s.chunks.deviceByKind).map(([k, v]) => [k, v - s.worldChunks.deviceByKind[k as ChunkKind]])) as Record<ChunkKind, number>,
    replayed: s.replayed ?? false,
  }));
}

/** The largest of a figure of the samples, and when (the first sample if none is above 0). */
function largest(samples: readonly HeapSample[], figure: (s: HeapSample) => number): { value: number; atMs: number } {
  return samples.reduce((m, s) => (figure(s) > m.value ? { value: figure(s), atMs: s.atMs } : m), { value: 0, atMs: 0 });
}

/** The peaks of a run (A or B): slots over the cranks and the samples, chunk bytes and live bytes over the samples. */
function peaksOf(r: Run) {
  const samples = samplesOf(r);
  return {
    samples,
    slots: peakOf(r.cranks, (t) => at(r.samples, t)),
    sampledSlots: peakOf(r.samples, (t) => at(r.samples, t)),
    chunks: largest(samples, (s) => s.firmwareChunkBytes),
    chunksHost: largest(samples, (s) => s.firmwareChunkBytesHost),
    bytes: largest(samples, (s) => s.firmwareSlots * SLOT_BYTES + s.firmwareChunkBytes),
  };
}

export async function measure(o: MeasureOptions): Promise<SiteXsMeasurement> {
  const bundle = await bundleForXsWithClasses(entry);
  const checkpoints: SiteCheckpoints | undefined = o.checkpointDir ? new Checkpoints(o.checkpointDir, bundle, o, o.checkpointMin ?? 60) : undefined;
  let a = checkpoints?.finished;
  if (!a) {
    a = await run(bundle, o, true, false, checkpoints);
    if (!o.onlyA) checkpoints?.finish(a);
  }
  const b = o.onlyA ? undefined : await run(bundle, o, false, false, checkpoints);
  checkpoints?.clear();
  return measurementOf(o, a, b);
}

/**
 * Run A as it stands at the last checkpoint in `o.checkpointDir` (`--so-far`): its figures up to
 * there, the report read from a copy of the checkpoint's machine, `options.minutes` the minutes run;
 * the run itself is left as it is. Undefined when the directory holds no checkpoint of A.
 */
export async function soFar(o: MeasureOptions): Promise<SiteXsMeasurement | undefined> {
  const checkpoints: SiteCheckpoints = new Checkpoints(o.checkpointDir!, await bundleForXsWithClasses(entry), o, o.checkpointMin ?? 60);
  const finished = checkpoints.finished;
  if (finished) return measurementOf({ ...o, onlyA: true }, finished, undefined);
  const at = checkpoints.resume(true);
  if (!at) return undefined;
  const copy = await resumeXs(at.snapshot, "site-a-so-far");
  try {
    const report = (await copy.command<Run["report"]>({ op: "report" })).reply;
    const { meters, modules, cranks, samples, atMs } = at.state;
    return measurementOf({ ...o, minutes: atMs / 60_000, onlyA: true }, { meters, modules, cranks, samples, report }, undefined);
  } finally {
    await copy.close();
  }
}

/** The measurement of run A and, unless `o.onlyA`, run B. */
function measurementOf(o: MeasureOptions, a: Run, b: Run | undefined): SiteXsMeasurement {
  const pa = peaksOf(a);
  const pb = b && peaksOf(b);
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
    peakSlots: pa.slots.slots,
    peakAtMs: pa.slots.atMs,
    peakSampledSlots: pa.sampledSlots.slots,
    peakSampledAtMs: pa.sampledSlots.atMs,
    peakChunkBytes: pa.chunks.value,
    peakChunkAtMs: pa.chunks.atMs,
    peakChunkBytesHost: pa.chunksHost.value,
    peakSampledBytes: pa.bytes.value,
    peakSampledBytesAtMs: pa.bytes.atMs,
    peakSlotsWithoutUplink: pb?.slots.slots ?? null,
    peakWithoutUplinkAtMs: pb?.slots.atMs ?? null,
    peakSampledSlotsWithoutUplink: pb?.sampledSlots.slots ?? null,
    peakChunkBytesWithoutUplink: pb?.chunks.value ?? null,
    peakChunkWithoutUplinkAtMs: pb?.chunks.atMs ?? null,
    peakSampledBytesWithoutUplink: pb?.bytes.value ?? null,
    samples: pa.samples,
    samplesWithoutUplink: pb?.samples ?? [],
    firmwareReleased: [...a.samples, ...(b?.samples ?? [])].every((s) => s.released),
  };
}

/** The diagnostic (`--profile`, see the module's comment): A's turns by kind and the calls inside each kind's largest. */
export async function profileTurns(o: MeasureOptions): Promise<{ options: MeasureOptions; callOverhead: number; kinds: Record<string, KindFigures>; calls: Record<string, Record<string, CallFigures>>; byRoot: Record<string, Record<string, RootFigures>> }> {
  const a = await run(await bundleForXsWithClasses(entry), o, true, true);
  return { options: o, callOverhead: a.report.callOverhead ?? 0, kinds: a.report.kinds, calls: a.report.calls ?? {}, byRoot: a.report.byRoot ?? {} };
}

/**
 * A hint for a long run on Linux when transparent huge pages are not `always`: a sample's copy then
 * spends most of its start in the kernel, zeroing the 4 KiB pages of the heap it restores
 * (docs/memory.md, "Running a day").
 */
function hugePagesHint(): string | undefined {
  const file = "/sys/kernel/mm/transparent_hugepage/enabled";
  if (!existsSync(file) || readFileSync(file, "utf8").includes("[always]")) return undefined;
  return `site-xs-run: transparent huge pages are not "always" here: a sample's copy starts about 3 times slower; for a long run, \`echo always | sudo tee ${file}\` (docs/memory.md, "Running a day")`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseOptions(process.argv.slice(2), { minutes: "number", hours: "number", seed: "string", modules: "number", "step-s": "number", "sample-min": "number", "only-a": "boolean", "json-out": "string", check: "boolean", "check-turns": "boolean", profile: "boolean", snapshots: "string", checkpoint: "string", "checkpoint-min": "number", "so-far": "boolean", "near-limit-slots": "number" });
  const options: MeasureOptions = {
    seed: o.seed ?? "1",
    minutes: o.minutes ?? (o.hours !== undefined ? o.hours * 60 : 180),
    modules: o.modules ?? SITE_256.modules,
    stepS: o["step-s"] ?? 5,
    sampleMin: o["sample-min"] ?? 0.25,
    onlyA: o["only-a"] ?? false,
    ...(o["near-limit-slots"] !== undefined ? { nearLimitSlots: o["near-limit-slots"] } : {}),
    ...(o.snapshots ? { snapshotsDir: o.snapshots } : {}),
    ...(o.checkpoint ? { checkpointDir: o.checkpoint, checkpointMin: o["checkpoint-min"] ?? 60 } : {}),
  };
  if (o.profile) console.log(JSON.stringify(await profileTurns(options)));
  else if (o["so-far"] && !options.checkpointDir) throw new Error("--so-far reads a checkpoint: give --checkpoint DIR");
  else {
    const hint = !o["so-far"] && options.minutes >= 60 ? hugePagesHint() : undefined;
    if (hint) console.error(hint);
    const m = o["so-far"] ? await soFar(options) : await measure(options);
    if (!m) throw new Error(`--so-far: ${options.checkpointDir} holds no checkpoint of run A`);
    const text = JSON.stringify(m);
    console.log(text);
    if (o["json-out"]) writeFileSync(o["json-out"], `${text}\n`);
    if (o.check || o["check-turns"]) {
      // --check-turns: the turns must hold; the heap's budget is reported, not enforced (docs/memory.md, "The gate").
      const problems = o.check ? budgetViolations(m) : turnViolations(m);
      for (const p of problems) console.error(`over budget: ${p}`);
      if (!o.check) for (const p of heapViolations(m)) console.error(`over budget, not enforced: ${p}`);
      process.exitCode = problems.length ? 1 : 0;
    }
  }
}
