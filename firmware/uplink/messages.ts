/**
 * The uplink's messages: what travels inside the security envelope, as CBOR (cbor-x) arrays whose
 * first element is the message kind. docs/uplink.md "Message schema" is the specification; this
 * module is its one implementation, used by the concentrator and the head-end alike.
 *
 * Load profiles are sent as series: one per (meter, register), times as a start and a step, values
 * as differences from the previous value, status bits only where non-zero. Integers in fixed
 * resolutions (model/records.ts) make the differences small, and CBOR stores a small integer in
 * one to three bytes.
 *
 * Decoding never throws: it returns the message or a MessageError, after checking the bytes against
 * the CBOR subset (cbor-subset.ts) and every field against the schema.
 */
import { decode, encode } from "cbor-x";
import { isValidLoadLimit, type LoadLimit } from "../model/load-limit.js";
import type { EventType, MeterEvent, Reading } from "../model/records.js";
import { isCborSubset } from "./cbor-subset.js";
import { type SeqSet, seqSetFromWire, seqSetToWire } from "./seq-set.js";

export const MessageKind = Object.freeze({
  /** Concentrator → head-end: readings (load-profile series) with the sequence numbers they cover. */
  readings: 1,
  /** Concentrator → head-end: events and alarms, each with its sequence number. */
  events: 2,
  /** Concentrator → head-end: the result of a command, with its sequence number. */
  result: 3,
  /** Concentrator → head-end: state and diagnostic counters (not stored, not acknowledged). */
  status: 4,
  /** Concentrator → head-end: parts of an OTA package to send on its `ota` topic (not stored, not acknowledged). */
  otaRequest: 5,
  /** Head-end → concentrator: sequence numbers stored durably; they may leave the store. */
  ack: 16,
  /** Head-end → concentrator: a command. */
  command: 17,
} as const);

export const CommandOp = Object.freeze({
  /** Read meters now; the readings come back in the result. */
  read: 1,
  /** Open a consumer's breaker and latch it open (latch module). */
  disconnect: 2,
  /** Allow reconnection: the latch goes to ready-for-reconnection (DLMS IC 70, transition d). */
  reconnect: 3,
  /** Change configuration (schedules, thresholds, tariffs); audited by the handler. */
  configure: 4,
  /** Set the wall clock. */
  time: 5,
  /** Set a consumer's disconnect control mode (DLMS IC 70 control_mode, 0-6). */
  mode: 6,
  /** Set or remove a consumer's load limit (DLMS IC 71 in the latch module). */
  limit: 7,
  /** Offer an OTA package: its signed head, and the window in which the unit may switch (firmware/ota). */
  update: 8,
  /** Read a meter's load profile over a time range (audits); the values come back in the result (docs/backfill.md). */
  profile: 9,
} as const);
export type CommandOpName = keyof typeof CommandOp;

export const ResultCode = Object.freeze({
  ok: 0,
  /** The arguments are invalid for this concentrator (unknown meter, bad key or value). */
  rejected: 1,
  /** Valid but could not be carried out (module did not answer, write failed). */
  failed: 2,
  /** This concentrator does not implement the operation. */
  unsupported: 3,
  /** Another operation on the same subject is in progress. */
  busy: 4,
} as const);
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

export type ConfigValue = number | string | boolean;
export interface ConfigChange {
  /** Dotted name, e.g. "poll.intervalS", "tariff.t1.start", "alarm.voltageHighDeciV". */
  key: string;
  value: ConfigValue;
}

export type Command =
  | { id: number; op: "read"; meters: number[]; registers: number[] }
  | { id: number; op: "disconnect"; meter: number }
  | { id: number; op: "reconnect"; meter: number }
  | { id: number; op: "configure"; changes: ConfigChange[] }
  | { id: number; op: "time"; epochMs: number }
  | { id: number; op: "mode"; meter: number; mode: number }
  | { id: number; op: "limit"; meter: number; limit: LoadLimit | null }
  | { id: number; op: "update"; head: Uint8Array; window: SwitchWindow | null }
  | { id: number; op: "profile"; meter: number; fromS: number; toS: number };

