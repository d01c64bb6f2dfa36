/**
 * Records keyed by an id (a module number, a consumer's meter number) in a fixed range of state
 * journal keys. Ids grow over a device's life and are not key indexes, so each record carries its id
 * and takes the first free key; the id → key map is rebuilt when the table is opened. An empty value
 * marks a free key. Each write is one journal record: exactly old or new after any cut, and a write
 * can carry other keys with it (e.g. a number counter), atomically.
 */
import type { StateJournal, StateRegion } from "../store/state-journal.js";
import { CorruptStateError, StoreFullError } from "../store/errors.js";
import { withRoom } from "../model/grow.js";

export class SlotTable<T> {
  readonly #journal: StateJournal;
  readonly #region: StateRegion;
  readonly #count: number;
  /**
   * The ids that have a record, ascending, and each one's key (`#ids[i]`'s record is at key
   * `#keys[i]`): an id is found by a binary search. A Map took an entry of 3 slots (48 B) in XS, 8 KB
   * for the site's modules; these take 6 B an id.
   */
  #ids = new Uint32Array(0);
  #keys = new Uint16Array(0);
  #size = 0;
  /**
   * A bit per key, set while it holds a record or does not read (never reused): the lowest clear one
   * is the next free key. A list of the free keys took 16 B a key in XS (42 KB over the site's tables).
   */
  readonly #taken: Uint8Array;
  /** Keys whose record no longer reads (corrupt): reported, never reused. */
  readonly unreadable: number[] = [];

  constructor(journal: StateJournal, base: number, count: number, decode: (bytes: Uint8Array) => { id: number; value: T } | undefined, load: (value: T) => void) {
    if (!(count >= 0 && count <= 0x10000)) throw new RangeError("a slot table has at most 65,536 keys");
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
      if (!rec || !isId(rec.id)) continue;
      const at = this.#at(rec.id);
      if (at >= 0) continue;
      this.#insert(at, rec.id, i);
      this.#take(i);
      load(rec.value);
    }
  }

  get size(): number {
    return this.#size;
  }

  /** The key index (0 … capacity − 1) holding `id`'s record, if it has one. */
  slot(id: number): number | undefined {
    const at = this.#at(id);
    return at >= 0 ? this.#keys[at] : undefined;
  }

  get capacity(): number {
    return this.#count;
  }

  /** Writes `id`'s record (and `with`, other keys in the same atomic record). Throws StoreFullError when no key is free. */
  write(id: number, bytes: Uint8Array, withEntries: ReadonlyArray<readonly [number, Uint8Array]> = []): void {
    if (!isId(id)) throw new RangeError(`slot table id ${id}: not an unsigned 32-bit integer`);
    const at = this.#at(id);
    const slot = at >= 0 ? this.#keys[at]! : this.#firstFree();
    if (slot === undefined) throw new StoreFullError("table full");
    this.#journal.putAll([[this.#region.key(slot), bytes], ...withEntries]);
    if (at < 0) {
      this.#take(slot);
      this.#insert(at, id, slot);
    }
  }

  /** Frees `id`'s key (writes an empty value). */
  remove(id: number): void {
    const at = this.#at(id);
    if (at < 0) return;
    const slot = this.#keys[at]!;
    this.#region.put(slot, new Uint8Array(0));
    this.#ids.copyWithin(at, at + 1, this.#size);
    this.#keys.copyWithin(at, at + 1, this.#size);
    this.#size--;
    this.#taken[slot >> 3]! &= ~(1 << (slot & 7));
  }

  /** Where `id` is in `#ids`, or −(where it would go) − 1. */
  #at(id: number): number {
    let lo = 0, hi = this.#size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.#ids[mid]!;
      if (v < id) lo = mid + 1;
      else if (v > id) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  /** Adds `id` at `slot`, where `#at(id)` (negative: not there yet) said it goes. */
  #insert(notAt: number, id: number, slot: number): void {
    const at = -notAt - 1, n = this.#size;
    this.#ids = withRoom(this.#ids, n);
    this.#keys = withRoom(this.#keys, n);
    this.#ids.copyWithin(at + 1, at, n);
    this.#keys.copyWithin(at + 1, at, n);
    this.#ids[at] = id;
    this.#keys[at] = slot;
    this.#size = n + 1;
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

/** Ids are unsigned 32-bit integers (module and meter numbers are u32 on flash). */
function isId(id: number): boolean {
  return id >>> 0 === id;
}
