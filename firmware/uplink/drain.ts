/**
 * The drain: takes unacknowledged records from the store in priority order (alarms, command results,
 * events, readings), sends them in bounded batches, and lets them leave the store only when the
 * head-end acknowledges the sequence numbers it stored durably. A broker's PUBACK is never enough
 * (Mosquitto src/database.c, docs/sources.md: Mosquitto may acknowledge and then lose a message).
 *
 * - A message is built across event-loop turns — its records chosen, then encoded, then sealed on the
 *   crypto service (its counter reserved when asked), then, in the turn of the seal's result, handed to
 *   the transport — and the store is read at most once per turn (UplinkQueue.pending may answer
 *   "later"), so that the drain's turns stay short (docs/uplink.md "Turns and the modem UART"). A
 *   rewind while a seal is on its way drops its result: the counter is skipped, never reused.
 * - A message body is at most `maxBodyBytes` (but one of a single record): what the crypto service
 *   takes. An encoded body over it is cut to the first half of its records and encoded again in the
 *   next turn, and each kind's batch size follows the bytes per item of its last message.
 * - At most `maxOutstanding` messages await the head-end's acknowledgement; the last slot is kept for
 *   alarms and results, so an alarm overtakes a backlog of readings.
 * - Readings wait up to `readingsDelayMs` to fill a batch (compact series); a full batch, and any
 *   alarm, event or result, goes at once.
 * - If the oldest message is not acknowledged within `ackTimeoutMs`, or the broker lost our session,
 *   everything unacknowledged is sent again (the head-end stores idempotently, duplicates are harmless).
 *   Acknowledgements may come in any order, for any subset.
 */
import type { MonotonicClock, TimerId, Timers } from "../../hal/clock.js";
import type { MeterEvent, Reading } from "../model/records.js";
import { encodeMessage, type UplinkMessage } from "./messages.js";
import { DRAIN_ORDER, isReadingKind, type RecordKind, type UplinkQueue, type UplinkRecord } from "./ports.js";
import { type SeqSet, seqSetHas, seqSetOf, seqSetValues } from "./seq-set.js";

export interface DrainTransport {
  /** True when `send` would take a message now. */
  readonly canSend: boolean;
  /** Seals a message body with the next counter; `done` gets the envelope in a later turn (undefined: refused). */
  seal(body: Uint8Array, done: (envelope: Uint8Array | undefined) => void): void;
  /** Publishes a sealed message (QoS 1); false if it was not taken. */
  send(envelope: Uint8Array): boolean;
}

export interface DrainOptions {
  queue: UplinkQueue;
  transport: DrainTransport;
  clock: MonotonicClock;
  timers: Timers;
  /** Readings per message at most. Default 64 (about 0.4 KiB of CBOR for poll-round readouts; `maxBodyBytes` bounds them too). */
  maxReadingsPerMessage?: number;
  /** Events per message at most. Default 32. */
  maxEventsPerMessage?: number;
  /**
   * Body bytes per message at most (a single record may exceed it). Default 2048: the seal runs on the
   * crypto service, off the main loop, which takes up to SECRETBOX_MAX_BYTES (hal/system.ts); a store
   * record is at most about 1 KiB, so one record's body always fits the service.
   */
  maxBodyBytes?: number;
  /** Messages awaiting the head-end's acknowledgement at most. Default 8. */
  maxOutstanding?: number;
  /** Wait for an acknowledgement before re-sending everything unacknowledged, ms. Default 120,000. */
  ackTimeoutMs?: number;
  /** Longest wait for a partial batch of readings to fill, ms. Default 60,000. */
  readingsDelayMs?: number;
}

export interface DrainCounters {
  messagesSent: number;
  recordsSent: number;
  recordsAcknowledged: number;
  /** Times everything unacknowledged was sent again (ack timeout or lost broker session). */
  rewinds: number;
  /** Bodies the crypto service would not seal (none while maxBodyBytes is within what it takes). */
  sealsRefused: number;
}