/** Local minutes of the day, [fromMin, toMin) (wrapping past midnight when to < from). */
export interface SwitchWindow {
  fromMin: number;
  toMin: number;
}

/** A command as the head-end asks for it, before it is given an id. */
export type CommandRequest = { [K in Command["op"]]: Omit<Extract<Command, { op: K }>, "id"> }[Command["op"]];

export interface CommandResult {
  commandId: number;
  code: ResultCode;
  /** Readings of an on-demand read. */
  readings?: Reading[];
  /** A short detail: a number (e.g. the clock offset applied, ms) or text. */
  detail?: number | string;
}

export interface ReadingsMessage {
  kind: "readings";
  seqs: SeqSet;
  readings: Reading[];
}
export interface EventsMessage {
  kind: "events";
  events: Array<{ seq: number; event: MeterEvent }>;
}
export interface ResultMessage {
  kind: "result";
  seq: number;
  result: CommandResult;
}
export interface StatusMessage {
  kind: "status";
  /** Wall-clock time at the concentrator, s since 1970 (0 if its clock is not valid). */
  time: number;
  uptimeS: number;
  /** Named diagnostic counters. */
  counters: Record<string, number>;
}
/** Parts of an OTA package the concentrator asks for (firmware/ota/frames.ts: the objects). */
export interface OtaRequestMessage {
  kind: "otaRequest";
  /** The package id (6 bytes). */
  packageId: Uint8Array;
  /** 0 the head, 1 the table, 2 chunks. */
  object: number;
  /** The table: the byte offset; chunks: the first chunk. */
  first: number;
  /** The table: bytes; chunks: how many. */
  count: number;
}
export type UplinkMessage = ReadingsMessage | EventsMessage | ResultMessage | StatusMessage | OtaRequestMessage;

export interface AckMessage {
  kind: "ack";
  seqs: SeqSet;
}
export interface CommandMessage {
  kind: "command";
  command: Command;
}
export type DownlinkMessage = AckMessage | CommandMessage;

/** Why a body was refused. */
export class MessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MessageError";
  }
}

/** Bounds on what a decoder accepts (memory on the device, the head-end's sanity). */
export interface MessageLimits {
  /** Readings in one message or result. Default 4,096. */
  maxReadings: number;
  /** Sequence numbers one set may name. Default 65,536. */
  maxSeqs: number;
}
export const DEFAULT_LIMITS: MessageLimits = Object.freeze({ maxReadings: 4_096, maxSeqs: 65_536 });

// --- readings as a block of series ---------------------------------------------------------------

/**
 * Readings as a block (docs/uplink.md "Readings block"):
 *   [tBase, step, [register, ...], element, element, ...]
 *   series = [meterDelta, registerIndex, t0 - tBase, values, status?, times?]
 *   row    = [meterDelta, registerMask, t - tBase, value, value, ..., status?]
 * Elements are sorted by meter; `meterDelta` is the distance from the previous element's meter. The
 * register table is sorted by code. A meter whose readings in the block are one readout (one time,
 * each register once: what a poll round gives) is a row: a mask of its registers in the table, and
 * their values in table order. Otherwise each of its registers is a series: regular when its
 * readings are `step` seconds apart (times implied), else with `times` (the differences between
 * consecutive times) and `status` ([] if none). `values` holds the first value, then the differences
 * between consecutive values; `status` lists (index, bits) pairs for the readings whose status is not
 * zero. The message-wide time base, step and register table keep a short series (a few intervals of
 * many meters) and a row to a few bytes of overhead.
 */
