/**
 * A table of numeric rows keyed by a module or meter number (0 to 65,535: both are 16-bit in the
 * store, app/persistence.ts) and an optional second number (one of a meter's registers):
 * per-module, per-meter and per-register state without an object per key. On the device an object
 * costs a slot plus one per property (16 B each) and its Map entry 3 more; here a key costs 4 B (its
 * first row) and a row 8 B a column plus 8 B (its second key, a 32-bit integer, and the link to the
 * next row of the same key), in typed arrays that grow by half when full (doubling left up to half
 * of a large table's bytes unused), with no slot at all (docs/memory.md).
 *
 * Nothing is ever rehashed in script: the key indexes its first row, the rows of one key are a
 * chain (a few registers of a meter), and growing is one native copy. Rebuilding a hash index of a
 * thousand rows in script took 600,000 XS units in one turn, four times the turn limit; a Map from a
 * key to its row cost 3,000 slots over the site's tables.
 */
import { withRoom } from "./grow.js";

const NONE = -1;
/** Keys are below this (16-bit numbers). */
export const KEY_LIMIT = 0x1_0000;

export class KeyedRows {
  readonly #columns: number;
  readonly #maxRows: number;
  /** The first row of each key (NONE), indexed by the key. */
  #first: Int32Array;
  /** Per row, in the order the rows were added: its second key and the next row of its key (NONE). */
  #subs: Int32Array;
  #next: Int32Array;
  #cells: Float64Array;
  #size = 0;

  /** Rows of `columns` numbers each, at most `maxRows` of them (`insert` returns -1 beyond). */
  constructor(columns: number, maxRows = Number.POSITIVE_INFINITY, initialRows = 8) {
    this.#columns = columns;
    this.#maxRows = maxRows;
    this.#first = new Int32Array(initialRows).fill(NONE);
    this.#subs = new Int32Array(initialRows);
    this.#next = new Int32Array(initialRows);
    this.#cells = new Float64Array(initialRows * columns);
  }

  get size(): number {
    return this.#size;
  }

  /** The row of (`key`, `sub`), or -1. */
  find(key: number, sub = 0): number {
    // A key that is not an index (negative, fractional, too large) reads undefined: no row.
    let row = this.#first[key] ?? NONE;
    while (row !== NONE && this.#subs[row] !== sub) row = this.#next[row]!;
    return row;
  }

  /**
   * The row of (`key`, `sub`), added with `initial` in every column when absent; -1 when the table
   * is full. A key that is not an integer from 0 to KEY_LIMIT - 1, or a second key that is not a
   * 32-bit integer, is a RangeError.
   */
  insert(key: number, sub = 0, initial = 0): number {
    if (!(Number.isInteger(key) && key >= 0 && key < KEY_LIMIT)) throw new RangeError(`key ${key} out of range`);
    if ((sub | 0) !== sub) throw new RangeError(`second key ${sub} out of range`);
    const found = this.find(key, sub);
    if (found !== NONE) return found;
    if (this.#size >= this.#maxRows) return NONE;
    const row = this.#size++;
    if (row === this.#subs.length) this.#growRows();
    this.#first = withRoom(this.#first, key, NONE);
    this.#subs[row] = sub;
    this.#next[row] = this.#first[key]!;
    this.#first[key] = row;
    this.#cells.fill(initial, row * this.#columns, (row + 1) * this.#columns);
    return row;
  }

  get(row: number, column: number): number {
    return this.#cells[row * this.#columns + column]!;
  }

  set(row: number, column: number, value: number): void {
    this.#cells[row * this.#columns + column] = value;
  }

  /** Removes every row of `key` (the rows after them move down: for rare removals). */
  remove(key: number): void {
    if (!(key >= 0 && key < this.#first.length) || this.#first[key] === NONE) return;
    // Each row's key, from the chains of the keys that stay; then the rows kept, in order, relinked.
    this.#first[key] = NONE;
    const keyOf = new Int32Array(this.#size).fill(NONE);
    for (let k = 0; k < this.#first.length; k++) for (let row = this.#first[k]!; row !== NONE; row = this.#next[row]!) keyOf[row] = k;
    this.#first.fill(NONE);
    const cols = this.#columns;
    let kept = 0;
    for (let row = 0; row < this.#size; row++) {
      const k = keyOf[row]!;
      if (k === NONE) continue;
      this.#subs[kept] = this.#subs[row]!;
      this.#cells.copyWithin(kept * cols, row * cols, (row + 1) * cols);
      this.#next[kept] = this.#first[k]!;
      this.#first[k] = kept;
      kept++;
    }
    this.#size = kept;
  }

  #growRows(): void {
    const n = Math.min(Math.max(this.#subs.length + (this.#subs.length >> 1), 8), this.#maxRows);
    this.#subs = grown(new Int32Array(n), this.#subs);
    this.#next = grown(new Int32Array(n), this.#next);
    this.#cells = grown(new Float64Array(n * this.#columns), this.#cells);
  }
}

function grown<T extends Float64Array | Int32Array>(to: T, from: T): T {
  to.set(from);
  return to;
}
