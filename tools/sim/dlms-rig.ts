/**
 * A test bench of DLMS meters on the simulated RS485 bus, shared by the scenarios (mocha and XS), the
 * unit tests, the benchmarks and the engineer's tools: the concentrator's RS485 port with a bus
 * master, simulated DLMS meters (hal/sim/dlms) at their physical addresses, and a way to run one
 * association with a script. Pure ECMAScript.
 */
import type { BusMaster } from "../../firmware/bus/bus-master.js";
import type { FrameResult } from "../../firmware/bus/types.js";
import { DlmsSession } from "../../firmware/dlms/client/session.js";
import { newSessionCounters, type Endpoint, type InvocationCounters, type Script, type SessionCounters } from "../../firmware/dlms/client/types.js";
import { serverAddress } from "../../firmware/dlms/hdlc/address.js";
import { SimClock } from "../../hal/sim/clock.js";
import type { MeterKeys } from "../../hal/sim/dlms/application.js";
import { SimDlmsMeter, type SimDlmsMeterOptions } from "../../hal/sim/dlms/meter.js";
import type { LineNoiseRates } from "../../hal/sim/line-noise.js";
import { SimMeter } from "../../hal/sim/meters.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimCrypto, SimRandom } from "../../hal/sim/system.js";
import { concentratorPort } from "./bus-rig.js";

/** The Green Book's example keys: what the test meters are provisioned with unless told otherwise. */
export const TEST_KEYS: MeterKeys = {
  encryptionKey: Uint8Array.from({ length: 16 }, (_, i) => i),
  authenticationKey: Uint8Array.from({ length: 16 }, (_, i) => 0xd0 + i),
};
export const CLIENT_TITLE = Uint8Array.of(0x4d, 0x4d, 0x4d, 0, 0, 0, 0, 1);

/** A seeded DLMS meter: its serial, title and consumption from `prng`, the rest from `o`. */
export function simDlmsMeter(s: Scheduler, prng: Prng, bus: Rs485Bus, physical: number, o: Partial<SimDlmsMeterOptions> = {}): SimDlmsMeter {
  const p = prng.fork(`dlms-${physical}`);
  const serial = `${20_000_000 + p.int(9_000_000)}`;
  const meter = new SimMeter({ serial, kind: "serial", phases: p.chance(0.3) ? 3 : 1, meanPowerW: 200 + p.int(800), startImportWh: p.int(20_000_000), prng: p.fork("load") });
  return new SimDlmsMeter({
    scheduler: s,
    prng: p,
    bus,
    physical,
    serial,
    manufacturer: ["LGZ", "ISK", "KFM", "EMH"][p.int(4)]!,
    meter,
    management: { mechanism: "hls", keys: TEST_KEYS },
    systemTitle: Uint8Array.of(0x4c, 0x47, 0x5a, 0, (physical >> 16) & 255, (physical >> 8) & 255, physical & 255, 1),
    energyScaler: p.int(2),
    clockDriftPpm: p.int(21) - 10,
    ...o,
  });
}

/** Invocation counters in memory (the concentrator persists them; firmware/dlms/integration). */
export class MemoryCounters implements InvocationCounters {
  client = 1;
  server = 0;
  next(): number {
    return this.client++;
  }
  acceptServer(ic: number): boolean {
    if (ic <= this.server) return false;
    this.server = ic;
    return true;
  }
}

export interface DlmsRig {
  scheduler: Scheduler;
  bus: Rs485Bus;
  master: BusMaster;
  clock: SimClock;
  meters: SimDlmsMeter[];
  crypto: SimCrypto;
  random: SimRandom;
  stats: SessionCounters;
  /** Runs one association with `meter`; `done` gets the bus master's result. */
  session<T>(meter: SimDlmsMeter, endpoint: Partial<Endpoint>, script: () => Script<T>, done: (r: FrameResult<T>) => void, counters?: InvocationCounters): void;
}

export function dlmsRig(seed: string, o: { meters: number; noise?: LineNoiseRates; meter?: Partial<SimDlmsMeterOptions> }): DlmsRig {
  const scheduler = new Scheduler();
  const prng = new Prng(seed);
  const bus = new Rs485Bus(scheduler, prng, { noise: o.noise });
  const { domain, clock, master } = concentratorPort(scheduler, prng, bus);
  const meters = Array.from({ length: o.meters }, (_, i) => simDlmsMeter(scheduler, prng, bus, 0x11 + i, o.meter));
  const crypto = new SimCrypto(domain);
  const random = new SimRandom(domain, prng.fork("random"));
  const stats = newSessionCounters();
  const defaults = new Map<SimDlmsMeter, MemoryCounters>();
  return {
    scheduler,
    bus,
    master,
    clock,
    meters,
    crypto,
    random,
    stats,
    session(meter, endpoint, script, done, counters) {
      const e: Endpoint = { server: serverAddress(meter.logical, meter.physical), clientSap: 1, baud: 9600, security: { level: "hls", keys: TEST_KEYS, clientSystemTitle: CLIENT_TITLE }, ...endpoint };
      let c = counters ?? defaults.get(meter);
      if (!c) defaults.set(meter, (c = new MemoryCounters()));
      const deps = { crypto, random, counters: c, stats };
      master.enqueueExchange({ kind: "exchange", address: `dlms:${meter.physical}`, timing: { firstCharTimeoutMs: 1000, interCharTimeoutMs: 200, retries: 2 }, create: (port) => new DlmsSession(port, e, deps, script), onDone: done });
    },
  };
}
