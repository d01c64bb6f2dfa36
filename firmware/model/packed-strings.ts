/**
 * A list of strings whose characters live in one byte buffer: the topology's serials, places and
 * module addresses (a few hundred short strings, mostly digits). In XS a string held in an array
 * costs the array's element (16 B) and a chunk of its own; here a string costs its packed bytes and
 * 2 B (where it ends; 4 B once the buffer passes 64 KiB), with no slot (docs/memory.md).
 *
 * Packing, in half-bytes (nibbles), so that a digit takes half a byte and the bytes compare in the
 * order of the strings themselves (`<` on strings compares UTF-16 code units):
 *   below "0"          1, then the code unit's 2 nibbles
 *   "0" to "9"         2 to 11
 *   ":" to "_"         12, then 2 nibbles
 *   "`" to "o"         13, then the low nibble
 *   "p" to DEL         14, then the low nibble
 *   0x80 and above     15, then the code unit's 4 nibbles
 * A string with an odd number of nibbles ends with a 0 nibble, below every first nibble, so a string
 * sorts before every longer one it begins. Inserting or removing a string moves the bytes after it
 * with one native copy.
 */

import { withRoom } from "./grow.js";

/** Where the string at each position ends: 16-bit offsets while the buffer is within 64 KiB. */
type Ends = Uint16Array | Uint32Array;

export class PackedStrings {
  #bytes = new Uint8Array(32);
  /** Where the string at each position ends in `#bytes` (it starts where the one before it ends). */
  #ends: Ends = new Uint16Array(8);
  #size = 0;
  /**
   * The length of the packed key `compareKey` compares with (`key`). The key is kept in `#bytes`
   * beyond the strings, its length past their end (room for `insert` to move them up first): no
   * buffer of its own (4 + 3 slots in XS).
   */
  #keyLength = 0;
  /** The string packed as the key, while the key is where `compareKey` looks (the topology asks for one serial several times a turn). */
  #keyString: string | undefined;

  get size(): number {
    return this.#size;
  }

  /** Packs `s` as the key that `compareKey` compares with (until the next `key` or `insert`). */
  key(s: string): void {
    if (s === this.#keyString) return;
    this.#keyString = s;
    let nibbles = 0;
    for (let k = 0; k < s.length; k++) nibbles += nibblesOf(s.charCodeAt(k));
    const length = (this.#keyLength = (nibbles + 1) >> 1);
    const from = this.start(this.#size) + length;
    const key = (this.#bytes = withRoom(this.#bytes, from + length));
    key.fill(0, from, from + length);
    let at = 2 * from;
    for (let k = 0; k < s.length; k++) {
      const u = s.charCodeAt(k);
      if (u >= 0x30 && u <= 0x39) at = put(key, at, u - 0x30 + 2);
      else if (u < 0x60) at = put(key, put(key, put(key, at, u < 0x30 ? 1 : 12), u >> 4), u & 15);
      else if (u < 0x80) at = put(key, put(key, at, u < 0x70 ? 13 : 14), u & 15);
      else for (let shift = 16; shift >= 0; shift -= 4) at = put(key, at, shift === 16 ? 15 : (u >> shift) & 15);
    }
  }

  /** Negative, 0 or positive as the string at `at` sorts before, equal to or after the key (`key`). */
  compareKey(at: number): number {
    const b = this.#bytes, ends = this.#ends, size = this.#size;
    const from = (size === 0 ? 0 : ends[size - 1]!) + this.#keyLength, start = at === 0 ? 0 : ends[at - 1]!, length = ends[at]! - start;
    const n = Math.min(length, this.#keyLength);
    for (let i = 0; i < n; i++) {
      const d = b[start + i]! - b[from + i]!;
      if (d !== 0) return d;
    }
    return length - this.#keyLength;
  }

  /** Inserts `s` at position `at` (0 to `size`): the strings from `at` on move up one position. */
  insert(at: number, s: string): void {
    this.key(s);
    this.#keyString = undefined; // the strings move over the key
    const length = this.#keyLength, start = this.start(at), used = this.start(this.#size);
    this.#bytes.copyWithin(start + length, start, used);
    this.#bytes.copyWithin(start, used + length, used + 2 * length);
    if (used + length > 0xffff && this.#ends instanceof Uint16Array) this.#ends = Uint32Array.from(this.#ends);
    const ends = (this.#ends = withRoom(this.#ends, this.#size));
    ends.copyWithin(at + 1, at, this.#size);
    ends[at] = start;
    for (let i = at; i <= this.#size; i++) ends[i] = ends[i]! + length;
    this.#size++;
  }

  /** Removes the string at `at`: those after it move down one position. */
  remove(at: number): void {
    this.#keyString = undefined; // the key moves with the strings' end
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
    const b = this.#bytes, end = 2 * this.#ends[at]!;
    let s = "";
    for (let i = 2 * this.start(at); i < end; ) {
      const g = nibble(b, i++);
      if (g === 0) break;
      let u: number;
      if (g >= 2 && g <= 11) u = 0x30 + g - 2;
      else if (g === 1 || g === 12) (u = (nibble(b, i) << 4) | nibble(b, i + 1)), (i += 2);
      else if (g === 13 || g === 14) u = (g === 13 ? 0x60 : 0x70) | nibble(b, i++);
      else (u = (nibble(b, i) << 12) | (nibble(b, i + 1) << 8) | (nibble(b, i + 2) << 4) | nibble(b, i + 3)), (i += 4);
      s += String.fromCharCode(u);
    }
    return s;
  }

  /** Where the string at `at` starts (`size`: where the last one ends). */
  start(at: number): number {
    return at === 0 ? 0 : this.#ends[at - 1]!;
  }
}

/** How many nibbles code unit `u` is packed in. */
function nibblesOf(u: number): number {
  return u >= 0x30 && u <= 0x39 ? 1 : u < 0x60 ? 3 : u < 0x80 ? 2 : 5;
}

/** The nibble at nibble position `i` of `b`. */
function nibble(b: Uint8Array, i: number): number {
  return i & 1 ? b[i >> 1]! & 15 : b[i >> 1]! >> 4;
}

/** Writes nibble `v` at nibble position `at` of `to` (zeroed before); the next position. */
function put(to: Uint8Array, at: number, v: number): number {
  to[at >> 1]! |= at & 1 ? v : v << 4;
  return at + 1;
}
