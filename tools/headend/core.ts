/**
 * The head-end's protocol logic, independent of broker and database: verify and decrypt what a
 * concentrator sent, store it through a HeadendStore in one transaction, and only then answer with
 * an acknowledgement of the sequence numbers now stored; seal commands for a concentrator.
 *
 * Pure ECMAScript (it also runs inside the XS scenarios with an in-memory store); the Node head-end
 * (service.ts) binds it to SQLite and MQTT.js.
 */
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import { REPLAY_WINDOW_MAX, SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey, peekHeader } from "../../firmware/uplink/envelope.js";
import {
  type Command,
  type CommandRequest,
  type CommandResult,
  decodeUplink,
  encodeMessage,
  MessageError,
  type StatusMessage,
} from "../../firmware/uplink/messages.js";
import type { CounterStore } from "../../firmware/uplink/ports.js";
import type { OtaCampaigns } from "./ota-campaign.js";
import { type SeqSet, seqSetOf, seqSetValues } from "../../firmware/uplink/seq-set.js";
import { concentratorOfUplink, DEFAULT_TOPIC_PREFIX, topicsOf } from "../../firmware/uplink/topics.js";

/**
 * The head-end's replay window: a concentrator's message is accepted once even when it arrives after
 * a later one (several workers behind a shared subscription take them in parallel); a counter
 * already accepted, or older than the window, is a replay.
 */
export const REPLAY_WINDOW = REPLAY_WINDOW_MAX;

export type Rejection = "unknown concentrator" | "malformed" | "foreign" | "authentication" | "replayed" | "parse";

/**
 * Storage of one head-end. Every write inside `transaction` commits together or not at all; the
 * acknowledgement is sent only after `transaction` returned. (OTA campaigns keep their state in an
 * OtaStore, which the SQLite, PostgreSQL and memory stores are too.)
 */
export interface HeadendStore {
  transaction<T>(fn: () => T): T;
  /** The counters of the channel with one concentrator (persisted in the same database). */
  counters(concentrator: number): CounterStore;
  /** Stores readings; a reading already stored (same meter, register, time) is left as it is. */
  putReadings(concentrator: number, readings: readonly Reading[], receivedAtMs: number): void;
  /** Stores events by their sequence number; one already stored is left as it is. */
  putEvents(concentrator: number, events: ReadonlyArray<{ seq: number; event: MeterEvent }>, receivedAtMs: number): void;
  /** Records a command's result (the first one stored for its sequence number wins). */
  putResult(concentrator: number, seq: number, result: CommandResult, receivedAtMs: number): void;
  putStatus(concentrator: number, status: StatusMessage, receivedAtMs: number): void;
  /** Records a command before it is sent; returns its id (unique, increasing). */
  addCommand(concentrator: number, command: CommandRequest, issuedAtMs: number): number;
  countRejection(concentrator: number | undefined, reason: Rejection): void;
  /** The seq sets of the last acknowledgements sealed for a concentrator, oldest first (for `ackHistory`). */
  recentAcks?(concentrator: number): SeqSet[];
  saveRecentAcks?(concentrator: number, acks: SeqSet[]): void;
}

export interface HeadendKeys {
  /** The head-end's X25519 secret key. */
  secretKey: Uint8Array;
  /** A registered concentrator's public key, or undefined. */
  concentratorPublicKey(id: number): Uint8Array | undefined;
}

export interface Outgoing {
  topic: string;
  payload: Uint8Array;
  /** Default 1. OTA frames go at 0 (a lost one is asked for again). */
  qos?: 0 | 1;
}

export interface HeadendCoreOptions {
  keys: HeadendKeys;
  store: HeadendStore;
  /** Wall clock, ms since 1970: receive times, and the floor of the send counters. */
  now: () => number;
  topicPrefix?: string;
  /** OTA: serves package parts and follows campaigns (tools/headend/ota-campaign.ts). */
  ota?: OtaCampaigns;
  /** Publishes what is not an answer to the message in hand: the OTA frames a request asked for. */
  send?: (out: Outgoing) => void;
  /**
   * An acknowledgement also names what the last `ackHistory` ones named (default 0: only its own
   * message). For several workers: their acknowledgements to one concentrator are sealed in commit
   * order, but published over different connections one may overtake another, and the concentrator
   * drops the one with the older counter; the next one then still acknowledges its records. Needs
   * the store's recentAcks/saveRecentAcks.
   */
  ackHistory?: number;
}

export class HeadendCore {
  readonly #o: HeadendCoreOptions;
  readonly #prefix: string;
  readonly #channels = new Map<number, SecureChannel>();

