/**
 * Topology auto-detection (the ENERGSys MC/ML product document: "Auto-detection of topology of associated communication system"):
 * probes the candidate addresses of each path that the topology does not know yet, one at a time, at the
 * lowest priority, with a short timeout and a gap between probes, so a scan never holds the bus from
 * scheduled work: a probe waits behind every other transaction, and at most one is queued per path.
 *
 * What answers is handed to `onFound` (the caller observes it into the topology: new, moved or
 * replaced module). A pass runs at start and then every `rescanMs`.
 */
import type { TimerId, Timers } from "../../hal/clock.js";
import type { Readout, Timing } from "../bus/types.js";
import type { ModulePath } from "./module-access.js";
import { Priority } from "./poller.js";
import type { Topology } from "./topology.js";

export interface DiscoveryOptions {
  timers: Timers;
  topology: Topology;
  paths: ReadonlyMap<string, ModulePath>;
  /** Addresses to probe per path (a configured range on a bus; a bridge's table of what it reaches). */
  candidates(path: string): readonly string[];
  onFound(path: string, address: string, readout: Readout): void;
  /**
   * Probe timing. Default: first character within 800 ms (tr ≤ 200 ms for our modules, STD §6.4.1.5,
   * plus the UART's delivery after 4 idle characters), no retry.
   */
  probeTiming?: (path: string) => Partial<Timing>;
  /** Silence left between two probes on a path, ms. Default 200. */
  probeGapMs?: number;
  /** A new pass this long after the previous one ended, ms. Default 6 h. */
  rescanMs?: number;
}

const DEFAULT_PROBE: Partial<Timing> = Object.freeze({ firstCharTimeoutMs: 800, retries: 0 });
/**
 * Candidates a turn looks up in the topology at most before it goes on in the next turn. A rescan
 * of a site that knows all its modules skips every candidate: the 256-meter site's first rescan
 * did so for every path in one turn, 1,062,110 XS units (over the 150,000 of a turn: docs/memory.md).
 */
const CANDIDATES_PER_TURN = 16;

export class Discovery {
  readonly #o: DiscoveryOptions;
  readonly #cursor = new Map<string, number>();
  readonly #active = new Set<string>();
  #rescan: TimerId | undefined;
  #running = false;
  readonly counters = { probes: 0, found: 0, passes: 0 };

  constructor(options: DiscoveryOptions) {
    this.#o = options;
  }

  /** True while a pass is running on some path. */
  get scanning(): boolean {
    return this.#active.size > 0;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#pass();
  }

  stop(): void {
    this.#running = false;
    if (this.#rescan !== undefined) this.#o.timers.clear(this.#rescan);
    this.#rescan = undefined;
    this.#active.clear();
  }

  /** Scans one path now (its candidates changed, e.g. a bridge listed what it reaches). */
  scan(path: string): void {
    this.#begin(path, false);
  }

  /** Starts the scan of `path` unless one runs: its first step now, or in a turn of its own (`later`). */
  #begin(path: string, later: boolean): void {
    if (!this.#running || this.#active.has(path) || !this.#o.paths.has(path)) return;
    this.#cursor.set(path, 0);
    this.#active.add(path);
    if (later) this.#o.timers.set(() => this.#next(path), 0);
    else this.#next(path);
  }

  #pass(): void {
    this.#rescan = undefined;
    this.counters.passes++;
    for (const path of this.#o.paths.keys()) this.#begin(path, true);
    if (this.#active.size === 0) this.#scheduleRescan();
  }

  #scheduleRescan(): void {
    if (this.#running && this.#rescan === undefined) this.#rescan = this.#o.timers.set(() => this.#pass(), this.#o.rescanMs ?? 6 * 3_600_000);
  }

  #next(path: string): void {
    if (!this.#running) return;
    const o = this.#o;
    const candidates = o.candidates(path);
    let i = this.#cursor.get(path) ?? 0;
    const stop = i + CANDIDATES_PER_TURN;
    while (i < candidates.length && o.topology.numberAt(path, candidates[i]!) !== undefined) {
      if (++i < stop) continue;
      this.#cursor.set(path, i);
      o.timers.set(() => this.#next(path), 0);
      return;
    }
    this.#cursor.set(path, i + 1);
    const address = candidates[i];
    const bus = o.paths.get(path);
    if (address === undefined || !bus) {
      this.#active.delete(path);
      if (this.#active.size === 0) this.#scheduleRescan();
      return;
    }
    this.counters.probes++;
    bus.enqueue({
      kind: "readout",
      address,
      priority: Priority.discovery,
      timing: o.probeTiming?.(path) ?? DEFAULT_PROBE,
      onDone: (r) => {
        if (r.ok) {
          this.counters.found++;
          o.onFound(path, address, r.readout);
        }
        o.timers.set(() => this.#next(path), o.probeGapMs ?? 200);
      },
    });
  }
}
