/**
 * What the integration remembers of each DLMS meter between reads (RAM only): the clock deviation of
 * its last read, its profile and log headers (packed-header.ts: a routine read asks only for the
 * buffers), the limiter settings last written, and whether a disconnect sync or a limiter write is
 * queued. A row per meter, in the order the meters come, in typed arrays; a meter's headers together
 * in one Int32Array. As an object per meter with a Map of headers it was some 40 slots a meter (an
 * object, a Map and its entries, a typed array per header; docs/memory.md); here it is a share of a
 * few arrays and one typed array (7 slots) per meter.
 *
 * A meter's headers array: per header its logical name in two numbers (bytes 0-3, 4-5), the packed
 * header's length, then the packed header.
 */
import { withRoom } from "../../model/grow.js";
import type { LogicalName } from "../cosem/obis.js";

/** Flags of a row. */
const SYNCING = 1;
const LIMITING = 2;
/** A header's entry before its packed numbers: the logical name (2) and the length (1). */
const ENTRY_HEAD = 3;

export class MeterMemory {
  /** Per row: the meter's id (persistence.ts `meterId`), its deviation (minutes), its flags. */
  #ids = new Int32Array(0);
  #deviation = new Int32Array(0);
  #flags = new Uint8Array(0);
  /** Per row: every header, packed, or undefined; the limiter settings last written, as text (undefined: not since boot). */
  readonly #headers: Array<Int32Array | undefined> = [];
  readonly #limiter: Array<string | undefined> = [];
  #size = 0;

  /** The row of meter `id`, added (deviation 0, nothing known) when absent. */
  row(id: number): number {
    for (let r = 0; r < this.#size; r++) if (this.#ids[r] === id) return r;
    const r = this.#size++;
    this.#ids = withRoom(this.#ids, r);
    this.#deviation = withRoom(this.#deviation, r);
    this.#flags = withRoom(this.#flags, r);
    this.#ids[r] = id;
    this.#headers.push(undefined);
    this.#limiter.push(undefined);
    return r;
  }

  deviation(row: number): number {
    return this.#deviation[row]!;
  }

  setDeviation(row: number, minutes: number): void {
    this.#deviation[row] = minutes;
  }

  /** The packed header of profile `ln` read before, or undefined. */
  header(row: number, ln: LogicalName): Int32Array | undefined {
    const all = this.#headers[row];
    const at = all && find(all, ln);
    return at === undefined || at < 0 ? undefined : all!.subarray(at + ENTRY_HEAD, at + ENTRY_HEAD + all![at + 2]!);
  }

  /** Keeps `packed` as profile `ln`'s header (in place of the one kept before). */
  setHeader(row: number, ln: LogicalName, packed: Int32Array): void {
    const old = this.#headers[row] ?? new Int32Array(0);
    const at = find(old, ln);
    const keep = at < 0 ? old : concat(old.subarray(0, at), old.subarray(at + ENTRY_HEAD + old[at + 2]!));
    const all = new Int32Array(keep.length + ENTRY_HEAD + packed.length);
    all.set(keep);
    const [hi, lo] = lnNumbers(ln);
    all[keep.length] = hi;
    all[keep.length + 1] = lo;
    all[keep.length + 2] = packed.length;
    all.set(packed, keep.length + ENTRY_HEAD);
    this.#headers[row] = all;
  }

  limiter(row: number): string | undefined {
    return this.#limiter[row];
  }

  setLimiter(row: number, text: string): void {
    this.#limiter[row] = text;
  }

  syncing(row: number): boolean {
    return (this.#flags[row]! & SYNCING) !== 0;
  }

  setSyncing(row: number, on: boolean): void {
    this.setFlag(row, SYNCING, on);
  }

  limiting(row: number): boolean {
    return (this.#flags[row]! & LIMITING) !== 0;
  }

  setLimiting(row: number, on: boolean): void {
    this.setFlag(row, LIMITING, on);
  }

  private setFlag(row: number, flag: number, on: boolean): void {
    this.#flags[row] = on ? this.#flags[row]! | flag : this.#flags[row]! & ~flag;
  }
}

function lnNumbers(ln: LogicalName): [number, number] {
  return [(ln[0]! << 24) | (ln[1]! << 16) | (ln[2]! << 8) | ln[3]!, (ln[4]! << 8) | ln[5]!];
}

/** Where `ln`'s entry starts in a meter's headers, or -1. */
function find(all: Int32Array, ln: LogicalName): number {
  const [hi, lo] = lnNumbers(ln);
  for (let at = 0; at + ENTRY_HEAD <= all.length; at += ENTRY_HEAD + all[at + 2]!) if (all[at] === hi && all[at + 1] === lo) return at;
  return -1;
}

function concat(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