/**
 * A message on its way out: chosen in one turn, encoded in the next, sealed by the crypto service,
 * sent in a turn after its result. What it holds shrinks as it goes (the heap while the seal takes its
 * time): the records until encoded, then their sequence numbers and the body, then the envelope.
 */
interface Next {
  kind: RecordKind;
  /** The records chosen; undefined once encoded. */
  records: UplinkRecord[] | undefined;
  /** Once encoded: the records' distinct sequence numbers, and how many items (readings, events) they were. */
  seqs: number[];
  items: number;
  /** The encoded body, until sealed. */
  body: Uint8Array | undefined;
  /** "sealing" while the crypto service works on it; the envelope once sealed. */
  envelope: Uint8Array | "sealing" | undefined;
}

interface Outstanding {
  /** Sequence numbers still unacknowledged. */
  seqs: Set<number>;
  sentAtMs: number;
}

const URGENT: ReadonlySet<RecordKind> = new Set(["alarm", "result"]);

/** DrainOptions.maxBodyBytes by default. */
const DEFAULT_MAX_BODY_BYTES = 2048;

export class Drain {
  readonly counters: DrainCounters = { messagesSent: 0, recordsSent: 0, recordsAcknowledged: 0, rewinds: 0, sealsRefused: 0 };
  readonly #queue: UplinkQueue;
  readonly #transport: DrainTransport;
  readonly #clock: MonotonicClock;
  readonly #timers: Timers;
  readonly #maxReadings: number;
  readonly #maxEvents: number;
  readonly #maxOutstanding: number;
  readonly #ackTimeoutMs: number;
  readonly #readingsDelayMs: number;
  readonly #maxBody: number;
  /** Per kind, the items (readings, events) of its next message at most: follows its last message's bytes per item. */
  readonly #limit: Record<RecordKind, number>;
  /** Per kind, the highest seq sent since the last rewind. */
  readonly #cursor: Record<RecordKind, number> = { alarm: 0, result: 0, event: 0, billing: 0, reading: 0 };
  #outstanding: Outstanding[] = [];
  #next: Next | undefined;
  #partialSinceMs = -1;
  #turn: TimerId | undefined;
  #wake: TimerId | undefined;
  #wakeAt = Infinity;
  #running = false;

