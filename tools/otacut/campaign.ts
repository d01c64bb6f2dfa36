/**
 * Power cuts during OTA updates (docs/ota.md "Power cuts"), as MCUboot's simulator interrupts an
 * upgrade at every flash operation: a small site with latched consumers and its uplink, a campaign
 * offering a new image, and the board's power cut in the middle of one flash program or erase of
 * the update — any partition: the record log, the state journal, otadata, the OTA slots — then
 * restored a few seconds later. The run goes on until the head-end has the unit's final outcome (it
 * offers the package again after a rollback that was not the image's fault).
 *
 * After each run: the board boots an image that checks (old or new; none is "bricked"), every
 * reading the concentrator stored is at the head-end or still in its store, every consumer latched
 * before the update is latched after it, and no counter went backwards (security counter, sequence
 * floor, key set, the uplink's message counters).
 *
 * - `linearCampaign`: one run per flash operation n of the uncut update (a stride skips some).
 * - `randomCampaign`: runs with one or two cuts at seeded random operations of the update.
 *
 * Pure ECMAScript: tools/otacut.ts and the tests run it.
 */
import { Prng } from "../../hal/sim/prng.js";
import { standInBundle } from "../site/ota-world.js";
import { Site } from "../site/site.js";
import { NO_FAULTS } from "../site/world.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** When the campaign starts: discovery and the latches are done by then. */
const CAMPAIGN_AT_MS = 5 * MINUTE;
/** How long power stays off after a cut. */
const OFF_MS = 5_000;
/** A run that has no final outcome by then is judged as it is. */
const RUN_LIMIT_MS = 6 * HOUR;

export interface OtaCutVerdict {
  cuts: number;
  /** Cuts after which the board booted the previous image, and the new one (when power returned). */
  bootedOld: number;
  bootedNew: number;
  /** Cuts after which no image booted, and runs that ended with no firmware running. */
  bricked: number;
  /** Runs that ended on the previous image (the head-end offers the package again after a rollback that was no fault of the image, so most end on the new one). */
  endedOld: number;
  /** Readings stored by the concentrator and neither at the head-end nor in its store. */
  readingsLost: number;
  /** Consumers latched before the update and not after it. */
  latchesLost: number;
  /** Latched consumers checked, over all runs. */
  latchesChecked: number;
  /** A counter seen lower than before: security counter, sequence floor, key set, message counters. */
  counterRegressions: number;
  /** Cuts before the unit restarted into the new image, and after (its first boot, trial, confirmation). */
  cutsBeforeSwitch: number;
  cutsAfterSwitch: number;
  runs: number;
  /** Flash operations of the uncut update. */
  updateOperations: number;
  /** The first problems, described. */
  failures: string[];
}

interface Run {
  site: Site;
  /** The board's flash operations when the campaign started. */
  base: number;
}

/** A small site with latched consumers, its uplink, and OTA; the campaign starts at CAMPAIGN_AT_MS. */
function site(seed: string): Site {
  return new Site({
    seed,
    days: 1,
    modules: 2,
    plc: 0,
    radio: 0,
    ...NO_FAULTS,
    disconnectedShare: 1,
    board: { firmwareSlotBytes: 64 * 1024 },
    uplink: {},
    ota: { bundle: standInBundle(10 * 1024, seed), campaign: { atMs: CAMPAIGN_AT_MS }, firmware: { selfTestTimeoutMs: 15 * MINUTE, selfTestPollMs: 2_000 } },
  });
}

function start(seed: string): Run {
  const s = site(seed);
  s.world.scheduler.runUntil(CAMPAIGN_AT_MS);
  return { site: s, base: s.world.board.flashOperations.operations };
}

/** The unit's outcome at the head-end, when final. */
function finalState(s: Site): string | undefined {
  const u = s.world.uplink!.headend!.ota.progress()[0]?.units[0];
  return u && ["confirmed", "rolled-back", "rejected", "failed"].includes(u.state) ? u.state : undefined;
}

/** Flash operations of the uncut update, from the campaign's start to the head-end's final outcome. */
export function updateOperations(seed: string): number {
  const r = start(seed);
  r.site.world.scheduler.runUntilTrue(() => finalState(r.site) !== undefined, RUN_LIMIT_MS);
  return r.site.world.board.flashOperations.operations - r.base;
}

/** The values that must never go down, as the running firmware has them now. */
function counters(s: Site): number[] | undefined {
  const c = s.concentrator;
  if (!c?.ota) return undefined;
  const o = c.ota.status();
  const ch = c.uplink?.channel;
  return [o.securityCounter, o.sequenceFloor, o.keySetVersion, ch?.lastAccepted ?? 0];
}

/**
 * One run: the update with power cut at the flash operations `cuts` (counted from the campaign's
 * start; each restored OFF_MS later), to the end. Adds its findings to `v`. A cut the update never
 * reaches (it ended first) is not made.
 */
