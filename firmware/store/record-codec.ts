/**
 * What the log holds: record classes (drain priority and eviction order), record kinds, and the
 * payload codecs of events and of the notices the store writes about itself (docs/storage.md,
 * "Record payloads").
 */
import type { MeterEvent, Reading } from "../model/records.js";
import { decodeAudit, type AuditEntry } from "./audit.js";
import { asciiBytes, asciiString, ByteReader, type ByteWriter } from "./bytes.js";
import { InvalidRecordError } from "./errors.js";
import { decodeReadings, MAX_ABS_VALUE, MAX_TIME } from "./readings-codec.js";

/**
 * Record classes, in drain order. Each class fills sectors of its own, so the drain walks one class
 * at a time and eviction can drop the oldest profile sector without touching an event.
 * Eviction goes the other way: profile first, then billing, then events, alarms last.
 */
export const RecordClass = Object.freeze({
  /** Alarms and the store's own notices (evictions, corruption): sent first, evicted last. */
  alarm: 0,
  /** Events and audit entries. */
  event: 1,
  /** Daily billing snapshots (register values at the billing point). */
  billing: 2,
  /** Scheduled interval readings and load profiles. */
  profile: 3,
} as const);
export type RecordClass = (typeof RecordClass)[keyof typeof RecordClass];
export const CLASS_COUNT = 4;

/** Stable numbers: they are stored in every record frame. */
export const RecordKind = Object.freeze({ readings: 1, event: 2, eviction: 3, corruption: 4, audit: 5, result: 6 } as const);
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];
export const MAX_KIND = 6;

/** The result of a head-end command, kept until the head-end has it (class event). */
export interface StoredResult {
  commandId: number;
  /** ResultCode of the uplink (0 ok, 1 rejected, 2 failed, 3 unsupported, 4 busy). */
  code: number;
  /** A number or a short ASCII text (≤ 64 characters kept). */
  detail?: number | string;
}

const RESULT_DETAIL_NONE = 0, RESULT_DETAIL_NUMBER = 1, RESULT_DETAIL_TEXT = 2;
const RESULT_TEXT_MAX = 64;

export function checkResult(r: StoredResult): void {
  if (!(Number.isInteger(r.commandId) && r.commandId >= 0 && r.commandId <= 0xffffffff)) throw new InvalidRecordError("invalid commandId");
  if (!(Number.isInteger(r.code) && r.code >= 0 && r.code <= 0xff)) throw new InvalidRecordError("invalid code");
  if (typeof r.detail === "number" && !(Number.isInteger(r.detail) && Math.abs(r.detail) <= MAX_ABS_VALUE)) throw new InvalidRecordError("invalid detail");
  if (typeof r.detail === "string" && !/^[\x20-\x7e]*$/.test(r.detail)) throw new InvalidRecordError("invalid detail");
}

export function encodeResult(r: StoredResult, w: ByteWriter): void {
  w.varint(r.commandId);
  w.u8(r.code);
  if (r.detail === undefined) w.u8(RESULT_DETAIL_NONE);
  else if (typeof r.detail === "number") {
    w.u8(RESULT_DETAIL_NUMBER);
    w.svarint(r.detail);
  } else {
    const b = asciiBytes(r.detail.slice(0, RESULT_TEXT_MAX));
    w.u8(RESULT_DETAIL_TEXT);
    w.u8(b.length);
    w.raw(b);
  }
}

function decodeResult(r: ByteReader): StoredResult | undefined {
  const commandId = r.varint();
  const code = r.u8();
  const tag = r.u8();
  let detail: number | string | undefined;
  if (tag === RESULT_DETAIL_NUMBER) detail = r.svarint();
  else if (tag === RESULT_DETAIL_TEXT) detail = asciiString(r.raw(r.u8()));
  else if (tag !== RESULT_DETAIL_NONE) return undefined;
  if (r.error) return undefined;
  return detail === undefined ? { commandId, code } : { commandId, code, detail };
}

/** A record as stored: its key, class and kind, and the payload bytes (docs/storage.md). */
export interface StoredRecord {
  seq: number;
  cls: RecordClass;
  kind: RecordKind;
  payload: Uint8Array;
}

/** A sector whose unacknowledged records were dropped to make room (policy: profile first). */
export interface EvictionNotice {
  evictedClass: RecordClass;
  sector: number;
  /** Sequence numbers of the sector's records lie in [firstSeq, lastSeq] (other classes' numbers interleave). */
  firstSeq: number;
  lastSeq: number;
  /** Records dropped that the head-end had not acknowledged. */
  records: number;
}

export const CorruptionReason = Object.freeze({
  /** A sector failed an erase or program read-back: no longer written in this boot. */
  badSector: 1,
  /** Records of a sector fail their CRC: skipped, never returned. */
  corruptRecords: 2,
  /** One of a sector's two header copies is unreadable: the other one still serves. */
  headerCopy: 3,
} as const);
export type CorruptionReason = (typeof CorruptionReason)[keyof typeof CorruptionReason];