  constructor(o: DrainOptions) {
    this.#queue = o.queue;
    this.#transport = o.transport;
    this.#clock = o.clock;
    this.#timers = o.timers;
    this.#maxReadings = o.maxReadingsPerMessage ?? 64;
    this.#maxEvents = o.maxEventsPerMessage ?? 32;
    this.#maxOutstanding = o.maxOutstanding ?? 8;
    this.#ackTimeoutMs = o.ackTimeoutMs ?? 120_000;
    this.#readingsDelayMs = o.readingsDelayMs ?? 60_000;
    this.#maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#limit = { alarm: this.#maxEvents, result: 1, event: this.#maxEvents, billing: this.#maxReadings, reading: this.#maxReadings };
    if (!(this.#maxOutstanding >= 2)) throw new RangeError('invalid "maxOutstanding"'); // one slot is for alarms
    if (!(this.#maxReadings >= 1 && this.#maxEvents >= 1)) throw new RangeError('invalid "maxReadingsPerMessage"');
    if (!(this.#maxBody >= 1)) throw new RangeError('invalid "maxBodyBytes"');
  }

  /** Messages awaiting the head-end's acknowledgement. */
  get outstanding(): number {
    return this.#outstanding.length;
  }

  /** Starts draining (the link is up). */
  start(): void {
    this.#running = true;
    this.kick();
  }

  /** Stops building messages (the link is down); outstanding messages stay outstanding. */
  stop(): void {
    this.#running = false;
    if (this.#turn !== undefined) this.#timers.clear(this.#turn);
    this.#turn = undefined;
  }

  /** Something may be sendable: new records in the store, room in the transport. Cheap; idempotent. */
  kick(): void {
    if (!this.#running || this.#turn !== undefined) return;
    this.#turn = this.#timers.set(() => {
      this.#turn = undefined;
      this.step(-Infinity);
    }, 0);
  }

  /** Sends everything unacknowledged again, from the oldest (the broker may have lost it). */
  rewind(): void {
    this.counters.rewinds++;
    this.#outstanding = [];
    this.#next = undefined;
    for (const k of DRAIN_ORDER) this.#cursor[k] = 0;
    this.kick();
  }

  /** The head-end stored these records durably: they may leave the store. */
  acknowledged(seqs: SeqSet): void {
    const values = seqSetValues(seqs);
    this.#queue.acknowledge(values);
    this.counters.recordsAcknowledged += values.length;
    this.#outstanding = this.#outstanding.filter((o) => {
      for (const s of o.seqs) if (seqSetHas(seqs, s)) o.seqs.delete(s);
      return o.seqs.size > 0;
    });
    this.kick();
  }

  /** One step of the next message. `due`: the deadline whose wake-up timer fired (see armWake). */
  private step(due: number): void {
    const now = Math.max(this.#clock.now(), due);
    const oldest = this.#outstanding[0];
    if (oldest && now >= oldest.sentAtMs + this.#ackTimeoutMs) {
      this.rewind();
      return;
    }
    const next = this.#next;
    if (!next) {
      if (this.#transport.canSend) {
        const chosen = this.choose(now);
        if (chosen === "later") this.kick(); // the store is being read: on in the next turn
        else if (chosen) {
          this.#next = chosen;
          this.kick();
        }
      }
    } else if (next.records) {
      this.encode(next, next.records);
      this.kick();
    } else if (next.body) {
      if (this.#transport.canSend) this.#seal(next, next.body);
    } else if (next.envelope !== undefined && next.envelope !== "sealing" && this.#transport.canSend && this.#transport.send(next.envelope)) {
      const seqs = next.seqs;
      this.#next = undefined;
      this.#outstanding.push({ seqs: new Set(seqs), sentAtMs: now });
      this.#cursor[next.kind] = seqs[seqs.length - 1]!;
      this.counters.messagesSent++;
      this.counters.recordsSent += seqs.length;
      this.kick();
    }
    this.armWake(now);
  }

  /** Asks for `next`'s seal; its result, if `next` is still the message on its way, lets the drain on. */
  #seal(next: Next, body: Uint8Array): void {
    next.body = undefined;
    next.envelope = "sealing";
    this.#transport.seal(body, (envelope) => {
      if (this.#next !== next) return; // rewound meanwhile: chosen again from the store
      if (envelope) next.envelope = envelope;
      else this.refused(next);
      this.kick();
    });
  }

  /**
   * The crypto service would not seal `next`'s body (longer than it takes: not with maxBodyBytes within
   * SECRETBOX_MAX_BYTES). Several records: chosen again from the store, half as many. One: passed over
   * until the next rewind; it stays in the store, unacknowledged.
   */
  private refused(next: Next): void {
    this.counters.sealsRefused++;
    this.#next = undefined;
    if (next.seqs.length >= 2) this.#limit[next.kind] = Math.max(1, Math.floor(next.items / 2));
    else this.#cursor[next.kind] = next.seqs[0]!;
  }

  /**
   * Encodes the next message's body; one over `maxBodyBytes` with more than one record is cut to the
   * first half of its records instead (encoded in the next turn). Either way the kind's batch size
   * is set from the bytes per item just seen.
   */
  private encode(next: Next, records: UplinkRecord[]): void {
    const body = encodeMessage(messageOf(next.kind, records));
    const items = records.length;
    const kindMax = isReadingKind(next.kind) ? this.#maxReadings : next.kind === "result" ? 1 : this.#maxEvents;
    this.#limit[next.kind] = Math.max(1, Math.min(kindMax, Math.floor((items * this.#maxBody) / body.length)));
    const seqs = seqsOf(records);
    if (body.length <= this.#maxBody || seqs.length < 2) {
      next.records = undefined;
      next.seqs = seqs;
      next.items = items;
      next.body = body;
      return;
    }
    const last = seqs[Math.ceil(seqs.length / 2) - 1]!;
    next.records = records.filter((r) => r.seq <= last);
  }

  /**
   * The records of the next message: undefined when nothing is due or the window is full for its
   * kind, "later" when the store needs more turns to tell.
   */
  private choose(now: number): Next | "later" | undefined {
    for (const kind of DRAIN_ORDER) {
      const limit = URGENT.has(kind) ? this.#maxOutstanding : this.#maxOutstanding - 1;
      if (this.#outstanding.length >= limit) continue;
      const max = this.#limit[kind];
      const records = this.#queue.pending(kind, this.#cursor[kind], max);
      if (!records) return "later";
      if (kind === "reading" && records.length < max) {
        if (records.length === 0) this.#partialSinceMs = -1;
        else if (this.#partialSinceMs < 0) this.#partialSinceMs = now;
        if (records.length === 0 || now < this.#partialSinceMs + this.#readingsDelayMs) continue;
      }
      if (records.length === 0) continue;
      if (kind === "reading") this.#partialSinceMs = -1;
      return { kind, records, seqs: [], items: 0, body: undefined, envelope: undefined };
    }
    return undefined;
  }

  /**
   * Wakes up for the ack timeout or a partial batch of readings coming due. A deadline already passed
   * needs no timer: this step acted on it, or it waits for an acknowledgement or for room in the
   * window, which kick the drain.
   */
  private armWake(now: number): void {
    let at = Infinity;
    const timeout = this.#outstanding[0] ? this.#outstanding[0].sentAtMs + this.#ackTimeoutMs : Infinity;
    const partial = this.#partialSinceMs >= 0 ? this.#partialSinceMs + this.#readingsDelayMs : Infinity;
    for (const d of [timeout, partial]) if (d > now && d < at) at = d;
    if (at === this.#wakeAt) return;
    if (this.#wake !== undefined) this.#timers.clear(this.#wake);
    this.#wake = undefined;
    this.#wakeAt = at;
    if (at === Infinity) return;
    // The deadline counts as reached when its timer fires, even if the clock reads a hair below it:
    // times may be fractional, and a deadline missed by rounding would re-arm a 0 ms timer for ever.
    this.#wake = this.#timers.set(() => {
      this.#wake = undefined;
      this.#wakeAt = Infinity;
      if (this.#turn !== undefined) this.#timers.clear(this.#turn);
      this.#turn = undefined;
      if (this.#running) this.step(at);
    }, Math.max(0, at - now));
  }
}

/** The distinct sequence numbers of `records` (several readings may share one), in order. */
function seqsOf(records: readonly UplinkRecord[]): number[] {
  const out: number[] = [];
  for (const r of records) if (out[out.length - 1] !== r.seq) out.push(r.seq);
  return out;
}

function messageOf(kind: RecordKind, records: UplinkRecord[]): UplinkMessage {
  switch (kind) {
    case "billing":
    case "reading":
      return {
        kind: "readings",
        seqs: seqSetOf(records.map((r) => r.seq)),
        readings: records.map((r) => (r as { reading: Reading }).reading),
      };
    case "alarm":
    case "event":
      return { kind: "events", events: records.map((r) => ({ seq: r.seq, event: (r as { event: MeterEvent }).event })) };
    case "result": {
      const r = records[0] as Extract<UplinkRecord, { kind: "result" }>;
      return { kind: "result", seq: r.seq, result: r.result };
    }
  }
}
