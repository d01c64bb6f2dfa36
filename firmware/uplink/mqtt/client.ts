/**
 * A small MQTT 3.1.1 client for the concentrator: QoS 0 and 1, a persistent session (Clean Session = 0),
 * keep-alive, reconnection with backoff, and a bounded window of QoS 1 PUBLISHes awaiting PUBACK.
 * It runs over a ByteStream (firmware/net/byte-stream.ts) and gets time from the HAL.
 *
 * Delivery: a QoS 1 message accepted by `publish` stays in the window until its PUBACK, across any
 * number of reconnections; after each CONNACK the window is re-sent in order with DUP = 1 and the
 * same packet ids [MQTT-4.4.0-1, MQTT-2.3.1-3]. The window lives in RAM: a reboot empties it. That is
 * enough because a PUBACK proves nothing beyond the broker (Mosquitto src/database.c, docs/sources.md): records leave
 * the store only on the head-end's application acknowledgement (drain.ts), so whatever a reboot
 * drops is sent again from the store.
 *
 * Received QoS 1 PUBLISHes are handed to `onMessage` and acknowledged once the owner took them (the
 * uplink opens a message on the crypto service first), in the order received [MQTT-4.6.0-2]; one not
 * taken when the connection ends stays in the broker's session and comes again. A malformed packet, or one a server may not send, closes the connection
 * [MQTT-4.8.0-1]; the client reconnects after a backoff.
 *
 * Turns: every callback runs in its own turn (timers, stream events); no call blocks.
 */
import type { MonotonicClock, TimerId, Timers } from "../../../hal/clock.js";
import type { RandomSource } from "../../../hal/system.js";
import type { ByteStream, ByteStreamCloseReason, ByteStreamHandlers, StreamConnector } from "../../net/byte-stream.js";
import { encodePacket } from "./encode.js";
import { ConnackCode, type MqttPacket, type MqttPacketError, type PublishPacket, type Subscription } from "./packets.js";
import { MqttParser } from "./parser.js";

export interface MqttClientOptions {
  connector: StreamConnector;
  clock: MonotonicClock;
  timers: Timers;
  /** Jitter for the reconnection backoff, so a fleet does not reconnect in step. */
  random: RandomSource;
  host: string;
  port: number;
  /** Client identifier; must be stable, it names the broker-side session [MQTT-3.1.3-2]. */
  clientId: string;
  username?: string;
  password?: Uint8Array;
  /** Keep-alive interval, s (§3.1.2.10). Default 60. */
  keepAliveS?: number;
  /** Wait for the answer to a PINGREQ (any packet), ms. Default min(keep-alive, 30 s). */
  pingTimeoutMs?: number;
  /** Wait from `connect` to CONNACK, ms. Default 30,000. */
  connectTimeoutMs?: number;
  /** Wait for the PUBACK of the oldest PUBLISH before the connection is taken as dead, ms. Default 60,000. */
  pubackTimeoutMs?: number;
  /** First reconnection delay, ms; doubles per failure. Default 1,000. */
  reconnectMinMs?: number;
  /** Longest reconnection delay, ms. Default 300,000. */
  reconnectMaxMs?: number;
  /** QoS 1 PUBLISHes awaiting PUBACK at most. Default 4. */
  maxInFlight?: number;
  /** Largest incoming packet (remaining length), bytes. Default 16,384. */
  maxPacketBytes?: number;
  /** Largest single ByteStream write, bytes; longer packets go in several writes. Default 1,024. */
  writeChunkBytes?: number;
  /** Made after every CONNACK that has no session (the broker forgot them). */
  subscriptions?: Subscription[];
}

export interface MqttClientEvents {
  onConnected?(sessionPresent: boolean): void;
  onDisconnected?(reason: string): void;
  /**
   * A message from the broker. A QoS 1 one is acknowledged (PUBACK) once the owner calls `taken`, in
   * the order received: one taken before an earlier one waits for it. Until then a power cut or a lost
   * connection leaves it with the broker, which sends it again in the session. Call `taken` for every
   * message, acted on or dropped, or the acknowledgements stop there.
   */
  onMessage?(topic: string, payload: Uint8Array, taken: () => void): void;
  /** The window has room again (a PUBACK arrived). */
  onWindowOpen?(): void;
}

