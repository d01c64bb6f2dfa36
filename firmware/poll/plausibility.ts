/**
 * Plausibility of acquired values, so that a corrupted value is flagged and never becomes the basis of
 * later checks ("counters monotonic, bounded deltas"). A mode D readout has no block check (docs/d0.md):
 * a dropped character inside a value passes parity and structure, so the checks also watch the width
 * of each register's text, which a real register keeps.
 *
 * Per (meter, register) of an energy register (the only ones judged against their past) it keeps the
 * last accepted value, its time and its width: a bounded table of rows (model/keyed-rows.ts), not an
 * object per register (docs/memory.md).
 */
import { Quantity, ReadingStatus, type Reading } from "../model/records.js";
import { quantityOf } from "../d0/readings.js";
import { frozen } from "../model/frozen.js";
import { KeyedRows, ROW_LIMIT, type ColumnKind } from "../model/keyed-rows.js";

export interface PlausibilityLimits {
  /** Largest credible average power of one meter, W (a 3 × 100 A service at 230 V ≈ 69 kW). */
  maxPowerW: number;
  /** Voltage band of a plausible measurement, 0.1 V (not the supply-quality band). */
  voltageDeciV: [min: number, max: number];
  /** Largest plausible current, mA. */
  maxCurrentMilliA: number;
  /** Plausible frequency band, mHz. */
  frequencyMilliHz: [min: number, max: number];
}

export const DEFAULT_LIMITS: PlausibilityLimits = frozen({
  maxPowerW: 70_000,
  voltageDeciV: [0, 3000],
  maxCurrentMilliA: 200_000,
  frequencyMilliHz: [45_000, 65_000],
});

export type Verdict = "ok" | "backwards" | "jump" | "width" | "range";

/**
 * The columns of a register's history row: the value, its time (s since 1970, an integer: 32 bits
 * last to 2106) and its text's width (a D0 value is at most 128 characters). A counter's value is a
 * whole number of Wh or varh below 2^32 (4.2 GWh) as meters send them: 4 B, not 8; any other value
 * (a fraction, a larger one) is WIDE there and kept whole in a table of its own.
 */
const VALUE = 0, TIME_S = 1, WIDTH = 2;
const HISTORY_COLUMNS = frozen<ColumnKind[]>(["u32", "u32", "u8"]);
const WIDE = 0xffff_ffff;
/** Whether a register's value is judged against its last accepted one (a counter). */
function isCounter(q: Quantity | undefined): boolean {
  return q === Quantity.energyWh || q === Quantity.reactiveVarh;
}
/**
 * A counter's second key in the history (16 bits, model/keyed-rows.ts): its OBIS C and E. A counter's
 * D is 8 (d0/readings.ts, `quantityOf`), so C and E tell the counters of a meter apart.
 */
function counterKey(register: number): number {
  return ((register >> 8) & 0xff00) | (register & 0xff);
}

export class PlausibilityChecker {
  readonly #limits: PlausibilityLimits;
  readonly #last: KeyedRows;
  /** The values that are WIDE in `#last`, keyed as their rows there (made when the first one comes). */
  #wide: KeyedRows | undefined;

  constructor(limits: Partial<PlausibilityLimits> = {}, maxEntries = 16_384) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
    this.#last = new KeyedRows(HISTORY_COLUMNS, maxEntries);
  }

  /**
   * Judges one reading (`text` is the value as sent, for the width check). An implausible reading gets
   * ReadingStatus.implausible and does not replace the accepted history.
   */
  check(reading: Reading, text: string): Verdict {
    const q = quantityOf((reading.register >> 16) & 0xff, (reading.register >> 8) & 0xff);
    // A counter's history row, looked up once for the judgement and the update.
    const key = counterKey(reading.register);
    let row = isCounter(q) ? this.#last.find(reading.meter, key) : -1;
    const verdict = this.#judge(reading, text, q, row);
    if (verdict !== "ok") {
      reading.status |= ReadingStatus.implausible;
      return verdict;
    }
    if (!isCounter(q)) return verdict;
    if (row === -1) row = this.#last.add(reading.meter, key);
    if (row === -1) return verdict; // Full: this register is judged without history.
    const v = reading.value;
    if (Number.isInteger(v) && v >= 0 && v < WIDE) this.#last.set(row, VALUE, v);
    else {
      // At most one row per row of `#last`: never full when `#last` is not.
      const wide = (this.#wide ??= new KeyedRows(1, ROW_LIMIT));
      wide.set(wide.insert(reading.meter, key), 0, v);
      this.#last.set(row, VALUE, WIDE);
    }
    this.#last.set(row, TIME_S, reading.time);
    this.#last.set(row, WIDTH, text.length);
    return verdict;
  }

  /** Forgets a meter's history (its meter was replaced or reset: the next value starts afresh). */
  forgetMeter(meter: number): void {
    this.#last.remove(meter);
    this.#wide?.remove(meter);
  }

  /** The verdict on `r` of quantity `q`, against its history `row` (-1 none) for a counter. */
  #judge(r: Reading, text: string, q: Quantity | undefined, row: number): Verdict {
    const L = this.#limits;
    switch (q) {
      case Quantity.voltageDeciV:
        return r.value >= L.voltageDeciV[0] && r.value <= L.voltageDeciV[1] ? "ok" : "range";
      case Quantity.currentMilliA:
        return Math.abs(r.value) <= L.maxCurrentMilliA ? "ok" : "range";
      case Quantity.frequencyMilliHz:
        return r.value >= L.frequencyMilliHz[0] && r.value <= L.frequencyMilliHz[1] ? "ok" : "range";
      case Quantity.powerW:
        return Math.abs(r.value) <= L.maxPowerW ? "ok" : "range";
      case Quantity.energyWh:
      case Quantity.reactiveVarh: {
        if (r.value < 0) return "range";
        if (row === -1) return "ok";
        const value = this.#valueAt(row, r);
        if (text.length !== this.#last.get(row, WIDTH)) return "width";
        if (r.value < value) return "backwards";
        const hours = Math.max(r.time - this.#last.get(row, TIME_S), 1) / 3600;
        // An energy register may grow by at most the largest credible power over the elapsed time (+1 count).
        return r.value - value <= L.maxPowerW * hours + 1 ? "ok" : "jump";
      }
      default:
        return "ok";
    }
  }

  /** The last accepted value of history row `row` (of `r`'s meter and register). */
  #valueAt(row: number, r: Reading): number {
    const value = this.#last.get(row, VALUE);
    if (value !== WIDE) return value;
    const wide = this.#wide!;
    return wide.get(wide.find(r.meter, counterKey(r.register)), 0);
  }
}
