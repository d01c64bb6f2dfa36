/**
 * Numbers (0 to 65,535: module and meter numbers) by string key (a serial, a place), for the topology's
 * indexes: the keys a sorted list searched by halves, the numbers a Uint16Array in the same order. A
 * Map's entry is 3 slots in XS (48 B on the device); here an entry is one list element (16 B of a
 * chunk) and 2 B, the key's string shared with whoever holds it (docs/memory.md). Adding or removing
 * an entry moves the ones after it: one native copy, no hashing in script.
 */
export class StringIndex {
  readonly #keys: string[] = [];
  #values = new Uint16Array(8);

  get size(): number {
    return this.#keys.length;
  }

  get(key: string): number | undefined {
    const at = this.#search(key);
    return this.#keys[at] === key ? this.#values[at] : undefined;
  }

  has(key: string): boolean {
    return this.#keys[this.#search(key)] === key;
  }

  /** Sets `key` to `value`, an integer from 0 to 65,535 (a RangeError else). */
  set(key: string, value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffff)) throw new RangeError(`value ${value} out of range`);
    const at = this.#search(key);
    if (this.#keys[at] !== key) {
      const n = this.#keys.length;
      if (n === this.#values.length) {
        const grown = new Uint16Array(n + (n >> 1));
        grown.set(this.#values);
        this.#values = grown;
      }
      this.#values.copyWithin(at + 1, at, n);
      this.#keys.splice(at, 0, key);
    }
    this.#values[at] = value;
  }

  delete(key: string): boolean {
    const at = this.#search(key);
    if (this.#keys[at] !== key) return false;
    this.#values.copyWithin(at, at + 1, this.#keys.length);
    this.#keys.splice(at, 1);
    return true;
  }

  /** The first key (in the keys' order) whose number is `value`, or undefined. */
  keyOf(value: number): string | undefined {
    const at = this.#values.indexOf(value);
    return at >= 0 && at < this.#keys.length ? this.#keys[at] : undefined;
  }

  /** The first position whose key is not below `key`. */
  #search(key: string): number {
    let lo = 0, hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
