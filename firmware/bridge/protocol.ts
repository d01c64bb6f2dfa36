/**
 * The bridge protocol on the RS485 side, framing layer (docs/bridge.md §Frames): how the concentrator
 * and a PLC or radio bridge exchange frames, 8N1 at 9600 Bd on the modules' bus.
 *
 *   SOF 0x7E | ADDR | CTRL | SEQ | LEN | PAYLOAD (LEN bytes) | CRC-16 (high byte first)
 *
 * - ADDR is the bridge's bus address (1..254) in both directions; CTRL bit 7 is set in responses,
 *   bits 0-6 are the type; SEQ is the request's number, echoed by its response; LEN bounds the payload
 *   to 255 bytes, so a frame holds at most 262 bytes.
 * - The CRC is CRC-16/IBM-3740 ("CCITT-FALSE": polynomial 0x1021, initial 0xFFFF, not reflected, no
 *   final XOR; check value 0x29B1 for "123456789") over ADDR..PAYLOAD.
 * - Transparency as in HDLC-like framing (RFC 1662 §4.2): after the SOF, a 0x7E or 0x7D byte is sent
 *   as 0x7D followed by the byte XOR 0x20. An SOF is therefore always the start of a frame, and
 *   resynchronisation is the next SOF: it needs no timeout and no second look at any byte. D0 text
 *   has no 0x7E/0x7D outside values ("~", "}"), so the cost is nil in practice.
 *
 * `FrameDecoder` finds frames in a byte stream of any chunking. It never throws: bytes outside a frame
 * are one "garbage" error per run; an SOF inside a frame cuts it off ("truncated") and starts the next;
 * a CRC mismatch or an address outside 1..254 is an error at the frame's SOF. State: one 262-byte buffer.
 *
 * The simulated bridge (hal/sim/bridge.ts) implements the other side independently, as the simulated
 * local module does for D0: the two check each other.
 */

export const SOF = 0x7e;
/** Escape: the next byte is sent XOR 0x20 (RFC 1662 §4.2). */
export const ESC = 0x7d;
export const ESC_XOR = 0x20;
export const HEADER_BYTES = 5;
export const CRC_BYTES = 2;
/** The length byte's range. Frame sizes count bytes before escaping. */
export const PAYLOAD_MAX = 255;
export const FRAME_MAX = HEADER_BYTES + PAYLOAD_MAX + CRC_BYTES;
/** Bus addresses a bridge may have: 0 and 255 are reserved. */
export const ADDRESS_MIN = 1;
export const ADDRESS_MAX = 254;
/** CTRL bit 7: set in a response (bridge → concentrator). */
export const RESPONSE_MASK = 0x80;
export const TYPE_MASK = 0x7f;
/** The bridge link: 8N1 at 9600 Bd. D0 modules on the bus listen at 2400 and 300 Bd only (docs/d0.md). */
export const BRIDGE_BAUD = 9600;

export const FrameType = Object.freeze({
  /** What the bridge is: medium, rates, frame sizes, table size. */
  info: 0x01,
  /** One entry of the bridge's table of remote modules and their routes. */
  table: 0x02,
  /** Relay one D0 step to a remote module by a route at a rate. */
  relay: 0x03,
  /** The outcome of a relay, one part at a time. */
  fetch: 0x04,
} as const);
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export interface Frame {
  readonly address: number;
  readonly response: boolean;
  readonly type: number;
  readonly seq: number;
  readonly payload: Uint8Array;
}

export type FrameErrorCode = "garbage" | "crc" | "bad-address" | "truncated";

export interface FrameError {
  readonly code: FrameErrorCode;
  /** Offset of the byte where it was seen (the SOF, for a bad frame), counted since construction or `reset`. */
  readonly offset: number;
}

