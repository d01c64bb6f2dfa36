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
import type { Failure, Readout, ReadoutResult } from "../bus/types.js";
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
 * (-1 none), the last billing day done (-1 not known yet), its readouts running (a count: one
 * scheduled or billing read and on-demand ones), when a missing module is tried again (monotonic ms)
 * and its back-off (ms); its scheduled or billing read (one at a time: READ_WAITING while it waits in
 * a path's queue, READ_BILLING for a billing read), and that read's path index, group, slot and day,
 * kept until the read is over: the read's completion is a method reading them, not a closure per read.
 */
const LAST_SLOT = 0, LAST_BILLING_DAY = 1, BUSY = 2, RETRY_AT_MS = 3, BACKOFF_MS = 4, READ = 5, READ_PATH = 6, READ_GROUP = 7, READ_SLOT = 8, READ_DAY = 9;
/**
 * Their kinds: slots and days are 32-bit integers, counts and flags bytes, a path's and a group's
 * index 16 bits (the group's id, configured, any number, is in `Poller.#groupIds`), the back-off
 * 32-bit ms; a monotonic time in ms Float64.
 */
const STATE_COLUMNS = frozen<ColumnKind[]>(["i32", "i32", "u8", "f64", "u32", "u8", "u16", "u16", "i32", "i32"]);
/** Bits of the READ column. */
const READ_WAITING = 1, READ_BILLING = 2;
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

/** What an on-demand readout's caller is told once it is over. */
type OnDemandDone = (ok: boolean, failure?: Failure, readout?: Readout) => void;

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
  /** The ids of the groups reads were queued for, by index (a few). */
  readonly #groupIds: number[] = [];
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
    for (const code of this.#pending) this.#state.set(this.#stateOf(moduleOf(code)), READ, 0);
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
      this.#read(module, Priority.onDemand, (ok, failure, readout) => {
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
    if (st.get(s, BUSY) || st.get(s, READ) & READ_WAITING) return;
    // A module displaced by another at its place is found again by discovery if it reappears elsewhere.
    if (!t.inPlace(module)) return;
    if (t.stateOf(module) === "missing" && nowMs < st.get(s, RETRY_AT_MS)) return;
    const day = billingDay(g, nowS, o.utcOffsetMin);
    if (day !== undefined && st.get(s, LAST_BILLING_DAY) < 0) st.set(s, LAST_BILLING_DAY, o.billingDays?.last(g.id) ?? day);
    if (day !== undefined && day > st.get(s, LAST_BILLING_DAY)) this.#push(t.pathOf(module), module, s, true, g.id, slot, day);
    else if (slot > st.get(s, LAST_SLOT) && inWindow(g, nowS, o.utcOffsetMin)) this.#push(t.pathOf(module), module, s, false, g.id, slot, day ?? -1);
  }

  /** Queues a scheduled (or billing) read of `module` (state row `s`) on `path`: its details go in the row. */
  #push(path: string, module: number, s: number, billing: boolean, group: number, slot: number, day: number): void {
    let pi = this.#paths.indexOf(path);
    if (pi < 0) {
      pi = this.#paths.push(path) - 1;
      this.#queued.push(0);
    }
    this.#pending.push((pi * 0x1_0000 + module) * 2 + (billing ? BILLING_BIT : 0));
    const st = this.#state;
    st.set(s, READ, billing ? READ_WAITING | READ_BILLING : READ_WAITING);
    st.set(s, READ_PATH, pi);
    // The id itself, whatever number it is (NaN and -0 included), comes back.
    const ids = this.#groupIds;
    let gi = 0;
    while (gi < ids.length && !Object.is(ids[gi], group)) gi++;
    if (gi === ids.length) ids.push(group);
    st.set(s, READ_GROUP, gi);
    st.set(s, READ_SLOT, slot);
    st.set(s, READ_DAY, day);
    if (billing) {
      const key = `${group}/${day}`;
      this.#billingOpen.set(key, (this.#billingOpen.get(key) ?? 0) + 1);
      return;
    }
    const c = this.#openAt(pi, slot);
    if (c >= 0) this.#open[c + OPEN_LEFT]!++;
    else this.#open.push(pi, slot, this.#o.clock.now(), 1, 0, 0);
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

  /** A scheduled read of path index `pi` and `slot` is over (`boundMs` its wire-time bound, undefined when it failed). */
  #cycleDone(pi: number, slot: number, boundMs: number | undefined): void {
    const open = this.#open, c = this.#openAt(pi, slot);
    if (c < 0) return;
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
    for (const l of this.#cycleListeners) l({ path, slot, durationMs, lowerBoundMs: cycleBoundMs, complete });
  }

  #feed(pi: number): void {
    while (this.#queued[pi]! < this.#o.maxQueuedPerPath) {
      const next = this.#nextPending(pi);
      if (next < 0) return;
      const code = this.#pending.splice(next, 1)[0]!, module = moduleOf(code);
      const st = this.#state, s = this.#stateOf(module);
      // No longer waiting; the row keeps the read's details until it is over.
      st.set(s, READ, st.get(s, READ) & ~READ_WAITING);
      const billing = (code & BILLING_BIT) !== 0;
      this.counters[billing ? "billing" : "scheduled"]++;
      this.#queued[pi]!++;
      this.#read(module, billing ? Priority.billing : Priority.scheduled);
    }
  }

  /** The scheduled or billing read of state row `s` is over: its cycle, its path's queue, its slot or billing day. */
  #scheduledDone(s: number, boundMs: number | undefined): void {
    const st = this.#state, pi = st.get(s, READ_PATH), slot = st.get(s, READ_SLOT), billing = (st.get(s, READ) & READ_BILLING) !== 0;
    if (!billing) this.#cycleDone(pi, slot, boundMs);
    this.#queued[pi]!--;
    st.set(s, LAST_SLOT, Math.max(st.get(s, LAST_SLOT), slot));
    if (billing) this.#billingDone(s);
    if (this.#running) this.#feed(pi);
  }

  /** A billing read is over (answered or not): the module's day is done, and the group's once all are. */
  #billingDone(s: number): void {
    const st = this.#state, group = this.#groupIds[st.get(s, READ_GROUP)]!, day = st.get(s, READ_DAY);
    st.set(s, LAST_BILLING_DAY, day);
    const key = `${group}/${day}`;
    const left = (this.#billingOpen.get(key) ?? 1) - 1;
    if (left > 0) return void this.#billingOpen.set(key, left);
    this.#billingOpen.delete(key);
    this.#o.billingDays?.done(group, day);
  }

  /**
   * Starts a readout of `module` on its path: an on-demand one when `after` is given (it runs once
   * the readout is over), else the scheduled or billing read its state row holds. One closure per
   * readout (the path's callback), holding the module and `after`: the rest is in the row.
   */
  #read(module: number, priority: number, after?: OnDemandDone): void {
    const st = this.#state, s = this.#stateOf(module);
    st.set(s, BUSY, st.get(s, BUSY) + 1);
    this.#o.access.readout(module, priority, (r) => this.#readDone(module, r, after));
  }

  #readDone(module: number, r: ReadoutResult, after: OnDemandDone | undefined): void {
    const o = this.#o;
    const st = this.#state, s = this.#stateOf(module);
    st.set(s, BUSY, st.get(s, BUSY) - 1);
    const kind: ReadKind = after ? "onDemand" : st.get(s, READ) & READ_BILLING ? "billing" : "scheduled";
    if (r.ok) {
      this.counters.ok++;
      st.set(s, BACKOFF_MS, 0);
      o.listener.readout(module, r.readout, kind, o.wallClock.now() / 1000);
      return after ? after(true, undefined, r.readout) : this.#scheduledDone(s, r.wire.lowerBoundMs);
    }
    this.counters.failed++;
    o.listener.failed(module, r.failure, kind);
    if (o.topology.has(module) && o.topology.stateOf(module) === "missing") {
      const base = (this.#group(module)?.intervalMin ?? 15) * 60_000;
      const backoffMs = st.get(s, BACKOFF_MS);
      st.set(s, BACKOFF_MS, Math.min(Math.floor(o.maxBackoffMs), BACKOFF_LIMIT_MS, backoffMs ? backoffMs * 2 : base));
      st.set(s, RETRY_AT_MS, o.clock.now() + st.get(s, BACKOFF_MS));
    }
    if (after) after(false, r.failure);
    else this.#scheduledDone(s, undefined);
  }
}