export function runWithCuts(seed: string, cuts: readonly number[], v: OtaCutVerdict): void {
  const r = start(seed);
  const s = r.site;
  const w = s.world;
  const board = w.board;
  const latched = new Set(s.concentrator!.latch.latchedConsumers());
  v.latchesChecked += latched.size;
  const fail = (what: string) => {
    if (v.failures.length < 20) v.failures.push(`seed ${seed}, cuts at ${cuts.join(",")}: ${what}`);
  };
  let high = counters(s)!;
  const switched = () => s.ota!.report(undefined, "", "", 0).timeline.some(([, step]) => step === "switched");
  const sample = () => {
    const now = counters(s);
    if (!now) return;
    now.forEach((x, i) => {
      if (x < high[i]!) {
        v.counterRegressions++;
        fail(`counter ${i} went from ${high[i]} to ${x}`);
      }
    });
    high = high.map((x, i) => Math.max(x, now[i]!));
  };
  const watch = () => {
    sample();
    w.scheduler.after(30_000, watch);
  };
  watch();
  for (const at of cuts) {
    if (r.base + at <= board.flashOperations.operations) continue; // already past it (a later cut of the run)
    const target = r.base + at;
    board.cutAtFlashOperation(target - board.flashOperations.operations);
    // Not "until the power is off": the firmware's own restart into the new image turns it off too.
    w.scheduler.runUntilTrue(() => board.flashOperations.operations >= target || finalState(s) !== undefined, RUN_LIMIT_MS);
    board.flashOperations.cutAt = 0;
    if (board.flashOperations.operations < target) break; // the update ended before the operation: nothing cut (and nothing left armed)
    if (board.domain.on) throw new Error(`the cut at operation ${at} left the power on`);
    v.cuts++;
    if (switched()) v.cutsAfterSwitch++;
    else v.cutsBeforeSwitch++;
    w.scheduler.runUntil(w.scheduler.now + OFF_MS);
    board.powerOn();
    // What the bootloader chose (the firmware may already be restarting into the new image).
    const booted = board.firmware.lastBoot;
    if (!booted) {
      v.bricked++;
      fail(`no image boots after the cut at ${at}`);
      return;
    }
    if (booted.version === "1.1.0") v.bootedNew++;
    else v.bootedOld++;
  }
  w.scheduler.runUntilTrue(() => finalState(s) !== undefined, RUN_LIMIT_MS);
  // Quiet time for the drain to catch up before judging.
  w.scheduler.runUntil(w.scheduler.now + 10 * MINUTE);
  sample();
  v.runs++;
  if (!board.firmware.booted || !s.concentrator) {
    v.bricked++;
    fail("no firmware runs at the end");
    return;
  }
  if (board.firmware.booted.version !== "1.1.0") v.endedOld++;
  const report = s.report();
  v.readingsLost += report.lost + report.readingsCorrupt;
  if (report.lost + report.readingsCorrupt > 0) fail(`${report.lost} readings lost, ${report.readingsCorrupt} corrupt`);
  const now = new Set(s.concentrator.latch.latchedConsumers());
  for (const c of latched) {
    if (!now.has(c)) {
      v.latchesLost++;
      fail(`consumer ${c} no longer latched`);
    }
  }
  if (report.internalErrors > 0) fail(`${report.internalErrors} internal errors`);
}

export function verdict(updateOps: number): OtaCutVerdict {
  return { cuts: 0, bootedOld: 0, bootedNew: 0, bricked: 0, endedOld: 0, readingsLost: 0, latchesLost: 0, latchesChecked: 0, counterRegressions: 0, cutsBeforeSwitch: 0, cutsAfterSwitch: 0, runs: 0, updateOperations: updateOps, failures: [] };
}

/** A cut at every `stride`-th flash operation of the update, one run each. */
export function linearCampaign(o: { seed: string; stride?: number; onRun?: (done: number, total: number) => void }): OtaCutVerdict {
  const total = updateOperations(o.seed);
  const v = verdict(total);
  for (let n = 1; n <= total; n += o.stride ?? 1) {
    runWithCuts(o.seed, [n], v);
    o.onRun?.(n, total);
  }
  return v;
}

/** `cuts` cuts over runs of one or two cuts each, at seeded random operations of the update. */
export function randomCampaign(o: { seed: string; cuts: number; onRun?: (done: number, total: number) => void }): OtaCutVerdict {
  const total = updateOperations(o.seed);
  const v = verdict(total);
  const p = new Prng(`${o.seed}/cuts`);
  while (v.cuts < o.cuts) {
    const first = 1 + p.int(total);
    // The second within the update as it was uncut (a resumed update may end sooner than that).
    const cuts = first < total && p.chance(0.3) && v.cuts + 1 < o.cuts ? [first, first + 1 + p.int(Math.min(40, total - first))] : [first];
    runWithCuts(o.seed, cuts, v);
    o.onRun?.(v.cuts, o.cuts);
  }
  return v;
}

