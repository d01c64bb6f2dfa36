/**
 * The record frame shared by the log and the state journal (docs/storage.md, "Record frame"):
 *
 *   [length u16][tag u8][kind u8][seq u32][payload: length bytes][crc u32]
 *
 * little-endian, CRC-32 over everything before it. A length of 0xFFFF with an erased header marks
 * the end of the written part of a sector. A frame that fails its check is skipped: the walk looks
 * for the next offset where a plausible header with a valid CRC starts (resync), so one corrupt
 * record never hides the ones after it. Bytes after the last valid frame are a torn tail, not
 * corruption: an interrupted program leaves exactly that.
 */
import { getU16, getU32, isErased, setU16, setU32 } from "./bytes.js";
import { crc32 } from "./crc32.js";

export const FRAME_HEADER_BYTES = 8;
export const FRAME_OVERHEAD = FRAME_HEADER_BYTES + 4;
const ERASED_LENGTH = 0xffff;

/**
 * Fills the header and CRC of a frame whose payload is already at `at + 8` in `buf`; returns the
 * frame's total length.
 */
export function sealFrame(buf: Uint8Array, at: number, payloadLength: number, tag: number, kind: number, seq: number): number {
  setU16(buf, at, payloadLength);
  buf[at + 2] = tag;
  buf[at + 3] = kind;
  setU32(buf, at + 4, seq);
  const end = at + FRAME_HEADER_BYTES + payloadLength;
  setU32(buf, end, crc32(buf, at, end));
  return end + 4 - at;
}

export interface FrameView {
  /** Offset of the frame in the walked buffer. */
  at: number;
  tag: number;
  kind: number;
  seq: number;
  payloadAt: number;
  payloadLength: number;
}

/** Whether a header could start a frame here, given the frames seen before it (cheap, no CRC). */
export type Plausible = (tag: number, kind: number, seq: number, previous: FrameView | undefined) => boolean;

export interface WalkResult {
  /** Offset just past the last valid frame (where the written part ends). */
  end: number;
  /** Bytes skipped between valid frames: corruption, not a torn tail. */
  corruptBytes: number;
  /** Non-erased bytes after the last valid frame (a torn write, or corruption of the last frames). */
  tailBytes: number;
}

function frameAt(b: Uint8Array, at: number, end: number, plausible: Plausible, previous: FrameView | undefined): FrameView | undefined {
  if (at + FRAME_OVERHEAD > end) return undefined;
  const length = getU16(b, at);
  if (length === ERASED_LENGTH || at + FRAME_OVERHEAD + length > end) return undefined;
  const tag = b[at + 2]!;
  const kind = b[at + 3]!;
  const seq = getU32(b, at + 4);
  if (!plausible(tag, kind, seq, previous)) return undefined;
  const crcAt = at + FRAME_HEADER_BYTES + length;
  if (crc32(b, at, crcAt) !== getU32(b, crcAt)) return undefined;
  return { at, tag, kind, seq, payloadAt: at + FRAME_HEADER_BYTES, payloadLength: length };
}

/**
 * Where a writer may continue in a sector whose written part ends at `validEnd`: right there when
 * everything after it is erased; otherwise past the last non-erased byte (a torn write) plus
 * `RESUME_GUARD_BYTES`, or `end` when that leaves no room.
 */
export function resumeOffset(b: Uint8Array, validEnd: number, end: number): number {
  let last = end - 1;
  while (last >= validEnd && b[last] === 0xff) last--;
  if (last < validEnd) return validEnd;
  return Math.min(end, last + 1 + RESUME_GUARD_BYTES);
}

/**
 * Erased bytes left between a torn write and the next frame: a cell an interrupted program left
 * half-charged may read as 1 now and 0 later, so nothing is programmed right next to one.
 */
export const RESUME_GUARD_BYTES = 16;

/**
 * Slots missing from `frames` below `count` (slots are numbered 0, 1, 2 … per sector, and a torn
 * frame's slot is reused by the next one): records that were written and no longer read.
 */
export function missingSlots(frames: readonly FrameView[], count: number): number {
  return Math.max(0, count - frames.length);
}

/** Visits every valid frame of `b[start, end)` in order, skipping corrupt ones. */
export function walkFrames(b: Uint8Array, start: number, end: number, plausible: Plausible, visit: (f: FrameView) => void): WalkResult {
  let pos = start;
  let previous: FrameView | undefined;
  let corruptBytes = 0;
  let validEnd = start;
  while (pos + FRAME_HEADER_BYTES <= end) {
    if (isErased(b, pos, pos + FRAME_HEADER_BYTES)) break;
    let f = frameAt(b, pos, end, plausible, previous);
    if (!f) {
      let next = pos + 1;
      for (; next + FRAME_OVERHEAD <= end; next++) {
        f = frameAt(b, next, end, plausible, previous);
        if (f) break;
      }
      if (!f) break;
      corruptBytes += next - pos;
    }
    visit(f);
    previous = f;
    pos = validEnd = f.at + FRAME_OVERHEAD + f.payloadLength;
  }
  let tailBytes = 0;
  for (let i = validEnd; i < end; i++) if (b[i] !== 0xff) tailBytes++;
  return { end: validEnd, corruptBytes, tailBytes };
}
