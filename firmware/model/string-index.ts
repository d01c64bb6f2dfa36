/**
 * Numbers (0 to 65,535: module and meter numbers) by string key (a serial, a place), for the topology's
 * indexes: the keys sorted and packed in one byte buffer (PackedStrings: a digit in half a byte),
 * searched by halves, the numbers a Uint16Array in the same order. A Map's entry is 3 slots in XS
 * (48 B on the device), a string in a list an element (16 B) and a chunk of its own; here an entry is
 * its key's packed bytes, 2 B where they end and 2 B its number, with no slot (docs/memory.md). Adding or removing an entry moves
 * the ones after it: native copies, no hashing in script.
 */

import { withRoom } from "./grow.js";
import { PackedStrings } from "./packed-strings.js";

export class StringIndex {
  readonly #keys = new PackedStrings();
  #values = new Uint16Array(8);

  get size(): number {
    return this.#keys.size;
  }

  get(key: string): number | undefined {
    const at = this.#search(key);
    return this.#is(at) ? this.#values[at] : undefined;
  }

  has(key: string): boolean {
    return this.#is(this.#search(key));
  }

  /** Sets `key` to `value`, an integer from 0 to 65,535 (a RangeError else). */
  set(key: string, value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffff)) throw new RangeError(`value ${value} out of range`);
    const at = this.#search(key);
    if (!this.#is(at)) {
      const n = this.#keys.size;
      this.#values = withRoom(this.#values, n);
      this.#values.copyWithin(at + 1, at, n);
      this.#keys.insert(at, key);
    }
    this.#values[at] = value;
  }

  delete(key: string): boolean {
    const at = this.#search(key);
    if (!this.#is(at)) return false;
    this.#values.copyWithin(at, at + 1, this.#keys.size);
    this.#keys.remove(at);
    return true;
  }

  /** The first key (in the keys' order) whose number is `value`, or undefined. */
  keyOf(value: number): string | undefined {
    const at = this.#values.indexOf(value);
    return at >= 0 && at < this.#keys.size ? this.#keys.get(at) : undefined;
  }

  /** Whether the key at `at` is the one searched last. */
  #is(at: number): boolean {
    return at < this.#keys.size && this.#keys.compareKey(at) === 0;
  }

  /** The first position whose key is not below `key` (the key `#is` compares with after). */
  #search(key: string): number {
    this.#keys.key(key);
    let lo = 0, hi = this.#keys.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#keys.compareKey(mid) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
