/**
 * Per-module transaction statistics of a bus (ModuleStats, by request address) as rows of numbers
 * in one typed array, not an object per address: the bus master keeps a row for every address it
 * ever asked, discovery's probes of empty addresses included (docs/memory.md). The addresses are one
 * string, each followed by a line feed, and where each starts a Uint32Array: in XS a Map's entry is
 * 3 slots, a list's element 16 B of a chunk plus its string's own chunk, where here an address costs
 * its characters and 5 bytes. The counters are 32-bit (a module's bytes or summed response time take
 * centuries to wrap).
 */
import { frozen } from "../model/frozen.js";
import type { ModuleStats } from "./types.js";

/** ModuleStats' fields, in the order of a row's columns. */
const FIELDS: ReadonlyArray<keyof ModuleStats> = frozen(["transactions", "ok", "failed", "retries", "timeouts", "errors", "bytesSent", "bytesReceived", "lastResponseMs", "maxResponseMs", "totalResponseMs"]);
const COLUMNS = FIELDS.length;
/** Each field's column, looked up once: the bus master updates a row at every step of a transaction. */
const COLUMN: Readonly<Record<keyof ModuleStats, number>> = frozen(Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<keyof ModuleStats, number>);

/** Rows added when the table is full (an address is added rarely: at discovery). */
const ROWS_STEP = 16;
/** Ends each key in the keys' string: a D0 address has none (§6.3.14: letters, digits, space). */
const END = "\n";

/** An address's key: without leading zeros, and no END in it (never in a D0 address: it would make a key match across two others). */
function keyOf(address: string): string {
  const key = address.replace(/^0+/, "");
  return key.includes(END) ? key.split(END).join("\r") : key;
}

export class ModuleStatsTable {
  /** The addresses without leading zeros, each followed by END, in row order. */
  #keys = END;
  /** Where each row's key starts in `#keys` (increasing: rows are only added). */
  #starts = new Uint32Array(ROWS_STEP);
  #rows = 0;
  #cells = new Uint32Array(ROWS_STEP * COLUMNS);

  /** The row of `address` (leading zeros ignored), added (all zero) when new. */
  row(address: string): number {
    const key = keyOf(address);
    let row = this.find(key);
    if (row < 0) {
      row = this.#rows;
      const start = this.#keys.length;
      if (row === this.#starts.length) {
        // A few rows more, not twice as many: doubling left up to half of a bus's rows unused.
        const cells = new Uint32Array(this.#cells.length + ROWS_STEP * COLUMNS);
        cells.set(this.#cells);
        this.#cells = cells;
        const starts = new Uint32Array(row + ROWS_STEP);
        starts.set(this.#starts);
        this.#starts = starts;
      }
      this.#starts[row] = start;
      this.#keys += key + END;
      this.#rows = row + 1;
    }
    return row;
  }

  private find(key: string): number {
    const at = this.#keys.indexOf(END + key + END);
    if (at < 0) return -1;
    // The row whose key starts at at + 1: a binary search of the starts.
    const starts = this.#starts;
    let lo = 0, hi = this.#rows - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at + 1) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Adds `n` to a field of a row. */
  add(row: number, field: keyof ModuleStats, n = 1): void {
    this.#cells[row * COLUMNS + COLUMN[field]]! += n;
  }

  /** A successful attempt's response time, ms: the last, the largest and the sum. */
  response(row: number, ms: number): void {
    const at = row * COLUMNS, c = this.#cells;
    c[at + COLUMN.lastResponseMs] = ms;
    c[at + COLUMN.maxResponseMs] = Math.max(c[at + COLUMN.maxResponseMs]!, ms);
    c[at + COLUMN.totalResponseMs]! += ms;
  }

  /** The statistics of `address` as they are now; undefined when it was never asked. */
  of(address: string): ModuleStats | undefined {
    const row = this.find(keyOf(address));
    if (row < 0) return undefined;
    const out = {} as ModuleStats;
    FIELDS.forEach((f, i) => (out[f] = this.#cells[row * COLUMNS + i]!));
    return out;
  }
}
