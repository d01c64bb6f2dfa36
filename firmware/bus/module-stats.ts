/**
 * Per-module transaction statistics of a bus (ModuleStats, by request address) as rows of numbers
 * in one typed array, not an object per address: the bus master keeps a row for every address it
 * ever asked, discovery's probes of empty addresses included (docs/memory.md). The addresses are a
 * list searched from the last one asked (a Map's entry is 3 slots in XS, an element 16 B of a
 * chunk), and the counters 32-bit (a module's bytes or summed response time take centuries to wrap).
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

export class ModuleStatsTable {
  /** The addresses without leading zeros, by row. */
  readonly #keys: string[] = [];
  /** The row asked last: a transaction asks for its address's row at every step. */
  #last = -1;
  #cells = new Uint32Array(ROWS_STEP * COLUMNS);

  /** The row of `address` (leading zeros ignored), added (all zero) when new. */
  row(address: string): number {
    const key = address.replace(/^0+/, "");
    let row = this.#find(key);
    if (row < 0) {
      row = this.#keys.length;
      if ((row + 1) * COLUMNS > this.#cells.length) {
        // A few rows more, not twice as many: doubling left up to half of a bus's rows unused.
        const cells = new Uint32Array(this.#cells.length + ROWS_STEP * COLUMNS);
        cells.set(this.#cells);
        this.#cells = cells;
      }
      this.#keys.push(key);
    }
    return (this.#last = row);
  }

  #find(key: string): number {
    return this.#keys[this.#last] === key ? this.#last : this.#keys.indexOf(key);
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
    const row = this.#find(address.replace(/^0+/, ""));
    if (row < 0) return undefined;
    const out = {} as ModuleStats;
    FIELDS.forEach((f, i) => (out[f] = this.#cells[row * COLUMNS + i]!));
    return out;
  }
}
