/**
 * The profile catch-up (docs/backfill.md) on a site of about 256 meters (168 local modules on two
 * buses, no bridges, no random faults): the concentrator polls for an hour, loses its power for six
 * hours (the plug pulled), boots and catches up from the modules' load profiles while it polls.
 *
 * - share recovered: of the profile slots (meter channels × intervals) the outage left missing, those
 *   filled back; with every module keeping a profile, and with the site's models (basic eHZ modules
 *   keep none);
 * - catch-up time: from the boot until no meter misses a slot, simulated time;
 * - poll-cycle ratio (cycle time over the wire-time bound, docs/d0.md) before the outage and during the
 *   catch-up: the scheduled reads are not held up;
 * - bus bytes per reading: one module's scheduled readout against a catch-up session of 16 intervals
 *   of the same module (both in a quiet minute of a slot, counted on the wire, both directions).
 */
import type { Concentrator } from "../../firmware/app/concentrator.js";
import { Site } from "../site/site.js";
import { NO_FAULTS, type ProfileMemoryChoice } from "../site/world.js";
import type { Bench } from "./bench.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SLOT_MS = 15 * MINUTE;
const MODULES = 168;

interface Outcome {
  meters: number;
  missingAfterOutage: number;
  recovered: number;
  unrecoverable: number;
  catchUpMs: number;
  ratioBefore: number;
  ratioDuring: number;
  sessions: number;
  bytesPerReadoutReading: number;
  bytesPerBackfilledReading: number;
}

function outage(profileMemory: ProfileMemoryChoice, measureBytes: boolean): Outcome {
  const site = new Site({ seed: "bench-backfill", days: 2, modules: MODULES, plc: 0, radio: 0, dlmsMeters: 0, ...NO_FAULTS, disconnectedShare: 0, profileMemory });
  const w = site.world;
  const s = w.scheduler;
  const meters = w.modules.reduce((n, m) => n + m.meters.length, 0);
  const ratios: number[][] = [[], []];
  const watch = (phase: number) => site.concentrator!.poller.onCycle((c) => c.complete && c.lowerBoundMs > 0 && ratios[phase]!.push(c.durationMs / c.lowerBoundMs));
  watch(0);
  s.runUntilTrue(() => (site.concentrator?.topology.size ?? 0) >= MODULES, 2 * HOUR);
  s.runUntil(s.now + HOUR);
  const before = site.report();
  w.board.cutPower();
  s.runUntil(s.now + 6 * HOUR);
  w.board.powerOn();
  const bootMs = s.now;
  watch(1);
  const slotNow = () => Math.floor(w.board.rtc.now() / 1000 / 900);
  const caughtUp = () => {
    const h = site.concentrator?.catchUp?.holdings;
    return h !== undefined && h.accounted >= slotNow() - 1 && [...h.metersMissing()].length === 0;
  };
  s.runUntilTrue(caughtUp, 24 * HOUR);
  const catchUpMs = s.now - bootMs;
  const after = site.report();
  const c = site.concentrator!;
  const bytes = measureBytes ? wireBytes(site, c) : { readout: 0, backfilled: 0 };
  const missing = after.readingsExpected - after.readingsAcquired + after.readingsBackfilled - (before.readingsExpected - before.readingsAcquired + before.readingsBackfilled);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return {
    meters,
    missingAfterOutage: missing,
    recovered: after.readingsBackfilled - before.readingsBackfilled,
    unrecoverable: after.readingsUnrecoverable - before.readingsUnrecoverable,
    catchUpMs,
    ratioBefore: mean(ratios[0]!),
    ratioDuring: mean(ratios[1]!),
    sessions: c.catchUp!.counters.sessions,
    bytesPerReadoutReading: bytes.readout,
    bytesPerBackfilledReading: bytes.backfilled,
  };
}

/** Bus characters per reading of a scheduled readout and of a 16-interval profile read of the same module, in a quiet minute. */
function wireBytes(site: Site, c: Concentrator): { readout: number; backfilled: number } {
  const s = site.world.scheduler;
  const bus = site.world.buses[0]!;
  const module = [...c.topology.modules].find((m) => m.path === "bus0" && [...m.meters.values()].length >= 2) ?? [...c.topology.modules][0]!;
  // Seven minutes into a slot: the scheduled cycle is over.
  s.runUntil(Math.ceil(s.now / SLOT_MS) * SLOT_MS + 7 * MINUTE);
  let chars = bus.counters.characters;
  const stored = c.counters.readingsStored;
  let done = false;
  c.poller.readNow([module.number], () => (done = true));
  s.runUntilTrue(() => done, MINUTE);
  const readout = (bus.counters.characters - chars) / Math.max(1, c.counters.readingsStored - stored);
  s.runUntil(s.now + 5_000);
  chars = bus.counters.characters;
  const slot = Math.floor(site.world.board.rtc.now() / 1000 / 900);
  let readings = 0;
  done = false;
  c.catchUp!.readRange(module.number, slot - 16, slot - 1, 20, (r) => {
    readings = r.readings.length;
    done = true;
  });
  s.runUntilTrue(() => done, 2 * MINUTE);
  return { readout, backfilled: (bus.counters.characters - chars) / Math.max(1, readings) };
}

export const backfillBench: Bench = {
  name: "profile catch-up after a 6-hour outage of the concentrator (about 256 meters): share recovered, catch-up time, poll-cycle ratio, bus bytes per reading",
  async run() {
    const all = outage("all", true);
    const models = outage("models", false);
    const pct = (a: number, b: number) => Number(((100 * a) / Math.max(1, b)).toFixed(2));
    return {
      meters: all.meters,
      "all: profile slots missing after the outage": all.missingAfterOutage,
      "all: recovered, %": pct(all.recovered, all.missingAfterOutage),
      "all: catch-up time, simulated min": Number((all.catchUpMs / MINUTE).toFixed(1)),
      "all: catch-up sessions": all.sessions,
      "all: poll-cycle ratio before the outage": Number(all.ratioBefore.toFixed(4)),
      "all: poll-cycle ratio during the catch-up": Number(all.ratioDuring.toFixed(4)),
      "models: profile slots missing after the outage": models.missingAfterOutage,
      "models: recovered, %": pct(models.recovered, models.missingAfterOutage),
      "models: catch-up time, simulated min": Number((models.catchUpMs / MINUTE).toFixed(1)),
      "bus bytes per reading, scheduled readout": Number(all.bytesPerReadoutReading.toFixed(1)),
      "bus bytes per reading, back-filled (16 intervals per session)": Number(all.bytesPerBackfilledReading.toFixed(1)),
    };
  },
};