/** CRC-16/IBM-3740 of `bytes[start..end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]! << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** A whole frame, escaped, ready for the wire. Arguments outside their ranges throw RangeError: they are programming errors. */
export function encodeFrame(f: Frame): Uint8Array {
  if (!(Number.isInteger(f.address) && f.address >= ADDRESS_MIN && f.address <= ADDRESS_MAX)) throw new RangeError("invalid address");
  if (!(Number.isInteger(f.type) && f.type >= 0 && f.type <= TYPE_MASK)) throw new RangeError("invalid type");
  if (!(Number.isInteger(f.seq) && f.seq >= 0 && f.seq <= 255)) throw new RangeError("invalid seq");
  if (f.payload.length > PAYLOAD_MAX) throw new RangeError("payload too long");
  const n = f.payload.length;
  const plain = new Uint8Array(HEADER_BYTES + n + CRC_BYTES);
  plain[1] = f.address;
  plain[2] = (f.response ? RESPONSE_MASK : 0) | f.type;
  plain[3] = f.seq;
  plain[4] = n;
  plain.set(f.payload, HEADER_BYTES);
  const crc = crc16(plain, 1, HEADER_BYTES + n);
  plain[HEADER_BYTES + n] = crc >> 8;
  plain[HEADER_BYTES + n + 1] = crc & 0xff;
  let escapes = 0;
  for (let i = 1; i < plain.length; i++) if (plain[i] === SOF || plain[i] === ESC) escapes++;
  const out = new Uint8Array(plain.length + escapes);
  out[0] = SOF;
  for (let i = 1, o = 1; i < plain.length; i++) {
    const b = plain[i]!;
    if (b === SOF || b === ESC) {
      out[o++] = ESC;
      out[o++] = b ^ ESC_XOR;
    } else out[o++] = b;
  }
  return out;
}

export interface FrameDecoderOptions {
  onFrame(frame: Frame): void;
  onError(error: FrameError): void;
}

/** Its steps are prototype methods (TypeScript `private`, not `#`): XS gives every instance a slot per `#` method. */
export class FrameDecoder {
  readonly #o: FrameDecoderOptions;
  readonly #buf = new Uint8Array(FRAME_MAX);
  /** Bytes of the open frame (unescaped, SOF included); 0 when none is open. */
  #len = 0;
  #escaped = false;
  /** Offset of the open frame's SOF. */
  #start = 0;
  /** Offset of the next byte. */
  #offset = 0;
  #inGarbage = false;

  constructor(options: FrameDecoderOptions) {
    this.#o = options;
  }

  /** Forgets a partial frame; the next byte is offset 0. */
  reset(): void {
    this.#len = 0;
    this.#escaped = false;
    this.#offset = 0;
    this.#inGarbage = false;
  }

  /** Bytes in any chunking; frames and errors are reported synchronously, in input order. */
  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.byte(bytes[i]!);
  }

  /** The input has stopped: a frame still open is reported as truncated. */
  end(): void {
    if (this.#len > 0) this.#o.onError({ code: "truncated", offset: this.#start });
    this.#len = 0;
    this.#escaped = false;
  }

  private byte(b: number): void {
    const at = this.#offset++;
    if (b === SOF) {
      if (this.#len > 0) this.#o.onError({ code: "truncated", offset: this.#start });
      this.#buf[0] = SOF;
      this.#len = 1;
      this.#escaped = false;
      this.#start = at;
      this.#inGarbage = false;
      return;
    }
    if (this.#len === 0) {
      if (!this.#inGarbage) this.#o.onError({ code: "garbage", offset: at });
      this.#inGarbage = true;
      return;
    }
    if (b === ESC && !this.#escaped) {
      this.#escaped = true;
      return;
    }
    this.#buf[this.#len++] = this.#escaped ? b ^ ESC_XOR : b;
    this.#escaped = false;
    if (this.#len >= HEADER_BYTES && this.#len === HEADER_BYTES + this.#buf[4]! + CRC_BYTES) this.frameEnd();
  }

  private frameEnd(): void {
    const buf = this.#buf;
    const n = buf[4]!;
    const address = buf[1]!;
    this.#len = 0;
    if (address < ADDRESS_MIN || address > ADDRESS_MAX) return this.#o.onError({ code: "bad-address", offset: this.#start });
    if (crc16(buf, 1, HEADER_BYTES + n) !== ((buf[HEADER_BYTES + n]! << 8) | buf[HEADER_BYTES + n + 1]!)) return this.#o.onError({ code: "crc", offset: this.#start });
    this.#o.onFrame({ address, response: (buf[2]! & RESPONSE_MASK) !== 0, type: buf[2]! & TYPE_MASK, seq: buf[3]!, payload: buf.slice(HEADER_BYTES, HEADER_BYTES + n) });
  }
}
