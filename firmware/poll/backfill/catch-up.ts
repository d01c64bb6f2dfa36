/**
 * The profile catch-up (docs/backfill.md): slots a meter missed (the concentrator was down, the module
 * did not answer, a bridge route failed) are read back from its module's load profile, oldest first,
 * a slice of at most `sliceSlots` per programming session, at a priority below the scheduled cycle and
 * only while the poller has nothing scheduled waiting on that path, never just before a slot starts.
 * The values become ordinary readings at their interval's time, flagged back-filled with the
 * profile's status bits, stored a few rows per turn; the missing bits go once they are stored.
 *
 * What the meter cannot give is counted per meter with its reason, never invented. The module's clock
 * is read in the same session: rows are placed by the concentrator's clock (their time minus the
 * module's offset, to the nearest slot), and an offset beyond the tolerance is recorded and flags the
 * values (meter clock invalid).
 */
import { KeyedRows } from "../../model/keyed-rows.js";
import { isDlmsAddress } from "../../dlms/integration/config.js";
import type { MonotonicClock, TimerId, Timers, WallClock } from "../../../hal/clock.js";
import { clockSeconds, MODULE_ERRORS, readClock } from "../../bus/local-module.js";
import type { SessionResult } from "../../bus/types.js";
import { IMPORT_TOTAL, ReadingStatus, type Reading } from "../../model/records.js";
import type { ModuleAccess } from "../module-access.js";
import type { ModuleEntry, Topology } from "../topology.js";
import { PROFILE_PERIOD_S, Unrecoverable, type ProfileHoldings } from "./holdings.js";
import { profileRows, readProfile, type ProfileRow } from "./profile-request.js";

/** A reading that came from a meter's load profile, not from a readout at its time. */
export const BACKFILLED = ReadingStatus.backfilled;

export interface CatchUpOptions {
  holdings: ProfileHoldings;
  access: ModuleAccess;
  topology: Topology;
  clock: MonotonicClock;
  timers: Timers;
  wallClock: WallClock;
  /** Transaction priority of a catch-up session (below scheduled readouts). */
  priority: number;
  /** The poller has no scheduled read waiting or running on `path`. */
  pathIdle(path: string): boolean;
  /** Stores back-filled readings (durable when it returns). */
  store(readings: readonly Reading[]): void;
  /** A module clock further off than this is reported, s. */
  maxDriftS(): number;
  /** Slots per session. Default 16 (4 h: about 1.3 kB of answer for a module of three meters). */
  sliceSlots?: number;
  /** Readings stored per turn. Default 24. */
  readingsPerTurn?: number;
  /** Runs a callback of ours (a timer, a session's end) so that no throw escapes the turn. */
  guard(fn: () => void): void;
  /** The readings stored since `fromS`, from the newest end of the store, a part per turn; then `done`. */
  storedSince(fromS: number, each: (r: Reading) => void, done: () => void): void;
}

/** No session starts this close to the next slot on a bus / through a bridge, s (a session with a slice lasts a few seconds on a bus). */
const GUARD_BUS_S = 30;
const GUARD_BRIDGE_S = 120;
/** A module whose session failed is tried again after this long, ms. */
const RETRY_MS = 5 * 60_000;
/** Ticks while there is work, ms; otherwise at the next slot. */
const TICK_MS = 2_000;
/** Holdings records written per turn when many changed at once (every meter after an outage). */
const FLUSH_ROWS = 8;

export interface ClockOffset {
  module: number;
  offsetS: number;
}

export class CatchUp {
  readonly #o: CatchUpOptions;
  readonly #slice: number;
  readonly #perTurn: number;
  readonly #busyPaths = new Set<string>();
  readonly #retryAt = new Map<number, number>();
  /** Modules that answered they keep no profile (this boot). */
  readonly #noProfile = new Set<number>();
  /** Each module's clock offset as last seen (a readout, a catch-up session), s: one column (model/keyed-rows.ts). */
  readonly #offsets = new KeyedRows(1);
  /** The offset a module's clock had before it was last set, and until when (rows recorded before that are placed with it). */
  readonly #beforeSet = new Map<number, { offsetS: number; untilS: number }>();
  /** Modules whose rows were placed with an offset beyond the tolerance: the largest offset used, s. */
  readonly #reported = new Map<number, number>();
  #timer: TimerId | undefined;
  #running = false;
  readonly counters = { sessions: 0, failed: 0, readings: 0, slots: 0, noProfile: 0, clockOffsets: 0, skippedRows: 0 };

  constructor(options: CatchUpOptions) {
    this.#o = options;
    this.#slice = options.sliceSlots ?? 16;
    this.#perTurn = options.readingsPerTurn ?? 24;
  }

