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

/** What a local module reads from a meter (a consumer's meter, or a feeder's balance meter). */
export interface MeterModel {
  readonly serial: string;
  readonly kind: "serial" | "pulse";
  readonly phases: 1 | 3;
  readonly impPerKwh: number;
  advance(atMs: number, localHour: (ms: number) => number, tariff: (ms: number) => number): void;
  importWh(tariff?: 1 | 2): number;
  exportWh(tariff?: 1 | 2): number;
  readonly powerW: number;
  readonly voltageDeciV: number;
  readonly currentMilliA: number;
  readonly pulses: number;
  /** The module's relay in front of the meter (consumers' meters follow it; a feeder meter does not). */
  setRelay?(closed: boolean): void;
}

export class SimMeter implements MeterModel {
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
  #relayClosed = true;
  #grid = true;

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
      const net = this.netW;
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

  /** The consumer is supplied: its module's relay is closed and the grid is up. */
  get supplied(): boolean {
    return this.#relayClosed && this.#grid;
  }

  /**
   * The module's relay (in front of this meter) opened or closed. Call `advance` up to now first, so
   * that energy before the change is counted at the old state.
   */
  setRelay(closed: boolean): void {
    this.#relayClosed = closed;
  }

  /** Mains at the consumer's connection point (a grid outage also reaches the concentrator's cabinet). */
  setGrid(up: boolean): void {
    this.#grid = up;
  }

  /** Net active power now, W (negative when exporting); 0 while not supplied (a PV inverter trips too). */
  get netW(): number {
    return this.supplied ? this.#loadW - this.#pvNowW : 0;
  }

  get powerW(): number {
    return Math.round(this.netW);
  }

  get voltageDeciV(): number {
    return this.#voltageDeciV;
  }

  /** Current per phase, mA. */
  get currentMilliA(): number {
    return Math.round((Math.abs(this.netW) / this.phases / (this.#voltageDeciV / 10)) * 1000);
  }

  /** S0 pulses emitted so far (pulse meters): every 1/impPerKwh kWh of import. */
  get pulses(): number {
    return Math.floor(((this.#importMilliWh[0]! + this.#importMilliWh[1]!) * this.impPerKwh) / 1e6);
  }
}

/**
 * The balance meter of a group (the ENERGSys MC/ML product document "Balance Meters"; the SMS-based metering system's product document imbalance monitoring): on the
 * feeder in front of the group's consumers, it registers their energy plus whatever is taken between
 * it and their meters: line losses (a fixed fraction) and an illegal tap (`tapW`, set by a scenario).
 */
export class SimFeederMeter implements MeterModel {
  readonly serial: string;
  readonly kind = "serial" as const;
  readonly phases = 3 as const;
  readonly impPerKwh = 1000;
  readonly #consumers: readonly SimMeter[];
  readonly #lossFraction: number;
  #tapW = 0;
  #at = 0;
  #extraMilliWh = 0;

  constructor(o: { serial: string; consumers: readonly SimMeter[]; lossFraction?: number }) {
    this.serial = o.serial;
    this.#consumers = o.consumers;
    this.#lossFraction = o.lossFraction ?? 0.02;
  }

  /** An illegal tap drawing `w` watts from now on (0 removes it). Advance the meter first. */
  setTap(w: number): void {
    this.#tapW = w;
  }

  advance(atMs: number, localHour: (ms: number) => number, tariff: (ms: number) => number): void {
    for (const c of this.#consumers) c.advance(atMs, localHour, tariff);
    if (atMs > this.#at) this.#extraMilliWh += (this.#tapW * (atMs - this.#at)) / HOUR_MS * 1000;
    this.#at = Math.max(this.#at, atMs);
  }

  importWh(tariff?: 1 | 2): number {
    const consumers = this.#consumers.reduce((n, c) => n + c.importWh(tariff), 0);
    return Math.floor(consumers * (1 + this.#lossFraction) + (tariff === 2 ? 0 : this.#extraMilliWh / 1000));
  }

  exportWh(): number {
    return 0;
  }

  get powerW(): number {
    return Math.round(this.#consumers.reduce((n, c) => n + Math.max(0, c.netW), 0) * (1 + this.#lossFraction) + this.#tapW);
  }

  get voltageDeciV(): number {
    return this.#consumers[0]?.voltageDeciV ?? 2300;
  }

  get currentMilliA(): number {
    return Math.round((this.powerW / 3 / (this.voltageDeciV / 10)) * 1000);
  }

  get pulses(): number {
    return Math.floor(this.importWh() * this.impPerKwh / 1000);
  }
}
