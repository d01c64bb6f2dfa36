/**
 * The site simulation's time series, for the report's charts (tools/report): what the firmware
 * stored, raised and measured, and what the simulated world did, over simulated time. Every figure
 * comes from the run itself: the load profiles from the 1.8.0 readings the concentrator stored, poll
 * cycles from its poller, events as it raised them, the backlog from its store against the head-end's
 * database, bytes from the modem's link, battery and grid from the simulated supply.
 *
 * Cheap by construction: one sample every 5 simulated minutes, one bin per 15-minute interval, and a
 * few operations per stored 1.8.0 reading.
 *
 * Pure ECMAScript, like the site it watches.
 */
import type { Concentrator } from "../../firmware/app/concentrator.js";
import { IMPORT_TOTAL, ReadingStatus, type EventType, type Reading } from "../../firmware/model/records.js";
import type { PollCycle } from "../../firmware/poll/poller.js";
import type { GprsOutageKind } from "./uplink-world.js";
import type { World } from "./world.js";

/** Sample period of the running figures, ms. */
export const SAMPLE_MS = 5 * 60_000;
/** Load-profile interval (the default group's poll interval), ms. */
export const INTERVAL_MS = 15 * 60_000;

/** A window of simulated time, ms. */
export interface Window {
  fromMs: number;
  /** Undefined while it is still open. */
  untilMs: number | undefined;
}

/** Column arrays: index k of every array belongs to the same sample or interval. */
export interface SiteSeries {
  /** Wall-clock time at simulated time 0, ms since 1970: the charts show local wall time. */
  startEpochMs: number;
  /** Simulated time the series end at, ms. */
  endMs: number;
  /** Every SAMPLE_MS, at the end of each period. */
  samples: {
    periodMs: number;
    timeMs: number[];
    /** Distinct readings the concentrator stored so far, and of those, how many the head-end holds. */
    readingsStored: number[];
    readingsDelivered: number[];
    /** TCP payload bytes through the modem in the period, each way. */
    bytesUp: number[];
    bytesDown: number[];
    /** The board's battery, mV; 1 while mains are present, 1 while the board is powered. */
    batteryMv: number[];
    mains: number[];
    boardOn: number[];
    /** Consumers the firmware holds disconnected (as it last said), and of those, supplied now (ground truth). */
    latched: number[];
    latchedSupplied: number[];
  };
  /** Per 15-minute interval from simulated time 0 to the last one that ended. */
  intervals: {
    periodMs: number;
    /**
     * Energy imported per interval, Wh, by consumption group (the path its modules are on: "bus0",
     * "plc0", ...): the increase of each meter's 1.8.0 register between two stored readings, spread
     * evenly over the time between them; null where the readings cover less than three quarters of it.
     */
    groups: Array<{ name: string; wh: Array<number | null> }>;
    /** The feeder's balance meter and the sum of its consumers, Wh, the same way (when the site has a feeder). */
    feeder: { feederWh: Array<number | null>; consumersWh: Array<number | null> } | undefined;
    /** Share of each interval each RS485 bus was busy (by bus: "bus0", "bus1"). */
    busUtilisation: Array<{ name: string; share: number[] }>;
  };
  /** Every poll cycle that ended (docs/d0.md, docs/bridge.md), at its end. */
  cycles: { endMs: number[]; path: string[]; durationMs: number[]; lowerBoundMs: number[]; complete: boolean[] };
  /** Every event the concentrator stored, when it raised it. */
  events: { timeMs: number[]; type: EventType[]; alarm: boolean[]; subject: number[]; detail: number[] };
  /** The grid down at the site, the board off (with why), GPRS outage windows. */
  gridOutages: Window[];
  boardOff: Array<Window & { reason: string }>;
  gprsOutages: Array<{ fromMs: number; untilMs: number; kind: GprsOutageKind }>;
}

/** What the recorder reads from the site besides the world (the site's ground truth). */
export interface RecordedSite {
  readonly world: World;
  /** Distinct readings stored so far, and how many of them the head-end holds. */
  progress(): { readingsDistinct: number; readingsDelivered: number };
  /** Consumers the firmware holds disconnected, and of those, supplied now. */
  latchState(): { latched: number; supplied: number };
}

/** One row of column arrays: a value for each array of `T`. */
type Row<T> = { [K in keyof T as T[K] extends readonly unknown[] ? K : never]: T[K] extends ReadonlyArray<infer V> ? V : never };

