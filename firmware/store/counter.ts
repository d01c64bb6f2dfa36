/**
 * Persistent counters on the state journal that never go backwards across power cuts.
 *
 * MonotonicCounter hands out values from blocks reserved ahead. The end of the reserved range is kept
 * in two keys, written alternately, and values are handed out only below the smaller of the two. A
 * cut can only skip values (at most 2 × `block` − 1 per boot), never repeat one; and if the newest
 * record of either key is later lost (bit rot: the journal then reads its previous value), the other
 * key still covers every value handed out. One journal write per `block` values.
 *
 * HighWaterMark is the receiving side (the highest message counter accepted from the head-end): a
 * value is accepted only once it is written, exactly, to both of its keys (two writes), so neither a
 * cut nor the loss of one record lets a replay of it, or of anything lower, through. It cannot
 * reserve ahead: a stored value above the last one accepted would refuse the sender's next genuine
 * messages.
 *
 * Each uses keys `key` and `key + 1`.
 */
import { ByteReader, ByteWriter } from "./bytes.js";
import { InvalidRecordError } from "./errors.js";
import type { StateJournal } from "./state-journal.js";

function encode(n: number): Uint8Array {
  const w = new ByteWriter(new Uint8Array(8));
  w.varint(n);
  return w.bytes.slice(0, w.pos);
}

function decode(b: Uint8Array | undefined): number | undefined {
  if (!b) return undefined;
  const r = new ByteReader(b);
  const n = r.varint();
  return r.error ? undefined : n;
}

export interface MonotonicCounterOptions {
  /** Values reserved per journal write. Default 64: one write per 64 messages, ≤ 127 values skipped per boot. */
  block?: number;
}

export class MonotonicCounter {
  readonly #journal: StateJournal;
  readonly #key: number;
  readonly #block: number;
  /** The reserved ends stored under `key` and `key + 1`. */
  readonly #ends: [number, number];
  #next: number;

  constructor(journal: StateJournal, key: number, options: MonotonicCounterOptions = {}) {
    const block = options.block ?? 64;
    if (!(Number.isInteger(block) && block >= 1)) throw new RangeError("invalid block");
    this.#journal = journal;
    this.#key = key;
    this.#block = block;
    this.#ends = [decode(journal.get(key)) ?? 0, decode(journal.get(key + 1)) ?? 0];
    this.#next = Math.max(this.#ends[0], this.#ends[1]);
  }

  /** A value never returned before by this counter, on this flash, in any boot. */
  next(): number {
    while (this.#next >= Math.min(this.#ends[0], this.#ends[1])) {
      const older = this.#ends[0] <= this.#ends[1] ? 0 : 1;
      const end = Math.max(this.#ends[0], this.#ends[1], this.#next) + this.#block;
      this.#journal.put(this.#key + older, encode(end));
      this.#ends[older] = end;
    }
    return this.#next++;
  }

  /** The value `next()` would return. */
  peek(): number {
    return this.#next;
  }

  /** Skips ahead: `next()` returns at least `v` from now on (a peer has seen values up to v − 1). */
  advanceTo(v: number): void {
    if (Number.isSafeInteger(v) && v > this.#next) this.#next = v;
  }
}

export class HighWaterMark {
  readonly #journal: StateJournal;
  readonly #key: number;
  #value: number;

  constructor(journal: StateJournal, key: number) {
    this.#journal = journal;
    this.#key = key;
    this.#value = Math.max(decode(journal.get(key)) ?? -1, decode(journal.get(key + 1)) ?? -1);
  }

  /** The highest value accepted so far, -1 when none. */
  get value(): number {
    return this.#value;
  }

  /** Accepts `v` (and stores it) if it is above every value accepted before; false for a replay. */
  accept(v: number): boolean {
    if (!(Number.isSafeInteger(v) && v >= 0)) throw new InvalidRecordError("invalid counter");
    if (v <= this.#value) return false;
    const bytes = encode(v);
    this.#journal.put(this.#key, bytes);
    this.#journal.put(this.#key + 1, bytes);
    this.#value = v;
    return true;
  }
}