export function encodeSeries(readings: readonly Reading[]): unknown[] {
  const byMeter = new Map<number, Reading[]>();
  for (const r of readings) {
    let g = byMeter.get(r.meter);
    if (!g) byMeter.set(r.meter, (g = []));
    g.push(r);
  }
  const registers = [...new Set(readings.map((r) => r.register))].sort((a, b) => a - b);
  const indexOf = new Map(registers.map((r, i) => [r, i] as [number, number]));
  const meters = [...byMeter.entries()].sort((a, b) => a[0] - b[0]);
  // Series per (meter, register), in time order; the most common interval between consecutive
  // readings becomes the block's step.
  const seriesOf = (rs: Reading[]): Reading[][] => {
    const groups = new Map<number, Reading[]>();
    for (const r of rs) {
      let g = groups.get(r.register);
      if (!g) groups.set(r.register, (g = []));
      g.push(r);
    }
    return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g.sort((a, b) => a.time - b.time));
  };
  const plan = meters.map(([meter, rs]) => ({ meter, rs, series: isReadout(rs, indexOf) ? undefined : seriesOf(rs) }));
  const steps = new Map<number, number>();
  let tBase = Infinity;
  for (const r of readings) tBase = Math.min(tBase, r.time);
  for (const p of plan) {
    for (const g of p.series ?? []) if (g.length > 1) steps.set(g[1]!.time - g[0]!.time, (steps.get(g[1]!.time - g[0]!.time) ?? 0) + 1);
  }
  let step = 900;
  let best = 0;
  for (const [st, n] of steps) if (st > 0 && n > best) (step = st), (best = n);
  const out: unknown[] = [readings.length ? tBase : 0, step, registers];
  let meter = 0;
  for (const p of plan) {
    if (!p.series) out.push(rowOf(p.meter - meter, p.rs, indexOf, tBase));
    else {
      let delta = p.meter - meter;
      for (const g of p.series) {
        out.push(seriesWire(delta, indexOf.get(g[0]!.register)!, g, tBase, step));
        delta = 0;
      }
    }
    meter = p.meter;
  }
  return out;
}

/** Registers a row's mask can name: the first 32 of the table (a CBOR uint of at most 5 bytes). */
const ROW_REGISTERS = 32;

/** One readout of a meter: one time, each register once, every register maskable. */
function isReadout(rs: readonly Reading[], indexOf: ReadonlyMap<number, number>): boolean {
  const seen = new Set<number>();
  for (const r of rs) {
    if (r.time !== rs[0]!.time || seen.has(r.register) || indexOf.get(r.register)! >= ROW_REGISTERS) return false;
    seen.add(r.register);
  }
  return true;
}

function rowOf(meterDelta: number, rs: readonly Reading[], indexOf: ReadonlyMap<number, number>, tBase: number): unknown[] {
  const sorted = [...rs].sort((a, b) => indexOf.get(a.register)! - indexOf.get(b.register)!);
  let mask = 0;
  for (const r of sorted) mask += 2 ** indexOf.get(r.register)!;
  const row: unknown[] = [meterDelta, mask, sorted[0]!.time - tBase];
  const status: number[] = [];
  sorted.forEach((r, i) => {
    row.push(r.value);
    if (r.status !== 0) status.push(i, r.status);
  });
  if (status.length > 0) row.push(status);
  return row;
}

function seriesWire(meterDelta: number, registerIndex: number, g: readonly Reading[], tBase: number, step: number): unknown[] {
  const values: number[] = [];
  const status: number[] = [];
  const times: number[] = [];
  let regular = true;
  for (let i = 0; i < g.length; i++) {
    const r = g[i]!;
    values.push(i === 0 ? r.value : r.value - g[i - 1]!.value);
    if (r.status !== 0) status.push(i, r.status);
    if (i > 0) {
      times.push(r.time - g[i - 1]!.time);
      if (r.time - g[i - 1]!.time !== step) regular = false;
    }
  }
  const series: unknown[] = [meterDelta, registerIndex, g[0]!.time - tBase, values];
  if (!regular) series.push(status, times);
  else if (status.length > 0) series.push(status);
  return series;
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isUint = (v: unknown, max: number): v is number => isInt(v) && v >= 0 && v <= max;
const isBytes = (v: unknown, length: number): v is Uint8Array => v instanceof Uint8Array && v.length === length;

function intArray(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every(isInt)) throw new MessageError(`invalid ${what}`);
  return v as number[];
}

