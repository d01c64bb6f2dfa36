/**
 * A list of strings whose characters live in one byte buffer: the topology's serials, places and
 * module addresses (a few hundred short ASCII strings). In XS a string held in an array costs the
 * array's element (16 B) and a chunk of its own; here a string costs its bytes and 4 B (where it
 * ends), with no slot (docs/memory.md).
 *
 * Each UTF-16 code unit is written as UTF-8 writes a character of that value (1 byte below 0x80,
 * 2 below 0x800, else 3), so digits and ASCII take one byte each and the bytes compare in the order
 * of the strings themselves (`<` on strings compares code units). Inserting or removing a string
 * moves the bytes after it with one native copy.
 */

import { withRoom } from "./grow.js";

export class PackedStrings {
  #bytes = new Uint8Array(32);
  /** Where the string at each position ends in `#bytes` (it starts where the one before it ends). */
  #ends = new Uint32Array(8);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Inserts `s` at position `at` (0 to `size`): the strings from `at` on move up one position. */
  insert(at: number, s: string): void {
    const length = encodedLength(s);
    const start = this.start(at), used = this.start(this.#size);
    if (length > 0) this.#bytes = withRoom(this.#bytes, used + length - 1);
    this.#bytes.copyWithin(start + length, start, used);
    encode(s, this.#bytes, start);
    const ends = (this.#ends = withRoom(this.#ends, this.#size));
    ends.copyWithin(at + 1, at, this.#size);
    ends[at] = start;
    for (let i = at; i <= this.#size; i++) ends[i] = ends[i]! + length;
    this.#size++;
  }

  /** Removes the string at `at`: those after it move down one position. */
  remove(at: number): void {
    const start = this.start(at), end = this.#ends[at]!, length = end - start;
    this.#bytes.copyWithin(start, end, this.start(this.#size));
    const ends = this.#ends;
    ends.copyWithin(at, at + 1, this.#size);
    this.#size--;
    for (let i = at; i < this.#size; i++) ends[i] = ends[i]! - length;
  }

  /** Replaces the string at `at` with `s`. */
  set(at: number, s: string): void {
    this.remove(at);
    this.insert(at, s);
  }

  /** The string at `at` (made from its bytes). */
  get(at: number): string {
    const b = this.#bytes, end = this.#ends[at]!;
    let s = "";
    for (let i = this.start(at); i < end; ) {
      const lead = b[i]!;
      if (lead < 0x80) (s += String.fromCharCode(lead)), i++;
      else if (lead < 0xe0) (s += String.fromCharCode(((lead & 0x1f) << 6) | (b[i + 1]! & 0x3f))), (i += 2);
      else (s += String.fromCharCode(((lead & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f))), (i += 3);
    }
    return s;
  }

  /** Negative, 0 or positive as the string at `at` sorts before, equal to or after `s`. */
  compare(at: number, s: string): number {
    const b = this.#bytes, end = this.#ends[at]!;
    let i = this.start(at);
    for (let k = 0; k < s.length; k++) {
      const u = s.charCodeAt(k);
      const n = u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
      for (let j = 0; j < n; j++, i++) {
        if (i === end) return -1;
        const d = b[i]! - byteOf(u, n, j);
        if (d !== 0) return d;
      }
    }
    return i === end ? 0 : 1;
  }

  /** Where the string at `at` starts (`size`: where the last one ends). */
  start(at: number): number {
    return at === 0 ? 0 : this.#ends[at - 1]!;
  }
}

function encodedLength(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const u = s.charCodeAt(k);
    n += u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
  }
  return n;
}

function encode(s: string, to: Uint8Array, at: number): void {
  for (let k = 0; k < s.length; k++) {
    const u = s.charCodeAt(k);
    const n = u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
    for (let j = 0; j < n; j++) to[at++] = byteOf(u, n, j);
  }
}

/** Byte `j` of the `n` bytes code unit `u` is written as. */
function byteOf(u: number, n: number, j: number): number {
  if (n === 1) return u;
  if (j === 0) return n === 2 ? 0xc0 | (u >> 6) : 0xe0 | (u >> 12);
  return 0x80 | ((u >> (6 * (n - 1 - j))) & 0x3f);
}
