/**
 * Scenarios on the simulated RS485 bus: the bus master (firmware/bus) polling simulated local modules
 * (hal/sim/local-module.ts) — a poll cycle over 64 modules with and without line noise, a programming
 * session, and a module that reboots with a flat battery.
 */
import { runPollCycle, type CycleReport } from "../../firmware/bus/poll-cycle.js";
import { readingsOf } from "../../firmware/d0/readings.js";
import type { Reading } from "../../firmware/model/records.js";
import type { LineNoiseRates } from "../../hal/sim/line-noise.js";
import { busSite, truthOf } from "../../tools/sim/bus-rig.js";
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";

function pollCycle(name: string, noise: LineNoiseRates | undefined, maxRatio: number): Scenario {
  return {
    name,
    start(seed) {
      const site = busSite(seed, { modules: 64, noise });
      let report: CycleReport | undefined;
      const readings = new Map<string, Reading[]>();
      runPollCycle({
        bus: site.master,
        clock: site.clock,
        addresses: site.modules.map((m) => m.address),
        onReadout: (address, r) => readings.set(address, readingsOf(r.dataSets, { meterOf: (b) => b, time: 0 })),
        onDone: (r) => (report = r),
      });
      return {
        scheduler: site.scheduler,
        limitMs: 600_000,
        done: () => report !== undefined,
        check() {
          const r = report!;
          check.equal(r.ok, 64, "modules read");
          for (const m of site.modules) {
            const got = readings.get(m.address)!;
            for (const [key, wh] of truthOf(m)) {
              const [b, reg] = key.split(":") as [string, string];
              const reading = got.find((x) => x.meter === Number(b) && `${(x.register >> 16) & 255}.${(x.register >> 8) & 255}.${x.register & 255}` === reg);
              check.ok(reading, `${m.address} meter ${b} ${reg} read`);
              check.equal(reading!.value, wh, `${m.address} meter ${b} ${reg} (Wh)`);
            }
          }
          check.ok(r.ratio > 1 && r.ratio <= maxRatio, `cycle time / lower bound ${r.ratio.toFixed(3)} ≤ ${maxRatio}`);
        },
      };
    },
  };
}

export const scenarios: Scenario[] = [
  pollCycle("d0 bus: a poll cycle over 64 modules at 2400 Bd reads every register exactly, within 1.10 of the wire limit", undefined, 1.1),
  pollCycle("d0 bus: with a byte error rate of 1e-4 every module is still read exactly, within 1.30 of the wire limit", { flip: 1e-4 }, 1.3),
];
