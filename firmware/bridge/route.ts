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
 */

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
  readonly role: "primary" | "backup";
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

export class Route {
  readonly role: "primary" | "backup";
  readonly path: readonly number[];
  readonly #policy: RoutePolicy;
  readonly #rates: readonly number[];
  rateIndex = 0;
  up = true;
  success = 1;
  frameSuccess = 1;
  slowness = 1;
  /** Monotonic time of the last relay sent on it, ms. */
  lastTriedMs = -Infinity;
  relays = 0;
  failures = 0;
  slower = 0;
  faster = 0;
  #failuresInRow = 0;
  #okAtRate = 0;
  #fasterAfter: number;
  /** The rate was just stepped up and no relay has confirmed it yet. */
  #probingFaster = false;

  constructor(role: "primary" | "backup", path: readonly number[], ratesBps: readonly number[], policy: RoutePolicy) {
    this.role = role;
    this.path = path;
    this.#rates = ratesBps;
    this.#policy = policy;
    this.#fasterAfter = policy.fasterAfter;
  }

  get rateBps(): number {
    return this.#rates[this.rateIndex]!;
  }

  /** Links a relay crosses. */
  get hops(): number {
    return this.path.length + 1;
  }

  /** The relay reached the module. `frames`/`tries` as the bridge reports; `slowness` = its time / the expected time. Returns true when the route came back up. */
  reached(frames: number, tries: number, slowness: number): boolean {
    const p = this.#policy;
    this.relays++;
    this.success += p.alpha * (1 - this.success);
    this.slowness += p.alpha * (slowness - this.slowness);
    this.#frames(frames, tries);
    this.#failuresInRow = 0;
    const cameUp = !this.up;
    this.up = true;
    this.#okAtRate++;
    if (this.frameSuccess < p.slowerBelow) this.#slower();
    else if (this.#okAtRate >= this.#fasterAfter && this.frameSuccess >= p.fasterAbove) this.#faster();
    else this.#probingFaster = false;
    return cameUp;
  }

  /** The relay did not reach the module (a hop failed, no route, or past its deadline). Returns true when the route went down. */
  failed(frames: number, tries: number): boolean {
    this.relays++;
    this.failures++;
    this.#okAtRate = 0;
    if (!this.up) return false;
    this.success += this.#policy.alpha * (0 - this.success);
    this.#frames(frames, tries);
    if (++this.#failuresInRow >= this.#policy.downAfter) {
      this.up = false;
      return true;
    }
    if (this.frameSuccess < this.#policy.slowerBelow || this.#probingFaster) this.#slower();
    return false;
  }

  stats(): RouteStats {
    return {
      role: this.role,
      path: this.path,
      up: this.up,
      rateBps: this.rateBps,
      success: this.success,
      frameSuccess: this.frameSuccess,
      slowness: this.slowness,
      relays: this.relays,
      failures: this.failures,
      slower: this.slower,
      faster: this.faster,
    };
  }

  /** `tries` transmissions of which `frames` got through, in the per-transmission EWMA. */
  #frames(frames: number, tries: number): void {
    if (tries <= 0) return;
    const keep = (1 - this.#policy.frameAlpha) ** tries;
    this.frameSuccess = keep * this.frameSuccess + (1 - keep) * Math.min(1, frames / tries);
  }

  #slower(): void {
    // A step up that the very next relay undoes waits twice as long next time (AARF); any other step down resets that.
    this.#fasterAfter = this.#probingFaster ? Math.min(this.#fasterAfter * 2, this.#policy.fasterAfter * FASTER_BACKOFF_MAX) : this.#policy.fasterAfter;
    this.#probingFaster = false;
    if (this.rateIndex + 1 >= this.#rates.length) return;
    this.rateIndex++;
    this.slower++;
    this.#fresh();
  }

  #faster(): void {
    if (this.rateIndex === 0) return;
    this.rateIndex--;
    this.faster++;
    this.#probingFaster = true;
    this.#fresh();
  }

  #fresh(): void {
    this.#okAtRate = 0;
    this.frameSuccess = 1;
  }
}
