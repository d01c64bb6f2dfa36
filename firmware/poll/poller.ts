/**
 * The acquisition scheduler: which module is read when, on which path.
 *
 * - Paths are RS485 bus masters and bridge transports (module-access.ts): each runs one transaction at a
 *   time from its own queue, so buses work in parallel and are served fairly by construction. The
 *   poller feeds each path at most `maxQueuedPerPath` scheduled readouts at a time, so alarm and
 *   on-demand transactions (which go straight to the path with a higher priority) never wait behind a
 *   long queue, and a slow path never accumulates a backlog.
 * - Priorities: alarms (latch enforcement, alarm follow-ups) > on-demand reads > billing snapshots >
 *   scheduled interval readings > discovery probes.
 * - Each module is read once per slot of its group's interval (aligned to the clock) inside the group's
 *   window; one readout per module at a time, never one per missed slot, so catching up after an
 *   outage costs one cycle, not a flood.
 * - A module that does not answer is retried in the next slot; once the topology calls it missing it is
 *   tried with an exponential back-off (one interval, doubling, at most `maxBackoffMs`). Every failure is
 *   counted per module; the missing/restored transitions are events (the caller's).
 */
import type { MonotonicClock, TimerId, Timers, WallClock } from "../../hal/clock.js";
import type { Failure, Readout } from "../bus/types.js";
import type { ModuleAccess } from "./module-access.js";
import { frozen } from "../model/frozen.js";
import { KeyedRows, type ColumnKind } from "../model/keyed-rows.js";
import type { Topology } from "./topology.js";
import { billingDay, inWindow, slotOf, slotStart, validateSchedule, type GroupSchedule } from "./schedule.js";

export const Priority = Object.freeze({ alarm: 30, onDemand: 20, billing: 15, scheduled: 10, backfill: 5, discovery: 0 } as const);

export type ReadKind = "scheduled" | "billing" | "onDemand";

export interface PollListener {
  /** A module answered a readout. `timeS` is the acquisition time (wall clock when the answer ended). */
  readout(module: number, readout: Readout, kind: ReadKind, timeS: number): void;
  /** A readout failed after its retries. */
  failed(module: number, failure: Failure, kind: ReadKind): void;
}

/** One poll cycle that ended: the scheduled readouts of one slot on one path. */
export interface PollCycle {
  path: string;
  slot: number;
  /** From the first readout queued to the last one over, ms. */
  durationMs: number;
  /** Wire-time lower bound of the readouts that answered, ms (docs/d0.md). */
  lowerBoundMs: number;
  /** Every readout of the cycle answered (only those count in `cycles`). */
  complete: boolean;
}

export interface PollerOptions {
  clock: MonotonicClock;
  timers: Timers;
  wallClock: WallClock;
  topology: Topology;
  access: ModuleAccess;
  groups: readonly GroupSchedule[];
  listener: PollListener;
  /** Site local time offset from UTC for windows and billing, minutes. Default 0. */
  utcOffsetMin?: number;
  /** Scheduled readouts queued on one path at once. Default 2. */
  maxQueuedPerPath?: number;
  /** Longest back-off for a missing module, ms. Default 4 h. */
  maxBackoffMs?: number;
  /**
   * The last billing day each group completed, kept across reboots: a billing point the concentrator
   * was down for is read when it is back (billing data is not skipped). Without it, a boot starts
   * from the current day.
   */
  billingDays?: { last(group: number): number | undefined; done(group: number, day: number): void };
}

/**
 * The columns of a module's row in the poller's state (model/keyed-rows.ts): the last slot read
 * (-1 none), the last billing day done (-1 not known yet), a readout running (0 or 1), when a missing
 * module is tried again (monotonic ms) and its back-off (ms); whether a scheduled or billing read of
 * it waits in a path's queue (0 or 1: one at a time), and that read's group, slot and day.
 */
const LAST_SLOT = 0, LAST_BILLING_DAY = 1, BUSY = 2, RETRY_AT_MS = 3, BACKOFF_MS = 4, PENDING = 5, PENDING_GROUP = 6, PENDING_SLOT = 7, PENDING_DAY = 8;
/** Their kinds: slots and days are 32-bit integers, flags bytes, the back-off 32-bit ms; a monotonic time in ms and a group's id (configured, any number) Float64. */
const STATE_COLUMNS = frozen<ColumnKind[]>(["i32", "i32", "u8", "f64", "u32", "u8", "f64", "i32", "i32"]);
/** The longest back-off a state row holds (32 bits of ms: 49 days). */
const BACKOFF_LIMIT_MS = 0xffff_ffff;
/** A waiting read is one number: its path's index times 65,536 plus the module, times 2, plus 1 for a billing read. */
const BILLING_BIT = 1;
/** The module of a waiting read's number (its path's index is the number over 0x2_0000). */
function moduleOf(code: number): number {
  return Math.floor(code / 2) % 0x1_0000;
}
/** The columns of an open poll cycle in `Poller.#open` (after the path index and the slot). */
const OPEN_START_MS = 2, OPEN_LEFT = 3, OPEN_BOUND_MS = 4, OPEN_FAILED = 5, OPEN_COLUMNS = 6;

