/**
 * One route to a remote module (a path of repeaters through its bridge) and what the transport has
 * measured on it (docs/bridge.md §Rate adaptation and time-outs):
 *
 * - `success`: EWMA of relay outcomes (1 reached the module, 0 the route failed), α = 1/8;
 * - `frameSuccess`: EWMA over medium transmissions of their success (1 = no retransmission), from the
 *   frames and tries the bridge reports for each relay, α = 1/16 per transmission (a relay of 10
 *   transmissions moves it about halfway): the link quality at the current rate;
 * - `slowness`: EWMA of the relay's time at the bridge over the time it should take (link.ts), α = 1/8:
 *   what the polls and deadlines are scaled by. (RFC 6298's α = 1/8 for round-trip times.)
 *
 * Rate, after ARF/AARF (Lacage, Manshaei, Turletti, "IEEE 802.11 rate adaptation: a practical approach",
 * MSWiM 2004): one step slower when `frameSuccess` falls below `slowerBelow` (at 0.85 a 3-try hop still
 * loses a frame 1 time in 300) or when the first relay after a step up fails; one step faster after
 * `fasterAfter` relays in a row at this rate with `frameSuccess` at least `fasterAbove`. When the first
 * relay after a step up has to step down again, the next step up waits twice as long (up to 8 times).
 * A new rate starts with a clean frame-success record.
 *
 * Up and down: a route that fails `downAfter` times in a row is down; one success brings it up. The
 * failure that puts a route down does not change its rate, nor do failures while it is down (probes):
 * a repeater without power says nothing about the rate.
 *
 * The routes of one bridge are rows of a table, not an object each (docs/memory.md): a route's numbers
 * are a row of one Float64Array (the averages and the time of its last relay) and one Uint32Array (its
 * path, rate and counters), addressed by route number. An object is 1 slot + 1 per property in XS and
 * every private method one more per instance; a row costs no slot at all.
 */

import { PATH_MAX } from "./messages.js";

export interface RoutePolicy {
  /** Weight of a new relay in `success` and `slowness`. Default 1/8 (RFC 6298 §2). */
  alpha: number;
  /** Weight of one transmission in `frameSuccess`. Default 1/16. */
  frameAlpha: number;
  /** Route failures in a row that put a route down. Default 2. */
  downAfter: number;
  /** A primary route that is down is tried again after this long, ms. Default 10 min. */
  probeAfterMs: number;
  /** Frame success under which the rate steps down. Default 0.85. */
  slowerBelow: number;
  /** Frame success needed to step up. Default 0.95. */
  fasterAbove: number;
  /** Successful relays in a row at a rate before it steps up. Default 10 (ARF). */
  fasterAfter: number;
}

export const DEFAULT_ROUTE_POLICY: RoutePolicy = Object.freeze({
  alpha: 1 / 8,
  frameAlpha: 1 / 16,
  downAfter: 2,
  probeAfterMs: 10 * 60_000,
  slowerBelow: 0.85,
  fasterAbove: 0.95,
  fasterAfter: 10,
});

/** AARF: the longest wait before a step up, in multiples of `fasterAfter`. */
const FASTER_BACKOFF_MAX = 8;

export interface RouteStats {
  readonly role: RouteRole;
  /** Repeaters, in order from the bridge. */
  readonly path: readonly number[];
  readonly up: boolean;
  readonly rateBps: number;
  readonly success: number;
  readonly frameSuccess: number;
  readonly slowness: number;
  readonly relays: number;
  readonly failures: number;
  /** Rate changes. */
  readonly slower: number;
  readonly faster: number;
}

/** Float columns of a route's row. */
const SUCCESS = 0, FRAME_SUCCESS = 1, SLOWNESS = 2, LAST_TRIED = 3, FLOATS = 4;
/** Integer columns of a route's row: role (0 primary, 1 backup), the path (its length, then PATH_MAX repeaters), rate, state and counters. */
const ROLE = 0, PATH_LENGTH = 1, PATH = 2, RATE = PATH + PATH_MAX, UP = RATE + 1, RELAYS = UP + 1, FAILURES = RELAYS + 1, SLOWER = FAILURES + 1,
  FASTER = SLOWER + 1, FAILURES_IN_ROW = FASTER + 1, OK_AT_RATE = FAILURES_IN_ROW + 1, FASTER_AFTER = OK_AT_RATE + 1,
  /** 1 while the rate was just stepped up and no relay has confirmed it yet. */
  PROBING_FASTER = FASTER_AFTER + 1, INTS = PROBING_FASTER + 1;

