/**
 * Sector headers, the log's close summary and acknowledgement map (docs/storage.md, "Sector").
 *
 * Every sector in use starts with two identical 24-byte header copies, each with its own CRC, written
 * by one program before any record. A cut while writing them leaves at most one good copy and no
 * records; bit rot of one copy later leaves the other. A sector with no good copy holds nothing the
 * store will read (an erased, torn or foreign sector) and is only ever erased and reused.
 */
import { getU16, getU32, sameBytes, setU16, setU32 } from "./bytes.js";
import { crc32 } from "./crc32.js";

/** On-flash format version, stored in every header; bump on any incompatible change. */
export const FORMAT_VERSION = 1;
/** "CCLG" and "CCST" as little-endian u32: a log sector and a state-journal sector. */
export const LOG_MAGIC = 0x474c4343;
export const STATE_MAGIC = 0x54534343;

export const HEADER_COPY_BYTES = 24;
export const HEADERS_BYTES = 2 * HEADER_COPY_BYTES;

export interface SectorHeader {
  /** Record class (log) or 0xFF (journal). */
  cls: number;
  /** Sequence number the store would have given next when the sector was opened: orders sectors. */
  firstSeq: number;
  /** Erases of this sector before this use (wear). */
  eraseCount: number;
}

export function encodeHeaders(magic: number, h: SectorHeader): Uint8Array {
  const b = new Uint8Array(HEADERS_BYTES).fill(0xff);
  for (const at of [0, HEADER_COPY_BYTES]) {
    setU32(b, at, magic);
    b[at + 4] = FORMAT_VERSION;
    b[at + 5] = h.cls;
    setU32(b, at + 8, h.firstSeq);
    setU32(b, at + 12, h.eraseCount);
    setU32(b, at + 20, crc32(b, at, at + 20));
  }
  return b;
}

function parseCopy(b: Uint8Array, at: number, magic: number): SectorHeader | undefined {
  if (getU32(b, at) !== magic || b[at + 4] !== FORMAT_VERSION) return undefined;
  if (crc32(b, at, at + 20) !== getU32(b, at + 20)) return undefined;
  return { cls: b[at + 5]!, firstSeq: getU32(b, at + 8), eraseCount: getU32(b, at + 12) };
}

/** The header of a sector whose first bytes are `b`, and how many copies were good. */
export function parseHeaders(b: Uint8Array, magic: number): { header: SectorHeader; copies: 1 | 2 } | undefined {
  // Most sectors hold no header (cheap: the magic differs) or two identical good copies (one CRC and
  // a byte comparison instead of two CRCs: recovery does this for every sector).
  if (getU32(b, 0) !== magic && getU32(b, HEADER_COPY_BYTES) !== magic) return undefined;
  const a = parseCopy(b, 0, magic);
  if (a && sameBytes(b.subarray(0, HEADER_COPY_BYTES), b.subarray(HEADER_COPY_BYTES, HEADERS_BYTES))) return { header: a, copies: 2 };
  const c = parseCopy(b, HEADER_COPY_BYTES, magic);
  if (a) return { header: a, copies: c ? 2 : 1 };
  if (c) return { header: c, copies: 1 };
  return undefined;
}

// ---- log sectors: close summary and acknowledgement map ----

/** Where the summary written when a log sector stops taking records starts, and its size. */
export const SUMMARY_AT = HEADERS_BYTES;
export const SUMMARY_BYTES = 16;
/** The acknowledgement map: 2 bits per record slot. */
export const ACK_MAP_AT = 64;
/** Records per log sector: the map's 64 bytes hold 2 bits for each of 256 slots. */
export const MAX_SLOTS = 256;
export const ACK_MAP_BYTES = MAX_SLOTS / 4;
export const LOG_RECORDS_AT = ACK_MAP_AT + ACK_MAP_BYTES;

export interface SectorSummary {
  /** Records written (slots 0 … count-1). */
  count: number;
  /** Offset just past the last record. */
  end: number;
  /** Sequence number of the last record. */
  lastSeq: number;
}

export function encodeSummary(s: SectorSummary): Uint8Array {
  const b = new Uint8Array(SUMMARY_BYTES).fill(0xff);
  setU16(b, 0, s.count);
  setU16(b, 2, s.end);
  setU32(b, 4, s.lastSeq);
  setU32(b, 12, crc32(b, 0, 12));
  return b;
}

/** The summary in a log sector's first bytes `b`, if one was written whole. */
export function parseSummary(b: Uint8Array): SectorSummary | undefined {
  const at = SUMMARY_AT;
  if (crc32(b, at, at + 12) !== getU32(b, at + 12)) return undefined;
  const count = getU16(b, at);
  const end = getU16(b, at + 2);
  if (count > MAX_SLOTS || end < LOG_RECORDS_AT) return undefined;
  return { count, end, lastSeq: getU32(b, at + 4) };
}

/**
 * A slot is acknowledged when both of its bits are 0. Acknowledging programs them to 0 (bits only
 * go 1 → 0 on NOR, so other slots sharing the byte are untouched). One flipped bit never releases a
 * record; a torn acknowledgement leaves it unacknowledged, to be sent again.
 */
export function isAcked(b: Uint8Array, slot: number): boolean {
  const byte = b[ACK_MAP_AT + (slot >> 2)]!;
  return ((byte >> ((slot & 3) * 2)) & 3) === 0;
}

export function ackedCount(b: Uint8Array, count: number): number {
  let n = 0;
  for (let s = 0; s < count; s++) if (isAcked(b, s)) n++;
  return n;
}

/** The bytes to program (at `ACK_MAP_AT + first`) to acknowledge `slots`. */
export function ackProgram(slots: readonly number[]): { first: number; bytes: Uint8Array } {
  let lo = MAX_SLOTS;
  let hi = -1;
  for (const s of slots) {
    lo = Math.min(lo, s >> 2);
    hi = Math.max(hi, s >> 2);
  }
  const bytes = new Uint8Array(Math.max(0, hi - lo + 1)).fill(0xff);
  for (const s of slots) bytes[(s >> 2) - lo]! &= ~(3 << ((s & 3) * 2));
  return { first: lo, bytes };
}
