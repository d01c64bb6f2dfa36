/**
 * The bridge protocol's payloads (docs/bridge.md §Messages): the requests the concentrator builds and
 * the responses it reads. Multi-byte numbers are big-endian. Every response payload starts with a
 * status byte. Parsers never throw: a payload that breaks the layout gives `{ok: false, reason}`.
 */
import { baudOf, modeCBaudChar } from "../d0/modes.js";
import { PAYLOAD_MAX } from "./protocol.js";

/** Status byte of every response (docs/bridge.md §Messages, status). */
export const STATUSES = Object.freeze(["ok", "pending", "busy", "no-route", "bad-request", "unknown", "no-answer", "route-failed", "timeout"] as const);
export type Status = (typeof STATUSES)[number];

/** Repeaters a path may hold (relay levels): the table and RELAY carry at most this many. */
export const PATH_MAX = 2;
/** Table entries a bridge may have (the index is one byte). */
export const ENTRIES_MAX = 255;
/** Rates a bridge may offer. */
export const RATES_MAX = 8;
/** The "no backup route" marker in a table entry's backup length. */
export const NO_BACKUP = 0xff;

/** RELAY flags. */
export const RelayFlag = Object.freeze({
  /** Collect the module's answer (else only send). */
  listen: 0x01,
  /** Mode C sign-on: answer the identification with the option select at once (docs/bridge.md §Remote node, sign-on). */
  signOn: 0x02,
} as const);

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export interface BridgeInfo {
  /** Protocol version; this is 1. */
  readonly version: number;
  readonly medium: "plc" | "radio";
  /** Rates the bridge can use on its medium, bit/s, highest first. A RELAY names one by its index. */
  readonly ratesBps: readonly number[];
  /** Bytes every medium frame adds to its payload (preamble, sync, header, check). */
  readonly frameOverheadBytes: number;
  /** Relay bytes one medium frame carries at most. */
  readonly framePayloadBytes: number;
  /** Length of a hop's acknowledgement frame, bytes. */
  readonly ackBytes: number;
  /** Fixed time per frame and per hop (turnaround, channel access), ms. */
  readonly hopLatencyMs: number;
  /** Repeaters a path may hold. */
  readonly maxHops: number;
  /** Entries in the bridge's table. */
  readonly entries: number;
}

export interface TableEntry {
  readonly index: number;
  readonly count: number;
  /** The remote node's medium address. */
  readonly node: number;
  /** The D0 device address of the module behind it. */
  readonly address: string;
  /** Repeaters from the bridge to the node, in order ([] = direct). */
  readonly primary: readonly number[];
  readonly backup: readonly number[] | undefined;
}

export interface RelayRequest {
  readonly node: number;
  /** Index into the bridge's `ratesBps`. */
  readonly rateIndex: number;
  readonly path: readonly number[];
  readonly listen: boolean;
  readonly signOn: boolean;
  /** D0 rates on the module's side, Bd (mode C rates 300..19200). */
  readonly sendBaud: number;
  readonly listenBaud: number;
  /** The highest rate the sign-on may switch to, Bd. */
  readonly maxBaud: number;
  /** How long the remote node waits for the module's first character, ms. */
  readonly firstByteMs: number;
  /** The bridge gives up on the relay after this long, ms (sent in 100 ms units, rounded up). */
  readonly deadlineMs: number;
  /** The D0 message to send (7-bit characters). */
  readonly d0: Uint8Array;
}

/** The fixed part of a RELAY payload, before the path and the D0 bytes. */
export const RELAY_HEADER_BYTES = 12;
/** The fixed part of a final FETCH answer, before the answer bytes (so a part carries at most 240 of them). */
export const RESULT_HEADER_BYTES = 15;

export type RelayOutcome =
  | { readonly status: "pending" | "unknown" }
  | {
      readonly status: "ok" | "no-answer" | "route-failed" | "timeout";
      readonly part: number;
      readonly parts: number;
      /** Answer bytes over all parts. */
      readonly total: number;
      /** Sign-on: length of the identification at the start of the answer; the option select's answer follows. */
      readonly split: number;
      /** Sign-on: the baud character of the option select the remote node sent, or "" when it sent none. */
      readonly signOnBaudChar: string;
      /** Route failure: the hop that failed (0 = the first one from the bridge). */
      readonly hop: number;
      /** Medium frames the relay needed, and transmissions it took (retries included). */
      readonly frames: number;
      readonly tries: number;
      /** From the RELAY's arrival at the bridge to the outcome, ms (sent in 10 ms units). */
      readonly elapsedMs: number;
      /** The answer bytes of this part: 7-bit characters, bit 7 set on a parity error (hal/serial-7e1.ts). */
      readonly data: Uint8Array;
    };

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function baudCode(baud: number): number {
  const c = modeCBaudChar(baud);
  if (c === undefined) throw new RangeError("invalid baud");
  return c.charCodeAt(0) - 0x30;
}

function statusOf(b: number | undefined): Status | undefined {
  return b === undefined ? undefined : STATUSES[b];
}

/** The status of any response payload, or undefined when it has none or an unknown one. */
export function responseStatus(payload: Uint8Array): Status | undefined {
  return statusOf(payload[0]);
}

export function encodeTableRequest(index: number): Uint8Array {
  if (!(Number.isInteger(index) && index >= 0 && index < ENTRIES_MAX)) throw new RangeError("invalid index");
  return Uint8Array.of(index);
}

