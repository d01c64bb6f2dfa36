/**
 * The streaming HDLC frame decoder: bytes arrive in chunks of any size (or one at a time), frames come
 * out whole and checked. Anything that is not a sound frame is reported as a typed error and skipped:
 * the decoder resynchronises on the next flag after the bad frame's opening flag (a corrupted length
 * may have hidden a real frame there), never waits for more than one frame's length, and never throws.
 * A closing flag may also open the next frame (IEC 62056-46 §6.4.1); repeated flags are idle fill.
 */
import { readAddress } from "./address.js";
import { fcsMatches } from "./crc.js";
import { FLAG, MAX_FRAME_LENGTH, parseControl, type Frame } from "./frame.js";

export type HdlcErrorCode =
  /** Not frame format type 3, or a length that cannot hold a frame. */
  | "format"
  /** The byte after the announced length is not a flag. */
  | "closing-flag"
  | "hcs"
  | "fcs"
  /** An address without its last byte within 4, or 3 bytes long. */
  | "address"
  /** A control field this profile does not use. */
  | "control";

export interface HdlcDecoderEvents {
  onFrame(frame: Frame): void;
  onError?(code: HdlcErrorCode): void;
}

/** format (2) + destination + source + control + FCS (2). */
const MIN_LENGTH = 7;
/**
 * The buffer's first size: a frame of the default maximum information field (128 bytes) and its
 * header. It grows to the longest frame announced (at most MAX_FRAME_LENGTH + 2, 2 KiB): allocated
 * at that size, it was 2 KiB of RAM per session for frames that are 150 bytes (docs/memory.md).
 */
const FIRST_BUFFER = 160;

export class HdlcDecoder {
  readonly #events: HdlcDecoderEvents;
  #buf = new Uint8Array(FIRST_BUFFER);
  #n = 0;
  readonly counters = { frames: 0, errors: 0, discarded: 0 };

  constructor(events: HdlcDecoderEvents) {
    this.#events = events;
  }

  /** Forgets a partial frame. */
  reset(): void {
    this.#n = 0;
  }

  push(bytes: Uint8Array): void {
    // Bytes a failed frame held are scanned again before the rest of the chunk: an explicit stack,
    // not recursion, so a burst of garbage full of flags costs heap, never call depth.
    const stack: Array<[Uint8Array, number]> = [];
    let chunk = bytes;
    let i = 0;
    for (;;) {
      while (i < chunk.length) {
        const rescan = this.#byte(chunk[i++]!);
        if (rescan) {
          stack.push([chunk, i]);
          chunk = rescan;
          i = 0;
        }
      }
      const next = stack.pop();
      if (!next) return;
      [chunk, i] = next;
    }
  }

  /** Takes one byte; returns the bytes to scan again when it ended a bad frame. */
  #byte(b: number): Uint8Array | undefined {
    let buf = this.#buf;
    if (this.#n === 0) {
      if (b === FLAG) buf[this.#n++] = b;
      else this.counters.discarded++;
      return undefined;
    }
    // Idle fill: a flag right after the opening flag opens the frame instead.
    if (this.#n === 1 && b === FLAG) return undefined;
    buf[this.#n++] = b;
    if (this.#n < 3) return undefined;
    const length = ((buf[1]! & 0x07) << 8) | buf[2]!;
    if ((buf[1]! & 0xf0) !== 0xa0 || length < MIN_LENGTH) return this.fail("format");
    if (this.#n === 3 && length + 2 > buf.length) {
      // The length is known from the third byte on (at most MAX_FRAME_LENGTH): room for the whole frame.
      buf = new Uint8Array(Math.min(Math.max(length + 2, buf.length * 2), MAX_FRAME_LENGTH + 2));
      buf.set(this.#buf.subarray(0, 3));
      this.#buf = buf;
    }
    if (this.#n < length + 2) return undefined;
    if (buf[length + 1] !== FLAG) return this.fail("closing-flag");
    return this.#frame(length);
  }

  #frame(length: number): Uint8Array | undefined {
    const buf = this.#buf;
    const end = length + 1; // index of the closing flag
    const dst = readAddress(buf, 3, end - 3);
    const src = dst && readAddress(buf, 3 + dst.bytes, end - 3);
    if (!dst || !src) return this.fail("address");
    const controlAt = 3 + dst.bytes + src.bytes;
    const control = parseControl(buf[controlAt]!);
    if (!control) return this.fail("control");
    const headerEnd = controlAt + 1;
    let info = new Uint8Array(0);
    if (end - 2 > headerEnd) {
      if (end - 2 < headerEnd + 2 || !fcsMatches(buf, 1, headerEnd)) return this.fail("hcs");
      info = buf.slice(headerEnd + 2, end - 2);
    }
    if (!fcsMatches(buf, 1, end - 2)) return this.fail("fcs");
    const frame: Frame = {
      ...control,
      destination: buf.slice(3, 3 + dst.bytes),
      source: buf.slice(3 + dst.bytes, controlAt),
      segmented: (buf[1]! & 0x08) !== 0,
      info,
    };
    // The closing flag may open the next frame.
    this.#n = 1;
    this.counters.frames++;
    this.#events.onFrame(frame);
    return undefined;
  }

  /** Drops the bad frame's opening flag and scans what was buffered for the next flag. */
  private fail(code: HdlcErrorCode): Uint8Array {
    this.counters.errors++;
    const buf = this.#buf;
    const n = this.#n;
    this.#n = 0;
    let from = 1;
    while (from < n && buf[from] !== FLAG) from++;
    this.counters.discarded += from;
    this.#events.onError?.(code);
    return buf.slice(from, n);
  }
}
