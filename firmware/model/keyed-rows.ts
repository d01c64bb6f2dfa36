/**
 * A table of numeric rows keyed by a number, in two typed arrays: per-module, per-meter and
 * per-register state without an object (and a Map entry) per key. On the device an object costs a
 * slot plus one per property (16 B each) and a Map entry two more; here a row costs 8 B a column,
 * 8 B for its key and 8 to 16 B of index, in chunks that grow by doubling (docs/memory.md).
 *
 * Keys are integers from 0 to 2^53 (a meter number and a register code together fit). The rows are
 * dense, in the order they were added, and double when full; an index of row numbers (open
 * addressing, linear probing, at most half full) finds a key's row.
 */
const EMPTY = -1;

export class KeyedRows {
  readonly #columns: number;
  readonly #maxRows: number;
  /** The rows, in the order they were added: their keys and their cells (`#columns` a row). */
  #keys: Float64Array;
  #cells: Float64Array;
  #size = 0;
  /** Open addressing over the rows: a row number or EMPTY, at most half full. */
  #index: Int32Array;

  /** Rows of `columns` numbers each, at most `maxRows` of them (`insert` returns -1 beyond). */
  constructor(columns: number, maxRows = Number.POSITIVE_INFINITY, initialRows = 8) {
    this.#columns = columns;
    this.#maxRows = maxRows;
    this.#keys = new Float64Array(initialRows);
    this.#cells = new Float64Array(initialRows * columns);
    this.#index = new Int32Array(initialRows * 2).fill(EMPTY);
  }

  get size(): number {
    return this.#size;
  }

  /** The row of `key`, or -1. */
  find(key: number): number {
    const index = this.#index, mask = index.length - 1;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const row = index[i]!;
      if (row === EMPTY || this.#keys[row] === key) return row;
    }
  }

  /** The row of `key`, added with `initial` in every column when absent; -1 when the table is full. */
  insert(key: number, initial = 0): number {
    const found = this.find(key);
    if (found !== -1) return found;
    if (this.#size >= this.#maxRows) return -1;
    const row = this.#size++;
    if (row === this.#keys.length) this.#growRows();
    this.#keys[row] = key;
    this.#cells.fill(initial, row * this.#columns, (row + 1) * this.#columns);
    if (this.#size * 2 > this.#index.length) this.#reindex(this.#index.length * 2);
    else this.#place(row);
    return row;
  }

  get(row: number, column: number): number {
    return this.#cells[row * this.#columns + column]!;
  }

  set(row: number, column: number, value: number): void {
    this.#cells[row * this.#columns + column] = value;
  }

  /** Removes every row whose key `drop` selects; the others keep their order but may change row (for rare removals). */
  removeWhere(drop: (key: number) => boolean): void {
    const cols = this.#columns;
    let kept = 0;
    for (let row = 0; row < this.#size; row++) {
      if (drop(this.#keys[row]!)) continue;
      this.#keys[kept] = this.#keys[row]!;
      this.#cells.copyWithin(kept * cols, row * cols, (row + 1) * cols);
      kept++;
    }
    this.#size = kept;
    this.#reindex(this.#index.length);
  }

  #growRows(): void {
    const keys = new Float64Array(this.#keys.length * 2), cells = new Float64Array(keys.length * this.#columns);
    keys.set(this.#keys);
    cells.set(this.#cells);
    this.#keys = keys;
    this.#cells = cells;
  }

  #reindex(capacity: number): void {
    this.#index = new Int32Array(capacity).fill(EMPTY);
    for (let row = 0; row < this.#size; row++) this.#place(row);
  }

  #place(row: number): void {
    const index = this.#index, mask = index.length - 1;
    let i = hash(this.#keys[row]!) & mask;
    while (index[i] !== EMPTY) i = (i + 1) & mask;
    index[i] = row;
  }
}

/** Spreads integer keys (consecutive numbers, a number times 2^24 plus a code) over the table. */
function hash(key: number): number {
  const lo = key >>> 0, hi = (key / 4_294_967_296) >>> 0;
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 7;
}
