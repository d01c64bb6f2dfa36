/**
 * From data sets to the concentrator's readings (firmware/model/records.ts): the electricity registers
 * an IEC 62056-21 readout carries, converted exactly from the decimal text to the integer resolution of
 * their quantity ("0008048.375*kWh" is 8048375 Wh; digits finer than the resolution are dropped).
 */
import { Quantity, registerCode, type Reading } from "../model/records.js";
import type { DataSet } from "./data-set.js";
import { parseObis } from "./obis.js";
import { frozen } from "../model/frozen.js";

/** Power of ten from each unit to the quantity's integer resolution (records.ts). */
const UNIT_EXPONENT: Record<Quantity, Record<string, number>> = frozen({
  [Quantity.energyWh]: { Wh: 0, kWh: 3, MWh: 6 },
  [Quantity.reactiveVarh]: { varh: 0, kvarh: 3, Mvarh: 6 },
  [Quantity.powerW]: { W: 0, kW: 3, MW: 6 },
  [Quantity.voltageDeciV]: { V: 1, kV: 4 },
  [Quantity.currentMilliA]: { mA: 0, A: 3, kA: 6 },
  [Quantity.frequencyMilliHz]: { mHz: 0, Hz: 3 },
});

/**
 * The quantity of electricity register C.D (OBIS, IEC 62056-61): energy x.8 for active import/export
 * (1, 2), absolute and net (15, 16) and reactive (3, 4); instantaneous x.7 power (total and per phase),
 * voltages, currents and frequency. Undefined for anything else (demand, status, time…).
 */
export function quantityOf(c: number, d: number): Quantity | undefined {
  if (d === 8) {
    if (c === 1 || c === 2 || c === 15 || c === 16) return Quantity.energyWh;
    if (c === 3 || c === 4) return Quantity.reactiveVarh;
    return undefined;
  }
  if (d !== 7) return undefined;
  if ([1, 2, 15, 16, 21, 22, 41, 42, 61, 62].includes(c)) return Quantity.powerW;
  if (c === 32 || c === 52 || c === 72) return Quantity.voltageDeciV;
  if (c === 31 || c === 51 || c === 71 || c === 91) return Quantity.currentMilliA;
  if (c === 14) return Quantity.frequencyMilliHz;
  return undefined;
}

export interface ReadingsOptions {
  /** The topology's meter number for OBIS channel B (undefined when the address has no B); undefined skips the data set. */
  meterOf(channel: number | undefined): number | undefined;
  /** Acquisition time, seconds since 1970 UTC. */
  time: number;
  /** ReadingStatus bits given to every reading. Default 0. */
  status?: number;
}

/** A reading with the value text it came from (plausibility checks watch the text's width). */
export interface AcquiredValue {
  reading: Reading;
  /** The value exactly as sent. */
  text: string;
}

/**
 * The readings in `dataSets`: current values (F absent or 255) of electricity registers (A absent or 1)
 * whose unit is known for their quantity and whose value is a number within 2^53. Everything else is
 * left out: historical values, status registers, values without unit.
 */
export function acquiredValues(dataSets: readonly DataSet[], options: ReadingsOptions): AcquiredValue[] {
  const out: AcquiredValue[] = [];
  for (const ds of dataSets) {
    const o = parseObis(ds.address);
    if (!o || o.d === undefined || (o.a !== undefined && o.a !== 1) || (o.f !== undefined && o.f !== 255)) continue;
    const v = ds.values[0];
    const exponent = v?.unit === undefined ? undefined : unitExponent(o.c, o.d, v.unit);
    if (exponent === undefined) continue;
    const value = v!.scaled(exponent);
    const meter = options.meterOf(o.b);
    if (value === undefined || meter === undefined) continue;
    out.push({ reading: { meter, register: registerCode(o.c, o.d, o.e ?? 0), time: options.time, value, status: options.status ?? 0 }, text: v!.value });
  }
  return out;
}

/**
 * The power of ten from `unit` to the integer resolution of electricity register C.D; undefined when
 * C.D is not a register the concentrator keeps or the unit is not one of its quantity's.
 */
export function unitExponent(c: number, d: number, unit: string): number | undefined {
  const q = quantityOf(c, d);
  return q === undefined ? undefined : UNIT_EXPONENT[q][unit];
}

/** The readings of `acquiredValues`, without their texts. */
export function readingsOf(dataSets: readonly DataSet[], options: ReadingsOptions): Reading[] {
  return acquiredValues(dataSets, options).map((a) => a.reading);
}
