/**
 * A table of numeric rows keyed by a module or meter number (0 to 65,535: both are 16-bit in the
 * store, app/persistence.ts) and an optional second number (0 to 65,535: one of a meter's registers, as its user numbers them):
 * per-module, per-meter and per-register state without an object per key. On the device an object
 * costs a slot plus one per property (16 B each) and its Map entry 3 more; here a key costs 2 B (its
 * first row) and a row the bytes of its columns plus 4 B (its second key, a 16-bit integer, and the
 * link to the next row of the same key; neither is kept before a second key other than 0 is used),
 * in typed arrays that grow by a quarter when full, with no slot at all (docs/memory.md).
 *
 * Each column has a type (`ColumnKind`): a time in seconds fits a Uint32, a flag a Uint8, and only a
 * value that may be fractional, NaN or beyond 32 bits needs a Float64 (8 B). A value a column cannot
 * hold exactly is a RangeError, never wrapped or rounded. `new KeyedRows(n)` is n Float64 columns.
 *
 * Nothing is ever rehashed in script: the key indexes its first row, the rows of one key are a
 * chain (a few registers of a meter), and growing is one native copy. Rebuilding a hash index of a
 * thousand rows in script took 600,000 XS units in one turn, four times the turn limit; a Map from a
 * key to its row cost 3,000 slots over the site's tables.
 */
import { frozen } from "./frozen.js";
import { withRoom } from "./grow.js";

/** Keys and second keys are below this (16-bit numbers). */
export const KEY_LIMIT = 0x1_0000;
/** Rows are numbered in 16 bits: at most this many (65,535 rows would be over 400 KB, beyond the device). */
export const ROW_LIMIT = 0xffff;
/** No row, in the 16-bit index arrays (returned as -1). */
const NONE = 0xffff;

/** What a column holds: a float of 64 bits, or a signed (i) or unsigned (u) integer of 8, 16 or 32 bits. */
export type ColumnKind = "f64" | "i32" | "u32" | "i16" | "u16" | "i8" | "u8";
type Cells = Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** Per kind, in this order: its name, the least and greatest value it holds. */
const KINDS = frozen(["f64", "i32", "u32", "i16", "u16", "i8", "u8"] as const);
const LOW = frozen([Number.NEGATIVE_INFINITY, -0x8000_0000, 0, -0x8000, 0, -0x80, 0]);
const HIGH = frozen([Number.POSITIVE_INFINITY, 0x7fff_ffff, 0xffff_ffff, 0x7fff, 0xffff, 0x7f, 0xff]);

function cells(kind: number, n: number): Cells {
  switch (kind) {
    case 0: return new Float64Array(n);
    case 1: return new Int32Array(n);
    case 2: return new Uint32Array(n);
    case 3: return new Int16Array(n);
    case 4: return new Uint16Array(n);
    case 5: return new Int8Array(n);
    default: return new Uint8Array(n);
  }
}

function grown<T extends Cells>(to: T, from: T): T {
  to.set(from);
  return to;
}

/** The columns of group `g` in `layout` (of a table of `columns` columns). */
function width(layout: Uint8Array, columns: number, g: number): number {
  return layout[2 * columns + 2 * g + 1]!;
}

/**
 * The table. Its helpers are static (or module functions), not instance methods: in XS each private
 * method costs every instance a slot.
 */
export class KeyedRows {
  readonly #maxRows: number;
  /**
   * Where the columns are: the columns of one kind are side by side in one typed array (`#cells`, a
   * group per kind used, in the order first used). Per column its group then its place in the group's
   * row; then per group its kind and its width (columns).
   */
  readonly #layout: Uint8Array;
  readonly #columns: number;
  readonly #cells: Cells[] = [];
  /** The first row of each key (NONE), indexed by the key. */
  #first: Uint16Array;
  /** Per row, in the order the rows were added: its second key and the next row of its key (NONE); absent while every second key is 0. */
  #subs: Uint16Array | undefined;
  #next: Uint16Array | undefined;
  #capacity: number;
  #size = 0;

  /**
   * Rows of `columns` (a count of Float64 columns, or each column's kind), at most `maxRows` of them
   * (`insert` returns -1 beyond; never more than ROW_LIMIT).
   */
  constructor(columns: number | readonly ColumnKind[], maxRows = ROW_LIMIT, initialRows = 8) {
    const kinds = typeof columns === "number" ? null : columns;
    const n = kinds ? kinds.length : columns as number;
    const groupKinds: number[] = [];
    const layout = new Uint8Array(2 * n + 2 * KINDS.length);
    for (let c = 0; c < n; c++) {
      const kind = kinds ? KINDS.indexOf(kinds[c]!) : 0;
      if (kind < 0) throw new RangeError(`column ${c}: no kind ${String(kinds![c])}`);
      let g = groupKinds.indexOf(kind);
      if (g < 0) g = groupKinds.push(kind) - 1;
      layout[2 * c] = g;
      layout[2 * c + 1] = layout[2 * n + 2 * g + 1]!++;
      layout[2 * n + 2 * g] = kind;
    }
    this.#columns = n;
    this.#layout = layout;
    this.#maxRows = Math.min(maxRows, ROW_LIMIT);
    this.#capacity = Math.min(Math.max(initialRows, 1), this.#maxRows);
    for (let g = 0; g < groupKinds.length; g++) this.#cells.push(cells(groupKinds[g]!, this.#capacity * width(layout, n, g)));
    this.#first = new Uint16Array(8).fill(NONE);
  }

  get size(): number {
    return this.#size;
  }

