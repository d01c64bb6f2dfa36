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
    const at = search(this.#keys, key);
    return is(this.#keys, at) ? this.#values[at] : undefined;
  }

  has(key: string): boolean {
    return is(this.#keys, search(this.#keys, key));
  }

  /** Sets `key` to `value`, an integer from 0 to 65,535 (a RangeError else). */
  set(key: string, value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffff)) throw new RangeError(`value ${value} out of range`);
    const at = search(this.#keys, key);
    if (!is(this.#keys, at)) {
      const n = this.#keys.size;
      this.#values = withRoom(this.#values, n);
      this.#values.copyWithin(at + 1, at, n);
      this.#keys.insert(at, key);
    }
    this.#values[at] = value;
  }

  delete(key: string): boolean {
    const at = search(this.#keys, key);
    if (!is(this.#keys, at)) return false;
    this.#values.copyWithin(at, at + 1, this.#keys.size);
    this.#keys.remove(at);
    return true;
  }

  /** The first key (in the keys' order) whose number is `value`, or undefined. */
  keyOf(value: number): string | undefined {
    const at = this.#values.indexOf(value);
    return at >= 0 && at < this.#keys.size ? this.#keys.get(at) : undefined;
  }
}

// Functions of the module, not private methods (each of those is a slot per instance in XS).

/** The first position in `keys` whose key is not below `key` (the key `is` compares with after). */
function search(keys: PackedStrings, key: string): number {
  keys.key(key);
  let lo = 0, hi = keys.size;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys.compareKey(mid) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether the key at `at` is the one searched last. */
function is(keys: PackedStrings, at: number): boolean {
  return at < keys.size && keys.compareKey(at) === 0;
}
