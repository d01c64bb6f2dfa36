/**
 * Which 15-minute profile intervals the concentrator is missing, per meter (docs/backfill.md).
 *
 * A meter's profile channels (its energy registers) come together, from a readout or from one row of
 * its load profile, so one bit per meter and interval says it all: a slot is *missing* once it has
 * ended without the meter's import energy stored in it. Missing bits cover a window of the last
 * `WINDOW_SLOTS` slots per meter (a ring of bytes, held only while the meter misses a slot: most
 * meters miss none); a bit that leaves the window unfetched is counted unrecoverable ("expired").
 * Slots are counted from 1970 (UTC).
 *
 * What is persisted (through `HoldingsStore`) is only what cannot be told again after a power cut:
 * each meter's missing bits, written when they change (a slot missed, a slot fetched), and the last
 * slot accounted for. A slot in which a meter was read leaves no trace here: after a boot, slots up
 * to the accounted one are held unless their bit says otherwise; slots after it fell while the
 * concentrator was down and are missing for every meter, except where the store's newest readings
 * show a meter read in the slot the power was cut in (`accountUntil`'s `heldAtBoot`).
 */

import { withRoom } from "../../model/grow.js";
import { frozen } from "../../model/frozen.js";
import { KeyedRows, type ColumnKind } from "../../model/keyed-rows.js";

/** Profile registration period, minutes (the meters' P.01 period; slots of the holdings). */
export const PROFILE_PERIOD_MIN = 15;
export const PROFILE_PERIOD_S = PROFILE_PERIOD_MIN * 60;
/** Slots a meter's missing bits reach back: 2 days, far more than the mains failures a battery cannot bridge. */
export const WINDOW_SLOTS = 192;
const ROW_BYTES = WINDOW_SLOTS / 8;
/** The bits of a meter that misses nothing, as saved (the store copies them; read-only once preloaded). */
const NO_MISSING_BITS = new Uint8Array(ROW_BYTES);

/** Why a slot is left unrecoverable. */
export const Unrecoverable = Object.freeze({
  /** The meter's module keeps no load profile. */
  noProfile: 0,
  /** The profile no longer reaches back that far. */
  profileTooShort: 1,
  /** The profile has no value for it (the module was down, its clock was not set). */
  notRecorded: 2,
  /** The slot left the catch-up window before it could be fetched (the module did not answer for two days). */
  expired: 3,
} as const);
export type Unrecoverable = (typeof Unrecoverable)[keyof typeof Unrecoverable];
export const UNRECOVERABLE_NAMES = Object.freeze(["noProfile", "profileTooShort", "notRecorded", "expired"] as const);
const REASONS = UNRECOVERABLE_NAMES.length;
/** A slot column's value before the row has one. */
const NO_SLOT = -1;
/** A row without missing bits (in `#bitsAt`), and the end of the free bits rows' list. */
const NO_BITS = 0xffff;
/** Unrecoverable slots per reason: a row per meter that has any (few do), a column per reason. */
const UNRECOVERABLE_COLUMNS = frozen<ColumnKind[]>(["u32", "u32", "u32", "u32"]);

/** Where the holdings are kept across power cuts. */
export interface HoldingsStore {
  /** Every meter's persisted row: its newest slot and its missing bits (`ROW_BYTES`). */
  load(each: (meter: number, top: number, bits: Uint8Array) => void): void;
  save(meter: number, top: number, bits: Uint8Array): void;
  /** The last slot accounted for, or -1. */
  accounted(): number;
  setAccounted(slot: number): void;
  /** The slot of the concentrator's first boot (missing history of a new meter starts there), or -1. */
  commissioned(): number;
  setCommissioned(slot: number): void;
}

/**
 * Rows of meters, in typed arrays indexed by row (a row per meter, in the order they came): no object,
 * Map or Set entry per meter (a Map entry is 3 slots in XS, a Set entry 2: 768 and 512 over 256
 * meters, docs/memory.md). Slots since 1970 fit an Int32 (15-minute slots: 2^31 of them is 61,000
 * years); a window holds at most 192 missing slots (a byte). A meter's missing bits and its
 * unrecoverable counts take room only while it has some: 24 B and 16 B a meter otherwise, for every
 * meter, most of them zeros (docs/memory.md).
 */
