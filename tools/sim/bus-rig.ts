/**
 * Test benches on the simulated RS485 bus, shared by the scenarios (mocha and XS), the unit tests and
 * the benchmarks: a concentrator's RS485 port with a bus master, simulated local modules and bridges,
 * and the readings a module's readout must give. Pure ECMAScript.
 */
import { BusMaster } from "../../firmware/bus/bus-master.js";
import { BridgeTransport } from "../../firmware/bridge/transport.js";
import type { RoutePolicy } from "../../firmware/bridge/route.js";
import { populateBridge, type BridgeSite } from "../../hal/sim/bridge-site.js";
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

export interface BusSite {
  scheduler: Scheduler;
  bus: Rs485Bus;
  master: BusMaster;
  modules: SimLocalModule[];
  clock: SimClock;
}

/** A concentrator's RS485 port on `bus` (its own power domain, powered), its clock and a bus master. */
export function concentratorPort(scheduler: Scheduler, prng: Prng, bus: Rs485Bus, echo = true): { domain: PowerDomain; clock: SimClock; master: BusMaster } {
  const domain = new PowerDomain(scheduler, "mc");
  const uart = new SimUart(domain, "mc.rs485", prng.fork("mc"));
  const de = new SimDigitalOutput(domain);
  bus.attach({ uart, de, echo });
  domain.powerOn();
  const clock = new SimClock(domain);
  return { domain, clock, master: new BusMaster({ port: { serial: uart, direction: de }, clock, timers: clock }) };
}

/** A concentrator's RS485 port (its own power domain) and `modules` simulated modules on one bus. */
export function busSite(seed: string, options: { modules: number; noise?: LineNoiseRates; echo?: boolean }): BusSite {
  const scheduler = new Scheduler();
  const prng = new Prng(seed);
  const bus = new Rs485Bus(scheduler, prng, { noise: options.noise });
  const { clock, master } = concentratorPort(scheduler, prng, bus, options.echo);
  const modules = populateBus({ scheduler, prng, bus, count: options.modules });
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

export interface BridgeSpec {
  kind: "plc" | "radio";
  /** Bus address. */
  address: number;
  modules: number;
}

export interface BridgeBusSite {
  scheduler: Scheduler;
  bus: Rs485Bus;
  clock: SimClock;
  master: BusMaster;
  local: SimLocalModule[];
  bridges: Array<{ sim: BridgeSite; transport: BridgeTransport }>;
}

/** A concentrator's RS485 port, `localModules` local modules and the bridges on one bus, a transport per bridge. */
export function bridgeSite(seed: string, o: { bridges: BridgeSpec[]; localModules?: number; policy?: Partial<RoutePolicy> }): BridgeBusSite {
  const scheduler = new Scheduler();
  const prng = new Prng(seed);
  const bus = new Rs485Bus(scheduler, prng);
  const { clock, master } = concentratorPort(scheduler, prng, bus);
  const local = populateBus({ scheduler, prng, bus, count: o.localModules ?? 0 });
  const bridges = o.bridges.map((b, i) => ({
    sim: populateBridge({ scheduler, prng, bus, kind: b.kind, address: b.address, modules: b.modules, firstAddress: 20_000_001 + 1000 * i }),
    transport: new BridgeTransport({ bus: master, clock, timers: clock, address: b.address, policy: o.policy }),
  }));
  return { scheduler, bus, clock, master, local, bridges };
}
