/**
 * Alarms by SMS while GPRS is down (the SMS-based metering system's product document: SMS is the alarm channel when the data bearer is not
 * there). An alarm stored while the MQTT session has been down for `graceMs` goes to the head-end's
 * SMS gateway as an events message sealed like any uplink message (same keys, same counter), as many
 * alarms to a message as fit. The SMS is a copy: the alarm stays in the store until the head-end
 * acknowledges it over MQTT, and the head-end keeps it once by its sequence number, whichever copy
 * comes first. After a reboot alarms still unacknowledged may be sent by SMS once more.
 */
import type { TimerId, Timers } from "../../hal/clock.js";
import { OVERHEAD_BYTES } from "../uplink/envelope.js";
import { encodeMessage } from "../uplink/messages.js";
import type { MeterEvent } from "../model/records.js";
import type { UplinkQueue } from "../uplink/ports.js";

export interface AlarmSmsOptions {
  /** The head-end's SMS gateway. */
  number: string;
  sms: { readonly ready: boolean; send(to: string, payload: Uint8Array): unknown };
  queue: Pick<UplinkQueue, "pending">;
  /** Seals on the crypto service: the envelope comes in a later turn. */
  uplink: { readonly connected: boolean; seal(body: Uint8Array, done: (envelope: Uint8Array | undefined) => void): void };
  timers: Timers;
  /** Largest SMS payload, bytes. */
  maxBytes: number;
  /** How long the MQTT session may be down when an alarm is stored before it goes by SMS, ms. Default 2 min. */
  graceMs?: number;
}

/** Alarms looked at per message (an alarm's event takes about 20 bytes of a 134-byte payload). */
const MAX_PER_MESSAGE = 8;

export class AlarmSms {
  readonly counters = { messages: 0, alarms: 0, refused: 0 };
  readonly #o: AlarmSmsOptions;
  #timer: TimerId | undefined;
  /** The highest alarm sequence number sent by SMS this boot. */
  #lastSeq = 0;
  /** A message is being sealed; `#again`: a send was due meanwhile. */
  #sealing = false;
  #again = false;

  constructor(options: AlarmSmsOptions) {
    this.#o = options;
  }

  /** An alarm is in the store: it goes by SMS if the session is still down in `graceMs`. */
  alarmStored(): void {
    this.#later(this.#o.graceMs ?? 120_000);
  }

  stop(): void {
    if (this.#timer !== undefined) this.#o.timers.clear(this.#timer);
    this.#timer = undefined;
  }

  #later(ms: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#o.timers.set(() => {
      this.#timer = undefined;
      this.#send();
    }, ms);
  }

  #send(): void {
    const o = this.#o;
    if (this.#sealing) {
      this.#again = true; // after the seal on its way
      return;
    }
    if (o.uplink.connected) return; // the drain sends them, alarms first
    if (!o.sms.ready) return this.alarmStored();
    const records = o.queue.pending("alarm", this.#lastSeq, MAX_PER_MESSAGE);
    if (records === undefined) return this.#later(0); // the store asks for another turn
    const alarms: EventRecord[] = [];
    for (const r of records) if (r.kind === "alarm") alarms.push({ seq: r.seq, event: r.event });
    if (alarms.length === 0) return;
    let n = alarms.length;
    let body = eventsBody(alarms, n);
    while (n > 1 && body.length + OVERHEAD_BYTES > o.maxBytes) body = eventsBody(alarms, --n);
    const more = n < alarms.length || records.length === MAX_PER_MESSAGE;
    this.#sealing = true;
    o.uplink.seal(body, (envelope) => {
      this.#sealing = false;
      if (envelope) this.#sealed(envelope, n, alarms[n - 1]!.seq, more);
      if (this.#again) {
        this.#again = false;
        this.#later(0);
      }
    });
  }

  /** Hands a sealed message of `n` alarms, up to `lastSeq`, to the SMS queue. */
  #sealed(envelope: Uint8Array, n: number, lastSeq: number, more: boolean): void {
    try {
      this.#o.sms.send(this.#o.number, envelope);
    } catch {
      this.counters.refused++; // the SMS queue is full: the next alarm, or the next check, tries again
      return this.alarmStored();
    }
    this.counters.messages++;
    this.counters.alarms += n;
    this.#lastSeq = lastSeq;
    if (more) this.#later(0);
  }
}

type EventRecord = { seq: number; event: MeterEvent };

function eventsBody(alarms: readonly EventRecord[], n: number): Uint8Array {
  return encodeMessage({ kind: "events", events: alarms.slice(0, n) });
}