export class ProfileHoldings {
  readonly #store: HoldingsStore;
  /** The row of each meter (its key; no columns: a row's numbers are in the arrays below). */
  readonly #rowOf = new KeyedRows(0);
  #meters = new Uint16Array(0);
  /** Newest slot of each row's window. */
  #top = new Int32Array(0);
  /** The two newest slots held this boot (RAM only): accounting may run a moment after the next slot's first readout. */
  #lastHeld = new Int32Array(0);
  #prevHeld = new Int32Array(0);
  #missingCount = new Uint8Array(0);
  /** Each row's bits row in `#pool` (NO_BITS while it misses no slot). */
  #bitsAt = new Uint16Array(0);
  /** Bits rows (`ROW_BYTES` each) of the meters missing slots; a free one's first two bytes link the next free (`#freeBits`). */
  #pool = new Uint8Array(0);
  #poolRows = 0;
  #poolUsed = 0;
  #freeBits = NO_BITS;
  readonly #unrecoverable = new KeyedRows(UNRECOVERABLE_COLUMNS);
  /** Rows written since the last flush (1), and how many. */
  #dirty = new Uint8Array(0);
  #dirtyRows = 0;
  #rows = 0;
  #accounted: number;
  #commissioned: number;

  constructor(store: HoldingsStore, nowSlot: number) {
    this.#store = store;
    store.load((meter, top, bits) => {
      const r = this.#row(meter, top);
      // Every bit of the ring is one slot of the window.
      let n = 0;
      for (let i = 0; i < ROW_BYTES; i++) for (let b = bits[i] ?? 0; b !== 0; b &= b - 1) n++;
      if (n === 0) return;
      const p = this.#takeBits(r); // before the pool is read: taking a row may grow it
      this.#pool.set(bits.subarray(0, ROW_BYTES), p * ROW_BYTES);
      this.#missingCount[r] = n;
    });
    this.#commissioned = store.commissioned();
    if (this.#commissioned < 0) store.setCommissioned((this.#commissioned = nowSlot));
    this.#accounted = store.accounted();
    if (this.#accounted < 0) this.#accounted = nowSlot - 1;
  }

  get meters(): number {
    return this.#rows;
  }

  /** The last slot accounted for. */
  get accounted(): number {
    return this.#accounted;
  }

  /** Meters with missing slots, in row order (oldest rows first). */
  metersMissing(): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.#rows; r++) if (this.#missingCount[r]! > 0) out.push(this.#meters[r]!);
    return out;
  }

  missingSlots(meter: number): number {
    const r = this.#rowOf.find(meter);
    return r < 0 ? 0 : this.#missingCount[r]!;
  }

  /** The oldest missing slot of `meter`, or undefined. */
  oldestMissing(meter: number): number | undefined {
    const r = this.#rowOf.find(meter);
    if (r < 0 || this.#missingCount[r] === 0) return undefined;
    const top = this.#top[r]!;
    for (let s = top - WINDOW_SLOTS + 1; s <= top; s++) if (this.#bit(r, s)) return s;
    return undefined;
  }

  isMissing(meter: number, slot: number): boolean {
    const r = this.#rowOf.find(meter);
    return r >= 0 && slot <= this.#top[r]! && slot > this.#top[r]! - WINDOW_SLOTS && this.#bit(r, slot);
  }

  /** Unrecoverable slots of `meter` by reason (indexes of `Unrecoverable`). */
  unrecoverableOf(meter: number): number[] {
    const u = this.#unrecoverable.find(meter);
    const out: number[] = [];
    for (let k = 0; k < REASONS; k++) out.push(u < 0 ? 0 : this.#unrecoverable.get(u, k));
    return out;
  }

  /** Calls `each` for every meter with unrecoverable slots (in row order), with its counts by reason (indexes of `Unrecoverable`). */
  forEachUnrecoverable(each: (meter: number, counts: readonly number[]) => void): void {
    for (let r = 0; r < this.#rows; r++) {
      const meter = this.#meters[r]!;
      // A meter has a row in `#unrecoverable` once one of its slots is given up.
      if (this.#unrecoverable.find(meter) >= 0) each(meter, this.unrecoverableOf(meter));
    }
  }

  /** Every meter's unrecoverable slots, by reason name. */
  unrecoverableTotals(): Record<(typeof UNRECOVERABLE_NAMES)[number], number> {
    const t = { noProfile: 0, profileTooShort: 0, notRecorded: 0, expired: 0 };
    for (let u = 0; u < this.#unrecoverable.size; u++) for (let k = 0; k < REASONS; k++) t[UNRECOVERABLE_NAMES[k]!] += this.#unrecoverable.get(u, k);
    return t;
  }

  /**
   * The meter's import energy was stored for `slot` (a readout, or a back-filled row). A new meter's
   * slots since commissioning (within the window) are missing: its history is in its profile.
   */
  held(meter: number, slot: number): void {
    let r = this.#rowOf.find(meter);
    if (r < 0) {
      r = this.#row(meter, Math.max(slot, this.#accounted));
      for (let s = Math.max(this.#commissioned, slot - WINDOW_SLOTS + 1); s < slot && s <= this.#accounted; s++) this.#setMissing(r, s);
      this.#markDirty(r);
    }
    if (slot > this.#lastHeld[r]!) {
      this.#prevHeld[r] = this.#lastHeld[r]!;
      this.#lastHeld[r] = slot;
    }
    if (this.#inWindow(r, slot) && this.#bit(r, slot)) {
      this.#clearBit(r, slot);
      this.#markDirty(r);
    }
  }

  /**
   * Slots up to `slot` have ended: each meter not held in one of them misses it. `heldAtBoot` tells
   * what the store holds of the slots since the last accounted one (after a boot).
   */
  accountUntil(slot: number, heldAtBoot?: (meter: number, slot: number) => boolean): void {
    if (slot <= this.#accounted) return;
    const from = Math.max(this.#accounted + 1, slot - WINDOW_SLOTS + 1);
    for (let r = 0; r < this.#rows; r++) {
      this.#advance(r, slot);
      for (let s = from; s <= slot; s++) {
        if (this.#lastHeld[r] === s || this.#prevHeld[r] === s || heldAtBoot?.(this.#meters[r]!, s)) continue;
        this.#setMissing(r, s);
        this.#markDirty(r);
      }
    }
    this.#accounted = slot;
  }

  /** `slot` of `meter` will never be fetched: counted with its reason, no longer missing. */
  giveUp(meter: number, slot: number, reason: Unrecoverable): void {
    const r = this.#rowOf.find(meter);
    if (r < 0 || !this.#inWindow(r, slot) || !this.#bit(r, slot)) return;
    this.#clearBit(r, slot);
    this.#countUnrecoverable(r, reason);
    this.#markDirty(r);
  }

  /**
   * Writes up to `maxRows` rows that changed (a journal record each); once none is left, the slot
   * accounted (after the rows: a cut in between only accounts the same slots again). True when done.
   */
  flush(maxRows = Infinity): boolean {
    let n = 0;
    for (let r = 0; r < this.#rows && this.#dirtyRows > 0; r++) {
      if (this.#dirty[r] === 0) continue;
      if (n++ >= maxRows) return false;
      this.#save(r);
    }
    if (this.#accounted > this.#store.accounted()) this.#store.setAccounted(this.#accounted);
    return true;
  }

  /** Writes the rows of `meters` if they changed (what a catch-up just stored), now. */
  flushMeters(meters: Iterable<number>): void {
    for (const meter of meters) {
      const r = this.#rowOf.find(meter);
      if (r >= 0 && this.#dirty[r] === 1) this.#save(r);
    }
  }

  #save(r: number): void {
    const p = this.#bitsAt[r]!;
    this.#store.save(this.#meters[r]!, this.#top[r]!, p === NO_BITS ? NO_MISSING_BITS : this.#pool.subarray(p * ROW_BYTES, (p + 1) * ROW_BYTES));
    this.#dirty[r] = 0;
    this.#dirtyRows--;
  }

  #markDirty(r: number): void {
    if (this.#dirty[r] === 1) return;
    this.#dirty[r] = 1;
    this.#dirtyRows++;
  }

  // ---- rows ----

  #row(meter: number, top: number): number {
    const known = this.#rowOf.find(meter);
    if (known >= 0) return known;
    // KeyedRows numbers its rows in the order they are added, as these arrays do.
    const r = this.#rowOf.add(meter);
    this.#room(r);
    this.#rows++;
    this.#meters[r] = meter;
    this.#top[r] = top;
    this.#lastHeld[r] = NO_SLOT;
    this.#prevHeld[r] = NO_SLOT;
    this.#bitsAt[r] = NO_BITS;
    return r;
  }

  /** Room for row `r` in every column, grown as the other tables are (firmware/model/grow.ts). */
  #room(r: number): void {
    this.#meters = withRoom(this.#meters, r);
    this.#top = withRoom(this.#top, r);
    this.#lastHeld = withRoom(this.#lastHeld, r);
    this.#prevHeld = withRoom(this.#prevHeld, r);
    this.#missingCount = withRoom(this.#missingCount, r);
    this.#dirty = withRoom(this.#dirty, r);
    this.#bitsAt = withRoom(this.#bitsAt, r);
  }

  /** Row `r`'s bits row in the pool, taken (all zeros) when it has none. */
  #takeBits(r: number): number {
    let p = this.#bitsAt[r]!;
    if (p !== NO_BITS) return p;
    if (this.#freeBits !== NO_BITS) {
      p = this.#freeBits;
      const at = p * ROW_BYTES;
      this.#freeBits = this.#pool[at]! | (this.#pool[at + 1]! << 8);
      this.#pool[at] = this.#pool[at + 1] = 0;
    } else {
      p = this.#poolRows++;
      this.#pool = withRoom(this.#pool, (p + 1) * ROW_BYTES - 1);
    }
    this.#poolUsed++;
    return (this.#bitsAt[r] = p);
  }

  /** Row `r` misses no slot now: its bits row (all zeros) goes back to the pool, and the pool once no row uses it. */
  #releaseBits(r: number): void {
    const p = this.#bitsAt[r]!;
    this.#bitsAt[r] = NO_BITS;
    if (--this.#poolUsed === 0) {
      this.#pool = new Uint8Array(0);
      this.#poolRows = 0;
      this.#freeBits = NO_BITS;
      return;
    }
    this.#pool[p * ROW_BYTES] = this.#freeBits & 0xff;
    this.#pool[p * ROW_BYTES + 1] = this.#freeBits >> 8;
    this.#freeBits = p;
  }

  #countUnrecoverable(r: number, reason: Unrecoverable): void {
    const u = this.#unrecoverable.insert(this.#meters[r]!);
    this.#unrecoverable.set(u, reason, this.#unrecoverable.get(u, reason) + 1);
  }

  /** Moves row `r`'s window so that it ends at `slot`: missing slots that leave it expire. */
  #advance(r: number, slot: number): void {
    const top = this.#top[r]!;
    if (slot <= top) return;
    const steps = Math.min(WINDOW_SLOTS, slot - top);
    for (let s = top - WINDOW_SLOTS + 1; s < top - WINDOW_SLOTS + 1 + steps; s++) {
      if (!this.#bit(r, s)) continue;
      this.#clearBit(r, s);
      this.#countUnrecoverable(r, Unrecoverable.expired);
      this.#markDirty(r);
    }
    this.#top[r] = slot;
  }

  #inWindow(r: number, slot: number): boolean {
    return slot <= this.#top[r]! && slot > this.#top[r]! - WINDOW_SLOTS;
  }

  #setMissing(r: number, slot: number): void {
    if (!this.#inWindow(r, slot) || this.#bit(r, slot)) return;
    const i = this.#takeBits(r) * ROW_BYTES + (mod(slot) >> 3);
    this.#pool[i] = this.#pool[i]! | (1 << (mod(slot) & 7));
    this.#missingCount[r]!++;
  }

  /** Clears a bit that is set. */
  #clearBit(r: number, slot: number): void {
    const i = this.#bitsAt[r]! * ROW_BYTES + (mod(slot) >> 3);
    this.#pool[i] = this.#pool[i]! & ~(1 << (mod(slot) & 7));
    if (--this.#missingCount[r]! === 0) this.#releaseBits(r);
  }

  #bit(r: number, slot: number): boolean {
    const p = this.#bitsAt[r]!;
    return p !== NO_BITS && (this.#pool[p * ROW_BYTES + (mod(slot) >> 3)]! & (1 << (mod(slot) & 7))) !== 0;
  }
}

/** Position of a slot in a row's ring. */
function mod(slot: number): number {
  const m = slot % WINDOW_SLOTS;
  return m < 0 ? m + WINDOW_SLOTS : m;
}

export const HOLDINGS_ROW_BYTES = ROW_BYTES;
