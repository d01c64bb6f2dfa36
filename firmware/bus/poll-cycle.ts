/**
 * One poll cycle: a mode D readout of every address on one path (a bus master, or a bridge transport
 * of firmware/bridge), in order, with its cost against the physical limit. The lower bound of a cycle
 * is the sum of each successful exchange's `wire.lowerBoundMs`: the wire time of its bytes (10 bits per
 * character at the bus rate) plus the reaction time tr each module must wait (STD §6.4.1.5), and
 * through a bridge the air time too; `ratio` is the cycle's duration over that bound.
 */
import type { MonotonicClock } from "../../hal/clock.js";
import type { BusMaster } from "./bus-master.js";
import type { Readout, ReadoutResult, Timing } from "./types.js";

export interface CycleReport {
  readonly startedMs: number;
  readonly durationMs: number;
  readonly ok: number;
  readonly failed: number;
  /** Attempts beyond the first, over all modules. */
  readonly retries: number;
  readonly lowerBoundMs: number;
  /** durationMs / lowerBoundMs (0 when nothing succeeded). */
  readonly ratio: number;
}

export interface PollCycleOptions {
  /** What runs the readouts: a BusMaster, or anything with its `enqueue` (a bridge transport). */
  bus: Pick<BusMaster, "enqueue">;
  clock: MonotonicClock;
  addresses: readonly string[];
  timing?: Partial<Timing>;
  /** Each successful readout, as it arrives. */
  onReadout?(address: string, readout: Readout): void;
  /** Each failed one. */
  onFailure?(address: string, result: ReadoutResult & { ok: false }): void;
  onDone(report: CycleReport): void;
}

export function runPollCycle(o: PollCycleOptions): void {
  const started = o.clock.now();
  let ok = 0, failed = 0, retries = 0, bound = 0, left = o.addresses.length;
  const finish = () => {
    const durationMs = o.clock.now() - started;
    o.onDone({ startedMs: started, durationMs, ok, failed, retries, lowerBoundMs: bound, ratio: bound > 0 ? durationMs / bound : 0 });
  };
  if (left === 0) throw new RangeError("no addresses");
  for (const address of o.addresses) {
    o.bus.enqueue({
      kind: "readout",
      address,
      ...(o.timing ? { timing: o.timing } : {}),
      onDone: (r) => {
        retries += r.attempts - 1;
        if (r.ok) {
          ok++;
          bound += r.wire.lowerBoundMs;
          o.onReadout?.(address, r.readout);
        } else {
          failed++;
          o.onFailure?.(address, r);
        }
        if (--left === 0) finish();
      },
    });
  }
}