/** A module's outcome of an on-demand read (`readNow`). */
export interface OnDemandResult {
  module: number;
  ok: boolean;
  failure?: Failure;
  /** What came back, when asked for. */
  readout?: Readout;
}

interface PendingRead {
  module: number;
  kind: ReadKind;
  group: number;
  slot: number;
  day: number;
}

const TICK_MAX_MS = 60_000;
/** Modules a tick looks at in one turn. */
const MODULES_PER_TURN = 32;

/** A tick under way: the modules left to look at, the tick's time, and the next slot boundary seen so far (s). */
interface Sweep {
  /** The last module number looked at (0 before the first): the sweep walks the numbers, copying no list. */
  module: number;
  nowS: number;
  nowMs: number;
  nextS: number;
}

export class Poller {
  #o: Required<Omit<PollerOptions, "billingDays">> & Pick<PollerOptions, "billingDays">;
  /** Billing reads still running per "group/day"; when none is left the day is done. */
  readonly #billingOpen = new Map<string, number>();
  readonly #state = new KeyedRows(STATE_COLUMNS);
  /** The paths reads were queued on, by index (a few: the buses and the bridges). */
  readonly #paths: string[] = [];
  /**
   * The reads waiting, every path's, in the order they came: (path index × 65,536 + module) × 2, plus
   * BILLING_BIT; their details in the module's state row. One list of numbers, not a Map of lists.
   */
  readonly #pending: number[] = [];
  /** Per path index, its reads handed to the bus and not over yet. */
  readonly #queued: number[] = [];
  #tick: TimerId | undefined;
  #running = false;
  readonly counters = { scheduled: 0, billing: 0, onDemand: 0, ok: 0, failed: 0 };
  /**
   * Per path, poll cycles (the scheduled readouts of one slot on one path) that completed without a
   * failure, and the sum of their duration over their wire-time lower bound (docs/d0.md): the mean
   * ratio is how close the cycle came to the physical limit, waiting for the bus included.
   */
  readonly cycles = new Map<string, { complete: number; ratioSum: number }>();
  /** The poll cycles under way, OPEN_COLUMNS numbers each (path index, slot, start ms, readouts left, wire-time bound ms, failed 0 or 1). */
  readonly #open: number[] = [];
  readonly #cycleListeners: Array<(c: PollCycle) => void> = [];

  constructor(options: PollerOptions) {
    for (const g of options.groups) validateSchedule(g);
    this.#o = { utcOffsetMin: 0, maxQueuedPerPath: 2, maxBackoffMs: 4 * 3_600_000, ...options };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#onTick();
  }

  /** New group schedules (a configuration change); they apply from the next tick. */
  setGroups(groups: readonly GroupSchedule[], utcOffsetMin: number): void {
    for (const g of groups) validateSchedule(g);
    this.#o = { ...this.#o, groups, utcOffsetMin };
  }

  stop(): void {
    this.#running = false;
    if (this.#tick !== undefined) this.#o.timers.clear(this.#tick);
    this.#tick = undefined;
    for (const code of this.#pending) this.#state.set(this.#stateOf(moduleOf(code)), PENDING, 0);
    this.#pending.length = 0;
    this.#open.length = 0;
    this.#billingOpen.clear();
  }

  /** `listener` runs after every poll cycle that ended, complete or not (for reports; it must not throw). */
  onCycle(listener: (c: PollCycle) => void): void {
    this.#cycleListeners.push(listener);
  }

  /** No scheduled or billing read is waiting or running on `path`: lower-priority work (the profile catch-up) may use it. */
  idle(path: string): boolean {
    const i = this.#paths.indexOf(path);
    return i < 0 || (this.#nextPending(i) < 0 && !this.#queued[i]);
  }

  /**
   * Reads `modules` now at on-demand priority; `done` gets each module's outcome once all finished,
   * with the readout that came back when `withReadouts` (they are held until the last module is done).
   */
  readNow(modules: readonly number[], done: (results: OnDemandResult[]) => void, withReadouts = false): void {
    const results: OnDemandResult[] = [];
    let left = modules.length;
    if (left === 0) return done(results);
    for (const module of modules) {
      this.counters.onDemand++;
      this.#read(module, "onDemand", Priority.onDemand, (ok, failure, _boundMs, readout) => {
        results.push(failure ? { module, ok, failure } : withReadouts && readout ? { module, ok, readout } : { module, ok });
        if (--left === 0) done(results);
      });
    }
  }

  // ---- the schedule ----

  #group(module: number): GroupSchedule | undefined {
    let fallback: GroupSchedule | undefined;
    for (const g of this.#o.groups) {
      if (g.modules.includes(module)) return g;
      if (g.modules.length === 0) fallback ??= g;
    }
    return fallback;
  }

