/**
 * A-XDR (IEC 61334-6) as DLMS/COSEM uses it for `Data`: a tag byte, then the value big-endian; lengths
 * and element counts in the BER-like form (< 0x80 in one byte, else 0x8n and n bytes); fixed-width
 * integers without length; a compact array as its type description and the untagged contents.
 *
 * The reader is bounded: nesting at most MAX_DEPTH, at most MAX_ELEMENTS values per decode, every
 * length checked against the bytes left. Malformed input throws DecodeError (typed, with the offset),
 * which the session turns into a failed request; nothing else is thrown.
 */
import { INTEGER_WIDTH, Tag, type Data } from "./data.js";
import { frozen } from "../../model/frozen.js";

const MAX_DEPTH = 16;
const MAX_ELEMENTS = 8192;

export type DecodeErrorCode = "truncated" | "tag" | "length" | "depth" | "too-many" | "trailing";

export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  readonly offset: number;
  constructor(code: DecodeErrorCode, offset: number) {
    super(`${code} at ${offset}`);
    this.name = "DecodeError";
    this.code = code;
    this.offset = offset;
  }
}

/** Reads bytes front to back; every read past the end throws DecodeError("truncated"). */
export class ByteCursor {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw new DecodeError("truncated", this.pos);
    return this.bytes[this.pos++]!;
  }

  /** An unsigned big-endian integer of `n` ≤ 4 bytes. */
  uint(n: number): number {
    if (this.left < n) throw new DecodeError("truncated", this.pos);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.bytes[this.pos++]!;
    return v;
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.left < n) throw new DecodeError("length", this.pos);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** An A-XDR length (or element count): one byte below 0x80, else 0x81..0x84 and that many bytes. */
  length(): number {
    const at = this.pos;
    const first = this.u8();
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new DecodeError("length", at);
    const v = this.uint(n);
    if (v > this.end) throw new DecodeError("length", at);
    return v;
  }
}

/** Appends bytes; grows as needed. */
export class ByteSink {
  #buf = new Uint8Array(64);
  #n = 0;

  get length(): number {
    return this.#n;
  }

  u8(v: number): this {
    this.room(1);
    this.#buf[this.#n++] = v & 0xff;
    return this;
  }

  /** An unsigned big-endian integer in `n` bytes. */
  uint(v: number, n: number): this {
    this.room(n);
    for (let i = n - 1; i >= 0; i--) this.#buf[this.#n++] = Math.floor(v / 2 ** (8 * i)) & 0xff;
    return this;
  }

  bytes(b: ArrayLike<number>): this {
    this.room(b.length);
    this.#buf.set(b, this.#n);
    this.#n += b.length;
    return this;
  }

  len(v: number): this {
    if (v < 0x80) return this.u8(v);
    const n = v < 0x100 ? 1 : v < 0x10000 ? 2 : 4;
    return this.u8(0x80 | n).uint(v, n);
  }

  done(): Uint8Array {
    return this.#buf.slice(0, this.#n);
  }

  private room(n: number): void {
    if (this.#n + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#n + n));
    next.set(this.#buf.subarray(0, this.#n));
    this.#buf = next;
  }
}

// ---- encoding ----

export function encodeData(d: Data, out: ByteSink = new ByteSink()): ByteSink {
  out.u8(d.tag);
  switch (d.tag) {
    case Tag.null:
    case Tag.dontCare:
      return out;
    case Tag.array:
    case Tag.structure:
      out.len(d.items.length);
      for (const item of d.items) encodeData(item, out);
      return out;
    case Tag.boolean:
      return out.u8(d.value ? 1 : 0);
    case Tag.bitString:
      return out.len(d.bits).bytes(d.bytes.subarray(0, Math.ceil(d.bits / 8)));
    case Tag.octetString:
    case Tag.visibleString:
    case Tag.utf8String:
      return out.len(d.bytes.length).bytes(d.bytes);
    case Tag.dateTime:
    case Tag.date:
    case Tag.time:
      return out.bytes(d.bytes);
    case Tag.long64:
    case Tag.long64Unsigned:
      return out.bytes(bigintBytes(d.value));
    case Tag.float32:
    case Tag.float64: {
      const b = new Uint8Array(d.tag === Tag.float32 ? 4 : 8);
      const v = new DataView(b.buffer);
      if (d.tag === Tag.float32) v.setFloat32(0, d.value);
      else v.setFloat64(0, d.value);
      return out.bytes(b);
    }
    default: {
      const [n] = INTEGER_WIDTH[d.tag]!;
      return out.uint(d.value < 0 ? d.value + 2 ** (8 * n) : d.value, n);
    }
  }
}

export function encode(d: Data): Uint8Array {
  return encodeData(d).done();
}

function bigintBytes(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v));
  return b;
}

