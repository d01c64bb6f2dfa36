/**
 * Poll cycle for 64 modules on one bus at 2400 Bd: simulated time over the lower bound (the bytes of
 * each successful exchange × 10 bits / baud, plus each module's tr from its identification), without
 * noise and at a byte error rate of 1e-4 (one bit flipped in 1 character of 10,000), over 5 seeds.
 */
import { runPollCycle, type CycleReport } from "../../firmware/bus/poll-cycle.js";
import { busSite } from "../sim/bus-rig.js";
import type { Bench } from "./bench.js";

function cycle(seed: string, flip: number): CycleReport & { utilisation: number; wallMs: number } {
  const t = performance.now();
  const site = busSite(seed, { modules: 64, noise: flip ? { flip } : undefined });
  let report: CycleReport | undefined;
  runPollCycle({ bus: site.master, clock: site.clock, addresses: site.modules.map((m) => m.address), onDone: (r) => (report = r) });
  site.scheduler.runUntilTrue(() => report !== undefined, 3_600_000);
  return { ...report!, utilisation: site.master.utilisation, wallMs: performance.now() - t };
}

export const pollCycle: Bench = {
  name: "poll cycle, 64 modules on one bus at 2400 Bd (simulated time / lower bound)",
  async run() {
    const figures: Record<string, number | string> = {};
    for (const flip of [0, 1e-4]) {
      const runs = ["1", "2", "3", "4", "5"].map((s) => cycle(s, flip));
      const label = flip ? "byte error rate 1e-4" : "no noise";
      const ratios = runs.map((r) => r.ratio);
      figures[`${label}: ratio mean / max`] = `${(ratios.reduce((a, b) => a + b, 0) / runs.length).toFixed(4)} / ${Math.max(...ratios).toFixed(4)}`;
      figures[`${label}: cycle s (mean), lower bound s (mean)`] = `${(runs.reduce((a, r) => a + r.durationMs, 0) / runs.length / 1000).toFixed(1)}, ${(runs.reduce((a, r) => a + r.lowerBoundMs, 0) / runs.length / 1000).toFixed(1)}`;
      figures[`${label}: read ok / failed / retries (all seeds)`] = `${runs.reduce((a, r) => a + r.ok, 0)} / ${runs.reduce((a, r) => a + r.failed, 0)} / ${runs.reduce((a, r) => a + r.retries, 0)}`;
      figures[`${label}: bus utilisation (mean)`] = Number((runs.reduce((a, r) => a + r.utilisation, 0) / runs.length).toFixed(3));
      figures[`${label}: wall ms per simulated cycle (mean)`] = Math.round(runs.reduce((a, r) => a + r.wallMs, 0) / runs.length);
    }
    return figures;
  },
};
