/**
 * The payload of a readings record (docs/storage.md, "Readings payload"): a base time, then groups.
 * A group is a run of consecutive readings of one meter and register (at most 64): the meter as a
 * signed difference from the previous group's, the register only when it changes, and the values as
 * one absolute value followed by per-value differences. A run at a regular interval stores the
 * interval once. One reading at the base time costs a control byte and its value; a profile of one
 * meter costs about the size of its 15-minute differences (1–2 bytes each).
 *
 * Every record decodes on its own: no difference refers to another record, so eviction, a torn
 * record or a corrupt one never makes another record undecodable or wrong.
 */
import type { Reading } from "../model/records.js";
import { unzigzag, type ByteReader, type ByteWriter } from "./bytes.js";
import { InvalidRecordError } from "./errors.js";

/** Values per group: bounds a group's size so that one always fits an empty sector (≤ 64 × 19 B). */
export const MAX_GROUP_VALUES = 64;
/** |value| bound: differences of two values and their zigzag stay below 2^53, exact in a double. */
export const MAX_ABS_VALUE = 2 ** 47 - 1;
/** Times up to 2^40 s (year 36812): no 2038 or 2106 rollover. */
export const MAX_TIME = 2 ** 40;

const FLAG_REGISTER = 1;
const FLAG_STATUS = 2;
const FLAG_SERIES = 4;
const FLAGS = 8;

/** The first field of `r` out of range, or undefined when it can be stored. */
export function readingProblem(r: Reading): string | undefined {
  const { meter, register, time, value, status } = r;
  // `x >>> 0 === x` holds exactly for integers in 0 … 2^32 − 1 (and is cheap in XS).
  if (!(meter >>> 0 === meter && meter <= 0xffff)) return "meter";
  if (!(register >>> 0 === register && register <= 0xffffff)) return "register";
  if (!(Number.isInteger(time) && time >= 0 && time <= MAX_TIME)) return "time";
  if (!(Number.isInteger(value) && value <= MAX_ABS_VALUE && value >= -MAX_ABS_VALUE)) return "value";
  if (!(status >>> 0 === status && status <= 0xffff)) return "status";
  return undefined;
}

/** Throws InvalidRecordError ("invalid <field>") for the first field of `r` out of range. */
export function checkReading(r: Reading): void {
  const field = readingProblem(r);
  if (field) throw new InvalidRecordError(`invalid ${field}`);
}

/**
 * Encodes `readings[from …]` into `w`, as many whole groups (of at most `maxGroupValues`) as fit
 * before `w.limit`. Returns the index of the first reading not encoded (`from` when not even one
 * group fit; `w` is then left as it was).
 */
export function encodeReadings(readings: readonly Reading[], from: number, w: ByteWriter, maxGroupValues = MAX_GROUP_VALUES): number {
  const start = w.pos;
  const baseTime = readings[from]!.time;
  w.varint(baseTime);
  let prevMeter = 0;
  let prevRegister = -1;
  let i = from;
  while (i < readings.length && !w.overflow) {
    const first = readings[i]!;
    let j = i + 1;
    while (j < readings.length && j - i < maxGroupValues && readings[j]!.meter === first.meter && readings[j]!.register === first.register) j++;
    const mark = w.pos;
    encodeGroup(readings, i, j, baseTime, prevMeter, prevRegister, w);
    if (w.overflow) {
      w.pos = mark;
      break;
    }
    prevMeter = first.meter;
    prevRegister = first.register;
    i = j;
  }
  w.overflow = false;
  if (i === from) w.pos = start;
  return i;
}

function encodeGroup(rs: readonly Reading[], i: number, j: number, baseTime: number, prevMeter: number, prevRegister: number, w: ByteWriter): void {
  const first = rs[i]!;
  const delta = first.meter - prevMeter;
  const meterCode = (delta >= 0 ? delta * 2 : -delta * 2 - 1) * FLAGS;
  const regFlag = first.register !== prevRegister ? FLAG_REGISTER : 0;
  if (j === i + 1 && first.time === baseTime) {
    // One value at the record's base time: the common case of a poll round.
    w.varint(meterCode + regFlag + (first.status !== 0 ? FLAG_STATUS : 0));
    if (regFlag) w.varint(first.register);
    w.svarint(first.value);
    if (first.status !== 0) w.varint(first.status);
    return;
  }
  const count = j - i;
  let flags = regFlag | FLAG_SERIES;
  for (let k = i; k < j; k++) if (rs[k]!.status !== 0) flags |= FLAG_STATUS;
  w.varint(meterCode + flags);
  if (regFlag) w.varint(first.register);
  w.varint(count);
  w.svarint(first.time - baseTime);
  if (count > 1) {
    const interval = rs[i + 1]!.time - first.time;
    let regular = interval > 0;
    for (let k = i + 2; k < j && regular; k++) regular = rs[k]!.time - rs[k - 1]!.time === interval;
    w.varint(regular ? interval : 0);
    if (!regular) for (let k = i + 1; k < j; k++) w.svarint(rs[k]!.time - rs[k - 1]!.time);
  }
  let value = first.value;
  w.svarint(value);
  for (let k = i + 1; k < j; k++) {
    const v = rs[k]!.value;
    w.svarint(v - value);
    value = v;
  }
  if (flags & FLAG_STATUS) for (let k = i; k < j; k++) w.varint(rs[k]!.status);
}

/** Decodes a readings payload; undefined when it is malformed (never throws). */
export function decodeReadings(r: ByteReader): Reading[] | undefined {
  const out: Reading[] = [];
  const baseTime = r.varint();
  let prevMeter = 0;
  let prevRegister = -1;
  while (r.remaining > 0 && !r.error) {
    const ctrl = r.varint();
    const flags = ctrl % FLAGS;
    const meter = prevMeter + unzigzag(Math.floor(ctrl / FLAGS));
    const register = flags & FLAG_REGISTER ? r.varint() : prevRegister;
    let count = 1;
    let time = baseTime;
    let interval = 0;
    if (flags & FLAG_SERIES) {
      count = r.varint();
      time = baseTime + r.svarint();
      if (count > 1) interval = r.varint();
    }
    if (count < 1 || count > MAX_GROUP_VALUES || register < 0) return undefined;
    const group: Reading[] = [];
    for (let k = 0; k < count; k++) {
      if (k > 0) time += interval > 0 ? interval : r.svarint();
      group.push({ meter, register, time, value: 0, status: 0 });
    }
    let value = 0;
    for (let k = 0; k < count; k++) group[k]!.value = value = k === 0 ? r.svarint() : value + r.svarint();
    if (flags & FLAG_STATUS) for (let k = 0; k < count; k++) group[k]!.status = r.varint();
    for (const g of group) {
      if (readingProblem(g)) return undefined;
      out.push(g);
    }
    prevMeter = meter;
    prevRegister = register;
  }
  return r.error || out.length === 0 ? undefined : out;
}