  /** The row of (`key`, `sub`), or -1. */
  find(key: number, sub = 0): number {
    // A key that is not an index (negative, fractional, too large) reads undefined: no row.
    let row = this.#first[key] ?? NONE;
    const subs = this.#subs;
    if (!subs) return row !== NONE && sub === 0 ? row : -1;
    const next = this.#next!;
    while (row !== NONE && subs[row] !== sub) row = next[row]!;
    return row === NONE ? -1 : row;
  }

  /**
   * The row of (`key`, `sub`), added with `initial` in every column when absent; -1 when the table
   * is full. A key or a second key that is not an integer from 0 to KEY_LIMIT - 1, or an `initial`
   * a column cannot hold, is a RangeError.
   */
  insert(key: number, sub = 0, initial = 0): number {
    checkKeys(key, sub);
    const found = this.find(key, sub);
    return found !== -1 ? found : KeyedRows.#add(this, key, sub, initial);
  }

  /**
   * Adds the row of (`key`, `sub`), which the caller has just found absent (`find` returned -1: one
   * walk of the key's rows, not two), with `initial` in every column; -1 when the table is full.
   * Errors as `insert`.
   */
  add(key: number, sub = 0, initial = 0): number {
    checkKeys(key, sub);
    return KeyedRows.#add(this, key, sub, initial);
  }

  get(row: number, column: number): number {
    const l = this.#layout, g = l[2 * column]!;
    return this.#cells[g]![row * l[2 * this.#columns + 2 * g + 1]! + l[2 * column + 1]!]!;
  }

  /** Sets a cell; a value its column cannot hold exactly (out of range, fractional or NaN in an integer column) is a RangeError. */
  set(row: number, column: number, value: number): void {
    const l = this.#layout, g = l[2 * column]!, at = 2 * this.#columns + 2 * g;
    const kind = l[at]!;
    if (kind !== 0 && !(Number.isInteger(value) && value >= LOW[kind]! && value <= HIGH[kind]!)) throw new RangeError(`column ${column} (${KINDS[kind]}) cannot hold ${value}`);
    this.#cells[g]![row * l[at + 1]! + l[2 * column + 1]!] = value;
  }

  /** Removes every row of `key` (the rows after them move down: for rare removals). */
  remove(key: number): void {
    if (!(key >= 0 && key < this.#first.length) || this.#first[key] === NONE) return;
    // Each row's key, from the chains of the keys that stay; then the rows kept, in order, relinked.
    this.#first[key] = NONE;
    const keyOf = new Int32Array(this.#size).fill(-1);
    const next = this.#next, subs = this.#subs;
    for (let k = 0; k < this.#first.length; k++) for (let row = this.#first[k]!; row !== NONE; row = next ? next[row]! : NONE) keyOf[row] = k;
    this.#first.fill(NONE);
    let kept = 0;
    for (let row = 0; row < this.#size; row++) {
      const k = keyOf[row]!;
      if (k === -1) continue;
      for (let g = 0; g < this.#cells.length; g++) {
        const w = width(this.#layout, this.#columns, g);
        this.#cells[g]!.copyWithin(kept * w, row * w, (row + 1) * w);
      }
      if (subs) subs[kept] = subs[row]!;
      if (next) next[kept] = this.#first[k]!;
      this.#first[k] = kept;
      kept++;
    }
    this.#size = kept;
  }

  static #add(t: KeyedRows, key: number, sub: number, initial: number): number {
    if (t.#size >= t.#maxRows) return -1;
    const layout = t.#layout, columns = t.#columns, groups = t.#cells;
    if (initial !== 0) for (let g = 0; g < groups.length; g++) {
      const kind = layout[2 * columns + 2 * g]!;
      if (kind !== 0 && !(Number.isInteger(initial) && initial >= LOW[kind]! && initial <= HIGH[kind]!)) throw new RangeError(`a ${KINDS[kind]} column cannot hold ${initial}`);
    }
    if (sub !== 0 && !t.#subs) {
      // The first second key other than 0: every row so far is the only one of its key (second key 0).
      t.#subs = new Uint16Array(t.#capacity);
      t.#next = new Uint16Array(t.#capacity).fill(NONE);
    }
    const row = t.#size;
    if (row === t.#capacity) KeyedRows.#growRows(t);
    t.#first = withRoom(t.#first, key, NONE);
    t.#size++;
    if (t.#subs) {
      t.#subs[row] = sub;
      t.#next![row] = t.#first[key]!;
    }
    t.#first[key] = row;
    for (let g = 0; g < groups.length; g++) {
      const w = width(layout, columns, g);
      groups[g]!.fill(initial, row * w, (row + 1) * w);
    }
    return row;
  }

  static #growRows(t: KeyedRows): void {
    // A quarter more: a large table's unused rows (and the old copy alive while it grows) stay small.
    const n = Math.min(t.#capacity + Math.max(t.#capacity >> 2, 8), t.#maxRows);
    t.#capacity = n;
    const layout = t.#layout, columns = t.#columns;
    for (let g = 0; g < t.#cells.length; g++) t.#cells[g] = grown(cells(layout[2 * columns + 2 * g]!, n * width(layout, columns, g)), t.#cells[g]!);
    if (t.#subs) {
      t.#subs = grown(new Uint16Array(n), t.#subs);
      t.#next = grown(new Uint16Array(n), t.#next!);
    }
  }
}

function checkKeys(key: number, sub: number): void {
  if (!(Number.isInteger(key) && key >= 0 && key < KEY_LIMIT)) throw new RangeError(`key ${key} out of range`);
  if (!(Number.isInteger(sub) && sub >= 0 && sub < KEY_LIMIT)) throw new RangeError(`second key ${sub} out of range`);
}
