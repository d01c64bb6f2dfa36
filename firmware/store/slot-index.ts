/**
 * The sequence numbers of the record slots of a few log sectors, as verified (CRC) while the drain
 * read them, so that `RecordLog.acknowledge` can map sequence numbers to slots without reading and
 * checking the whole 4 KiB sector again (docs/storage.md, "Turn cost").
 *
 * An entry names its sector by number and by the sequence number it was opened at: a sector erased
 * and opened again gets a new first sequence number, so an entry of its earlier use never matches
 * (and `forget` drops it at the erase). Slots are learnt in order from slot 0; a slot whose record
 * no longer reads holds 0, so it is never released through the index.
 *
 * A slot holds its sequence number relative to the sector's first one, plus 1, in 16 bits: the
 * records of a sector numbered within 65,534 of its first sequence number (all of them in a sector
 * of readings, which fills in hours). The first record numbered beyond that ends what the entry
 * learns; its records are then acknowledged by reading the sector, as without the index.
 *
 * RAM: ENTRIES × (256 × 2 + 10) bytes, about 3 KiB.
 */
import { MAX_SLOTS } from "./sector-format.js";
import type { FrameView } from "./frame.js";

/** Sectors indexed: the drain's current and previous sector of the busiest classes. */
const ENTRIES = 6;
/** Largest stored value: sequence number − first sequence number + 1 (0 marks a slot that no longer reads). */
const MAX_STORED = 0xffff;

export class SlotIndex {
  readonly #sector = new Int32Array(ENTRIES).fill(-1);
  readonly #firstSeq = new Uint32Array(ENTRIES);
  /** Slots [0, known) learnt. */
  readonly #known = new Uint16Array(ENTRIES);
  /** Per slot: sequence number − first sequence number + 1; 0 when the record no longer reads. */
  readonly #seqs = new Uint16Array(ENTRIES * MAX_SLOTS);
  /** Last use of each entry, for replacing the least recently used one. */
  readonly #used = new Uint32Array(ENTRIES);
  #clock = 0;

  /** Entries: [0, entries). */
  get entries(): number {
    return ENTRIES;
  }

  /** The sector entry `e` indexes (-1: none). */
  sectorOf(e: number): number {
    return this.#sector[e]!;
  }

  /** The first sequence number of that sector as it was indexed. */
  firstSeqOf(e: number): number {
    return this.#firstSeq[e]!;
  }

  /** The entry of sector `s` as opened at `firstSeq`, or -1. */
  find(s: number, firstSeq: number): number {
    for (let e = 0; e < ENTRIES; e++) {
      if (this.#sector[e] === s && this.#firstSeq[e] === firstSeq) {
        this.#used[e] = ++this.#clock;
        return e;
      }
    }
    return -1;
  }

  /** Slots learnt of entry `e`: [0, known). */
  known(e: number): number {
    return this.#known[e]!;
  }

  /** The sequence number in slot `slot` of entry `e` (0: that record no longer reads). */
  seqAt(e: number, slot: number): number {
    const v = this.#seqs[e * MAX_SLOTS + slot]!;
    return v === 0 ? 0 : this.#firstSeq[e]! + v - 1;
  }

  /**
   * Notes a verified record read in order: kept when it is the next slot of an entry, or slot 0 of a
   * sector not yet indexed (which takes the least recently used entry).
   */
  note(s: number, firstSeq: number, slot: number, seq: number): void {
    let e = this.find(s, firstSeq);
    if (e < 0) {
      if (slot !== 0) return;
      e = this.#claim(s, firstSeq);
    }
    if (slot !== this.#known[e] || !storable(seq, firstSeq)) return;
    this.#seqs[e * MAX_SLOTS + slot] = seq - firstSeq + 1;
    this.#known[e] = slot + 1;
  }

  /**
   * Notes the valid frames of a whole sector read (slots missing among them hold 0), up to the first
   * one whose sequence number the entry cannot hold.
   */
  noteSector(s: number, firstSeq: number, frames: readonly FrameView[]): void {
    let e = this.find(s, firstSeq);
    if (e < 0) e = this.#claim(s, firstSeq);
    const base = e * MAX_SLOTS;
    let slot = 0;
    for (const f of frames) {
      if (!storable(f.seq, firstSeq)) break;
      for (; slot < f.tag; slot++) this.#seqs[base + slot] = 0;
      this.#seqs[base + slot++] = f.seq - firstSeq + 1;
    }
    this.#known[e] = slot;
  }

  /** Drops what is known of sector `s` (it is being erased). */
  forget(s: number): void {
    for (let e = 0; e < ENTRIES; e++) if (this.#sector[e] === s) this.#sector[e] = -1;
  }

  get memoryBytes(): number {
    return this.#sector.byteLength + this.#firstSeq.byteLength + this.#known.byteLength + this.#seqs.byteLength + this.#used.byteLength;
  }

  #claim(s: number, firstSeq: number): number {
    let e = 0;
    for (let k = 1; k < ENTRIES; k++) if (this.#used[k]! < this.#used[e]!) e = k;
    this.#sector[e] = s;
    this.#firstSeq[e] = firstSeq;
    this.#known[e] = 0;
    this.#used[e] = ++this.#clock;
    return e;
  }
}

/** Whether a slot can hold `seq` of a sector opened at `firstSeq` (a record's number is never below it). */
function storable(seq: number, firstSeq: number): boolean {
  return seq >= firstSeq && seq - firstSeq + 1 <= MAX_STORED;
}
