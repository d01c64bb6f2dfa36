/**
 * What a local module's mode D readout says about the module itself (docs/d0.md, "Local module
 * register map"): its serial and address, status bits, relay, clock, battery and power-failure count,
 * and the meters behind it (OBIS channel B = 1, 2, … with their serials). The meter registers become
 * readings elsewhere (firmware/d0/readings.ts).
 */
import type { DataSet } from "../d0/data-set.js";
import { parseObis } from "../d0/obis.js";

/** Bits of the module status register 0-0:C.5.0 (docs/d0.md). */
export const ModuleStatus = Object.freeze({
  tamperOpen: 1 << 0,
  doorOpen: 1 << 1,
  onBattery: 1 << 2,
  batteryLow: 1 << 3,
  clockNotSet: 1 << 4,
} as const);

export interface ModuleObservation {
  serial: string | undefined;
  address: string | undefined;
  /** 0-0:C.5.0 as a number; undefined when absent or malformed. */
  status: number | undefined;
  /** Disconnector output state (0-0:96.3.10): true connected; undefined when absent. */
  relayConnected: boolean | undefined;
  /** Module clock, seconds since 1970 UTC, from 0-0:0.9.2 and 0-0:0.9.1; undefined when absent. */
  clockSeconds: number | undefined;
  /** Cold starts (0-0:C.7.0). */
  powerFailures: number | undefined;
  /** Meters by OBIS channel: channel → meter serial (1-b:C.1.0). */
  meters: Map<number, string>;
}

function first(ds: DataSet): string | undefined {
  return ds.values[0]?.value;
}

/** Module clock from the date `0yymmdd` and the time `hhmmss` (UTC on our modules). */
function clockOf(date: string | undefined, time: string | undefined): number | undefined {
  const d = date && /^[0-9]?([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(date);
  const t = time && /^([0-9]{2}):?([0-9]{2}):?([0-9]{2})$/.exec(time);
  if (!d || !t) return undefined;
  const ms = Date.UTC(2000 + Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]), Number(t[3]));
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

export function observeModule(dataSets: readonly DataSet[]): ModuleObservation {
  const o: ModuleObservation = {
    serial: undefined,
    address: undefined,
    status: undefined,
    relayConnected: undefined,
    clockSeconds: undefined,
    powerFailures: undefined,
    meters: new Map(),
  };
  let date: string | undefined, time: string | undefined;
  for (const ds of dataSets) {
    const obis = parseObis(ds.address);
    if (!obis) continue;
    const v = first(ds);
    if (v === undefined) continue;
    const key = `${obis.c}.${obis.d ?? ""}.${obis.e ?? ""}`;
    if (obis.a === 1 && obis.b !== undefined && obis.b > 0) {
      if (key === "96.1.0") o.meters.set(obis.b, v);
      continue;
    }
    if (obis.a !== undefined && obis.a !== 0) continue;
    switch (key) {
      case "96.1.0":
        o.serial = v;
        break;
      case "0.0.0":
        o.address = v;
        break;
      case "96.5.0": {
        const n = /^[0-9A-Fa-f]{1,8}$/.test(v) ? parseInt(v, 16) : Number.NaN;
        o.status = Number.isFinite(n) ? n : undefined;
        break;
      }
      case "96.3.10":
        o.relayConnected = v === "1" ? true : v === "0" ? false : undefined;
        break;
      case "0.9.1":
        time = v;
        break;
      case "0.9.2":
        date = v;
        break;
      case "96.7.0": {
        const n = /^[0-9]{1,8}$/.test(v) ? Number(v) : Number.NaN;
        o.powerFailures = Number.isFinite(n) ? n : undefined;
        break;
      }
    }
  }
  o.clockSeconds = clockOf(date, time);
  return o;
}