export interface CorruptionNotice {
  reason: CorruptionReason;
  sector: number;
  /** The sector's first sequence number, 0 when unknown. */
  firstSeq: number;
  /** Records known lost (slots below the sector's count that no longer read), 0 when unknown. */
  records: number;
}

export type DecodedRecord =
  | { kind: "readings"; seq: number; cls: RecordClass; readings: Reading[] }
  | { kind: "event"; seq: number; cls: RecordClass; event: MeterEvent }
  | { kind: "eviction"; seq: number; cls: RecordClass; notice: EvictionNotice }
  | { kind: "corruption"; seq: number; cls: RecordClass; notice: CorruptionNotice }
  | { kind: "audit"; seq: number; cls: RecordClass; entry: AuditEntry }
  | { kind: "result"; seq: number; cls: RecordClass; result: StoredResult }
  /** A record that passed its CRC but does not decode: written by a newer format, or a bug. */
  | { kind: "undecodable"; seq: number; cls: RecordClass; storedKind: number };

const EVENT_ALARM = 1;

export function checkEvent(e: MeterEvent): void {
  if (!(Number.isInteger(e.type) && e.type >= 1 && e.type <= 0xff)) throw new InvalidRecordError("invalid type");
  if (!(Number.isInteger(e.subject) && e.subject >= 0 && e.subject <= 0xffff)) throw new InvalidRecordError("invalid subject");
  if (!(Number.isInteger(e.time) && e.time >= 0 && e.time <= MAX_TIME)) throw new InvalidRecordError("invalid time");
  if (!(Number.isInteger(e.detail) && Math.abs(e.detail) <= MAX_ABS_VALUE)) throw new InvalidRecordError("invalid detail");
  if (typeof e.alarm !== "boolean") throw new InvalidRecordError("invalid alarm");
}

export function encodeEvent(e: MeterEvent, w: ByteWriter): void {
  w.u8(e.type);
  w.u8(e.alarm ? EVENT_ALARM : 0);
  w.varint(e.subject);
  w.varint(e.time);
  w.svarint(e.detail);
}

function decodeEvent(r: ByteReader): MeterEvent | undefined {
  const type = r.u8();
  const flags = r.u8();
  const subject = r.varint();
  const time = r.varint();
  const detail = r.svarint();
  if (r.error || type === 0 || subject > 0xffff) return undefined;
  return { type: type as MeterEvent["type"], subject, time, alarm: (flags & EVENT_ALARM) !== 0, detail };
}

export function encodeEviction(n: EvictionNotice, w: ByteWriter): void {
  w.u8(n.evictedClass);
  w.varint(n.sector);
  w.varint(n.firstSeq);
  w.varint(n.lastSeq);
  w.varint(n.records);
}

function decodeEviction(r: ByteReader): EvictionNotice | undefined {
  const evictedClass = r.u8();
  const n = { evictedClass: evictedClass as RecordClass, sector: r.varint(), firstSeq: r.varint(), lastSeq: r.varint(), records: r.varint() };
  return r.error || evictedClass >= CLASS_COUNT ? undefined : n;
}

export function encodeCorruption(n: CorruptionNotice, w: ByteWriter): void {
  w.u8(n.reason);
  w.varint(n.sector);
  w.varint(n.firstSeq);
  w.varint(n.records);
}

function decodeCorruption(r: ByteReader): CorruptionNotice | undefined {
  const reason = r.u8();
  const n = { reason: reason as CorruptionReason, sector: r.varint(), firstSeq: r.varint(), records: r.varint() };
  return r.error || reason < 1 || reason > 3 ? undefined : n;
}

/** Decodes a stored record's payload. Never throws: a payload that does not decode is "undecodable". */
export function decodeRecord(rec: StoredRecord): DecodedRecord {
  const r = new ByteReader(rec.payload);
  const { seq, cls } = rec;
  let out: DecodedRecord | undefined;
  switch (rec.kind) {
    case RecordKind.readings: {
      const readings = decodeReadings(r);
      if (readings) out = { kind: "readings", seq, cls, readings };
      break;
    }
    case RecordKind.event: {
      const event = decodeEvent(r);
      if (event) out = { kind: "event", seq, cls, event };
      break;
    }
    case RecordKind.eviction: {
      const notice = decodeEviction(r);
      if (notice) out = { kind: "eviction", seq, cls, notice };
      break;
    }
    case RecordKind.corruption: {
      const notice = decodeCorruption(r);
      if (notice) out = { kind: "corruption", seq, cls, notice };
      break;
    }
    case RecordKind.audit: {
      const entry = decodeAudit(r);
      if (entry) out = { kind: "audit", seq, cls, entry };
      break;
    }
    case RecordKind.result: {
      const result = decodeResult(r);
      if (result) out = { kind: "result", seq, cls, result };
      break;
    }
  }
  if (!out || r.remaining !== 0) return { kind: "undecodable", seq, cls, storedKind: rec.kind };
  return out;
}
