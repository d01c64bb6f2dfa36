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
 * - Receive with a replay window (the head-end's several workers, which may take one concentrator's
 *   messages out of order): a counter up to `replayWindow` below the last accepted one is accepted
 *   too if it was not accepted before, the window's bitmap persisted with the counter (the IPsec
 *   anti-replay rule, RFC 4303 3.4.3). The counters are read from the store at every message, since
 *   other workers share it, so `open` must run inside the store's transaction.
 * - Receive with a late window (the concentrator, whose fleet head-end's workers may publish two
 *   messages out of order): a counter below the last accepted one is accepted if it is among the
 *   `lateWindow` most recent and was not accepted before (late-window.ts); kept in RAM, closed at
 *   start, so the persisted last accepted counter still bounds everything after a reboot.
 *
 * Sealing and opening on the crypto service (`sealLater`, `openLater`: the concentrator, whose main loop
 * cannot take a secretbox of a message in one turn): the send counter is reserved (and its reserve
 * persisted) when the seal is asked for, so a power cut before the result only skips it; a received
 * counter is checked and persisted only when the open result has authenticated it, and the body is
 * handed over after that. The head-end seals and opens synchronously (`seal`, `open`) inside its
 * store's transaction.
 *
 * Drops are silent (no answer that would help an attacker) and counted separately, so a wrong key
 * ("authentication") is told apart from silence ("frames" stays 0) and from garbage ("malformed").
 */
import type { CryptoService } from "../../hal/system.js";
import { addressed, COUNTER_MAX, type Direction, Direction as Dir, envelopeOf, HEADER_BYTES, headerBytes, nonceOf, open, seal } from "./envelope.js";
import { LateWindow } from "./late-window.js";
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
  /**
   * Counters accepted below the last accepted one when not seen before: 0 (default, the strict
   * rule) to REPLAY_WINDOW_MAX (the head-end's workers). Needs `loadAcceptedBelow`/`saveAcceptedBelow`.
   */
  replayWindow?: number;
  /**
   * How many of the highest counters accepted are remembered (late-window.ts, RAM only), so that a
   * message overtaken by fewer later ones is still accepted once: 0 (default, the strict rule) or
   * more (the concentrator's downlink). Not with `replayWindow`.
   */
  lateWindow?: number;
  /** The crypto service for `sealLater` and `openLater` (the concentrator's worker). */
  crypto?: CryptoService;
}

