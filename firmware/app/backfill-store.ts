/**
 * The profile catch-up's holdings on the state journal (StateLayout.backfill): keys 0-1 the last slot
 * accounted and 2-3 the commissioning slot (high-water marks), then one record per meter, written
 * whenever its missing slots change: meter (u16), newest slot of its window (u32), the missing bits.
 * A cut leaves each record exactly old or new; an old one only means a slot is fetched again or
 * accounted again, never that one is forgotten (firmware/poll/backfill/holdings.ts).
 */
import { HighWaterMark } from "../store/counter.js";
import { StoreFullError } from "../store/errors.js";
import { ByteReader, ByteWriter } from "../store/bytes.js";
import type { StateJournal } from "../store/state-journal.js";
import { StateLayout } from "../store/state-layout.js";
import { HOLDINGS_ROW_BYTES, type HoldingsStore } from "../poll/backfill/holdings.js";
import { SlotTable } from "./slot-table.js";

const MARK_KEYS = 4;
const RECORD_BYTES = 2 + 4 + HOLDINGS_ROW_BYTES;

export class BackfillStore implements HoldingsStore {
  readonly #accounted: HighWaterMark;
  readonly #commissioned: HighWaterMark;
  readonly #rows: Array<{ meter: number; top: number; bits: Uint8Array }> = [];
  readonly #table: SlotTable<{ meter: number; top: number; bits: Uint8Array }>;

  constructor(journal: StateJournal) {
    const r = StateLayout.backfill;
    this.#accounted = new HighWaterMark(journal, r.base);
    this.#commissioned = new HighWaterMark(journal, r.base + 2);
    this.#table = new SlotTable(
      journal,
      r.base + MARK_KEYS,
      r.count - MARK_KEYS,
      (bytes) => {
        if (bytes.length !== RECORD_BYTES) return undefined;
        const rd = new ByteReader(bytes);
        const meter = rd.u16();
        const top = rd.u32();
        return meter > 0 ? { id: meter, value: { meter, top, bits: bytes.subarray(6) } } : undefined;
      },
      (v) => this.#rows.push(v),
    );
  }

  load(each: (meter: number, top: number, bits: Uint8Array) => void): void {
    // Oldest meters first (lowest numbers), as their rows were made.
    for (const r of this.#rows.sort((x, y) => x.meter - y.meter)) each(r.meter, r.top, r.bits);
    this.#rows.length = 0;
  }

  save(meter: number, top: number, bits: Uint8Array): void {
    const w = new ByteWriter(new Uint8Array(RECORD_BYTES));
    w.u16(meter);
    w.u32(top);
    const bytes = w.bytes;
    bytes.set(bits, 6);
    try {
      this.#table.write(meter, bytes);
    } catch (e) {
      // More meters than records: this one's gaps are caught up this boot only.
      if (!(e instanceof StoreFullError)) throw e;
    }
  }

  accounted(): number {
    return this.#accounted.value;
  }

  setAccounted(slot: number): void {
    this.#accounted.accept(slot);
  }

  commissioned(): number {
    return this.#commissioned.value;
  }

  setCommissioned(slot: number): void {
    this.#commissioned.accept(slot);
  }
}
