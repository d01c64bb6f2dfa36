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
      const mean = (f: (r: (typeof runs)[number]) => number) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
      const total = (f: (r: (typeof runs)[number]) => number) => runs.reduce((a, r) => a + f(r), 0);
      figures[`${label}: ratio, mean`] = Number(mean((r) => r.ratio).toFixed(4));
      figures[`${label}: ratio, max`] = Number(Math.max(...runs.map((r) => r.ratio)).toFixed(4));
      figures[`${label}: cycle s (mean)`] = Number((mean((r) => r.durationMs) / 1000).toFixed(1));
      figures[`${label}: lower bound s (mean)`] = Number((mean((r) => r.lowerBoundMs) / 1000).toFixed(1));
      figures[`${label}: reads ok (all seeds)`] = total((r) => r.ok);
      figures[`${label}: reads failed (all seeds)`] = total((r) => r.failed);
      figures[`${label}: retries (all seeds)`] = total((r) => r.retries);
      figures[`${label}: bus utilisation (mean)`] = Number(mean((r) => r.utilisation).toFixed(3));
      figures[`${label}: wall ms per simulated cycle (mean)`] = Math.round(mean((r) => r.wallMs));
    }
    return figures;
  },
};
