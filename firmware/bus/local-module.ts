/**
 * What a local module offers in programming mode, and how to ask for it (the register map in
 * docs/d0.md): the disconnect relay at 0-0:96.3.10 (0 disconnected, 1 connected; the IC 70
 * output_state of the DLMS disconnect control 0-0:96.3.10.255), the clock at 0-0:1.0.0
 * (YYMMDDhhmmssX, UTC, X = W), and the event log P.98 (R3: partial blocks).
 */
import type { DataSet } from "../d0/data-set.js";
import { parseProfileTime, localSeconds } from "../d0/load-profile.js";
import type { SessionCommand } from "./types.js";
import { utcStamp } from "../model/utc-stamp.js";

export const RELAY_ADDRESS = "0-0:96.3.10";
export const CLOCK_ADDRESS = "0-0:1.0.0";
export const EVENT_LOG_ADDRESS = "P.98";
/** Error texts of the module (Annex A error messages, vendor map). */
export const MODULE_ERRORS = Object.freeze({
  passwordWrong: "ERPWD",
  lockedOut: "ERLOCK",
  notAuthenticated: "ERAUTH",
  unknownAddress: "ERADDR",
  badValue: "ERVAL",
  unknownCommand: "ERCMD",
} as const);

/** W1 of the relay: open (disconnect) or close (connect). Follow it with `readRelay()` to verify. */
export function writeRelay(connected: boolean): SessionCommand {
  return { letter: "W", type: "1", dataSet: { address: RELAY_ADDRESS, values: [{ value: connected ? "1" : "0" }] } };
}

export function readRelay(): SessionCommand {
  return { letter: "R", type: "1", dataSet: { address: RELAY_ADDRESS, values: [{ value: "" }] } };
}

/** The relay state in an R1 answer: true connected, false disconnected, undefined when absent or malformed. */
export function relayState(dataSets: readonly DataSet[]): boolean | undefined {
  const v = dataSets.find((d) => d.address === RELAY_ADDRESS)?.values[0]?.value;
  return v === "1" ? true : v === "0" ? false : undefined;
}

/** W1 of the clock to `epochSeconds` (UTC). */
export function writeClock(epochSeconds: number): SessionCommand {
  const value = utcStamp(epochSeconds, true) + "W";
  return { letter: "W", type: "1", dataSet: { address: CLOCK_ADDRESS, values: [{ value }] } };
}

export function readClock(): SessionCommand {
  return { letter: "R", type: "1", dataSet: { address: CLOCK_ADDRESS, values: [{ value: "" }] } };
}

/** The module clock in an R1 answer, seconds since 1970 UTC, or undefined. */
export function clockSeconds(dataSets: readonly DataSet[]): number | undefined {
  const v = dataSets.find((d) => d.address === CLOCK_ADDRESS)?.values[0]?.value;
  const t = v && /^[0-9]{12}[SW]$/.test(v) ? parseProfileTime("0" + v.slice(0, 12)) : undefined;
  return t ? localSeconds(t) : undefined;
}

/** R3 of the whole event log, in partial blocks. */
export function readEventLog(): SessionCommand {
  return { letter: "R", type: "3", dataSet: { address: EVENT_LOG_ADDRESS, values: [{ value: "" }] } };
}

export interface ModuleLogEntry {
  /** Module clock, seconds since 1970 UTC. */
  readonly time: number;
  /** Module event code (docs/d0.md). */
  readonly code: number;
  readonly detail: number;
}

/** The entries of an event-log answer `P.98(0yymmddhhmmss)(cc)(dddd)`, oldest first; malformed entries are left out. */
export function eventLogEntries(dataSets: readonly DataSet[]): ModuleLogEntry[] {
  const out: ModuleLogEntry[] = [];
  for (const d of dataSets) {
    if (d.address !== EVENT_LOG_ADDRESS || d.values.length !== 3) continue;
    const t = parseProfileTime(d.values[0]!.value);
    const code = d.values[1]!.value;
    const detail = d.values[2]!.value;
    if (!t || !/^[0-9A-F]{2}$/.test(code) || !/^[0-9A-F]{4}$/.test(detail)) continue;
    out.push({ time: localSeconds(t), code: parseInt(code, 16), detail: parseInt(detail, 16) });
  }
  return out;
}