export function decodeSeries(wire: unknown, limits: MessageLimits): Reading[] {
  if (!Array.isArray(wire) || wire.length < 3) throw new MessageError("invalid series");
  const [tBase, step, registers] = wire as unknown[];
  if (!isInt(tBase) || !isUint(step, 0xffffffff) || step === 0) throw new MessageError("invalid series");
  const regs = intArray(registers, "registers");
  if (!regs.every((r) => isUint(r, 0xffffff))) throw new MessageError("invalid registers");
  const out: Reading[] = [];
  let meter = 0;
  for (let k = 3; k < wire.length; k++) {
    const s = wire[k] as unknown;
    if (!Array.isArray(s) || s.length < 4) throw new MessageError("invalid series");
    const [meterDelta, second, dt] = s as unknown[];
    if (!isUint(meterDelta, 0xffff) || !isInt(dt)) throw new MessageError("invalid series");
    meter += meterDelta;
    if (meter > 0xffff) throw new MessageError("invalid series");
    const base = out.length;
    let status: number[];
    let n: number;
    if (Array.isArray(s[3])) {
      // A series: one register, values as differences.
      if (s.length > 6 || !isUint(second, regs.length - 1)) throw new MessageError("invalid series");
      const values = intArray(s[3], "values");
      status = s.length >= 5 ? intArray(s[4], "status") : [];
      const times = s.length === 6 ? intArray(s[5], "times") : undefined;
      n = values.length;
      if (n === 0 || out.length + n > limits.maxReadings) throw new MessageError("invalid values");
      if (times && times.length !== n - 1) throw new MessageError("invalid times");
      const register = regs[second]!;
      let value = 0;
      let time = tBase + dt;
      for (let i = 0; i < n; i++) {
        value = i === 0 ? values[0]! : value + values[i]!;
        if (i > 0) time += times ? times[i - 1]! : step;
        if (!Number.isSafeInteger(value) || !Number.isSafeInteger(time)) throw new MessageError("invalid values");
        out.push({ meter, register, time, value, status: 0 });
      }
    } else {
      // A row: one readout, the registers of the mask in table order.
      const last = s[s.length - 1];
      status = Array.isArray(last) ? intArray(last, "status") : [];
      const values = intArray(s.slice(3, Array.isArray(last) ? -1 : undefined), "values");
      if (!isUint(second, 0xffffffff) || second === 0) throw new MessageError("invalid row");
      n = values.length;
      if (out.length + n > limits.maxReadings) throw new MessageError("invalid values");
      const time = tBase + dt;
      if (!Number.isSafeInteger(time)) throw new MessageError("invalid row");
      let i = 0;
      for (let bit = 0, rest = second; rest > 0; bit++, rest = Math.floor(rest / 2)) {
        if (rest % 2 === 0) continue;
        if (bit >= regs.length || i >= n) throw new MessageError("invalid row");
        out.push({ meter, register: regs[bit]!, time, value: values[i++]!, status: 0 });
      }
      if (i !== n) throw new MessageError("invalid row");
    }
    if (status.length % 2 !== 0) throw new MessageError("invalid status");
    for (let i = 0; i < status.length; i += 2) {
      const index = status[i]!;
      const bits = status[i + 1]!;
      if (!(index >= 0 && index < n) || !isUint(bits, 0xffffffff)) throw new MessageError("invalid status");
      out[base + index]!.status = bits;
    }
  }
  return out;
}

// --- encoding -------------------------------------------------------------------------------------

