/**
 * Records keyed by an id (a module number, a consumer's meter number) in a fixed range of state
 * journal keys. Ids grow over a device's life and are not key indexes, so each record carries its id
 * and takes the first free key; the id → key map is rebuilt when the table is opened. An empty value
 * marks a free key. Each write is one journal record: exactly old or new after any cut, and a write
 * can carry other keys with it (e.g. a number counter), atomically.
 */
import type { StateJournal, StateRegion } from "../store/state-journal.js";
import { CorruptStateError, StoreFullError } from "../store/errors.js";

export class SlotTable<T> {
  readonly #journal: StateJournal;
  readonly #region: StateRegion;
  readonly #count: number;
  readonly #slotOf = new Map<number, number>();
  /**
   * A bit per key, set while it holds a record or does not read (never reused): the lowest clear one
   * is the next free key. A list of the free keys took 16 B a key in XS (42 KB over the site's tables).
   */
  readonly #taken: Uint8Array;
  /** Keys whose record no longer reads (corrupt): reported, never reused. */
  readonly unreadable: number[] = [];

  constructor(journal: StateJournal, base: number, count: number, decode: (bytes: Uint8Array) => { id: number; value: T } | undefined, load: (value: T) => void) {
    this.#journal = journal;
    this.#region = journal.region(base, count);
    this.#count = count;
    this.#taken = new Uint8Array((count + 7) >> 3);
    for (let i = count - 1; i >= 0; i--) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = this.#region.get(i);
      } catch (e) {
        if (!(e instanceof CorruptStateError)) throw e;
        this.unreadable.push(i);
        this.#take(i);
        continue;
      }
      const rec = bytes && bytes.length > 0 ? decode(bytes) : undefined;
      if (!rec || this.#slotOf.has(rec.id)) continue;
      this.#slotOf.set(rec.id, i);
      this.#take(i);
      load(rec.value);
    }
  }

  get size(): number {
    return this.#slotOf.size;
  }

  /** The key index (0 … capacity − 1) holding `id`'s record, if it has one. */
  slot(id: number): number | undefined {
    return this.#slotOf.get(id);
  }

  get capacity(): number {
    return this.#count;
  }

  /** Writes `id`'s record (and `with`, other keys in the same atomic record). Throws StoreFullError when no key is free. */
  write(id: number, bytes: Uint8Array, withEntries: ReadonlyArray<readonly [number, Uint8Array]> = []): void {
    let slot = this.#slotOf.get(id);
    if (slot === undefined) {
      slot = this.#firstFree();
      if (slot === undefined) throw new StoreFullError("table full");
    }
    this.#journal.putAll([[this.#region.key(slot), bytes], ...withEntries]);
    if (!this.#slotOf.has(id)) {
      this.#take(slot);
      this.#slotOf.set(id, slot);
    }
  }

  /** Frees `id`'s key (writes an empty value). */
  remove(id: number): void {
    const slot = this.#slotOf.get(id);
    if (slot === undefined) return;
    this.#region.put(slot, new Uint8Array(0));
    this.#slotOf.delete(id);
    this.#taken[slot >> 3]! &= ~(1 << (slot & 7));
  }

  #take(slot: number): void {
    this.#taken[slot >> 3]! |= 1 << (slot & 7);
  }

  /** The lowest free key, or undefined when every key is taken. */
  #firstFree(): number | undefined {
    const t = this.#taken;
    for (let b = 0; b < t.length; b++) {
      if (t[b] === 0xff) continue;
      for (let bit = 0; bit < 8; bit++) {
        const slot = (b << 3) | bit;
        if (slot >= this.#count) return undefined;
        if ((t[b]! & (1 << bit)) === 0) return slot;
      }
    }
    return undefined;
  }
}
