/**
 * firmware/store figures (docs/storage-design.md quotes them):
 * - flash bytes programmed per stored reading and per event, against their encoded size;
 * - erase counts across the 4 MiB log after a simulated year of a 256-meter site;
 * - recovery cost (flash reads, bytes read: deterministic, unlike host time) as the partition grows;
 * - capacity: days of 15-minute data a 4 MiB log holds before the first eviction;
 * - XS units per operation, from store-xs.ts in its own process (the xsnap driver locks it down).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import { RecordLog } from "../../firmware/store/log.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimNorFlash } from "../../hal/sim/nor-flash.js";
import type { Bench } from "./bench.js";

const MIB = 1 << 20;
const ROUNDS_PER_DAY = 96;
const T0 = 1_767_225_600;

function flash(bytes: number, seed = "bench"): SimNorFlash {
  const d = new PowerDomain(new Scheduler(), "mc");
  d.powerOn();
  return new SimNorFlash(d, new Prng(seed), { byteLength: bytes });
}

/**
 * A site's meters: energy registers that grow by a household's 15-minute consumption (0-1.2 kWh,
 * mostly little at night), readings as acquisition would hand them over.
 */
class Site {
  readonly #value: number[];
  readonly #prng: Prng;
  round = 0;

  constructor(readonly meters: number, seed = "site") {
    this.#prng = new Prng(seed);
    this.#value = Array.from({ length: meters }, () => 1_000_000 + this.#prng.int(40_000_000));
  }

  /** One 15-minute poll round: one reading per meter. */
  pollRound(): Reading[] {
    const time = T0 + this.round++ * 900;
    const night = Math.floor((time % 86_400) / 3600) < 6;
    return this.#value.map((v, m) => ({ meter: m, register: 0x010800, time, value: (this.#value[m] = v + this.#prng.int(night ? 150 : 1200)), status: 0 }));
  }

  /** `intervals` rounds delivered per meter (a load profile read every `intervals` × 15 min). */
  profiles(intervals: number): Reading[] {
    const rounds = Array.from({ length: intervals }, () => this.pollRound());
    const out: Reading[] = [];
    for (let m = 0; m < this.meters; m++) for (const r of rounds) out.push(r[m]!);
    return out;
  }

  event(): MeterEvent {
    const p = this.#prng;
    return { type: (1 + p.int(20)) as MeterEvent["type"], subject: p.int(this.meters), time: T0 + this.round * 900, alarm: p.chance(0.1), detail: p.int(1000) };
  }
}

/** Bytes programmed per reading for a delivery pattern, on a 4 MiB log, everything acknowledged. */
function amplification(intervalsPerBatch: number): { programmed: number; payload: number } {
  const f = flash(4 * MIB);
  const log = RecordLog.open(f);
  const site = new Site(256);
  const cursor = log.cursor();
  let readings = 0;
  let payload = 0;
  for (let day = 0; day < 7; day++) {
    for (let k = 0; k < ROUNDS_PER_DAY / intervalsPerBatch; k++) {
      const rs = intervalsPerBatch === 1 ? site.pollRound() : site.profiles(intervalsPerBatch);
      log.appendReadings(rs);
      readings += rs.length;
      while (log.maintain());
    }
    for (let b = cursor.next(256); b.length > 0; b = cursor.next(256)) {
      payload += b.reduce((n, r) => n + r.payload.length, 0);
      log.acknowledge(b.map((r) => ({ first: r.seq, count: 1 })));
    }
  }
  return { programmed: f.counters.bytesProgrammed / readings, payload: payload / readings };
}

function eventCost(): { programmed: number; payload: number } {
  const f = flash(4 * MIB);
  const log = RecordLog.open(f);
  const site = new Site(256);
  const n = 20_000;
  const cursor = log.cursor();
  let payload = 0;
  for (let i = 0; i < n; i++) {
    log.appendEvent(site.event());
    if (i % 100 === 99) {
      const b = cursor.next(100);
      payload += b.reduce((s, r) => s + r.payload.length, 0);
      log.acknowledge(b.map((r) => ({ first: r.seq, count: 1 })));
      while (log.maintain());
    }
  }
  return { programmed: f.counters.bytesProgrammed / n, payload: payload / n };
}

/**
 * A year of a 256-meter site: a poll round every 15 minutes, 8 events every 45 minutes (≈ 1 per meter
 * per day), the head-end acknowledging hourly except during a 3-day outage each month and a 40-day
 * one from day 200 (longer than the log holds: it fills and evicts).
 */