export type RouteRole = "primary" | "backup";

/**
 * The routes of one bridge, each a row: `add` returns its number, by which every other method takes it.
 * Its helpers are prototype methods (TypeScript `private`, not `#`): XS gives every instance a slot per `#` method.
 */
export class RouteTable {
  readonly #policy: RoutePolicy;
  readonly #rates: readonly number[];
  readonly #floats: Float64Array;
  readonly #ints: Uint32Array;
  #count = 0;

  /** Room for `capacity` routes, at `ratesBps` (the bridge's rates, fastest first). */
  constructor(ratesBps: readonly number[], policy: RoutePolicy, capacity: number) {
    this.#rates = ratesBps;
    this.#policy = policy;
    this.#floats = new Float64Array(capacity * FLOATS);
    this.#ints = new Uint32Array(capacity * INTS);
  }

  get count(): number {
    return this.#count;
  }

  /** A new route by `path` (at most PATH_MAX repeaters), at the fastest rate, up, with nothing measured yet. */
  add(role: RouteRole, path: readonly number[]): number {
    if (path.length > PATH_MAX) throw new RangeError("invalid path");
    const r = this.row();
    const f = r * FLOATS, n = r * INTS, ints = this.#ints;
    this.#floats[f + SUCCESS] = 1;
    this.#floats[f + FRAME_SUCCESS] = 1;
    this.#floats[f + SLOWNESS] = 1;
    this.#floats[f + LAST_TRIED] = -Infinity;
    ints[n + ROLE] = role === "primary" ? 0 : 1;
    ints[n + PATH_LENGTH] = path.length;
    for (let i = 0; i < path.length; i++) ints[n + PATH + i] = path[i]!;
    ints[n + UP] = 1;
    ints[n + FASTER_AFTER] = this.#policy.fasterAfter;
    return r;
  }

  /** A new route with everything row `from` of `table` measured (a route the bridge's table kept). */
  addCopy(table: RouteTable, from: number): number {
    const r = this.row();
    this.#floats.set(table.#floats.subarray(from * FLOATS, (from + 1) * FLOATS), r * FLOATS);
    this.#ints.set(table.#ints.subarray(from * INTS, (from + 1) * INTS), r * INTS);
    return r;
  }

