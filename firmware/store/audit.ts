/**
 * Audit entries: one per attempted configuration change, kept in the state journal (the last
 * entries) and copied into the log for the head-end (docs/storage.md, "Audit payload").
 */
import { asciiBytes, asciiString, type ByteReader, type ByteWriter } from "./bytes.js";

export const ChangeSource = Object.freeze({ headEnd: 1, console: 2, local: 3 } as const);
export type ChangeSource = (typeof ChangeSource)[keyof typeof ChangeSource];

export const ChangeResult = Object.freeze({
  /** The new value is in force. */
  applied: 1,
  /** The value failed the parameter's checks; nothing changed. */
  invalid: 2,
  /** No such parameter; nothing changed. */
  unknown: 3,
  /** The source may not change this parameter; nothing changed. */
  denied: 4,
} as const);
export type ChangeResult = (typeof ChangeResult)[keyof typeof ChangeResult];

export interface AuditEntry {
  /** 1, 2, 3 …: never repeats, so the head-end can drop a copy it already has. */
  number: number;
  /** Wall-clock seconds since 1970 when the change was attempted. */
  time: number;
  /** False when the wall clock had not been set (time is then seconds since an unknown origin). */
  timeValid: boolean;
  source: ChangeSource;
  /** Parameter name as given (printable ASCII, at most 32 characters kept). */
  name: string;
  oldValue: string;
  newValue: string;
  result: ChangeResult;
  /** Who, beyond the source: the engineer whose console session made the change. Absent for the head-end and the firmware. */
  actor?: string;
}

/** Longest name, value and actor an entry keeps (longer text is cut): bounds an entry to 194 bytes. */
export const AUDIT_NAME_MAX = 32;
export const AUDIT_VALUE_MAX = 64;
export const AUDIT_ACTOR_MAX = 16;

function text(w: ByteWriter, s: string, max: number): void {
  const b = asciiBytes(s.length > max ? s.slice(0, max) : s);
  w.u8(b.length);
  w.raw(b);
}

export function encodeAudit(e: AuditEntry, w: ByteWriter): void {
  w.varint(e.number);
  w.varint(e.time);
  w.u8(e.timeValid ? 1 : 0);
  w.u8(e.source);
  w.u8(e.result);
  text(w, e.name, AUDIT_NAME_MAX);
  text(w, e.oldValue, AUDIT_VALUE_MAX);
  text(w, e.newValue, AUDIT_VALUE_MAX);
  // Optional and last: entries written before it existed decode as they did.
  if (e.actor !== undefined) text(w, e.actor, AUDIT_ACTOR_MAX);
}

/** Decodes an entry; undefined when malformed (never throws). */
export function decodeAudit(r: ByteReader): AuditEntry | undefined {
  const number = r.varint();
  const time = r.varint();
  const timeValid = r.u8() === 1;
  const source = r.u8();
  const result = r.u8();
  const name = asciiString(r.raw(r.u8()));
  const oldValue = asciiString(r.raw(r.u8()));
  const newValue = asciiString(r.raw(r.u8()));
  const actor = r.remaining > 0 ? asciiString(r.raw(r.u8())) : undefined;
  if (r.error || source < 1 || source > 3 || result < 1 || result > 4) return undefined;
  const entry: AuditEntry = { number, time, timeValid, source: source as ChangeSource, name, oldValue, newValue, result: result as ChangeResult };
  if (actor !== undefined) entry.actor = actor;
  return entry;
}