/** The widest replay window: its bitmap is one unsigned 32-bit integer. */
export const REPLAY_WINDOW_MAX = 32;

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
  readonly #window: number;
  readonly #late: LateWindow | undefined;
  readonly #crypto: CryptoService | undefined;
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
    const window = o.replayWindow ?? 0;
    if (!(Number.isInteger(window) && window >= 0 && window <= REPLAY_WINDOW_MAX)) throw new RangeError('invalid "replayWindow"');
    if (window > 0 && !(o.counters.loadAcceptedBelow && o.counters.saveAcceptedBelow)) throw new TypeError('a "replayWindow" needs loadAcceptedBelow and saveAcceptedBelow');
    this.#window = window;
    this.#reserve = o.counters.loadSendReserve();
    this.#nextSend = this.#reserve + 1; // values up to the reserve may have been used before a cut
    this.#lastAccepted = o.counters.loadLastAccepted();
    const late = o.lateWindow ?? 0;
    if (late > 0 && window > 0) throw new TypeError('"lateWindow" and "replayWindow" are two rules for one direction: one of them');
    this.#late = late > 0 ? new LateWindow(late, this.#lastAccepted) : undefined;
    this.#crypto = o.crypto;
  }

  /** The last counter accepted from the peer. */
  get lastAccepted(): number {
    return this.#lastAccepted;
  }

  /** Seals a body with the next send counter (persisting a new reserve first when needed). */
  seal(body: Uint8Array): Uint8Array {
    return seal(this.#key, { direction: this.#send, concentrator: this.concentratorId, counter: this.reserveCounter() }, body);
  }

  /**
   * Seals a body on the crypto service: the counter is reserved now, the envelope (or undefined if the
   * service refused the body, too long) comes to `done` in a later turn. Counters go in the order asked.
   */
  sealLater(body: Uint8Array, done: (envelope: Uint8Array | undefined) => void): void {
    const head = headerBytes({ direction: this.#send, concentrator: this.concentratorId, counter: this.reserveCounter() });
    this.needCrypto().secretboxSeal(this.#key, nonceOf(head), body, (box) => done(box && envelopeOf(head, box)));
  }

  /** The next send counter, its block's reserve persisted first when needed. */
  private reserveCounter(): number {
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
    return this.#nextSend++;
  }

  private needCrypto(): CryptoService {
    if (!this.#crypto) throw new TypeError('sealing and opening later need "crypto"');
    return this.#crypto;
  }

  /**
   * Opens an incoming envelope. Returns the body of an authentic, fresh message after persisting its
   * counter; undefined (counted, nothing else happens) for anything else.
   */
  open(bytes: Uint8Array): Uint8Array | undefined {
    this.counters.frames++;
    const r = open(this.#key, bytes, { direction: this.#receive, concentrator: this.concentratorId });
    if (!r.ok) {
      this.rejected(r.reason);
      return undefined;
    }
    return this.#fresh(r.header.counter) ? r.body : undefined;
  }

  /**
   * `open` on the crypto service: `done` gets the body of an authentic, fresh message in a later turn,
   * after its counter is persisted, or undefined (counted). What is not addressed to us is refused at
   * once, without the service.
   */
  openLater(bytes: Uint8Array, done: (body: Uint8Array | undefined) => void): void {
    this.counters.frames++;
    const header = addressed(bytes, { direction: this.#receive, concentrator: this.concentratorId });
    if (typeof header === "string") {
      this.rejected(header);
      return done(undefined);
    }
    this.needCrypto().secretboxOpen(this.#key, nonceOf(bytes), bytes.subarray(HEADER_BYTES), (body) => {
      if (!body) this.rejected("authentication");
      done(body && this.#fresh(header.counter) ? body : undefined);
    });
  }

  private rejected(reason: "malformed" | "foreign" | "authentication"): void {
    if (reason === "malformed") this.counters.malformed++;
    else if (reason === "foreign") this.counters.foreign++;
    else this.counters.authFailed++;
  }

  /** An authentic counter: accepted (and persisted) by the direction's rule, or counted as replayed. */
  #fresh(counter: number): boolean {
    if (!(this.#window > 0 ? this.acceptInWindow(counter) : this.#late ? this.acceptLate(this.#late, counter) : this.acceptAbove(counter))) {
      this.counters.replayed++;
      return false;
    }
    this.counters.accepted++;
    return true;
  }

  /** The strict rule: above the last accepted counter, persisted. */
  private acceptAbove(counter: number): boolean {
    if (counter <= this.#lastAccepted) return false;
    this.#store.saveLastAccepted(counter);
    this.#lastAccepted = counter;
    return true;
  }

  /** The late-window rule: fresh in the window; the last accepted counter persisted when it rises. */
  private acceptLate(late: LateWindow, counter: number): boolean {
    if (!late.fresh(counter)) return false;
    if (counter > this.#lastAccepted) {
      this.#store.saveLastAccepted(counter);
      this.#lastAccepted = counter;
    }
    late.record(counter);
    return true;
  }

  /** The window rule, on the counters as the store has them now; persisted when accepted. */
  private acceptInWindow(counter: number): boolean {
    const store = this.#store;
    const last = store.loadLastAccepted();
    const below = store.loadAcceptedBelow!() >>> 0;
    const mask = this.#window === 32 ? 0xffffffff : 2 ** this.#window - 1;
    if (counter > last) {
      const shift = counter - last;
      // The old last moves to bit shift - 1; what moves beyond the window is forgotten.
      const moved = shift > this.#window ? 0 : shift === 32 ? 1 << 31 : ((below << shift) | (1 << (shift - 1))) & mask;
      store.saveLastAccepted(counter);
      store.saveAcceptedBelow!(moved >>> 0);
      this.#lastAccepted = counter;
      return true;
    }
    const distance = last - counter;
    if (distance === 0 || distance > this.#window) return false;
    const bit = 2 ** (distance - 1);
    if ((below & bit) !== 0) return false;
    store.saveAcceptedBelow!((below | bit) >>> 0);
    this.#lastAccepted = last;
    return true;
  }

  /** The receiver found an accepted body unparseable. */
  bodyRejected(): void {
    this.counters.parseFailed++;
  }
}
