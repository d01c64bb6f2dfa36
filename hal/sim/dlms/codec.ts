/**
 * The byte-level side of a simulated DLMS meter: HDLC frames (IEC 62056-46), A-XDR values and the BER
 * of the association APDUs, written for the server side and independently of firmware/dlms (the
 * dependency rule keeps hal/sim from firmware/), so that the two check each other.
 */

// ---- HDLC ----

const CRC_TABLE = /* @__PURE__ */ (() => {
  const t: number[] = [];
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t.push(c);
  }
  return t;
})();

export function crc16(b: ArrayLike<number>, from: number, to: number): number {
  let c = 0xffff;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffff) & 0xffff;
}

export interface HdlcFrame {
  /** Raw address values: the destination as the groups of 7 bits, the source likewise. */
  dst: number[];
  src: number[];
  control: number;
  segmented: boolean;
  info: number[];
}

/** Frame bytes, flags included. */
export function hdlcEncode(dst: number[], src: number[], control: number, info: ArrayLike<number>, segmented = false): number[] {
  const addr = (groups: number[]) => groups.map((g, i) => (g << 1) | (i === groups.length - 1 ? 1 : 0));
  const head = [...addr(dst), ...addr(src), control];
  const len = 2 + head.length + (info.length ? info.length + 2 : 0) + 2;
  const out = [0x7e, 0xa0 | (segmented ? 8 : 0) | (len >> 8), len & 0xff, ...head];
  const withCrc = () => {
    const c = crc16(out, 1, out.length);
    out.push(c & 0xff, c >> 8);
  };
  if (info.length) {
    withCrc();
    for (let i = 0; i < info.length; i++) out.push(info[i]!);
  }
  withCrc();
  out.push(0x7e);
  return out;
}

/** Frames out of a byte stream; bad ones are dropped (counted), the scan goes on from the next flag. */
export class HdlcScanner {
  #buf: number[] = [];
  errors = 0;
  readonly #onFrame: (f: HdlcFrame) => void;

  constructor(onFrame: (f: HdlcFrame) => void) {
    this.#onFrame = onFrame;
  }

  reset(): void {
    this.#buf = [];
    this.#pending = [];
  }

  byte(b: number): void {
    // Bytes of a dropped frame are scanned again: a work list, so garbage never nests calls.
    this.#pending.push(b);
    if (this.#busy) return;
    this.#busy = true;
    for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) this.#step(next);
    this.#busy = false;
  }

  #pending: number[] = [];
  #busy = false;

  #step(b: number): void {
    const buf = this.#buf;
    if (buf.length === 0 && b !== 0x7e) return;
    if (buf.length === 1 && b === 0x7e) return;
    buf.push(b);
    if (buf.length < 3) return;
    const len = ((buf[1]! & 7) << 8) | buf[2]!;
    if ((buf[1]! & 0xf0) !== 0xa0 || len < 7 || len > 0x7ff) return this.#drop();
    if (buf.length < len + 2) return;
    if (buf[len + 1] !== 0x7e) return this.#drop();
    const frame = this.#parse(buf, len);
    if (!frame) return this.#drop();
    this.#buf = [0x7e];
    this.#onFrame(frame);
  }

  #parse(b: number[], len: number): HdlcFrame | undefined {
    if (crc16(b, 1, len - 1) !== (b[len - 1]! | (b[len]! << 8))) return undefined;
    let i = 3;
    const address = () => {
      const g: number[] = [];
      while (i < len - 1 && g.length < 4) {
        const v = b[i++]!;
        g.push(v >> 1);
        if (v & 1) return g;
      }
      return undefined;
    };
    const dst = address();
    const src = address();
    if (!dst || !src || i >= len - 1) return undefined;
    const control = b[i++]!;
    let info: number[] = [];
    if (i < len - 1) {
      if (crc16(b, 1, i) !== (b[i]! | (b[i + 1]! << 8))) return undefined;
      info = b.slice(i + 2, len - 1);
    }
    return { dst, src, control, segmented: (b[1]! & 8) !== 0, info };
  }

  #drop(): void {
    this.errors++;
    const rest = this.#buf.slice(1);
    this.#buf = [];
    const next = rest.indexOf(0x7e);
    if (next >= 0) this.#pending.unshift(...rest.slice(next));
  }
}

// ---- A-XDR values ----

/** A DLMS Data value: its tag and what it holds (`v` by tag: number, bigint, boolean, bytes, or a list). */
export interface X {
  t: number;
  v?: number | bigint | boolean | Uint8Array | X[];
}

const WIDTH: Record<number, [number, boolean]> = { 5: [4, true], 6: [4, false], 15: [1, true], 16: [2, true], 17: [1, false], 18: [2, false], 22: [1, false] };

export const x = {
  null: (): X => ({ t: 0 }),
  arr: (v: X[]): X => ({ t: 1, v }),
  st: (...v: X[]): X => ({ t: 2, v }),
  bool: (v: boolean): X => ({ t: 3, v }),
  i32: (v: number): X => ({ t: 5, v }),
  u32: (v: number): X => ({ t: 6, v }),
  oct: (v: ArrayLike<number>): X => ({ t: 9, v: Uint8Array.from(v) }),
  vis: (s: string): X => ({ t: 10, v: Uint8Array.from(s, (c) => c.charCodeAt(0)) }),
  i8: (v: number): X => ({ t: 15, v }),
  i16: (v: number): X => ({ t: 16, v }),
  u8: (v: number): X => ({ t: 17, v }),
  u16: (v: number): X => ({ t: 18, v }),
  u64: (v: bigint): X => ({ t: 21, v }),
  enum: (v: number): X => ({ t: 22, v }),
};

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

