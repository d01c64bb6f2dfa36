/** Simulated flash and sample data for the store tests. */
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import type { FlashPartition } from "../../hal/flash.js";
import { PowerDomain, PowerLossError } from "../../hal/sim/power-domain.js";
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

/**
 * A partition whose n-th program from now lands only its first `keep` bytes before power goes (a
 * torn write at an exact place), for tests that need one particular torn state.
 */
export class TearingFlash implements FlashPartition {
  readonly #rig: Rig;
  #countdown = 0;
  #keep = 0;

  constructor(rig: Rig) {
    this.#rig = rig;
  }

  get byteLength(): number {
    return this.#rig.flash.byteLength;
  }

  get blockSize(): number {
    return this.#rig.flash.blockSize;
  }

  /** Tears the n-th program from now after `keep` bytes. */
  tearProgram(n: number, keep: number): void {
    this.#countdown = n;
    this.#keep = keep;
  }

  read(offset: number, byteLength: number): Uint8Array {
    return this.#rig.flash.read(offset, byteLength);
  }

  write(offset: number, bytes: Uint8Array): void {
    if (this.#countdown > 0 && --this.#countdown === 0) {
      this.#rig.flash.write(offset, bytes.subarray(0, this.#keep));
      this.#rig.domain.powerOff("power-cut");
      throw new PowerLossError();
    }
    this.#rig.flash.write(offset, bytes);
  }

  eraseBlock(index: number): void {
    this.#rig.flash.eraseBlock(index);
  }
}