// ---- decoding ----

const FIXED: Readonly<Record<number, number>> = frozen({ [Tag.dateTime]: 12, [Tag.date]: 5, [Tag.time]: 4, [Tag.float32]: 4, [Tag.float64]: 8, [Tag.long64]: 8, [Tag.long64Unsigned]: 8, [Tag.boolean]: 1 });

/** Decodes one Data at the cursor. */
export function decodeData(c: ByteCursor): Data {
  const budget = { left: MAX_ELEMENTS };
  return readData(c, 0, budget);
}

/** Decodes `bytes` as exactly one Data. */
export function decode(bytes: Uint8Array): Data {
  const c = new ByteCursor(bytes);
  const d = decodeData(c);
  if (c.left) throw new DecodeError("trailing", c.pos);
  return d;
}

function readData(c: ByteCursor, depth: number, budget: { left: number }): Data {
  if (--budget.left < 0) throw new DecodeError("too-many", c.pos);
  const at = c.pos;
  const tag = c.u8();
  return readValue(c, tag, at, depth, budget);
}

function readValue(c: ByteCursor, tag: number, at: number, depth: number, budget: { left: number }): Data {
  switch (tag) {
    case Tag.null:
    case Tag.dontCare:
      return { tag };
    case Tag.array:
    case Tag.structure: {
      if (depth >= MAX_DEPTH) throw new DecodeError("depth", at);
      const n = c.length();
      if (n > c.left) throw new DecodeError("length", at);
      const items: Data[] = [];
      for (let i = 0; i < n; i++) items.push(readData(c, depth + 1, budget));
      return { tag, items };
    }
    case Tag.boolean:
      return { tag, value: c.u8() !== 0 };
    case Tag.bitString: {
      const bits = c.length();
      return { tag, bits, bytes: c.take(Math.ceil(bits / 8)) };
    }
    case Tag.octetString:
    case Tag.visibleString:
    case Tag.utf8String:
      return { tag, bytes: c.take(c.length()) };
    case Tag.dateTime:
    case Tag.date:
    case Tag.time:
      return { tag, bytes: c.take(FIXED[tag]!) };
    case Tag.long64:
    case Tag.long64Unsigned: {
      const b = c.take(8);
      const v = new DataView(b.buffer).getBigUint64(0);
      return { tag, value: tag === Tag.long64 ? BigInt.asIntN(64, v) : v };
    }
    case Tag.float32:
    case Tag.float64: {
      const b = c.take(FIXED[tag]!);
      const v = new DataView(b.buffer);
      return { tag, value: tag === Tag.float32 ? v.getFloat32(0) : v.getFloat64(0) };
    }
    case Tag.compactArray:
      return readCompactArray(c, at, depth, budget);
    default: {
      const width = INTEGER_WIDTH[tag];
      if (!width) throw new DecodeError("tag", at);
      const [n, signed] = width;
      let v = c.uint(n);
      if (signed && v >= 2 ** (8 * n - 1)) v -= 2 ** (8 * n);
      return { tag, value: v } as Data;
    }
  }
}

/** Tags a type description may name besides the fixed-width ones. */
const SIMPLE_DESCRIBED: ReadonlySet<number> = new Set([Tag.null, Tag.bitString, Tag.octetString, Tag.visibleString, Tag.utf8String, Tag.dontCare]);