function resultWire(r: CommandResult): unknown[] {
  const w: unknown[] = [r.commandId, r.code];
  if (r.readings) w.push(encodeSeries(r.readings));
  else if (r.detail !== undefined) w.push(r.detail);
  return w;
}

function wire(m: UplinkMessage | DownlinkMessage): unknown[] {
  switch (m.kind) {
    case "readings":
      return [MessageKind.readings, seqSetToWire(m.seqs), encodeSeries(m.readings)];
    case "events":
      return [
        MessageKind.events,
        m.events.map(({ seq, event: e }) => [seq, e.type, e.subject, e.time, e.detail, e.alarm]),
      ];
    case "result":
      return [MessageKind.result, m.seq, ...resultWire(m.result)];
    case "status": {
      const counters: unknown[] = [];
      for (const [k, v] of Object.entries(m.counters)) counters.push(k, v);
      return [MessageKind.status, m.time, m.uptimeS, counters];
    }
    case "otaRequest":
      return [MessageKind.otaRequest, byteString(m.packageId), m.object, m.first, m.count];
    case "ack":
      return [MessageKind.ack, seqSetToWire(m.seqs)];
    case "command": {
      const c = m.command;
      const head = [MessageKind.command, c.id, CommandOp[c.op]];
      switch (c.op) {
        case "read":
          return [...head, c.meters, c.registers];
        case "disconnect":
        case "reconnect":
          return [...head, c.meter];
        case "configure":
          return [...head, c.changes.flatMap((ch) => [ch.key, ch.value])];
        case "time":
          return [...head, c.epochMs];
        case "mode":
          return [...head, c.meter, c.mode];
        case "limit": {
          const l = c.limit;
          return [...head, c.meter, l && [l.thresholdNormal, l.thresholdEmergency, l.minOverMs, l.minUnderMs, l.emergencyGroups]];
        }
        case "update":
          return [...head, byteString(c.head), c.window ? c.window.fromMin : null, c.window ? c.window.toMin : null];
        case "profile":
          return [...head, c.meter, c.fromS, c.toS];
      }
    }
  }
}

/**
 * Bytes as cbor-x writes a plain CBOR byte string everywhere: an ArrayBuffer. A Uint8Array is tagged
 * (tag 64) on a host whose runtime has a byte-buffer class, and no tag is in our subset; an Encoder of our own with
 * `tagUint8Array: false` would be an instance in the preloaded image reaching all of cbor-x's state.
 */
