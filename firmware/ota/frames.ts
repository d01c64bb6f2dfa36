/**
 * OTA frames: the parts of a package the head-end sends on a concentrator's `ota` topic, unsealed
 * (docs/ota.md "Transfer"). They need no envelope: every byte is checked against the signed head
 * (the head by its signatures or its stored digest, the table by the head's SHA-256 of it, each chunk
 * by its hash in the table), and opening a 4 KiB envelope would cost ~1.2 M XS units in one turn.
 *
 *   0       1        2             8            12
 *   +-------+--------+-------------+------------+-----------------+
 *   | ver 1 | object | package id  | index u32  | data            |
 *   |       |        | 6 bytes     | LE         | (object's part) |
 *   +-------+--------+-------------+------------+-----------------+
 *
 * Objects: 0 the head (index 0), 1 the table (index: the byte offset of `data` in it), 2 a chunk
 * (index: its number; data: its stored bytes), 3 refused (index: 1 unknown package, 2 the part asked
 * for is beyond what the head-end holds of the package; no data).
 */
import { frozen } from "../model/frozen.js";
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 12;
/** Table bytes per frame at most. */
export const TABLE_FRAME_BYTES = 1024;

export const FrameObject = frozen({
  head: 0,
  table: 1,
  chunk: 2,
  refused: 3,
} as const);
export type FrameObject = (typeof FrameObject)[keyof typeof FrameObject];

export const Refusal = frozen({
  unknownPackage: 1,
  beyondEnd: 2,
} as const);

export interface Frame {
  object: FrameObject;
  /** The package id's 6 bytes (format.ts packageIdOf). */
  packageId: Uint8Array;
  index: number;
  data: Uint8Array;
}

export function encodeFrame(f: Frame): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + f.data.length);
  out[0] = FRAME_VERSION;
  out[1] = f.object;
  out.set(f.packageId.subarray(0, 6), 2);
  out[8] = f.index & 0xff;
  out[9] = (f.index >>> 8) & 0xff;
  out[10] = (f.index >>> 16) & 0xff;
  out[11] = (f.index >>> 24) & 0xff;
  out.set(f.data, FRAME_HEADER_BYTES);
  return out;
}

/** A frame (views into `bytes`), or undefined when it is not one. */
export function decodeFrame(bytes: Uint8Array): Frame | undefined {
  if (bytes.length < FRAME_HEADER_BYTES || bytes[0] !== FRAME_VERSION || bytes[1]! > FrameObject.refused) return undefined;
  return {
    object: bytes[1] as FrameObject,
    packageId: bytes.subarray(2, 8),
    index: (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24)) >>> 0,
    data: bytes.subarray(FRAME_HEADER_BYTES),
  };
}

/** Whether two package ids (6 bytes each) are the same. */
export function samePackage(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