export type MqttClientState = "stopped" | "connecting" | "connected" | "waiting";

/** Counters for diagnostics (status messages, the console). */
export interface MqttClientCounters {
  connects: number;
  connectFailures: number;
  disconnects: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  malformedIn: number;
  resent: number;
  pings: number;
  subscribeRefused: number;
}

interface InFlight {
  packet: PublishPacket;
  /** Written to some connection already: a later send is a re-send (DUP). */
  sent: boolean;
  sentAtMs: number;
}

/** `taken` of a QoS 0 message: nothing to acknowledge. */
function nothing(): void {}

const enum StreamEvent {
  connect,
  data,
  writable,
  close,
}

/**
 * The stream handlers of one connection attempt: its events reach the client with the attempt's
 * generation, so that those of an older stream are ignored. One object per attempt, not a closure per
 * handler (some 11 slots each in XS).
 */
class Attempt implements ByteStreamHandlers {
  constructor(
    readonly client: MqttClient,
    readonly generation: number,
  ) {}

  onConnect(): void {
    this.client.streamEvent(this.generation, StreamEvent.connect);
  }

  onData(bytes: Uint8Array): void {
    this.client.streamEvent(this.generation, StreamEvent.data, bytes);
  }

  onWritable(): void {
    this.client.streamEvent(this.generation, StreamEvent.writable);
  }

  onClose(reason: ByteStreamCloseReason): void {
    this.client.streamEvent(this.generation, StreamEvent.close, undefined, reason);
  }
}

const DEFAULTS = Object.freeze({
  keepAliveS: 60,
  connectTimeoutMs: 30_000,
  pubackTimeoutMs: 60_000,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 300_000,
  maxInFlight: 4,
  maxPacketBytes: 16_384,
  writeChunkBytes: 1_024,
});

export class MqttClient {
  readonly counters: MqttClientCounters = {
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    malformedIn: 0,
    resent: 0,
    pings: 0,
    subscribeRefused: 0,
  };
  readonly #o: Required<Omit<MqttClientOptions, "username" | "password" | "pingTimeoutMs">> & Pick<MqttClientOptions, "username" | "password"> & { pingTimeoutMs: number };
  readonly #events: MqttClientEvents;
  readonly #parser: MqttParser;
  #state: MqttClientState = "stopped";
  #stream: ByteStream | undefined;
  /** Incremented per connection attempt: callbacks of an older stream are ignored. */
  #generation = 0;
  #connected = false;
  /** The QoS 1 PUBLISHes of this connection not acknowledged yet, in the order received: packet id, negated once taken. */
  #receipts: number[] = [];
  #failures = 0;
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  #connectDeadline = Infinity;
  #reconnectAt = Infinity;
  #lastSentMs = 0;
  #lastReceivedMs = 0;
  #pingSentMs = -1;
  #nextId = 1;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #subscribeIds = new Set<number>();
  /**
   * Whether the broker acknowledged our subscriptions (SUBACK) in the session it keeps for us. A
   * session present at CONNACK holds only what it acknowledged: if the link dropped between our
   * SUBSCRIBE and its SUBACK, the session is there without the subscriptions, and we subscribe again.
   */
  #subscribed = false;
  /** Chunks accepted for sending but not yet taken by the stream. */
  #out: Uint8Array[] = [];

