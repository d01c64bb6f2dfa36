/**
 * Persistent counters on the state journal that never go backwards across power cuts.
 *
 * MonotonicCounter hands out values from a block reserved ahead: the journal holds the end of the
 * reserved block, written before any value of the block is handed out. After a cut the counter
 * continues from that end, so a cut can only skip values (at most `block` − 1), never repeat one.
 * One journal write per `block` values.
 *
 * HighWaterMark is the receiving side (the highest message counter accepted from the head-end): a
 * value is accepted only once it is written, exactly, so a replay of it or of anything lower is
 * refused after any cut. It cannot reserve ahead: a stored value above the last one accepted would
 * refuse the sender's next genuine messages.
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
  /** Values reserved per journal write. Default 64: one write per 64 messages, ≤ 63 values skipped per cut. */
  block?: number;
}

export class MonotonicCounter {
  readonly #journal: StateJournal;
  readonly #key: number;
  readonly #block: number;
  #next: number;
  #reservedEnd: number;

  constructor(journal: StateJournal, key: number, options: MonotonicCounterOptions = {}) {
    const block = options.block ?? 64;
    if (!(Number.isInteger(block) && block >= 1)) throw new RangeError("invalid block");
    this.#journal = journal;
    this.#key = key;
    this.#block = block;
    this.#reservedEnd = decode(journal.get(key)) ?? 0;
    this.#next = this.#reservedEnd;
  }

  /** A value never returned before by this counter, on this flash, in any boot. */
  next(): number {
    if (this.#next >= this.#reservedEnd) {
      const end = this.#next + this.#block;
      this.#journal.put(this.#key, encode(end));
      this.#reservedEnd = end;
    }
    return this.#next++;
  }

  /** The value `next()` would return. */
  peek(): number {
    return this.#next;
  }
}

export class HighWaterMark {
  readonly #journal: StateJournal;
  readonly #key: number;
  #value: number;

  constructor(journal: StateJournal, key: number) {
    this.#journal = journal;
    this.#key = key;
    this.#value = decode(journal.get(key)) ?? -1;
  }

  /** The highest value accepted so far, -1 when none. */
  get value(): number {
    return this.#value;
  }

  /** Accepts `v` (and stores it) if it is above every value accepted before; false for a replay. */
  accept(v: number): boolean {
    if (!(Number.isSafeInteger(v) && v >= 0)) throw new InvalidRecordError("invalid counter");
    if (v <= this.#value) return false;
    this.#journal.put(this.#key, encode(v));
    this.#value = v;
    return true;
  }
}
