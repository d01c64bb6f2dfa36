/**
 * Per-module transaction statistics of a bus (ModuleStats, by request address) as rows of numbers
 * in one typed array, not an object per address: the bus master keeps a row for every address it
 * ever asked, discovery's probes of empty addresses included (docs/memory.md).
 */
import { frozen } from "../model/frozen.js";
import type { ModuleStats } from "./types.js";

/** ModuleStats' fields, in the order of a row's columns. */
const FIELDS: ReadonlyArray<keyof ModuleStats> = frozen(["transactions", "ok", "failed", "retries", "timeouts", "errors", "bytesSent", "bytesReceived", "lastResponseMs", "maxResponseMs", "totalResponseMs"]);
const COLUMNS = FIELDS.length;

export class ModuleStatsTable {
  /** Row by address without leading zeros. */
  readonly #rows = new Map<string, number>();
  #cells = new Float64Array(8 * COLUMNS);

  /** The row of `address` (leading zeros ignored), added (all zero) when new. */
  row(address: string): number {
    const key = address.replace(/^0+/, "");
    let row = this.#rows.get(key);
    if (row === undefined) {
      row = this.#rows.size;
      if ((row + 1) * COLUMNS > this.#cells.length) {
        const cells = new Float64Array(this.#cells.length * 2);
        cells.set(this.#cells);
        this.#cells = cells;
      }
      this.#rows.set(key, row);
    }
    return row;
  }

  /** Adds `n` to a field of a row. */
  add(row: number, field: keyof ModuleStats, n = 1): void {
    this.#cells[row * COLUMNS + FIELDS.indexOf(field)]! += n;
  }

  /** A successful attempt's response time, ms: the last, the largest and the sum. */
  response(row: number, ms: number): void {
    const at = row * COLUMNS, c = this.#cells;
    c[at + FIELDS.indexOf("lastResponseMs")] = ms;
    c[at + FIELDS.indexOf("maxResponseMs")] = Math.max(c[at + FIELDS.indexOf("maxResponseMs")]!, ms);
    c[at + FIELDS.indexOf("totalResponseMs")]! += ms;
  }

  /** The statistics of `address` as they are now; undefined when it was never asked. */
  of(address: string): ModuleStats | undefined {
    const row = this.#rows.get(address.replace(/^0+/, ""));
    if (row === undefined) return undefined;
    const out = {} as ModuleStats;
    FIELDS.forEach((f, i) => (out[f] = this.#cells[row * COLUMNS + i]!));
    return out;
  }
}
