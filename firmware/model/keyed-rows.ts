/**
 * A table of numeric rows keyed by a number and an optional second number (a meter and one of its
 * registers): per-module, per-meter and per-register state without an object per key. On the device
 * an object costs a slot plus one per property (16 B each) and its Map entry more; here a key costs a
 * Map entry (its first row) and a row costs 8 B a column plus 12 B (its second key and the link to
 * the next row of the same key), in typed arrays that double when full (docs/memory.md).
 *
 * Nothing is ever rehashed in script: the Map finds a key's first row, the rows of one key are a
 * chain (a few registers of a meter), and growing the rows is one native copy. Rebuilding an index of
 * a thousand rows in script took 600,000 XS units in one turn, four times the turn limit.
 */
const NONE = -1;

export class KeyedRows {
  readonly #columns: number;
  readonly #maxRows: number;
  /** The first row of each key. */
  readonly #first = new Map<number, number>();
  /** Per row, in the order the rows were added: its second key and the next row of its key (NONE). */
  #subs: Float64Array;
  #next: Int32Array;
  #cells: Float64Array;
  #size = 0;

  /** Rows of `columns` numbers each, at most `maxRows` of them (`insert` returns -1 beyond). */
  constructor(columns: number, maxRows = Number.POSITIVE_INFINITY, initialRows = 8) {
    this.#columns = columns;
    this.#maxRows = maxRows;
    this.#subs = new Float64Array(initialRows);
    this.#next = new Int32Array(initialRows);
    this.#cells = new Float64Array(initialRows * columns);
  }

  get size(): number {
    return this.#size;
  }

  /** The row of (`key`, `sub`), or -1. */
  find(key: number, sub = 0): number {
    let row = this.#first.get(key) ?? NONE;
    while (row !== NONE && this.#subs[row] !== sub) row = this.#next[row]!;
    return row;
  }

  /** The row of (`key`, `sub`), added with `initial` in every column when absent; -1 when the table is full. */
  insert(key: number, sub = 0, initial = 0): number {
    const found = this.find(key, sub);
    if (found !== NONE) return found;
    if (this.#size >= this.#maxRows) return NONE;
    const row = this.#size++;
    if (row === this.#subs.length) this.#grow();
    this.#subs[row] = sub;
    this.#next[row] = this.#first.get(key) ?? NONE;
    this.#first.set(key, row);
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
    if (!this.#first.has(key)) return;
    this.#first.delete(key);
    // Each row's key, from the chains of the keys that stay; then the rows kept, in order, relinked.
    const keyOf = new Map<number, number>();
    for (const [k, first] of this.#first) for (let row = first; row !== NONE; row = this.#next[row]!) keyOf.set(row, k);
    const cols = this.#columns;
    let kept = 0;
    this.#first.clear();
    for (let row = 0; row < this.#size; row++) {
      const k = keyOf.get(row);
      if (k === undefined) continue;
      this.#subs[kept] = this.#subs[row]!;
      this.#cells.copyWithin(kept * cols, row * cols, (row + 1) * cols);
      this.#next[kept] = this.#first.get(k) ?? NONE;
      this.#first.set(k, kept);
      kept++;
    }
    this.#size = kept;
  }

  #grow(): void {
    const n = this.#subs.length * 2;
    this.#subs = grown(new Float64Array(n), this.#subs);
    this.#next = grown(new Int32Array(n), this.#next);
    this.#cells = grown(new Float64Array(n * this.#columns), this.#cells);
  }
}

function grown<T extends Float64Array | Int32Array>(to: T, from: T): T {
  to.set(from);
  return to;
}
