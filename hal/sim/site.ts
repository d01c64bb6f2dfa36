/**
 * Populates a simulated RS485 bus with local modules that look like real installations: identities
 * after meters of the corpus (Iskra, Landis+Gyr, EMH, Elster, Hager; some with a lower-case third
 * letter, hence tr = 20 ms), one to three meters each, most single-phase residential serial meters,
 * some three-phase, some pulse meters at 1000 or 1600 imp/kWh (the ENERGSys MC/ML product document), a few with solar export.
 */
import { SimLocalModule, type ModuleIdentity } from "./local-module.js";
import { SimMeter } from "./meters.js";
import type { Prng } from "./prng.js";
import type { Rs485Bus } from "./rs485-bus.js";
import type { Scheduler } from "./scheduler.js";

const IDENTITIES: Array<(n: string) => ModuleIdentity> = [
  (n) => ({ manufacturer: "ISk", model: `MT174-${n.slice(-4)}` }),
  (n) => ({ manufacturer: "LGZ", model: "ZMD120APt.G03" }),
  (n) => ({ manufacturer: "EMH", model: `----eHZ-E${n.slice(-5)}` }),
  (n) => ({ manufacturer: "ELS", model: "\\@V9.35", sessionBaudChar: "4" }),
  (n) => ({ manufacturer: "HAg", model: `eHZ010C_EHZ1vA02` }),
];

export interface PopulateOptions {
  scheduler: Scheduler;
  prng: Prng;
  bus: Rs485Bus;
  count: number;
  /** Address of the first module; the others follow. Default 10000001. */
  firstAddress?: number;
  /** Module clock at scheduler time 0. Default 2026-01-01. */
  startEpochMs?: number;
}

export function populateBus(o: PopulateOptions): SimLocalModule[] {
  const modules: SimLocalModule[] = [];
  const first = o.firstAddress ?? 10_000_001;
  for (let i = 0; i < o.count; i++) {
    const address = String(first + i);
    const p = o.prng.fork(`ml-${address}`);
    const serial = `${6335 + p.int(600)}${String(p.int(10_000)).padStart(4, "0")}`;
    const meters: SimMeter[] = [];
    const n = p.chance(0.6) ? 1 : p.chance(0.7) ? 2 : 3;
    for (let m = 0; m < n; m++) {
      const kind = p.chance(0.25) ? "pulse" : "serial";
      meters.push(
        new SimMeter({
          serial: `${1000 + p.int(9000)}${String(p.int(10_000)).padStart(4, "0")}`,
          kind,
          phases: kind === "serial" && p.chance(0.2) ? 3 : 1,
          meanPowerW: 150 + p.int(900),
          pvPeakW: kind === "serial" && p.chance(0.15) ? 2000 + p.int(4000) : 0,
          impPerKwh: p.chance(0.5) ? 1000 : 1600,
          startImportWh: p.int(30_000_000),
          prng: p.fork(`meter-${m}`),
        }),
      );
    }
    modules.push(
      new SimLocalModule({
        scheduler: o.scheduler,
        prng: p,
        bus: o.bus,
        address,
        serial,
        identity: IDENTITIES[p.int(IDENTITIES.length)]!(serial),
        meters,
        startEpochMs: o.startEpochMs,
        clockDriftPpm: p.int(41) - 20,
      }),
    );
  }
  return modules;
}