  get holdings(): ProfileHoldings {
    return this.#o.holdings;
  }

  /**
   * Starts: first the slots since the last accounted one are accounted, knowing from the store which
   * meters were read in the slot the power was cut in; then sessions as the holdings need them.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const h = this.#o.holdings;
    const readAtBoot = new Set<string>();
    this.#o.storedSince((h.accounted + 1) * PROFILE_PERIOD_S, (r) => {
      if (r.register === IMPORT_TOTAL && !(r.status & ReadingStatus.implausible)) readAtBoot.add(`${r.meter}/${Math.floor(r.time / PROFILE_PERIOD_S)}`);
    }, () => {
      const w = this.#o.wallClock;
      if (w.valid) h.accountUntil(Math.floor(w.now() / 1000 / PROFILE_PERIOD_S) - 1, (meter, slot) => readAtBoot.has(`${meter}/${slot}`));
      this.#flushInSlices();
      this.#schedule(0);
    });
  }

  /** Writes the holdings that changed, `FLUSH_ROWS` records per turn. */
  #flushInSlices(): void {
    if (!this.#o.holdings.flush(FLUSH_ROWS)) this.#o.timers.set(() => this.#o.guard(() => this.#flushInSlices()), 0);
  }

  /** Stops starting sessions; the slot in progress is accounted (an orderly shutdown: what was read in it is held). */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#o.timers.clear(this.#timer);
    this.#timer = undefined;
    const w = this.#o.wallClock;
    if (w.valid) this.#o.holdings.accountUntil(Math.floor(w.now() / 1000 / PROFILE_PERIOD_S));
    this.#o.holdings.flush();
  }

  /**
   * Readings were stored: a meter's import energy marks its slot held (back-filled ones too, which is
   * how their missing bit goes). An implausible value does not: the profile may have the true one.
   * DLMS meters keep their own profile marks (docs/dlms.md).
   */
  stored(readings: readonly Reading[]): void {
    for (const r of readings) {
      if (r.register !== IMPORT_TOTAL || r.status & ReadingStatus.implausible) continue;
      const t = this.#o.topology, module = t.moduleOfMeter(r.meter);
      if (module === undefined || isDlmsAddress(t.addressOf(module))) continue;
      this.#o.holdings.held(r.meter, Math.floor(r.time / PROFILE_PERIOD_S));
    }
  }

  /**
   * A module's clock was seen `offsetS` off the wall clock (at a readout). A jump beyond the tolerance
   * from the previous sighting is a setting (the clock keeper's) or a fault: rows recorded before it
   * keep the previous offset.
   */
  observeClock(module: number, offsetS: number, atS: number): void {
    const known = this.#offsets.find(module);
    const lastS = known === -1 ? 0 : this.#offsets.get(known, 0);
    if (known !== -1 && Math.abs(offsetS - lastS) > this.#o.maxDriftS()) this.#beforeSet.set(module, { offsetS: lastS, untilS: atS });
    this.#offsets.set(this.#offsets.insert(module), 0, offsetS);
  }

  /** A module's clock offset as last seen, s; 0 when not seen. */
  #offsetOf(module: number): number {
    const row = this.#offsets.find(module);
    return row === -1 ? 0 : this.#offsets.get(row, 0);
  }

  /** Modules whose profile rows were placed with a clock offset beyond the tolerance, with the largest offset used. */
  clockOffsets(): ClockOffset[] {
    return [...this.#reported].map(([module, offsetS]) => ({ module, offsetS }));
  }

  /**
   * Reads `module`'s profile from `fromSlot` to `toSlot` now, a slice per session, at on-demand
   * priority (the head-end's audit request): slots its meters miss are stored as in a catch-up, and
   * `done` gets every value the profile gave for the range (placed and flagged as stored ones are).
   */
  readRange(module: number, fromSlot: number, toSlot: number, priority: number, done: (r: { ok: boolean; readings: Reading[] }) => void): void {
    const m = this.#o.topology.module(module);
    if (!m || toSlot < fromSlot) return void this.#o.timers.set(() => done({ ok: false, readings: [] }), 0);
    const all: Reading[] = [];
    const slice = (a: number) =>
      this.#session(m, a, Math.min(toSlot, a + this.#slice - 1), priority, (r) => {
        if (!r.ok) return done({ ok: false, readings: all });
        if (a + this.#slice > toSlot) return done({ ok: true, readings: all });
        slice(a + this.#slice);
      }, all);
    slice(fromSlot);
  }

  // ---- scheduling ----

  #schedule(ms: number): void {
    if (!this.#running) return;
    if (this.#timer !== undefined) this.#o.timers.clear(this.#timer);
    this.#timer = this.#o.timers.set(() => {
      this.#timer = undefined;
      this.#o.guard(() => this.#tick());
    }, ms);
  }

  #tick(): void {
    const o = this.#o;
    if (!this.#running) return;
    if (!o.wallClock.valid) return this.#schedule(60_000);
    const nowS = o.wallClock.now() / 1000;
    const slot = Math.floor(nowS / PROFILE_PERIOD_S);
    o.holdings.accountUntil(slot - 1);
    this.#flushInSlices();
    const untilNextS = (slot + 1) * PROFILE_PERIOD_S - nowS;
    const best = new Map<string, { module: ModuleEntry; from: number }>();
    const nowMs = o.clock.now();
    let work = false;
    for (const meter of o.holdings.metersMissing()) {
      const at = o.topology.meterLocation(meter);
      if (!at) continue;
      const m = at.module;
      if (this.#noProfile.has(m.number)) {
        this.#giveUpAll(m, Unrecoverable.noProfile);
        continue;
      }
      work = true;
      if (m.state !== "present" || this.#busyPaths.has(m.path) || (this.#retryAt.get(m.number) ?? 0) > nowMs) continue;
      if (untilNextS < (m.path.startsWith("bus") ? GUARD_BUS_S : GUARD_BRIDGE_S) || !o.pathIdle(m.path)) continue;
      const from = o.holdings.oldestMissing(meter)!;
      const b = best.get(m.path);
      if (!b || from < b.from) best.set(m.path, { module: m, from });
    }
    for (const [path, { module, from }] of best) {
      this.#busyPaths.add(path);
      this.#session(module, from, this.#lastMissing(module, from), o.priority, () => {
        this.#busyPaths.delete(path);
        this.#schedule(0);
      });
    }
    this.#schedule(work ? TICK_MS : Math.max(10, untilNextS * 1000 + 500));
  }

  /** The newest slot in the slice from `from` that a meter of `m` misses. */
  #lastMissing(m: ModuleEntry, from: number): number {
    let last = from;
    const meters = m.meters;
    for (let s = from; s < from + this.#slice; s++) for (const meter of meters.values()) if (this.#o.holdings.isMissing(meter, s)) last = s;
    return last;
  }

  #giveUpAll(m: ModuleEntry, reason: Unrecoverable): void {
    const h = this.#o.holdings, meters = m.meters;
    for (const meter of meters.values()) for (let s = h.oldestMissing(meter); s !== undefined; s = h.oldestMissing(meter)) h.giveUp(meter, s, reason);
    h.flushMeters(meters.values());
  }

  // ---- one session ----

  /** One session for slots [a, b] of `m`; `all` (an on-demand read) collects every value of the range. */
  #session(m: ModuleEntry, a: number, b: number, priority: number, done: (r: { ok: boolean }) => void, all?: Reading[]): void {
    const o = this.#o;
    const known = this.#offsetOf(m.number);
    const before = this.#beforeSet.get(m.number)?.offsetS ?? known;
    // The request is in the module's time (rows recorded before its clock was set carry the offset it
    // had then); half a period either side finds rows of a clock a little off.
    const fromModule = a * PROFILE_PERIOD_S + Math.min(known, before) - PROFILE_PERIOD_S / 2;
    const toModule = b * PROFILE_PERIOD_S + Math.max(known, before) + PROFILE_PERIOD_S / 2;
    this.counters.sessions++;
    // The clock is read last, closest to the moment the result arrives.
    o.access.session(m.number, [readProfile(fromModule, toModule), readClock()], priority, (r) =>
      o.guard(() => {
        if (!r.ok) {
          this.counters.failed++;
          this.#retryAt.set(m.number, o.clock.now() + RETRY_MS);
          return done({ ok: false });
        }
        this.#answered(m, a, b, fromModule, toModule, r, done, all);
      }),
    );
  }

  #answered(m: ModuleEntry, a: number, b: number, fromModule: number, toModule: number, r: Extract<SessionResult, { ok: true }>, done: (r: { ok: boolean }) => void, all?: Reading[]): void {
    const o = this.#o;
    const profile = r.results[0];
    if (!profile?.ok) {
      if (profile?.code === "error-message" && (profile.text === MODULE_ERRORS.unknownAddress || profile.text === MODULE_ERRORS.unknownCommand)) {
        this.counters.noProfile++;
        this.#noProfile.add(m.number);
        this.#giveUpAll(m, Unrecoverable.noProfile);
      } else {
        this.counters.failed++;
        this.#retryAt.set(m.number, o.clock.now() + RETRY_MS);
      }
      return done({ ok: false });
    }
    const clock = r.results[1];
    const moduleNowS = clock?.ok ? clockSeconds(clock.dataSets) : undefined;
    const nowS = o.wallClock.now() / 1000;
    if (moduleNowS !== undefined) this.observeClock(m.number, Math.round(moduleNowS - nowS), nowS);
    const offset = this.#offsetOf(m.number);
    const { rows, skipped } = profileRows(profile.dataSets);
    this.counters.skippedRows += skipped;
    const placed = this.#place(m.number, rows, offset);
    const batches = this.#readingsBySlot(m, rows, placed, a, b, all);
    // The range asked covered every slot only if the module's clock was where we thought it was.
    const covered = fromModule <= a * PROFILE_PERIOD_S + offset && toModule >= b * PROFILE_PERIOD_S + offset;
    // Before the first row, the profile is too short, unless that row's values are not valid (the
    // module's recording was interrupted: it was down); without any row, it has none for the range.
    let firstRowSlot = Infinity;
    let firstRowInvalid = false;
    rows.forEach((row, i) => {
      if (placed[i]!.slot >= firstRowSlot) return;
      firstRowSlot = placed[i]!.slot;
      firstRowInvalid = (row.status & ReadingStatus.implausible) !== 0;
    });
    const next = () => {
      let chunk: Reading[] = [];
      while (batches.length && (chunk.length === 0 || chunk.length + batches[0]!.length <= this.#perTurn)) chunk = chunk.concat(batches.shift()!);
      if (chunk.length) {
        // Whole rows only: a cut between two turns leaves the rows not yet stored missing, nothing half.
        o.store(chunk);
        o.holdings.flushMeters(chunk.map((x) => x.meter));
        this.counters.readings += chunk.length;
      }
      if (batches.length) return void o.timers.set(() => o.guard(next), 0);
      if (covered) this.#giveUpRange(m, a, b, firstRowInvalid || rows.length === 0 ? -Infinity : firstRowSlot);
      done({ ok: true });
    };
    // The answer's own turn parses it; storing starts in the next.
    o.timers.set(() => o.guard(next), 0);
  }

  /**
   * Each row's slot by the concentrator's clock: its time minus the module's offset (the one before the
   * module's clock was last set, for rows recorded before that), to the nearest slot; and its status,
   * flagged meter clock invalid when that offset is beyond the tolerance (the module is then reported).
   */
  #place(module: number, rows: readonly ProfileRow[], offset: number): Array<{ slot: number; status: number }> {
    const before = this.#beforeSet.get(module);
    const tolerance = this.#o.maxDriftS();
    return rows.map((row) => {
      const used = before && !(row.status & ReadingStatus.clockAdjusted) && row.moduleS - offset < before.untilS ? before.offsetS : offset;
      let status = BACKFILLED | row.status;
      if (Math.abs(used) > tolerance) {
        status |= ReadingStatus.meterClockInvalid;
        if (!this.#reported.has(module)) this.counters.clockOffsets++;
        if (Math.abs(used) > Math.abs(this.#reported.get(module) ?? 0)) this.#reported.set(module, used);
      }
      return { slot: Math.round((row.moduleS - used) / PROFILE_PERIOD_S), status };
    });
  }

  /** The readings of each slot in [a, b] that a meter of `m` misses, one batch per meter and slot; every value of the range into `all`. */
  #readingsBySlot(m: ModuleEntry, rows: readonly ProfileRow[], placed: ReadonlyArray<{ slot: number; status: number }>, a: number, b: number, all?: Reading[]): Reading[][] {
    const h = this.#o.holdings, meters = m.meters;
    const out: Reading[][] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const { slot, status } = placed[i]!;
      if (slot < a || slot > b) continue;
      const byMeter = new Map<number, Reading[]>();
      for (const v of row.values) {
        const meter = meters.get(v.channel);
        if (meter === undefined) continue;
        const reading = { meter, register: v.register, time: slot * PROFILE_PERIOD_S, value: v.value, status };
        all?.push(reading);
        if (!h.isMissing(meter, slot)) continue;
        let list = byMeter.get(meter);
        if (!list) byMeter.set(meter, (list = []));
        list.push(reading);
      }
      for (const list of byMeter.values()) {
        out.push(list);
        this.counters.slots++;
      }
    }
    return out;
  }

  /** Slots of [a, b] still missing after a complete answer: before `tooShortBefore` the profile is too short; after it, the meter has no value. */
  #giveUpRange(m: ModuleEntry, a: number, b: number, tooShortBefore: number): void {
    const h = this.#o.holdings, meters = m.meters;
    for (const meter of meters.values()) {
      for (let s = a; s <= b; s++) if (h.isMissing(meter, s)) h.giveUp(meter, s, s < tooShortBefore ? Unrecoverable.profileTooShort : Unrecoverable.notRecorded);
    }
    h.flushMeters(meters.values());
  }
}