  /** The module's state row, added on its first use. */
  #stateOf(module: number): number {
    let row = this.#state.find(module);
    if (row === -1) {
      row = this.#state.add(module);
      this.#state.set(row, LAST_SLOT, -1);
      this.#state.set(row, LAST_BILLING_DAY, -1);
    }
    return row;
  }

  /**
   * A tick: every module is looked at for a read due, `MODULES_PER_TURN` a turn (a tick over every
   * module in one turn held the event loop twice the turn limit, docs/memory.md), with the time the
   * tick started; then the paths are fed and the next tick set for the next slot boundary.
   */
  #onTick(): void {
    this.#tick = undefined;
    if (!this.#running) return;
    const nowS = this.#o.wallClock.now() / 1000;
    this.#sweep({ module: 0, nowS, nowMs: this.#o.clock.now(), nextS: nowS + TICK_MAX_MS / 1000 });
  }

  #sweep(w: Sweep): void {
    this.#tick = undefined;
    if (!this.#running) return;
    const o = this.#o;
    for (let n = 0; n < MODULES_PER_TURN; n++) {
      const next = (w.module = o.topology.next(w.module));
      if (next === 0) {
        for (let i = 0; i < this.#paths.length; i++) this.#feed(i);
        const delay = Math.max(10, Math.min(TICK_MAX_MS, (w.nextS - w.nowS) * 1000 + 1));
        this.#tick = o.timers.set(() => this.#onTick(), delay);
        return;
      }
      this.#consider(next, w);
    }
    this.#tick = o.timers.set(() => this.#sweep(w), 0);
  }

  /** Whether module `m` has a read due at the sweep's time: pushed on its path's queue if so. */
  #consider(module: number, w: Sweep): void {
    const o = this.#o, t = o.topology;
    const { nowS, nowMs } = w;
    const g = this.#group(module);
    if (!g) return;
    const st = this.#state, s = this.#stateOf(module);
    const slot = slotOf(nowS, g.intervalMin, o.utcOffsetMin);
    w.nextS = Math.min(w.nextS, slotStart(slot + 1, g.intervalMin, o.utcOffsetMin));
    if (st.get(s, BUSY) || st.get(s, PENDING)) return;
    // A module displaced by another at its place is found again by discovery if it reappears elsewhere.
    if (!t.inPlace(module)) return;
    if (t.stateOf(module) === "missing" && nowMs < st.get(s, RETRY_AT_MS)) return;
    const day = billingDay(g, nowS, o.utcOffsetMin);
    if (day !== undefined && st.get(s, LAST_BILLING_DAY) < 0) st.set(s, LAST_BILLING_DAY, o.billingDays?.last(g.id) ?? day);
    if (day !== undefined && day > st.get(s, LAST_BILLING_DAY)) this.#push(t.pathOf(module), { module, kind: "billing", group: g.id, slot, day });
    else if (slot > st.get(s, LAST_SLOT) && inWindow(g, nowS, o.utcOffsetMin)) this.#push(t.pathOf(module), { module, kind: "scheduled", group: g.id, slot, day: day ?? -1 });
  }

  #push(path: string, read: PendingRead): void {
    let pi = this.#paths.indexOf(path);
    if (pi < 0) {
      pi = this.#paths.push(path) - 1;
      this.#queued.push(0);
    }
    this.#pending.push((pi * 0x1_0000 + read.module) * 2 + (read.kind === "billing" ? BILLING_BIT : 0));
    const st = this.#state, s = this.#stateOf(read.module);
    st.set(s, PENDING, 1);
    st.set(s, PENDING_GROUP, read.group);
    st.set(s, PENDING_SLOT, read.slot);
    st.set(s, PENDING_DAY, read.day);
    if (read.kind === "billing") {
      const key = `${read.group}/${read.day}`;
      this.#billingOpen.set(key, (this.#billingOpen.get(key) ?? 0) + 1);
    }
    if (read.kind !== "scheduled") return;
    const c = this.#openAt(pi, read.slot);
    if (c >= 0) this.#open[c + OPEN_LEFT]!++;
    else this.#open.push(pi, read.slot, this.#o.clock.now(), 1, 0, 0);
  }

  /** The offset in `#open` of the cycle of path index `pi` and `slot`, or -1. */
  #openAt(pi: number, slot: number): number {
    const open = this.#open;
    for (let at = 0; at < open.length; at += OPEN_COLUMNS) if (open[at] === pi && open[at + 1] === slot) return at;
    return -1;
  }

  /** The place in `#pending` of path index `pi`'s next read, or -1. */
  #nextPending(pi: number): number {
    const q = this.#pending;
    // Inline (a call per waiting read is dearer in XS); the reads of the paths are interleaved, so the first is near.
    for (let i = 0; i < q.length; i++) if (Math.floor(q[i]! / 0x2_0000) === pi) return i;
    return -1;
  }

  #cycleDone(pi: number, read: PendingRead, boundMs: number | undefined): void {
    const open = this.#open, c = this.#openAt(pi, read.slot);
    if (read.kind !== "scheduled" || c < 0) return;
    if (boundMs === undefined) open[c + OPEN_FAILED] = 1;
    else open[c + OPEN_BOUND_MS]! += boundMs;
    if (--open[c + OPEN_LEFT]! > 0) return;
    const startMs = open[c + OPEN_START_MS]!, cycleBoundMs = open[c + OPEN_BOUND_MS]!, failed = open[c + OPEN_FAILED] === 1;
    open.splice(c, OPEN_COLUMNS);
    const path = this.#paths[pi]!;
    const durationMs = this.#o.clock.now() - startMs;
    const complete = !failed && cycleBoundMs > 0;
    if (complete) {
      let total = this.cycles.get(path);
      if (!total) this.cycles.set(path, (total = { complete: 0, ratioSum: 0 }));
      total.complete++;
      total.ratioSum += durationMs / cycleBoundMs;
    }
    for (const l of this.#cycleListeners) l({ path, slot: read.slot, durationMs, lowerBoundMs: cycleBoundMs, complete });
  }

  /** The read a path's queue holds as `code`, as an object while it runs (the only ones in flight). */
  #pendingRead(code: number): PendingRead {
    const module = moduleOf(code), st = this.#state, s = this.#stateOf(module);
    st.set(s, PENDING, 0);
    return { module, kind: code & BILLING_BIT ? "billing" : "scheduled", group: st.get(s, PENDING_GROUP), slot: st.get(s, PENDING_SLOT), day: st.get(s, PENDING_DAY) };
  }

  #feed(pi: number): void {
    while (this.#queued[pi]! < this.#o.maxQueuedPerPath) {
      const next = this.#nextPending(pi);
      if (next < 0) return;
      const read = this.#pendingRead(this.#pending.splice(next, 1)[0]!);
      const st = this.#state, s = this.#stateOf(read.module);
      const priority = read.kind === "billing" ? Priority.billing : Priority.scheduled;
      this.counters[read.kind === "billing" ? "billing" : "scheduled"]++;
      this.#queued[pi]!++;
      this.#read(read.module, read.kind, priority, (_ok, _failure, boundMs) => {
        this.#cycleDone(pi, read, boundMs);
        this.#queued[pi]!--;
        st.set(s, LAST_SLOT, Math.max(st.get(s, LAST_SLOT), read.slot));
        if (read.kind === "billing") this.#billingDone(read);
        if (this.#running) this.#feed(pi);
      });
    }
  }

  /** A billing read is over (answered or not): the module's day is done, and the group's once all are. */
  #billingDone(read: PendingRead): void {
    this.#state.set(this.#stateOf(read.module), LAST_BILLING_DAY, read.day);
    const key = `${read.group}/${read.day}`;
    const left = (this.#billingOpen.get(key) ?? 1) - 1;
    if (left > 0) return void this.#billingOpen.set(key, left);
    this.#billingOpen.delete(key);
    this.#o.billingDays?.done(read.group, read.day);
  }

  /** Starts a readout of `module` on its path; `after` runs once it is over. */
  #read(module: number, kind: ReadKind, priority: number, after: (ok: boolean, failure?: Failure, boundMs?: number, readout?: Readout) => void): void {
    const o = this.#o;
    const st = this.#state, s = this.#stateOf(module);
    st.set(s, BUSY, 1);
    o.access.readout(module, priority, (r) => {
      st.set(s, BUSY, 0);
      if (r.ok) {
        this.counters.ok++;
        st.set(s, BACKOFF_MS, 0);
        o.listener.readout(module, r.readout, kind, o.wallClock.now() / 1000);
        return after(true, undefined, r.wire.lowerBoundMs, r.readout);
      }
      this.counters.failed++;
      o.listener.failed(module, r.failure, kind);
      if (o.topology.has(module) && o.topology.stateOf(module) === "missing") {
        const base = (this.#group(module)?.intervalMin ?? 15) * 60_000;
        const backoffMs = st.get(s, BACKOFF_MS);
        st.set(s, BACKOFF_MS, Math.min(Math.floor(o.maxBackoffMs), BACKOFF_LIMIT_MS, backoffMs ? backoffMs * 2 : base));
        st.set(s, RETRY_AT_MS, o.clock.now() + st.get(s, BACKOFF_MS));
      }
      after(false, r.failure);
    });
  }
}