  constructor(options: MqttClientOptions, events: MqttClientEvents = {}) {
    const o = { ...DEFAULTS, subscriptions: [], ...options };
    if (!(Number.isInteger(o.keepAliveS) && o.keepAliveS > 0 && o.keepAliveS <= 0xffff)) throw new RangeError('invalid "keepAliveS"');
    if (!(Number.isInteger(o.maxInFlight) && o.maxInFlight >= 1 && o.maxInFlight < 0xffff)) throw new RangeError('invalid "maxInFlight"');
    if (!(o.writeChunkBytes >= 16)) throw new RangeError('invalid "writeChunkBytes"');
    if (!(o.reconnectMinMs > 0 && o.reconnectMaxMs >= o.reconnectMinMs)) throw new RangeError('invalid "reconnectMinMs"');
    if (o.clientId.length === 0) throw new TypeError('empty "clientId"'); // a persistent session needs an identifier [MQTT-3.1.3-7]
    this.#o = { ...o, pingTimeoutMs: options.pingTimeoutMs ?? Math.min(o.keepAliveS * 1000, 30_000) };
    this.#events = events;
    this.#parser = new MqttParser({
      maxPacketBytes: o.maxPacketBytes,
      onPacket: (p) => this.receive(p),
      onError: (e) => this.malformed(e),
    });
  }

  get state(): MqttClientState {
    return this.#state;
  }

  /** QoS 1 PUBLISHes awaiting PUBACK. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** True when `publish` with QoS 1 would be accepted. */
  get canPublish(): boolean {
    return this.#state !== "stopped" && this.#inFlight.size < this.#o.maxInFlight;
  }

  /** Starts connecting (and keeps reconnecting until `stop`). */
  start(): void {
    if (this.#state !== "stopped") return;
    this.#failures = 0;
    this.open();
  }

  /** Sends DISCONNECT if connected, closes, and stops reconnecting. The window is kept. */
  stop(): void {
    if (this.#state === "stopped") return;
    if (this.#connected) this.#send({ type: "disconnect" });
    this.drop("stopped", "stopped");
  }

  /**
   * Queues a message. QoS 1: accepted while the window has room (even when disconnected: it is sent
   * at the next CONNACK) and kept until its PUBACK; returns false when the window is full. QoS 0:
   * sent only if connected now; false otherwise.
   */
  /** Waiting out a reconnection backoff: try now instead (the head-end asked, by SMS, to hear from us). */
  reconnectNow(): void {
    if (this.#state !== "waiting") return;
    this.#reconnectAt = this.#o.clock.now();
    this.schedule();
  }

  publish(topic: string, payload: Uint8Array, qos: 0 | 1 = 1): boolean {
    if (this.#state === "stopped") return false;
    if (qos === 0) {
      if (!this.#connected) return false;
      this.#send({ type: "publish", topic, payload, qos: 0, dup: false, retain: false });
      return true;
    }
    if (this.#inFlight.size >= this.#o.maxInFlight) return false;
    const packet: PublishPacket = { type: "publish", topic, payload, qos: 1, dup: false, retain: false, packetId: this.allocateId() };
    encodePacket(packet); // a bad topic throws here, before the message is taken
    const entry: InFlight = { packet, sent: false, sentAtMs: this.#o.clock.now() };
    this.#inFlight.set(packet.packetId!, entry);
    if (this.#connected) {
      entry.sent = true;
      this.#send(packet);
      this.schedule();
    }
    return true;
  }

  // --- connection ---------------------------------------------------------------------------------

  private open(): void {
    const generation = ++this.#generation;
    this.#state = "connecting";
    this.#connected = false;
    this.#receipts.length = 0;
    this.#parser.reset();
    this.#out = [];
    this.#pingSentMs = -1;
    this.#reconnectAt = Infinity;
    this.#connectDeadline = this.#o.clock.now() + this.#o.connectTimeoutMs;
    this.#stream = this.#o.connector.connect(this.#o.host, this.#o.port, new Attempt(this, generation));
    this.schedule();
  }

  /** @internal An event of connection attempt `generation`'s stream (Attempt): acted on while that attempt is the current one. */
  streamEvent(generation: number, event: StreamEvent, data?: Uint8Array, reason?: ByteStreamCloseReason): void {
    if (generation !== this.#generation) return;
    switch (event) {
      case StreamEvent.connect:
        return this.onStreamConnect();
      case StreamEvent.data:
        return this.#onData(data!);
      case StreamEvent.writable:
        return this.flush();
      case StreamEvent.close:
        return this.drop(reason!, "waiting");
    }
  }

  private onStreamConnect(): void {
    const now = this.#o.clock.now();
    this.#lastReceivedMs = now;
    this.#send({
      type: "connect",
      clientId: this.#o.clientId,
      cleanSession: false,
      keepAliveS: this.#o.keepAliveS,
      ...(this.#o.username !== undefined ? { username: this.#o.username } : {}),
      ...(this.#o.password !== undefined ? { password: this.#o.password } : {}),
    });
  }

  #onData(bytes: Uint8Array): void {
    this.counters.bytesIn += bytes.length;
    this.#lastReceivedMs = this.#o.clock.now();
    this.#parser.push(bytes);
  }

  private malformed(_e: MqttPacketError): void {
    if (this.#state !== "connecting" && this.#state !== "connected") return; // after a drop within this chunk
    this.counters.malformedIn++;
    this.drop("malformed packet", "waiting");
  }

  private receive(p: MqttPacket): void {
    if (this.#state !== "connecting" && this.#state !== "connected") return; // after a drop within this chunk
    this.counters.packetsIn++;
    this.#pingSentMs = -1; // any packet proves the connection alive
    if (!this.#connected) {
      if (p.type !== "connack") return this.drop("protocol violation", "waiting"); // CONNACK comes first (§3.2)
      if (p.returnCode !== ConnackCode.accepted) return this.drop(`connack ${p.returnCode}`, "waiting");
      this.#accepted(p.sessionPresent);
      return;
    }
    switch (p.type) {
      case "puback": {
        if (this.#inFlight.delete(p.packetId)) {
          this.schedule();
          this.#events.onWindowOpen?.();
        }
        return;
      }
      case "publish": {
        if (p.qos === 2) return this.drop("protocol violation", "waiting"); // subscribed at QoS ≤ 1 only
        if (p.qos === 0) return this.#events.onMessage?.(p.topic, p.payload, nothing);
        const id = p.packetId!, generation = this.#generation;
        this.#receipts.push(id);
        if (this.#events.onMessage) this.#events.onMessage(p.topic, p.payload, () => this.#taken(generation, id));
        else this.#taken(generation, id);
        return;
      }
      case "suback": {
        if (this.#subscribeIds.delete(p.packetId)) {
          this.counters.subscribeRefused += p.granted.filter((g) => g === 0x80).length;
          this.#subscribed = true;
        }
        return;
      }
      case "pingresp":
      case "unsuback":
        return;
      default:
        return this.drop("protocol violation", "waiting"); // a packet only a client sends [MQTT-4.8.0-1]
    }
  }

  /** Message `id` of connection `generation` was taken: the PUBACKs now due go out, in order. */
  #taken(generation: number, id: number): void {
    // Of a connection that is gone: the broker sends it again on the next one.
    if (generation !== this.#generation || !this.#connected) return;
    const r = this.#receipts, at = r.indexOf(id);
    if (at < 0) return;
    r[at] = -id;
    while (r.length > 0 && r[0]! < 0) this.#send({ type: "puback", packetId: -r.shift()! });
  }

  #accepted(sessionPresent: boolean): void {
    this.#state = "connected";
    this.#connected = true;
    this.#failures = 0;
    this.#connectDeadline = Infinity;
    this.counters.connects++;
    if (!sessionPresent) this.#subscribed = false;
    if (!this.#subscribed && this.#o.subscriptions.length > 0) {
      const packetId = this.allocateId();
      this.#subscribeIds.add(packetId);
      this.#send({ type: "subscribe", packetId, subscriptions: this.#o.subscriptions });
    }
    // Re-send the window in order, same ids, DUP set [MQTT-4.4.0-1, MQTT-2.3.1-3].
    const now = this.#o.clock.now();
    for (const entry of this.#inFlight.values()) {
      if (entry.sent) {
        entry.packet = { ...entry.packet, dup: true };
        this.counters.resent++;
      }
      entry.sent = true;
      entry.sentAtMs = now;
      this.#send(entry.packet);
    }
    this.schedule();
    this.#events.onConnected?.(sessionPresent);
    if (this.#inFlight.size < this.#o.maxInFlight) this.#events.onWindowOpen?.();
  }

  /** Ends the current connection (if any) and enters `next`: "waiting" reconnects after a backoff. */
  private drop(reason: string, next: "waiting" | "stopped"): void {
    const wasConnected = this.#connected;
    const wasOpen = this.#state === "connecting" || this.#state === "connected";
    this.#generation++;
    this.#connected = false;
    this.#subscribeIds.clear();
    const stream = this.#stream;
    this.#stream = undefined;
    // Bytes already accepted by the stream may still go out; our unsent queue is dropped.
    this.#out = [];
    stream?.close();
    this.#parser.reset();
    if (wasConnected) this.counters.disconnects++;
    else if (wasOpen) this.counters.connectFailures++;
    this.#state = next;
    this.#connectDeadline = Infinity;
    if (next === "waiting") {
      const base = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectMinMs * 2 ** Math.min(this.#failures, 30));
      this.#failures++;
      const r = new Uint8Array(2);
      this.#o.random.fill(r);
      const jitter = 0.5 + ((r[0]! << 8) | r[1]!) / 131_072; // 0.5 to 1.0 of the base delay
      this.#reconnectAt = this.#o.clock.now() + base * jitter;
    } else this.#reconnectAt = Infinity;
    this.schedule();
    if (wasOpen) this.#events.onDisconnected?.(reason);
  }

  // --- sending ------------------------------------------------------------------------------------

  private allocateId(): number {
    // A packet id in use by a QoS 1 PUBLISH or a SUBSCRIBE is never reused [MQTT-2.3.1-2].
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id === 0xffff ? 1 : id + 1;
      if (!this.#inFlight.has(id) && !this.#subscribeIds.has(id)) return id;
    }
  }

  #send(p: MqttPacket): void {
    const bytes = encodePacket(p);
    this.counters.packetsOut++;
    const n = this.#o.writeChunkBytes;
    for (let i = 0; i < bytes.length; i += n) this.#out.push(bytes.subarray(i, Math.min(bytes.length, i + n)));
    this.#lastSentMs = this.#o.clock.now();
    this.flush();
  }

  private flush(): void {
    const stream = this.#stream;
    if (!stream) return;
    while (this.#out.length > 0) {
      const chunk = this.#out[0]!;
      if (!stream.write(chunk)) return; // all-or-nothing: onWritable follows
      this.counters.bytesOut += chunk.length;
      this.#out.shift();
    }
  }

  // --- time ---------------------------------------------------------------------------------------

  /** Arms the one timer for the earliest deadline; a timer that fires early just re-arms. */
  private schedule(): void {
    const at = this.nextDeadline();
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#o.timers.clear(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = this.#o.timers.set(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.tick(at);
    }, Math.max(0, at - this.#o.clock.now()));
  }

  private nextDeadline(): number {
    switch (this.#state) {
      case "stopped":
        return Infinity;
      case "waiting":
        return this.#reconnectAt;
      case "connecting":
        return this.#connectDeadline;
      case "connected": {
        const k = this.#o.keepAliveS * 1000;
        let at = this.#pingSentMs >= 0 ? this.#pingSentMs + this.#o.pingTimeoutMs : Math.min(this.#lastSentMs, this.#lastReceivedMs) + k;
        const oldest = this.#inFlight.values().next();
        if (!oldest.done) at = Math.min(at, oldest.value.sentAtMs + this.#o.pubackTimeoutMs);
        return at;
      }
    }
  }

  /**
   * The timer for deadline `due` fired. The deadline counts as reached even if the clock reads a hair
   * below it: times may be fractional, and `at - now` then `now + delay` need not give `at` back
   * exactly (a deadline missed by rounding would re-arm a 0 ms timer for ever).
   */
  private tick(due: number): void {
    const now = Math.max(this.#o.clock.now(), due);
    switch (this.#state) {
      case "waiting":
        if (now >= this.#reconnectAt) return this.open();
        break;
      case "connecting":
        if (now >= this.#connectDeadline) return this.drop("connect timeout", "waiting");
        break;
      case "connected": {
        if (this.#pingSentMs >= 0 && now >= this.#pingSentMs + this.#o.pingTimeoutMs) return this.drop("ping timeout", "waiting");
        const oldest = this.#inFlight.values().next();
        if (!oldest.done && now >= oldest.value.sentAtMs + this.#o.pubackTimeoutMs) return this.drop("puback timeout", "waiting");
        // Ping when nothing was sent, or nothing received, for a keep-alive interval (as libmosquitto
        // does), so the link is proven both ways [MQTT-3.1.2-23].
        if (this.#pingSentMs < 0 && now >= Math.min(this.#lastSentMs, this.#lastReceivedMs) + this.#o.keepAliveS * 1000) {
          this.counters.pings++;
          this.#send({ type: "pingreq" });
          this.#pingSentMs = now;
        }
        break;
      }
      default:
        break;
    }
    this.schedule();
  }
}