function byteString(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/**
 * The CBOR body of a message, in a buffer of its own (cbor-x returns a view into its shared 8 KiB
 * output buffer, on Node.js a pooled buffer object).
 */
export function encodeMessage(m: UplinkMessage | DownlinkMessage): Uint8Array {
  return new Uint8Array(encode(wire(m)));
}

// --- decoding -------------------------------------------------------------------------------------

/** Generous for our shapes: [kind, seqs, [tBase, step, [regs], [m, r, t, [values], [status], [times]]]] is depth 4. */
const CBOR_LIMITS = Object.freeze({ maxDepth: 5, maxItems: 200_000 });

function parse(bytes: Uint8Array): unknown[] {
  if (!isCborSubset(bytes, CBOR_LIMITS)) throw new MessageError("invalid cbor");
  const v = decode(bytes) as unknown;
  if (!Array.isArray(v) || v.length < 1) throw new MessageError("invalid message");
  return v;
}

function seqs(v: unknown, limits: MessageLimits): SeqSet {
  const s = seqSetFromWire(v, limits.maxSeqs);
  if (!s) throw new MessageError("invalid seqs");
  return s;
}

function eventOf(v: unknown): { seq: number; event: MeterEvent } {
  if (!Array.isArray(v) || v.length !== 6) throw new MessageError("invalid event");
  const [seq, type, subject, time, detail, alarm] = v as unknown[];
  if (!isUint(seq, Number.MAX_SAFE_INTEGER) || !isUint(type, 0xff) || !isUint(subject, 0xffff) || !isInt(time) || !isInt(detail) || typeof alarm !== "boolean") {
    throw new MessageError("invalid event");
  }
  return { seq, event: { type: type as EventType, subject, time, detail, alarm } };
}

const RESULT_CODES: readonly number[] = Object.values(ResultCode);

function decodeUplinkWire(v: unknown[], limits: MessageLimits): UplinkMessage {
  switch (v[0]) {
    case MessageKind.readings: {
      if (v.length !== 3) throw new MessageError("invalid readings");
      const s = seqs(v[1], limits);
      return { kind: "readings", seqs: s, readings: decodeSeries(v[2], limits) };
    }
    case MessageKind.events: {
      if (v.length !== 2 || !Array.isArray(v[1]) || v[1].length > limits.maxReadings) throw new MessageError("invalid events");
      return { kind: "events", events: (v[1] as unknown[]).map(eventOf) };
    }
    case MessageKind.result: {
      const [, seq, commandId, code, extra] = v;
      if (v.length < 4 || v.length > 5 || !isUint(seq, Number.MAX_SAFE_INTEGER) || !isUint(commandId, Number.MAX_SAFE_INTEGER) || !RESULT_CODES.includes(code as number)) {
        throw new MessageError("invalid result");
      }
      const result: CommandResult = { commandId, code: code as ResultCode };
      if (Array.isArray(extra)) result.readings = decodeSeries(extra, limits);
      else if (isInt(extra) || typeof extra === "string") result.detail = extra;
      else if (v.length === 5) throw new MessageError("invalid result");
      return { kind: "result", seq, result };
    }
    case MessageKind.status: {
      const [, time, uptimeS, list] = v;
      if (v.length !== 4 || !isInt(time) || !isUint(uptimeS, Number.MAX_SAFE_INTEGER) || !Array.isArray(list) || list.length % 2 !== 0) {
        throw new MessageError("invalid status");
      }
      const counters: Record<string, number> = {};
      for (let i = 0; i < list.length; i += 2) {
        const k = list[i] as unknown;
        const n = list[i + 1] as unknown;
        if (typeof k !== "string" || !/^[A-Za-z][A-Za-z0-9.]{0,39}$/.test(k) || !isInt(n)) throw new MessageError("invalid status");
        counters[k] = n;
      }
      return { kind: "status", time, uptimeS, counters };
    }
    case MessageKind.otaRequest: {
      const [, packageId, object, first, count] = v;
      if (v.length !== 5 || !isBytes(packageId, 6) || !isUint(object, 2) || !isUint(first, 0xffffffff) || !isUint(count, 0xffffffff)) throw new MessageError("invalid request");
      return { kind: "otaRequest", packageId: new Uint8Array(packageId), object, first, count };
    }
    default:
      throw new MessageError("unknown kind");
  }
}

const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_.]{0,47}$/;

function loadLimit(x: unknown): LoadLimit {
  if (!Array.isArray(x) || x.length !== 5) throw new MessageError("invalid limit");
  const [thresholdNormal, thresholdEmergency, minOverMs, minUnderMs, emergencyGroups] = x as [number, number, number, number, readonly number[]];
  const l = { thresholdNormal, thresholdEmergency, minOverMs, minUnderMs, emergencyGroups };
  if (!isValidLoadLimit(l)) throw new MessageError("invalid limit");
  return l;
}