  private row(): number {
    if (this.#count * INTS >= this.#ints.length) throw new RangeError("route table full");
    return this.#count++;
  }

  role(r: number): RouteRole {
    return this.#ints[r * INTS + ROLE] === 0 ? "primary" : "backup";
  }

  /** Repeaters, in order from the bridge (a new array). */
  path(r: number): number[] {
    const n = r * INTS;
    return Array.from(this.#ints.subarray(n + PATH, n + PATH + this.#ints[n + PATH_LENGTH]!));
  }

  /** Whether the route goes by `path`. */
  hasPath(r: number, path: readonly number[]): boolean {
    const n = r * INTS;
    if (this.#ints[n + PATH_LENGTH] !== path.length) return false;
    for (let i = 0; i < path.length; i++) if (this.#ints[n + PATH + i] !== path[i]) return false;
    return true;
  }

  /** Links a relay crosses. */
  hops(r: number): number {
    return this.#ints[r * INTS + PATH_LENGTH]! + 1;
  }

  rateIndex(r: number): number {
    return this.#ints[r * INTS + RATE]!;
  }

  rateBps(r: number): number {
    return this.#rates[this.rateIndex(r)]!;
  }

  up(r: number): boolean {
    return this.#ints[r * INTS + UP] === 1;
  }

  slowness(r: number): number {
    return this.#floats[r * FLOATS + SLOWNESS]!;
  }

  /** Monotonic time of the last relay sent on it, ms (-Infinity: never). */
  lastTriedMs(r: number): number {
    return this.#floats[r * FLOATS + LAST_TRIED]!;
  }

  tried(r: number, nowMs: number): void {
    this.#floats[r * FLOATS + LAST_TRIED] = nowMs;
  }

  /** The relay reached the module. `frames`/`tries` as the bridge reports; `slowness` = its time / the expected time. Returns true when the route came back up. */
  reached(r: number, frames: number, tries: number, slowness: number): boolean {
    const p = this.#policy, fl = this.#floats, ints = this.#ints, f = r * FLOATS, n = r * INTS;
    ints[n + RELAYS]!++;
    fl[f + SUCCESS]! += p.alpha * (1 - fl[f + SUCCESS]!);
    fl[f + SLOWNESS]! += p.alpha * (slowness - fl[f + SLOWNESS]!);
    this.frames(f, frames, tries);
    ints[n + FAILURES_IN_ROW] = 0;
    const cameUp = ints[n + UP] === 0;
    ints[n + UP] = 1;
    ints[n + OK_AT_RATE]!++;
    if (fl[f + FRAME_SUCCESS]! < p.slowerBelow) this.slower(r);
    else if (ints[n + OK_AT_RATE]! >= ints[n + FASTER_AFTER]! && fl[f + FRAME_SUCCESS]! >= p.fasterAbove) this.faster(r);
    else ints[n + PROBING_FASTER] = 0;
    return cameUp;
  }

  /** The relay did not reach the module (a hop failed, no route, or past its deadline). Returns true when the route went down. */
  failed(r: number, frames: number, tries: number): boolean {
    const p = this.#policy, fl = this.#floats, ints = this.#ints, f = r * FLOATS, n = r * INTS;
    ints[n + RELAYS]!++;
    ints[n + FAILURES]!++;
    ints[n + OK_AT_RATE] = 0;
    if (ints[n + UP] === 0) return false;
    fl[f + SUCCESS]! += p.alpha * (0 - fl[f + SUCCESS]!);
    this.frames(f, frames, tries);
    if (++ints[n + FAILURES_IN_ROW]! >= p.downAfter) {
      ints[n + UP] = 0;
      return true;
    }
    if (fl[f + FRAME_SUCCESS]! < p.slowerBelow || ints[n + PROBING_FASTER] === 1) this.slower(r);
    return false;
  }

  stats(r: number): RouteStats {
    const f = r * FLOATS, n = r * INTS, fl = this.#floats, ints = this.#ints;
    return {
      role: this.role(r),
      path: this.path(r),
      up: this.up(r),
      rateBps: this.rateBps(r),
      success: fl[f + SUCCESS]!,
      frameSuccess: fl[f + FRAME_SUCCESS]!,
      slowness: fl[f + SLOWNESS]!,
      relays: ints[n + RELAYS]!,
      failures: ints[n + FAILURES]!,
      slower: ints[n + SLOWER]!,
      faster: ints[n + FASTER]!,
    };
  }

  /** `tries` transmissions of which `frames` got through, in the per-transmission EWMA (`f`: the row's first float). */
  private frames(f: number, frames: number, tries: number): void {
    if (tries <= 0) return;
    const keep = (1 - this.#policy.frameAlpha) ** tries;
    this.#floats[f + FRAME_SUCCESS] = keep * this.#floats[f + FRAME_SUCCESS]! + (1 - keep) * Math.min(1, frames / tries);
  }

  private slower(r: number): void {
    const p = this.#policy, ints = this.#ints, n = r * INTS;
    // A step up that the very next relay undoes waits twice as long next time (AARF); any other step down resets that.
    ints[n + FASTER_AFTER] = ints[n + PROBING_FASTER] === 1 ? Math.min(ints[n + FASTER_AFTER]! * 2, p.fasterAfter * FASTER_BACKOFF_MAX) : p.fasterAfter;
    ints[n + PROBING_FASTER] = 0;
    if (ints[n + RATE]! + 1 >= this.#rates.length) return;
    ints[n + RATE]!++;
    ints[n + SLOWER]!++;
    this.fresh(r);
  }

  private faster(r: number): void {
    const ints = this.#ints, n = r * INTS;
    if (ints[n + RATE] === 0) return;
    ints[n + RATE]!--;
    ints[n + FASTER]!++;
    ints[n + PROBING_FASTER] = 1;
    this.fresh(r);
  }

  /** A new rate starts with a clean frame-success record. */
  private fresh(r: number): void {
    this.#ints[r * INTS + OK_AT_RATE] = 0;
    this.#floats[r * FLOATS + FRAME_SUCCESS] = 1;
  }
}