/** A type description (IEC 62056-6-2 §4.1.5 TypeDescription): a tag, with its elements for arrays and structures. */
interface TypeDescription {
  tag: number;
  count?: number;
  elements?: TypeDescription[];
}

function readDescription(c: ByteCursor, depth: number): TypeDescription {
  const at = c.pos;
  if (depth >= MAX_DEPTH) throw new DecodeError("depth", at);
  const tag = c.u8();
  if (tag === Tag.array) {
    const count = c.uint(2);
    return { tag, count, elements: [readDescription(c, depth + 1)] };
  }
  if (tag === Tag.structure) {
    const n = c.length();
    if (n > c.left) throw new DecodeError("length", at);
    const elements: TypeDescription[] = [];
    for (let i = 0; i < n; i++) elements.push(readDescription(c, depth + 1));
    return { tag, elements };
  }
  if (!(tag in INTEGER_WIDTH || tag in FIXED || SIMPLE_DESCRIBED.has(tag))) throw new DecodeError("tag", at);
  return { tag };
}

function readCompactArray(c: ByteCursor, at: number, depth: number, budget: { left: number }): Data {
  const description = readDescription(c, depth + 1);
  const length = c.length();
  const contents = new ByteCursor(c.bytes, c.pos, c.pos + length);
  if (length > c.left) throw new DecodeError("length", at);
  c.pos += length;
  const items: Data[] = [];
  while (contents.left > 0) items.push(readDescribed(contents, description, depth + 1, budget));
  return { tag: Tag.array, items };
}

function readDescribed(c: ByteCursor, t: TypeDescription, depth: number, budget: { left: number }): Data {
  if (--budget.left < 0) throw new DecodeError("too-many", c.pos);
  if (depth >= MAX_DEPTH) throw new DecodeError("depth", c.pos);
  if (t.tag === Tag.structure) return { tag: Tag.structure, items: t.elements!.map((e) => readDescribed(c, e, depth + 1, budget)) };
  if (t.tag === Tag.array) {
    const items: Data[] = [];
    for (let i = 0; i < t.count!; i++) items.push(readDescribed(c, t.elements![0]!, depth + 1, budget));
    return { tag: Tag.array, items };
  }
  return readValue(c, t.tag, c.pos, depth, budget);
}

/**
 * An array decoded as its bytes arrive (a long GET answer comes in data blocks): each `push` decodes
 * the elements that are complete, so no single turn decodes the whole answer. An element cut by a
 * block boundary is decoded again, whole, once the next block is in.
 */
export class ArrayStream {
  #buf = new Uint8Array(0);
  #count: number | undefined;
  readonly items: Data[] = [];

  /** True when `first` (the first bytes of the answer) start an array. */
  static starts(first: Uint8Array): boolean {
    return first[0] === Tag.array;
  }

  push(bytes: Uint8Array): void {
    const buf = new Uint8Array(this.#buf.length + bytes.length);
    buf.set(this.#buf);
    buf.set(bytes, this.#buf.length);
    let pos = 0;
    try {
      if (this.#count === undefined) {
        const c = new ByteCursor(buf);
        if (c.u8() !== Tag.array) throw new DecodeError("tag", 0);
        this.#count = c.length();
        pos = c.pos;
      }
      while (this.items.length < this.#count) {
        const c = new ByteCursor(buf, pos);
        this.items.push(decodeData(c));
        pos = c.pos;
      }
    } catch (e) {
      // Not enough bytes yet for the next element (or the array's header): wait for the next block.
      if (!(e instanceof DecodeError) || (e.code !== "truncated" && e.code !== "length")) throw e;
    }
    this.#buf = buf.slice(pos);
  }

  /** The whole array, once the last block is in. Throws DecodeError when elements are missing or bytes are left. */
  finish(): Data {
    if (this.#count === undefined || this.items.length !== this.#count) throw new DecodeError("truncated", 0);
    if (this.#buf.length) throw new DecodeError("trailing", 0);
    return { tag: Tag.array, items: this.items };
  }
}