export function axdrEncode(d: X, out: number[] = []): number[] {
  out.push(d.t);
  const v = d.v;
  if (d.t === 0) return out;
  if (d.t === 1 || d.t === 2) {
    const list = v as X[];
    out.push(...lengthBytes(list.length));
    for (const item of list) axdrEncode(item, out);
  } else if (d.t === 3) out.push(v ? 1 : 0);
  else if (d.t === 9 || d.t === 10) {
    const b = v as Uint8Array;
    out.push(...lengthBytes(b.length), ...b);
  } else if (d.t === 20 || d.t === 21) {
    let n = BigInt.asUintN(64, v as bigint);
    const bytes: number[] = [];
    for (let k = 0; k < 8; k++, n >>= 8n) bytes.unshift(Number(n & 0xffn));
    out.push(...bytes);
  } else {
    const [w] = WIDTH[d.t]!;
    let n = v as number;
    if (n < 0) n += 2 ** (8 * w);
    for (let k = w - 1; k >= 0; k--) out.push(Math.floor(n / 2 ** (8 * k)) & 0xff);
  }
  return out;
}

/** Reads A-XDR; throws RangeError on anything malformed or a tag this meter does not take. */
export class AxdrReader {
  readonly b: ArrayLike<number>;
  i: number;
  constructor(b: ArrayLike<number>, i = 0) {
    this.b = b;
    this.i = i;
  }
  u8(): number {
    if (this.i >= this.b.length) throw new RangeError("short");
    return this.b[this.i++]!;
  }
  uint(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + this.u8();
    return v;
  }
  len(): number {
    const f = this.u8();
    return f < 0x80 ? f : this.uint(f & 0x7f);
  }
  bytes(n: number): Uint8Array {
    if (this.i + n > this.b.length) throw new RangeError("short");
    const out = Uint8Array.from({ length: n }, (_, k) => this.b[this.i + k]!);
    this.i += n;
    return out;
  }
  data(depth = 0): X {
    if (depth > 8) throw new RangeError("deep");
    const t = this.u8();
    if (t === 0) return { t };
    if (t === 1 || t === 2) {
      const n = this.len();
      const v: X[] = [];
      for (let k = 0; k < n; k++) v.push(this.data(depth + 1));
      return { t, v };
    }
    if (t === 3) return { t, v: this.u8() !== 0 };
    if (t === 9 || t === 10) return { t, v: this.bytes(this.len()) };
    if (t === 21 || t === 20) {
      let n = 0n;
      for (let k = 0; k < 8; k++) n = (n << 8n) | BigInt(this.u8());
      return { t, v: t === 20 ? BigInt.asIntN(64, n) : n };
    }
    const w = WIDTH[t];
    if (!w) throw new RangeError(`tag ${t}`);
    let n = this.uint(w[0]);
    if (w[1] && n >= 2 ** (8 * w[0] - 1)) n -= 2 ** (8 * w[0]);
    return { t, v: n };
  }
}

// ---- BER (AARQ/AARE) ----

export function berTlvs(b: ArrayLike<number>, from = 0, to = b.length): Map<number, number[]> {
  const out = new Map<number, number[]>();
  let i = from;
  while (i < to) {
    const tag = b[i++]!;
    let len = b[i++]!;
    if (len === 0x81) len = b[i++]!;
    else if (len === 0x82) len = (b[i++]! << 8) | b[i++]!;
    if (i + len > to) throw new RangeError("ber");
    out.set(tag, Array.from({ length: len }, (_, k) => b[i + k]!));
    i += len;
  }
  return out;
}

export function ber(tag: number, value: number[]): number[] {
  return [tag, ...lengthBytes(value.length), ...value];
}

/** A date-time octet string (12 bytes) for UTC seconds in a local time `deviation` minutes behind UTC's sign convention (local + deviation = UTC). */
export function dateTimeBytes(epochS: number, deviation: number, status: number): number[] {
  const t = new Date((epochS - deviation * 60) * 1000);
  const dow = t.getUTCDay() || 7;
  const y = t.getUTCFullYear();
  const dev = deviation & 0xffff;
  return [y >> 8, y & 0xff, t.getUTCMonth() + 1, t.getUTCDate(), dow, t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds(), 0, dev >> 8, dev & 0xff, status];
}

/** UTC seconds of a 12-byte date-time, or undefined (not specified fields, a bad length). */
export function dateTimeSeconds(b: ArrayLike<number>): number | undefined {
  if (b.length !== 12 || b[0] === 0xff || b[5] === 0xff) return undefined;
  let dev = (b[9]! << 8) | b[10]!;
  if (dev === 0x8000) dev = 0;
  else if (dev > 0x7fff) dev -= 0x10000;
  const sec = b[7] === 0xff ? 0 : b[7]!;
  return Date.UTC((b[0]! << 8) | b[1]!, b[2]! - 1, b[3]!, b[5]!, b[6]!, sec) / 1000 + dev * 60;
}