/** Appends a row to column arrays. */
function append<T extends object>(columns: T, row: Row<T>): void {
  for (const [k, v] of Object.entries(row)) (columns[k as keyof T] as unknown[]).push(v);
}

/** Column arrays as they are now (the recorder goes on appending to its own). */
function snapshot<T extends object>(columns: T): T {
  return Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, Array.isArray(v) ? v.slice() : v])) as T;
}

/**
 * The energy of a set of meters per interval, from their 1.8.0 readings: each increase spread evenly
 * over the time between the two readings. An interval counts once the readings cover three quarters
 * of it over the meters: not the one still being read at the end, nor the first, read as discovery
 * finds the modules; a group with one module of eight missing still counts, and a module missing for
 * a while covers the gap when it answers again.
 */
class IntervalEnergy {
  readonly #wh: number[] = [];
  /** Meter-milliseconds of each interval the readings covered. */
  readonly #coveredMs: number[] = [];
  readonly #meters = new Set<number>();

  /** `meter` imported `deltaWh` between `fromMs` and `toMs` (simulated time). */
  add(meter: number, fromMs: number, toMs: number, deltaWh: number): void {
    this.#meters.add(meter);
    const perMs = deltaWh / (toMs - fromMs);
    for (let k = Math.floor(fromMs / INTERVAL_MS); k * INTERVAL_MS < toMs; k++) {
      const overlap = Math.min(toMs, (k + 1) * INTERVAL_MS) - Math.max(fromMs, k * INTERVAL_MS);
      while (this.#wh.length <= k) (this.#wh.push(0), this.#coveredMs.push(0));
      this.#wh[k]! += overlap * perMs;
      this.#coveredMs[k]! += overlap;
    }
  }

  /** The first `n` intervals, Wh to 0.1; null where the readings cover less than three quarters of one. */
  take(n: number): Array<number | null> {
    const enough = this.#meters.size * INTERVAL_MS * 0.75;
    return Array.from({ length: n }, (_, k) => (enough > 0 && (this.#coveredMs[k] ?? 0) >= enough ? Math.round(this.#wh[k]! * 10) / 10 : null));
  }
}

export class SiteRecorder {
  readonly #site: RecordedSite;
  readonly #world: World;
  readonly #samples: SiteSeries["samples"] = {
    periodMs: SAMPLE_MS, timeMs: [], readingsStored: [], readingsDelivered: [], bytesUp: [], bytesDown: [], batteryMv: [], mains: [], boardOn: [], latched: [], latchedSupplied: [],
  };
  readonly #busShare: number[][];
  readonly #busBusyAt: number[];
  readonly #cycles: SiteSeries["cycles"] = { endMs: [], path: [], durationMs: [], lowerBoundMs: [], complete: [] };
  readonly #events: SiteSeries["events"] = { timeMs: [], type: [], alarm: [], subject: [], detail: [] };
  readonly #boardOff: SiteSeries["boardOff"] = [];
  /** Last 1.8.0 reading per meter number: simulated time and value, Wh. */
  readonly #last = new Map<number, { atMs: number; wh: number }>();
  readonly #groups = new Map<string, IntervalEnergy>();
  readonly #feederEnergy = new IntervalEnergy();
  readonly #consumersEnergy = new IntervalEnergy();
  /** The feeder's meters the firmware knows, by meter number (true: the balance meter). */
  readonly #feederMembers = new Map<number, boolean>();
  #feederTried = -1;
  #bytes = { up: 0, down: 0 };

  constructor(site: RecordedSite) {
    this.#site = site;
    const w = (this.#world = site.world);
    this.#busShare = w.buses.map(() => []);
    this.#busBusyAt = w.buses.map(() => 0);
    w.board.domain.onPowerOff((reason) => this.#boardOff.push({ fromMs: w.scheduler.now, untilMs: undefined, reason }));
    w.board.domain.onPowerOn(() => {
      const off = this.#boardOff[this.#boardOff.length - 1];
      if (off && off.untilMs === undefined) off.untilMs = w.scheduler.now;
    });
    const tick = () => {
      this.#sample();
      w.scheduler.after(SAMPLE_MS, tick);
    };
    w.scheduler.after(SAMPLE_MS, tick);
  }

  /** Watches a booted concentrator (call before it starts). */
  watch(c: Concentrator): void {
    const s = this.#world.scheduler;
    c.events.onRaised((e) => append(this.#events, { timeMs: s.now, type: e.type, alarm: e.alarm, subject: e.subject, detail: e.detail }));
    c.poller.onCycle((k: PollCycle) => append(this.#cycles, { endMs: s.now, path: k.path, durationMs: k.durationMs, lowerBoundMs: k.lowerBoundMs, complete: k.complete }));
    c.onReadingsStored((readings) => this.#stored(c, readings));
  }

  series(): SiteSeries {
    const w = this.#world;
    const intervals = Math.floor(w.scheduler.now / INTERVAL_MS);
    const feeder = w.feeder ? { feederWh: this.#feederEnergy.take(intervals), consumersWh: this.#consumersEnergy.take(intervals) } : undefined;
    return {
      startEpochMs: w.startEpochMs,
      endMs: w.scheduler.now,
      samples: snapshot(this.#samples),
      intervals: {
        periodMs: INTERVAL_MS,
        groups: [...this.#groups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, e]) => ({ name, wh: e.take(intervals) })),
        feeder,
        busUtilisation: w.buses.map((b, i) => ({ name: b.name, share: this.#busShare[i]!.slice() })),
      },
      cycles: snapshot(this.#cycles),
      events: snapshot(this.#events),
      gridOutages: w.gridOutages.map((o) => ({ ...o })),
      boardOff: this.#boardOff.map((o) => ({ ...o })),
      gprsOutages: w.uplink ? [...w.uplink.gprsOutages] : [],
    };
  }

  #sample(): void {
    const w = this.#world;
    const now = w.scheduler.now;
    const m = this.#samples;
    const p = this.#site.progress();
    const latch = this.#site.latchState();
    const bytes = w.uplink?.bytes ?? { up: 0, down: 0 };
    append(m, {
      timeMs: now,
      readingsStored: p.readingsDistinct,
      readingsDelivered: p.readingsDelivered,
      bytesUp: bytes.up - this.#bytes.up,
      bytesDown: bytes.down - this.#bytes.down,
      batteryMv: Math.round(w.board.power.millivolts()),
      mains: w.board.power.mains ? 1 : 0,
      boardOn: w.board.domain.on ? 1 : 0,
      latched: latch.latched,
      latchedSupplied: latch.supplied,
    });
    this.#bytes = { up: bytes.up, down: bytes.down };
    if (now % INTERVAL_MS === 0) {
      w.buses.forEach((b, i) => {
        this.#busShare[i]!.push(Number(((b.busyMs - this.#busBusyAt[i]!) / INTERVAL_MS).toFixed(4)));
        this.#busBusyAt[i] = b.busyMs;
      });
    }
  }

  #stored(c: Concentrator, readings: readonly Reading[]): void {
    const start = this.#world.startEpochMs;
    for (const r of readings) {
      if (r.register !== IMPORT_TOTAL || r.status & ReadingStatus.implausible) continue;
      const atMs = r.time * 1000 - start;
      const last = this.#last.get(r.meter);
      if (last && atMs <= last.atMs) continue; // a billing value at the same instant, or older
      this.#last.set(r.meter, { atMs, wh: r.value });
      // A register that went back (a meter exchanged behind the same number) starts afresh.
      if (!last || r.value < last.wh) continue;
      const delta = r.value - last.wh;
      const feeder = this.#feederMember(c, r.meter);
      if (feeder === true) {
        this.#feederEnergy.add(r.meter, last.atMs, atMs, delta);
        continue;
      }
      if (feeder === false) this.#consumersEnergy.add(r.meter, last.atMs, atMs, delta);
      const path = c.topology.meterLocation(r.meter)?.module.path;
      if (path === undefined) continue;
      let group = this.#groups.get(path);
      if (!group) this.#groups.set(path, (group = new IntervalEnergy()));
      group.add(r.meter, last.atMs, atMs, delta);
    }
  }

  /** True for the feeder's balance meter, false for one of its consumers, undefined otherwise. */
  #feederMember(c: Concentrator, meter: number): boolean | undefined {
    const f = this.#world.feeder;
    if (!f) return undefined;
    // Meter numbers are for life: look the serials up again only when the firmware knows more modules.
    if (this.#feederMembers.size <= f.consumers.length && this.#feederTried !== c.topology.size) {
      this.#feederTried = c.topology.size;
      const consumers = new Set(f.consumers);
      for (const m of c.topology.modules) {
        for (const x of c.topology.persistent(m.number)!.meters) {
          if (x.serial === f.meter.serial) this.#feederMembers.set(x.meter, true);
          else if (consumers.has(x.serial)) this.#feederMembers.set(x.meter, false);
        }
      }
    }
    return this.#feederMembers.get(meter);
  }
}
