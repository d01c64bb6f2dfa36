/**
 * Scenarios on the simulated RS485 bus: the bus master (firmware/bus) polling simulated local modules
 * (hal/sim/local-module.ts) — a poll cycle over 64 modules with and without line noise, a programming
 * session, and a module that reboots with a flat battery.
 */
import { BusMaster } from "../../firmware/bus/bus-master.js";
import { runPollCycle, type CycleReport } from "../../firmware/bus/poll-cycle.js";
import { readingsOf } from "../../firmware/d0/readings.js";
import type { Reading } from "../../firmware/model/records.js";
import { SimClock } from "../../hal/sim/clock.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import type { LineNoiseRates } from "../../hal/sim/line-noise.js";
import type { SimLocalModule } from "../../hal/sim/local-module.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { populateBus } from "../../hal/sim/site.js";
import { SimUart } from "../../hal/sim/uart.js";
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";

export interface BusSite {
  scheduler: Scheduler;
  bus: Rs485Bus;
  master: BusMaster;
  modules: SimLocalModule[];
  clock: SimClock;
}

/** A concentrator's RS485 port (its own power domain) and `modules` simulated modules on one bus. */
export function busSite(seed: string, options: { modules: number; noise?: LineNoiseRates; echo?: boolean }): BusSite {
  const scheduler = new Scheduler();
  const prng = new Prng(seed);
  const bus = new Rs485Bus(scheduler, prng, { noise: options.noise });
  const domain = new PowerDomain(scheduler, "mc");
  const uart = new SimUart(domain, "mc.rs485", prng.fork("mc"));
  const de = new SimDigitalOutput(domain);
  bus.attach({ uart, de, echo: options.echo ?? true });
  domain.powerOn();
  const clock = new SimClock(domain);
  const modules = populateBus({ scheduler, prng, bus, count: options.modules });
  const master = new BusMaster({ port: { serial: uart, direction: de }, clock, timers: clock });
  return { scheduler, bus, master, modules, clock };
}

/** The readings a readout of `module` must give, from the module's own registers (after the readout). */
export function truthOf(module: SimLocalModule): Map<string, number> {
  const t = new Map<string, number>();
  module.meters.forEach((m, i) => {
    const b = i + 1;
    if (m.kind === "pulse") t.set(`${b}:1.8.0`, Math.floor((module.countedPulses(i) * 1000) / m.impPerKwh));
    else {
      t.set(`${b}:1.8.0`, m.importWh());
      t.set(`${b}:1.8.1`, m.importWh(1));
      t.set(`${b}:1.8.2`, m.importWh(2));
      t.set(`${b}:2.8.0`, m.exportWh());
    }
  });
  return t;
}

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
