/** Simulated flash and sample data for the store tests. */
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimNorFlash } from "../../hal/sim/nor-flash.js";

export const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
export const IMPORT_TOTAL = 0x010800; // OBIS 1.8.0

export interface Rig {
  domain: PowerDomain;
  scheduler: Scheduler;
  flash: SimNorFlash;
}

/** A powered board with one NOR partition of `sectors` × `blockSize`. */
export function simFlash(sectors = 16, blockSize = 4096, seed = "flash"): Rig {
  const scheduler = new Scheduler();
  const domain = new PowerDomain(scheduler, "mc");
  domain.powerOn();
  return { domain, scheduler, flash: new SimNorFlash(domain, new Prng(seed), { byteLength: sectors * blockSize, blockSize }) };
}

/** One 15-minute interval of `meters` meters (register 1.8.0), values growing by a few hundred Wh. */
export function interval(k: number, meters: number, first = 0): Reading[] {
  const out: Reading[] = [];
  for (let m = first; m < first + meters; m++) out.push({ meter: m, register: IMPORT_TOTAL, time: T0 + k * 900, value: 5_000_000 + m * 10_007 + k * (100 + (m % 7) * 40), status: 0 });
  return out;
}

export function event(type: MeterEvent["type"], subject: number, alarm = false, time = T0): MeterEvent {
  return { type, subject, time, alarm, detail: subject * 3 };
}
