/**
 * One end of the secured link between a concentrator and the head-end: seals outgoing bodies with
 * the next send counter and opens incoming ones, dropping replayed, old, foreign and forged ones.
 * The concentrator has one; the head-end has one per concentrator.
 *
 * Counters (the DLMS Green Book's invocation-counter rule):
 * - Send: strictly increasing, never repeated even across power cuts, because a repeated nonce under
 *   the same key would expose plaintexts and allow forgeries. Values are reserved in blocks: the
 *   reserve is persisted before any value in it is used, so a power cut only skips values.
 * - Receive: a message is accepted only if its counter is above the last accepted one, and that
 *   counter is persisted before the message is handed over, so it is acted on at most once even if
 *   the power fails right after.
 *
 * Drops are silent (no answer that would help an attacker) and counted separately, so a wrong key
 * ("authentication") is told apart from silence ("frames" stays 0) and from garbage ("malformed").
 */
import { COUNTER_MAX, type Direction, Direction as Dir, open, seal } from "./envelope.js";
import type { CounterStore } from "./ports.js";

export interface SecureChannelOptions {
  /** The 32-byte shared key (envelope.ts `deriveSharedKey`). */
  sharedKey: Uint8Array;
  concentratorId: number;
  /** Which end this is: it fixes the send and receive directions. */
  role: "concentrator" | "headend";
  counters: CounterStore;
  /** Send counters reserved per persisted write. Default 256. */
  reserveBlock?: number;
  /**
   * A lower bound for the next send counter, e.g. the head-end's clock in ms, so a head-end that lost
   * its database still sends counters above what the concentrator accepted. Default none.
   */
  counterFloor?: () => number;
}

/** Diagnostics of the receiving side. */
export interface ChannelCounters {
  /** Every envelope offered to `open`. */
  frames: number;
  /** Not an envelope (too short, unknown version or direction). */
  malformed: number;
  /** Addressed to another concentrator or the wrong direction. */
  foreign: number;
  /** The tag did not verify: forged, corrupted, or sealed with another key. */
  authFailed: number;
  /** Authentic but not newer than the last accepted: a replay, a duplicate or out of order. */
  replayed: number;
  /** Authentic and fresh, but the body did not parse (counted by the receiver via `bodyRejected`). */
  parseFailed: number;
  accepted: number;
}

export class SecureChannel {
  readonly counters: ChannelCounters = { frames: 0, malformed: 0, foreign: 0, authFailed: 0, replayed: 0, parseFailed: 0, accepted: 0 };
  readonly concentratorId: number;
  readonly #key: Uint8Array;
  readonly #store: CounterStore;
  readonly #send: Direction;
  readonly #receive: Direction;
  readonly #block: number;
  readonly #floor: (() => number) | undefined;
  #nextSend: number;
  #reserve: number;
  #lastAccepted: number;

  constructor(o: SecureChannelOptions) {
    if (o.sharedKey.length !== 32) throw new RangeError('invalid "sharedKey"');
    const block = o.reserveBlock ?? 256;
    if (!(Number.isInteger(block) && block >= 1)) throw new RangeError('invalid "reserveBlock"');
    this.#key = o.sharedKey;
    this.concentratorId = o.concentratorId;
    this.#store = o.counters;
    this.#send = o.role === "concentrator" ? Dir.up : Dir.down;
    this.#receive = o.role === "concentrator" ? Dir.down : Dir.up;
    this.#block = block;
    this.#floor = o.counterFloor;
    this.#reserve = o.counters.loadSendReserve();
    this.#nextSend = this.#reserve + 1; // values up to the reserve may have been used before a cut
    this.#lastAccepted = o.counters.loadLastAccepted();
  }

  /** The last counter accepted from the peer. */
  get lastAccepted(): number {
    return this.#lastAccepted;
  }

  /** Seals a body with the next send counter (persisting a new reserve first when needed). */
  seal(body: Uint8Array): Uint8Array {
    if (this.#floor) this.#nextSend = Math.max(this.#nextSend, Math.floor(this.#floor()));
    if (this.#nextSend > this.#reserve) {
      // Re-read the reserve: another process may share the store (the head-end's CLI beside its
      // service), and within the store's transaction this read-then-write is atomic.
      this.#nextSend = Math.max(this.#nextSend, this.#store.loadSendReserve() + 1);
      const reserve = Math.min(COUNTER_MAX, this.#nextSend + this.#block - 1);
      if (reserve < this.#nextSend) throw new RangeError("counter exhausted");
      this.#store.saveSendReserve(reserve);
      this.#reserve = reserve;
    }
    const counter = this.#nextSend++;
    return seal(this.#key, { direction: this.#send, concentrator: this.concentratorId, counter }, body);
  }

  /**
   * Opens an incoming envelope. Returns the body of an authentic, fresh message after persisting its
   * counter; undefined (counted, nothing else happens) for anything else.
   */
  open(bytes: Uint8Array): Uint8Array | undefined {
    this.counters.frames++;
    const r = open(this.#key, bytes, { direction: this.#receive, concentrator: this.concentratorId });
    if (!r.ok) {
      if (r.reason === "malformed") this.counters.malformed++;
      else if (r.reason === "foreign") this.counters.foreign++;
      else this.counters.authFailed++;
      return undefined;
    }
    if (r.header.counter <= this.#lastAccepted) {
      this.counters.replayed++;
      return undefined;
    }
    this.#store.saveLastAccepted(r.header.counter);
    this.#lastAccepted = r.header.counter;
    this.counters.accepted++;
    return r.body;
  }

  /** The receiver found an accepted body unparseable. */
  bodyRejected(): void {
    this.counters.parseFailed++;
  }
}