function year(): Record<string, number | string> {
  const f = flash(4 * MIB);
  const log = RecordLog.open(f);
  const site = new Site(256);
  const cursor = log.cursor();
  for (let day = 0; day < 365; day++) {
    const outage = day % 30 < 3 || (day >= 200 && day < 240);
    for (let k = 0; k < ROUNDS_PER_DAY; k++) {
      log.appendReadings(site.pollRound());
      if (k % 3 === 0) for (let e = 0; e < 8; e++) log.appendEvent(site.event());
      while (log.maintain());
      if (!outage && k % 4 === 3) for (let b = cursor.next(64); b.length > 0; b = cursor.next(64)) log.acknowledge(b.map((r) => ({ first: r.seq, count: 1 })));
    }
  }
  const wear = Array.from(f.wear);
  const min = Math.min(...wear);
  const max = Math.max(...wear);
  const mean = wear.reduce((a, b) => a + b, 0) / wear.length;
  return {
    "year: erases per sector min / mean / max": `${min} / ${mean.toFixed(1)} / ${max}`,
    "year: erase spread (max - min)": max - min,
    "year: sectors evicted (40-day outage)": log.stats.evictions,
    "year: maintenance steps inside appends": log.stats.inlineMaintenance,
    "year: years to 100k erase cycles at this rate": Math.round(100_000 / max),
  };
}

/** Reads and bytes read by a recovery of a full log, by partition size. */
function recovery(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const mib of [0.25, 1, 4, 16]) {
    const f = flash(mib * MIB);
    const log = RecordLog.open(f);
    const site = new Site(256);
    while (log.stats.evictions === 0) {
      log.appendReadings(site.pollRound());
      while (log.maintain());
    }
    const reads = f.counters.reads;
    const bytes = f.counters.bytesRead;
    RecordLog.open(f);
    out[`recovery of a full ${mib} MiB log (${(mib * MIB) / 4096} sectors)`] = `${f.counters.reads - reads} reads, ${Math.round((f.counters.bytesRead - bytes) / 1024)} KiB read`;
  }
  return out;
}

/** Days of data until the first eviction, nothing acknowledged (the head-end unreachable). */
function capacity(meters: number, intervalsPerBatch: number, eventsPerMeterPerDay: number): number {
  const f = flash(4 * MIB);
  const log = RecordLog.open(f);
  const site = new Site(meters);
  let rounds = 0;
  let eventDebt = 0;
  while (log.stats.evictions === 0) {
    log.appendReadings(intervalsPerBatch === 1 ? site.pollRound() : site.profiles(intervalsPerBatch));
    rounds += intervalsPerBatch;
    for (eventDebt += (meters * eventsPerMeterPerDay * intervalsPerBatch) / ROUNDS_PER_DAY; eventDebt >= 1; eventDebt--) log.appendEvent(site.event());
    while (log.maintain());
  }
  return Number((rounds / ROUNDS_PER_DAY).toFixed(1));
}

/** Flash bytes programmed, payload bytes and their ratio (the write amplification), as three figures. */
function writeCost(figures: Record<string, number | string>, label: string, c: { programmed: number; payload: number }): void {
  figures[`bytes programmed ${label}`] = Number(c.programmed.toFixed(2));
  figures[`payload bytes ${label}`] = Number(c.payload.toFixed(2));
  figures[`write amplification ${label}`] = Number((c.programmed / c.payload).toFixed(2));
}

export const storeBench: Bench = {
  name: "store (firmware/store on a 4 MiB log)",
  async run() {
    const figures: Record<string, number | string> = {};
    for (const [label, k] of [["poll round (1 value per meter)", 1], ["hourly profiles (4 intervals)", 4], ["daily profiles (96 intervals)", 96]] as const) {
      writeCost(figures, `per reading, ${label}`, amplification(k));
    }
    writeCost(figures, "per event", eventCost());
    for (const [label, meters, k] of [["256 meters, poll rounds", 256, 1], ["256 meters, hourly profiles", 256, 4], ["1024 meters, poll rounds", 1024, 1], ["1024 meters, hourly profiles", 1024, 4]] as const) {
      figures[`capacity, days: ${label} + 1 event/meter/day`] = capacity(meters, k, 1);
    }
    Object.assign(figures, recovery());
    Object.assign(figures, year());
    const runner = fileURLToPath(new URL("./store-xs.js", import.meta.url));
    const xs = JSON.parse(execFileSync(process.execPath, [runner], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })) as Record<string, number>;
    for (const [k, v] of Object.entries(xs)) figures[`XS: ${k}`] = v;
    return figures;
  },
};
