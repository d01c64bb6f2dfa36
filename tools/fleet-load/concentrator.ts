/**
 * One simulated concentrator of the fleet load generator: the firmware's envelope, channel and
 * message encoding (firmware/uplink) over a real MQTT connection, draining a backlog of 15-minute
 * readings as the firmware's drain does (docs/uplink.md): up to `window` messages outstanding, each
 * covering its records' sequence numbers; an acknowledgement removes what it names; a message not
 * acknowledged within `ackTimeoutMs` is sent again, sealed with a new counter. It keeps what the
 * generator checks afterwards: every reading sent, the time from a message's first publication to
 * the acknowledgement that completed it, and the envelopes it may replay.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Reading } from "../../firmware/model/records.js";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import { decodeDownlink, encodeMessage, MessageError } from "../../firmware/uplink/messages.js";
import { seqSetOf } from "../../firmware/uplink/seq-set.js";
import { topicsOf } from "../../firmware/uplink/topics.js";
import type { DeviceKeyFile } from "../headend/keyfiles.js";
import { MemoryCounters } from "../sim/memory-ports.js";

export interface FleetConcentratorOptions {
  keys: DeviceKeyFile;
  broker: string;
  /** The backlog: every reading, in the order the store would send them (seq = index + 1). */
  readings: readonly Reading[];
  /** Readings per message (the firmware's drain batch). */
  perMessage: number;
  /** Messages outstanding at once. */
  window: number;
  ackTimeoutMs: number;
}

interface Outstanding {
  first: number;
  /** Sequence numbers not yet acknowledged. */
  open: Set<number>;
  firstSentMs: number;
  lastSentMs: number;
  sendings: number;
}

export class FleetConcentrator {
  readonly id: number;
  readonly #o: FleetConcentratorOptions;
  readonly #channel: SecureChannel;
  readonly #topics;
  #client: MqttClient | undefined;
  /** Next reading (index) not yet put in a message. */
  #cursor = 0;
  readonly #outstanding: Outstanding[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #allAcked: (() => void) | undefined;
  /** Publish-to-acknowledgement times of the messages completed, ms. */
  readonly ackMs: number[] = [];
  /** Envelopes published (first sendings and resends), and the readings in resends. */
  published = 0;
  resentReadings = 0;
  /** Acknowledgements received, and those naming nothing still outstanding (a repeat). */
  acks = 0;
  staleAcks = 0;
  /** Some envelopes whose counter was accepted (sent once, acknowledged), kept to replay. */
  readonly acknowledgedEnvelopes: Uint8Array[] = [];
  #lastEnvelope = new Map<number, Uint8Array>();
  firstPublishMs = Infinity;
  lastAckMs = 0;

  constructor(o: FleetConcentratorOptions) {
    this.#o = o;
    this.id = o.keys.concentratorId;
    this.#topics = topicsOf(this.id);
    this.#channel = new SecureChannel({
      sharedKey: deriveSharedKey(o.keys.secretKey, o.keys.headendPublicKey),
      concentratorId: this.id,
      role: "concentrator",
      counters: new MemoryCounters(),
    });
  }

  get done(): boolean {
    return this.#cursor >= this.#o.readings.length && this.#outstanding.length === 0;
  }

  /** Connects and drains; resolves when every reading was acknowledged. */
  async run(): Promise<void> {
    const finished = new Promise<void>((r) => (this.#allAcked = r));
    const client = (this.#client = mqtt.connect(this.#o.broker, {
      clientId: this.#topics.clientId,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 500,
      connectTimeout: 10_000,
      resubscribe: true,
    }));
    client.on("message", (_topic, payload) => this.#onDown(new Uint8Array(payload)));
    client.on("connect", () => {
      client.subscribe(this.#topics.down, { qos: 1 }, () => this.#fill());
    });
    client.on("error", () => undefined); // reconnects by itself (a broker restart)
    this.#timer = setInterval(() => this.#resendOverdue(), Math.max(100, this.#o.ackTimeoutMs / 4));
    if (this.done) this.#allAcked?.();
    await finished;
  }

  /** Publishes the exact bytes of envelopes already acknowledged (true replays); returns how many. */
  replay(count: number): number {
    const list = this.acknowledgedEnvelopes.slice(0, count);
    for (const e of list) this.#client!.publish(this.#topics.up, Buffer.from(e), { qos: 1 });
    return list.length;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#client?.endAsync(true);
  }

  #fill(): void {
    const { readings, perMessage, window } = this.#o;
    while (this.#outstanding.length < window && this.#cursor < readings.length) {
      const first = this.#cursor;
      const end = Math.min(readings.length, first + perMessage);
      this.#cursor = end;
      const o: Outstanding = { first, open: new Set(), firstSentMs: Date.now(), lastSentMs: 0, sendings: 0 };
      for (let i = first; i < end; i++) o.open.add(i + 1);
      this.#outstanding.push(o);
      this.#send(o);
    }
  }

  /** Seals what is still open in the message with a new counter and publishes it (QoS 1). */
  #send(o: Outstanding): void {
    const seqs = [...o.open].sort((a, b) => a - b);
    const body = encodeMessage({ kind: "readings", seqs: seqSetOf(seqs), readings: seqs.map((s) => this.#o.readings[s - 1]!) });
    const envelope = this.#channel.seal(body);
    o.lastSentMs = Date.now();
    o.sendings++;
    this.firstPublishMs = Math.min(this.firstPublishMs, o.lastSentMs);
    this.#lastEnvelope.set(o.first, envelope);
    this.published++;
    this.#client!.publish(this.#topics.up, Buffer.from(envelope), { qos: 1 });
  }

  #resendOverdue(): void {
    if (!this.#client?.connected) return;
    const now = Date.now();
    for (const o of this.#outstanding) {
      if (now - o.lastSentMs < this.#o.ackTimeoutMs) continue;
      this.resentReadings += o.open.size;
      this.#send(o);
    }
  }

  #onDown(envelope: Uint8Array): void {
    const body = this.#channel.open(envelope);
    if (!body) return;
    const m = decodeDownlink(body);
    if (m instanceof MessageError || m.kind !== "ack") return;
    this.acks++;
    let removed = false;
    const now = Date.now();
    for (const run of m.seqs) {
      for (let s = run.first; s < run.first + run.count; s++) {
        for (const o of this.#outstanding) if (o.open.delete(s)) removed = true;
      }
    }
    if (!removed) this.staleAcks++;
    for (let i = this.#outstanding.length - 1; i >= 0; i--) {
      const o = this.#outstanding[i]!;
      if (o.open.size > 0) continue;
      this.ackMs.push(now - o.firstSentMs);
      this.lastAckMs = now;
      // Sent once and acknowledged: its counter was accepted, so sending it again is a true replay.
      const e = this.#lastEnvelope.get(o.first);
      if (e && o.sendings === 1 && this.acknowledgedEnvelopes.length < 8) this.acknowledgedEnvelopes.push(e);
      this.#lastEnvelope.delete(o.first);
      this.#outstanding.splice(i, 1);
    }
    this.#fill();
    if (this.done) this.#allAcked?.();
  }
}
