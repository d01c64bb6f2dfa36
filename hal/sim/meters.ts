/**
 * Meters behind a simulated local module: a serial meter (import and export registers per tariff,
 * instantaneous voltage, current and power per phase) or a pulse-output meter (S0 pulses at a fixed
 * imp/kWh that the module counts). Consumption is a seeded load curve: a daily shape times a random
 * level per 15-minute slot, optionally with photovoltaic export around noon. Energy is kept in mWh and
 * shown truncated to Wh, as a real register display is.
 */
import type { Prng } from "./prng.js";

const SLOT_MS = 15 * 60_000;
const HOUR_MS = 3_600_000;

export interface SimMeterOptions {
  serial: string;
  kind: "serial" | "pulse";
  /** 1 or 3 phases (serial meters). Default 1. */
  phases?: 1 | 3;
  /** Mean consumption, W. */
  meanPowerW: number;
  /** Peak photovoltaic output, W; 0 for none. Default 0. */
  pvPeakW?: number;
  /** Pulse constant of a pulse meter, imp/kWh (1000 or 1600 in the ENERGSys seed). Default 1000. */
  impPerKwh?: number;
  /** Register contents at the start, Wh. Default 0. */
  startImportWh?: number;
  prng: Prng;
}

/** Relative load by hour of day: night low, morning and evening peaks. */
const SHAPE = [0.4, 0.35, 0.3, 0.3, 0.35, 0.5, 0.9, 1.2, 1.0, 0.8, 0.8, 0.9, 1.0, 0.9, 0.8, 0.8, 0.9, 1.2, 1.6, 1.8, 1.6, 1.3, 0.9, 0.6];

export class SimMeter {
  readonly serial: string;
  readonly kind: "serial" | "pulse";
  readonly phases: 1 | 3;
  readonly impPerKwh: number;
  readonly #meanW: number;
  readonly #pvW: number;
  readonly #prng: Prng;
  /** [tariff 1, tariff 2] in mWh. */
  readonly #importMilliWh = [0, 0];
  readonly #exportMilliWh = [0, 0];
  #at = 0;
  #slot = -1;
  #loadW = 0;
  #pvNowW = 0;
  #voltageDeciV = 2300;

  constructor(o: SimMeterOptions) {
    this.serial = o.serial;
    this.kind = o.kind;
    this.phases = o.phases ?? 1;
    this.impPerKwh = o.impPerKwh ?? 1000;
    this.#meanW = o.meanPowerW;
    this.#pvW = o.pvPeakW ?? 0;
    this.#prng = o.prng;
    this.#importMilliWh[0] = (o.startImportWh ?? 0) * 1000;
  }

  /** Integrates consumption up to `atMs` (scheduler time); `localHour(ms)` gives the hour of day, `tariff(ms)` 0 or 1. */
  advance(atMs: number, localHour: (ms: number) => number, tariff: (ms: number) => number): void {
    while (this.#at < atMs) {
      const slot = Math.floor(this.#at / SLOT_MS);
      if (slot !== this.#slot) this.#newSlot(slot, localHour(this.#at));
      const end = Math.min(atMs, (slot + 1) * SLOT_MS);
      const hours = (end - this.#at) / HOUR_MS;
      const t = tariff(this.#at);
      const net = this.#loadW - this.#pvNowW;
      if (net >= 0) this.#importMilliWh[t]! += net * hours * 1000;
      else this.#exportMilliWh[t]! += -net * hours * 1000;
      this.#at = end;
    }
  }

  #newSlot(slot: number, hour: number): void {
    this.#slot = slot;
    this.#loadW = this.#meanW * SHAPE[Math.floor(hour) % 24]! * (0.5 + this.#prng.next());
    const sun = Math.max(0, Math.sin(((hour - 6) / 12) * Math.PI));
    this.#pvNowW = this.#pvW * sun * (0.6 + 0.4 * this.#prng.next());
    this.#voltageDeciV = 2250 + this.#prng.int(110);
  }

  /** Import register, Wh (tariff 1 or 2; total when omitted). */
  importWh(tariff?: 1 | 2): number {
    const mwh = tariff ? this.#importMilliWh[tariff - 1]! : this.#importMilliWh[0]! + this.#importMilliWh[1]!;
    return Math.floor(mwh / 1000);
  }

  exportWh(tariff?: 1 | 2): number {
    const mwh = tariff ? this.#exportMilliWh[tariff - 1]! : this.#exportMilliWh[0]! + this.#exportMilliWh[1]!;
    return Math.floor(mwh / 1000);
  }

  /** Net active power now, W (negative when exporting). */
  get powerW(): number {
    return Math.round(this.#loadW - this.#pvNowW);
  }

  get voltageDeciV(): number {
    return this.#voltageDeciV;
  }

  /** Current per phase, mA. */
  get currentMilliA(): number {
    return Math.round((Math.abs(this.#loadW - this.#pvNowW) / this.phases / (this.#voltageDeciV / 10)) * 1000);
  }

  /** S0 pulses emitted so far (pulse meters): every 1/impPerKwh kWh of import. */
  get pulses(): number {
    return Math.floor(((this.#importMilliWh[0]! + this.#importMilliWh[1]!) * this.impPerKwh) / 1e6);
  }
}
