/**
 * Little-endian integers and LEB128 varints over caller-owned byte arrays, without allocation.
 *
 * The writer never throws on a full buffer: it stops writing and sets `overflow`, so an encoder can
 * try one more group, see that it did not fit, and roll back to a mark. The reader never throws on
 * short or malformed input: it sets `error` and returns 0, and the decoder checks the flag once.
 *
 * Varints carry integers up to 2^53 (8 bytes of 7 bits = 56 bits); zigzag maps a signed integer n to
 * 2n (n ≥ 0) or -2n - 1 (n < 0) with arithmetic, not bit operations, so it stays exact above 2^31.
 */

/** Largest byte count of a varint we write or accept (56 bits ≥ 2^53). */
const VARINT_MAX_BYTES = 8;

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bytes a varint of `n` (a non-negative integer) takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

export class ByteWriter {
  readonly bytes: Uint8Array;
  pos: number;
  /** Writes stop at `limit`; set `overflow` instead of going past it. */
  limit: number;
  overflow = false;

  constructor(bytes: Uint8Array, pos = 0, limit = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.limit = limit;
  }

  #room(n: number): boolean {
    if (this.pos + n > this.limit) {
      this.overflow = true;
      return false;
    }
    return true;
  }

  u8(v: number): void {
    if (this.#room(1)) this.bytes[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    if (!this.#room(2)) return;
    setU16(this.bytes, this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    if (!this.#room(4)) return;
    setU32(this.bytes, this.pos, v);
    this.pos += 4;
  }

  /** An unsigned integer in 0 … 2^53. */
  varint(n: number): void {
    const b = this.bytes;
    let p = this.pos;
    if (p + VARINT_MAX_BYTES > this.limit && p + varintSize(n) > this.limit) {
      this.overflow = true;
      return;
    }
    // Below 2^31 bit operations are exact and cheaper in XS than division.
    if (n < 0x80000000) {
      while (n > 0x7f) {
        b[p++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
    } else {
      while (n > 0x7f) {
        b[p++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
    }
    b[p++] = n;
    this.pos = p;
  }

  /** A signed integer, zigzag then varint. */
  svarint(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  raw(src: Uint8Array): void {
    if (!this.#room(src.length)) return;
    this.bytes.set(src, this.pos);
    this.pos += src.length;
  }
}

export class ByteReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;
  error = false;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #has(n: number): boolean {
    if (this.error || this.pos + n > this.end) {
      this.error = true;
      return false;
    }
    return true;
  }

  u8(): number {
    return this.#has(1) ? this.bytes[this.pos++]! : 0;
  }

  u16(): number {
    if (!this.#has(2)) return 0;
    const v = getU16(this.bytes, this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    if (!this.#has(4)) return 0;
    const v = getU32(this.bytes, this.pos);
    this.pos += 4;
    return v;
  }

  /**
   * The bytes are read in place, not through `u8`: a readings record is mostly varints, and a call
   * per byte doubled the cost of decoding one (the drain decodes about 1 KiB of them in a turn).
   */
  varint(): number {
    if (this.error) return 0;
    const bytes = this.bytes;
    const end = this.end;
    let p = this.pos;
    let n = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_MAX_BYTES && p < end; i++) {
      const b = bytes[p++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = p;
        return n;
      }
      scale *= 0x80;
    }
    this.pos = p;
    this.error = true;
    return 0;
  }

  svarint(): number {
    return unzigzag(this.varint());
  }

  skip(n: number): void {
    if (this.#has(n)) this.pos += n;
  }

  raw(n: number): Uint8Array {
    if (!this.#has(n)) return new Uint8Array(0);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

export function getU16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function getU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function setU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}

export function setU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** True when every byte of `b[from, to)` reads as erased NOR (0xFF); four bytes per step where aligned. */
export function isErased(b: Uint8Array, from = 0, to = b.length): boolean {
  let i = from;
  while (i < to && ((b.byteOffset + i) & 3) !== 0) if (b[i++] !== 0xff) return false;
  const words = (to - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let k = 0; k < words; k++) if (w[k] !== 0xffffffff) return false;
    i += words << 2;
  }
  for (; i < to; i++) if (b[i] !== 0xff) return false;
  return true;
}

/** Byte equality, four bytes per step when both arrays start on a 4-byte boundary (XS: ~4× fewer steps). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  let i = 0;
  if ((a.byteOffset & 3) === 0 && (b.byteOffset & 3) === 0 && n >= 16) {
    const wa = new Uint32Array(a.buffer, a.byteOffset, n >> 2);
    const wb = new Uint32Array(b.buffer, b.byteOffset, n >> 2);
    for (let w = 0; w < wa.length; w++) if (wa[w] !== wb[w]) return false;
    i = wa.length << 2;
  }
  for (; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Text stored by the store (configuration values, audit entries) is printable ASCII: there is no
 * TextEncoder on the device. Other characters become "?" so that an audit entry can still record
 * what was attempted.
 */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c >= 0x20 && c <= 0x7e ? c : 0x3f;
  }
  return out;
}

export function asciiString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** The bytes of `parts` one after the other, in a new array (the one part itself when there is one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
