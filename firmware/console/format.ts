/**
 * How the console writes times, durations, names and counts, and reads its arguments: one place, so
 * every command reads the same way on a terminal and in a script.
 */
import { EventType, registerName, type MeterEvent, type Reading } from "../model/records.js";
import { CONCENTRATOR } from "../model/records.js";
import { frozen } from "../model/frozen.js";
import { RecordClass } from "../store/record-codec.js";
import { ControlState } from "../latch/disconnect-control.js";
import { ChangeResult, ChangeSource } from "../store/audit.js";

const EVENT_NAMES = new Map<number, string>(Object.entries(EventType).map(([name, n]) => [n, name]));
const CLASS_NAMES = new Map<number, string>(Object.entries(RecordClass).map(([name, n]) => [n, name]));
const SOURCE_NAMES = new Map<number, string>(Object.entries(ChangeSource).map(([name, n]) => [n, name]));
const RESULT_NAMES = new Map<number, string>(Object.entries(ChangeResult).map(([name, n]) => [n, name]));

/** "2026-01-01 10:15:00Z" for seconds since 1970. */
export function wallTime(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** "3d 04:05:06", "04:05:06" for a duration in ms. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60].map((n) => (n < 10 ? "0" : "") + n).join(":");
  return d > 0 ? `${d}d ${hms}` : hms;
}

export function eventName(type: number): string {
  return EVENT_NAMES.get(type) ?? `type ${type}`;
}

export function className(cls: number): string {
  return CLASS_NAMES.get(cls) ?? `class ${cls}`;
}

/** An audit entry's source: "headEnd", "console", "local". */
export function sourceName(source: number): string {
  return SOURCE_NAMES.get(source) ?? `source ${source}`;
}

/** An audit entry's result: "applied", "invalid", "unknown", "denied". */
export function resultName(result: number): string {
  return RESULT_NAMES.get(result) ?? `result ${result}`;
}

export function subjectName(subject: number): string {
  return subject === CONCENTRATOR ? "concentrator" : `meter/module ${subject}`;
}

export function eventLine(seq: number, e: MeterEvent): string {
  return `#${seq} ${wallTime(e.time)} ${e.alarm ? "ALARM " : ""}${eventName(e.type)} ${subjectName(e.subject)} detail ${e.detail}`;
}

export function readingLine(r: Reading): string {
  return `${wallTime(r.time)} meter ${r.meter} ${registerName(r.register)} = ${r.value}${r.status ? ` status 0x${r.status.toString(16)}` : ""}`;
}

/**
 * A whole number argument: `text` must be decimal digits within [min, max]. Returns the number or the
 * error to print ("N: a whole number from 1 to 200").
 */
export function wholeNumber(text: string | undefined, what: string, min: number, max: number): number | string {
  if (text === undefined || !/^\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max) return `${what}: a whole number from ${min} to ${max}`;
  return Number(text);
}

const LATCH_STATES: Record<number, string> = frozen({
  [ControlState.disconnected]: "disconnected",
  [ControlState.connected]: "connected",
  [ControlState.readyForReconnection]: "ready-for-reconnection",
});

/** IC 70 control_state by name. */
export function latchStateName(state: number): string {
  return LATCH_STATES[state] ?? `state ${state}`;
}