/** RELAY payload. Out-of-range fields throw RangeError (programming errors). */
export function encodeRelay(r: RelayRequest): Uint8Array {
  if (!(Number.isInteger(r.node) && r.node >= 0 && r.node <= 0xffff)) throw new RangeError("invalid node");
  if (!(Number.isInteger(r.rateIndex) && r.rateIndex >= 0 && r.rateIndex < RATES_MAX)) throw new RangeError("invalid rate");
  if (r.path.length > PATH_MAX || r.path.some((id) => !(Number.isInteger(id) && id >= 0 && id <= 0xffff))) throw new RangeError("invalid path");
  const size = RELAY_HEADER_BYTES + 2 * r.path.length + r.d0.length;
  if (size > PAYLOAD_MAX) throw new RangeError("message too long");
  const firstByte = Math.min(0xffff, Math.ceil(r.firstByteMs));
  const deadline = Math.min(0xffff, Math.ceil(r.deadlineMs / 100));
  const out = new Uint8Array(size);
  out.set([r.node >> 8, r.node & 0xff, r.rateIndex, (r.listen ? RelayFlag.listen : 0) | (r.signOn ? RelayFlag.signOn : 0), baudCode(r.sendBaud), baudCode(r.listenBaud), baudCode(r.maxBaud)]);
  out.set([firstByte >> 8, firstByte & 0xff, deadline >> 8, deadline & 0xff, r.path.length], 7);
  let at = RELAY_HEADER_BYTES;
  for (const id of r.path) {
    out[at++] = id >> 8;
    out[at++] = id & 0xff;
  }
  out.set(r.d0, at);
  return out;
}

export function encodeFetch(relaySeq: number, part: number): Uint8Array {
  return Uint8Array.of(relaySeq & 0xff, part & 0xff);
}

export function parseInfo(p: Uint8Array): Parsed<BridgeInfo> {
  if (statusOf(p[0]) !== "ok") return { ok: false, reason: "status" };
  const rates = p[3] ?? 0;
  if (p.length !== 4 + 2 * rates + 7) return { ok: false, reason: "length" };
  if (p[1] !== 1) return { ok: false, reason: "version" };
  const medium = p[2] === 1 ? "plc" : p[2] === 2 ? "radio" : undefined;
  if (!medium) return { ok: false, reason: "medium" };
  if (rates < 1 || rates > RATES_MAX) return { ok: false, reason: "rates" };
  const ratesBps: number[] = [];
  for (let i = 0; i < rates; i++) {
    const r = u16(p, 4 + 2 * i);
    if (r === 0 || (i > 0 && r >= ratesBps[i - 1]!)) return { ok: false, reason: "rates" };
    ratesBps.push(r);
  }
  const at = 4 + 2 * rates;
  const value: BridgeInfo = {
    version: 1,
    medium,
    ratesBps,
    frameOverheadBytes: p[at]!,
    framePayloadBytes: p[at + 1]!,
    ackBytes: p[at + 2]!,
    hopLatencyMs: u16(p, at + 3),
    maxHops: p[at + 5]!,
    entries: p[at + 6]!,
  };
  if (value.framePayloadBytes === 0 || value.maxHops > PATH_MAX) return { ok: false, reason: "value" };
  return { ok: true, value };
}

/** A TABLE answer: the entry, or `undefined` value when the index is past the end. */
export function parseEntry(p: Uint8Array): Parsed<TableEntry | undefined> {
  const status = statusOf(p[0]);
  if (status === "unknown" && p.length === 1) return { ok: true, value: undefined };
  if (status !== "ok") return { ok: false, reason: "status" };
  if (p.length < 7) return { ok: false, reason: "length" };
  const index = p[1]!, count = p[2]!, node = u16(p, 3), n = p[5]!;
  // A D0 device address has at most 32 characters (§6.3.14 item 22).
  if (index >= count || n > 32) return { ok: false, reason: "value" };
  let at = 6;
  let address = "";
  for (let i = 0; i < n; i++, at++) {
    const c = p[at];
    // D0 device address: 0-9 A-Z a-z and space (§6.3.14 item 22).
    if (c === undefined || !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x20)) return { ok: false, reason: "address" };
    address += String.fromCharCode(c);
  }
  const path = (): number[] | undefined | null => {
    const hops = p[at++];
    if (hops === NO_BACKUP) return undefined;
    if (hops === undefined || hops > PATH_MAX || at + 2 * hops > p.length) return null;
    const ids: number[] = [];
    for (let i = 0; i < hops; i++, at += 2) ids.push(u16(p, at));
    return ids;
  };
  const primary = path();
  if (!primary) return { ok: false, reason: "path" };
  const backup = path();
  if (backup === null || at !== p.length) return { ok: false, reason: backup === null ? "path" : "length" };
  return { ok: true, value: { index, count, node, address, primary, backup } };
}

/** A FETCH answer. */
export function parseOutcome(p: Uint8Array): Parsed<RelayOutcome> {
  const status = statusOf(p[0]);
  if (status === undefined) return { ok: false, reason: "status" };
  if (status === "pending" || status === "unknown") return p.length === 1 ? { ok: true, value: { status } } : { ok: false, reason: "length" };
  if (status !== "ok" && status !== "no-answer" && status !== "route-failed" && status !== "timeout") return { ok: false, reason: "status" };
  if (p.length < RESULT_HEADER_BYTES) return { ok: false, reason: "length" };
  const part = p[1]!, parts = p[2]!, total = u16(p, 3), split = u16(p, 5), z = p[7]!, hop = p[8]!, frames = u16(p, 9), tries = u16(p, 11), elapsedMs = 10 * u16(p, 13);
  const zChar = z === 0 ? "" : String.fromCharCode(z);
  const value = { status, part, parts, total, split, signOnBaudChar: zChar, hop, frames, tries, elapsedMs, data: p.slice(RESULT_HEADER_BYTES) };
  if (part >= parts || split > total || value.data.length > total) return { ok: false, reason: "value" };
  if (zChar && baudOf("C", zChar) === undefined) return { ok: false, reason: "value" };
  return { ok: true, value };
}