function decodeCommand(v: unknown[]): Command {
  const [, id, op] = v;
  if (!isUint(id, Number.MAX_SAFE_INTEGER)) throw new MessageError("invalid command");
  const meter = (x: unknown) => {
    if (!isUint(x, 0xffff)) throw new MessageError("invalid meter");
    return x;
  };
  switch (op) {
    case CommandOp.read: {
      const [, , , meters, registers] = v;
      if (v.length !== 5 || !Array.isArray(meters) || meters.length < 1 || meters.length > 256) throw new MessageError("invalid command");
      if (!Array.isArray(registers) || registers.length > 64 || !registers.every((r) => isUint(r, 0xffffff))) throw new MessageError("invalid command");
      return { id, op: "read", meters: meters.map(meter), registers: registers as number[] };
    }
    case CommandOp.disconnect:
    case CommandOp.reconnect:
      if (v.length !== 4) throw new MessageError("invalid command");
      return { id, op: op === CommandOp.disconnect ? "disconnect" : "reconnect", meter: meter(v[3]) };
    case CommandOp.configure: {
      const list = v[3];
      if (v.length !== 4 || !Array.isArray(list) || list.length < 2 || list.length > 64 || list.length % 2 !== 0) throw new MessageError("invalid command");
      const changes: ConfigChange[] = [];
      for (let i = 0; i < list.length; i += 2) {
        const key = list[i] as unknown;
        const value = list[i + 1] as unknown;
        if (typeof key !== "string" || !CONFIG_KEY.test(key)) throw new MessageError("invalid config key");
        if (!(isInt(value) || typeof value === "boolean" || (typeof value === "string" && value.length <= 64))) throw new MessageError("invalid config value");
        changes.push({ key, value });
      }
      return { id, op: "configure", changes };
    }
    case CommandOp.time:
      if (v.length !== 4 || !isUint(v[3], Number.MAX_SAFE_INTEGER)) throw new MessageError("invalid command");
      return { id, op: "time", epochMs: v[3] as number };
    case CommandOp.mode:
      if (v.length !== 5 || !isUint(v[4], 6)) throw new MessageError("invalid command");
      return { id, op: "mode", meter: meter(v[3]), mode: v[4] as number };
    case CommandOp.limit:
      if (v.length !== 5) throw new MessageError("invalid command");
      return { id, op: "limit", meter: meter(v[3]), limit: v[4] === null ? null : loadLimit(v[4]) };
    case CommandOp.update: {
      const [, , , head, from, to] = v;
      // A head is at most 128 + 1 + 8 × 72 bytes (firmware/ota/format.ts).
      if (v.length !== 6 || !(head instanceof Uint8Array) || head.length > 1024) throw new MessageError("invalid command");
      const minute = (x: unknown) => isUint(x, 1439);
      if (!((from === null && to === null) || (minute(from) && minute(to)))) throw new MessageError("invalid window");
      return { id, op: "update", head: new Uint8Array(head), window: from === null ? null : { fromMin: from as number, toMin: to as number } };
    }
    case CommandOp.profile: {
      const [, , , , fromS, toS] = v;
      if (v.length !== 6 || !isUint(fromS, 0xffffffff) || !isUint(toS, 0xffffffff) || (toS as number) < (fromS as number)) throw new MessageError("invalid command");
      return { id, op: "profile", meter: meter(v[3]), fromS: fromS as number, toS: toS as number };
    }
    default:
      throw new MessageError("unknown command");
  }
}

function attempt<T>(fn: () => T): T | MessageError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MessageError) return e;
    return new MessageError("invalid cbor"); // cbor-x's own errors on bytes the subset check let through
  }
}

/** Decodes a concentrator → head-end body. */
export function decodeUplink(bytes: Uint8Array, limits: MessageLimits = DEFAULT_LIMITS): UplinkMessage | MessageError {
  return attempt(() => decodeUplinkWire(parse(bytes), limits));
}

/** Decodes a head-end → concentrator body. */
export function decodeDownlink(bytes: Uint8Array, limits: MessageLimits = DEFAULT_LIMITS): DownlinkMessage | MessageError {
  return attempt(() => {
    const v = parse(bytes);
    if (v[0] === MessageKind.ack) {
      if (v.length !== 2) throw new MessageError("invalid ack");
      return { kind: "ack", seqs: seqs(v[1], limits) };
    }
    if (v[0] === MessageKind.command) return { kind: "command", command: decodeCommand(v) };
    throw new MessageError("unknown kind");
  });
}