  constructor(o: HeadendCoreOptions) {
    this.#o = o;
    this.#prefix = o.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  }

  /** The channel with a registered concentrator (its shared key derived once). */
  channel(id: number): SecureChannel | undefined {
    let c = this.#channels.get(id);
    if (c) return c;
    const pub = this.#o.keys.concentratorPublicKey(id);
    if (!pub) return undefined;
    c = new SecureChannel({
      sharedKey: deriveSharedKey(this.#o.keys.secretKey, pub),
      concentratorId: id,
      role: "headend",
      counters: this.#o.store.counters(id),
      reserveBlock: 1,
      replayWindow: REPLAY_WINDOW,
      // A head-end that lost its database still sends counters above anything accepted before.
      counterFloor: this.#o.now,
    });
    this.#channels.set(id, c);
    return c;
  }

  /**
   * Handles one message from the broker. Returns the acknowledgement to publish (after the data is
   * committed), or undefined when nothing is to be answered (dropped silently, or a status).
   */
  handleUplink(topic: string, payload: Uint8Array): Outgoing | undefined {
    const id = concentratorOfUplink(topic, this.#prefix);
    const header = peekHeader(payload);
    if (id === undefined) return this.#reject("foreign", undefined);
    if (!header) return this.#reject("malformed", id);
    if (header.concentrator !== id) return this.#reject("foreign", id); // a concentrator may only speak for itself
    return this.#handle(id, payload);
  }

  /**
   * Handles the payload of an SMS that reached the gateway (alarms a concentrator sends while its GPRS
   * is down): the concentrator is the one its envelope names, and only its key opens it. Returns the
   * acknowledgement to publish on MQTT, as `handleUplink` does.
   */
  handleSms(payload: Uint8Array): Outgoing | undefined {
    const header = peekHeader(payload);
    if (!header) return this.#reject("malformed", undefined);
    return this.#handle(header.concentrator, payload);
  }

  #reject(reason: Rejection, id: number | undefined): undefined {
    this.#o.store.countRejection(id, reason);
    return undefined;
  }

  #handle(id: number, payload: Uint8Array): Outgoing | undefined {
    const { store } = this.#o;
    const reject = (reason: Rejection) => this.#reject(reason, id);
    const channel = this.channel(id);
    if (!channel) return reject("unknown concentrator");
    const now = this.#o.now();
    const before = { ...channel.counters };
    let frames: Outgoing[] = [];
    const ackSeqs = store.transaction(() => {
      const body = channel.open(payload);
      if (!body) return undefined;
      const m = decodeUplink(body);
      if (m instanceof MessageError) {
        channel.bodyRejected();
        return undefined;
      }
      switch (m.kind) {
        case "readings":
          store.putReadings(id, m.readings, now);
          return m.seqs;
        case "events":
          store.putEvents(id, m.events, now);
          this.#o.ota?.observe(id, m);
          return seqSetOf(m.events.map((e) => e.seq));
        case "result":
          store.putResult(id, m.seq, m.result, now);
          return seqSetOf([m.seq]);
        case "status":
          store.putStatus(id, m, now);
          this.#o.ota?.observe(id, m);
          return undefined;
        case "otaRequest":
          frames = this.#o.ota?.request(id, m) ?? [];
          return undefined;
      }
    });
    for (const f of frames) this.#o.send?.(f);
    const c = channel.counters;
    if (c.malformed > before.malformed) return reject("malformed");
    if (c.foreign > before.foreign) return reject("foreign");
    if (c.authFailed > before.authFailed) return reject("authentication");
    if (c.replayed > before.replayed) return reject("replayed");
    if (c.parseFailed > before.parseFailed) return reject("parse");
    if (!ackSeqs || ackSeqs.length === 0) return undefined;
    const ack = store.transaction(() => channel.seal(encodeMessage({ kind: "ack", seqs: this.#withRecentAcks(id, ackSeqs) })));
    return { topic: topicsOf(id, this.#prefix).down, payload: ack };
  }

  /** The seqs to acknowledge: these, with those of the last `ackHistory` acknowledgements (remembered in the store). */
  #withRecentAcks(id: number, seqs: SeqSet): SeqSet {
    const keep = this.#o.ackHistory ?? 0;
    const { store } = this.#o;
    if (keep === 0 || !store.recentAcks || !store.saveRecentAcks) return seqs;
    const recent = store.recentAcks(id);
    store.saveRecentAcks(id, [...recent, seqs].slice(-keep));
    return recent.length === 0 ? seqs : seqSetOf([...recent.flatMap(seqSetValues), ...seqSetValues(seqs)]);
  }

  /** Records a command and seals it for the concentrator; undefined if it is not registered. */
  command(id: number, command: CommandRequest): (Outgoing & { commandId: number }) | undefined {
    const channel = this.channel(id);
    if (!channel) return undefined;
    const { store } = this.#o;
    return store.transaction(() => {
      const commandId = store.addCommand(id, command, this.#o.now());
      const payload = channel.seal(encodeMessage({ kind: "command", command: { ...command, id: commandId } as Command }));
      return { topic: topicsOf(id, this.#prefix).down, payload, commandId };
    });
  }
}
