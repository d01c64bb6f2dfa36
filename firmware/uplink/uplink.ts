/**
 * The concentrator's uplink, assembled: the MQTT client on the modem's byte stream, the secure
 * channel, the drain of the store, command dispatch and periodic status. The application builds one
 * at boot and tells it about new records with `notify`.
 *
 *   store ──pending──▶ Drain ──body──▶ SecureChannel.sealLater ──▶ MqttClient ──▶ <prefix>/<id>/up
 *   store ◀─acknowledge── Drain ◀─ack── decodeDownlink ◀── SecureChannel.openLater ◀── <prefix>/<id>/down
 *   handlers ◀─command──┘   └─result─▶ store (appendResult) ──▶ Drain        ◀── `receive` (SMS)
 *
 * The same channel seals what goes by SMS (`seal`, alarms while GPRS is down) and opens what
 * comes by SMS (`receive`): one counter per direction whatever the bearer, so a message is acted on
 * once however it arrives.
 *
 * Every seal and open runs on the crypto service (the worker on the device: ≈ 21,600 + 276 XS units
 * per byte would not fit a turn of the main loop): a message is published in a turn after its seal
 * result, an incoming one acted on in the turn of its open result. A downlink message is PUBACKed when
 * it arrives, before its open result: an acknowledgement lost to a power cut in between is asked for
 * again by the drain's time-out; a command lost so is one "still on its way when the concentrator
 * reboots" (docs/headend.md "Commands"), issued again by the operator.
 */
import type { MonotonicClock, Timers, WallClock } from "../../hal/clock.js";
import type { CryptoService, RandomSource } from "../../hal/system.js";
import type { StreamConnector } from "../net/byte-stream.js";
import { SecureChannel } from "./channel.js";
import { CommandDispatcher } from "./commands.js";
import { Drain, type DrainOptions, type DrainTransport } from "./drain.js";
import { decodeDownlink, encodeMessage, MessageError, type OtaRequestMessage } from "./messages.js";
import { MqttClient, type MqttClientEvents, type MqttClientOptions } from "./mqtt/client.js";
import { publishPacketBytes } from "./mqtt/encode.js";
import type { CommandHandlers, CounterStore, RecordKind, UplinkQueue } from "./ports.js";
import { topicsOf, type Topics } from "./topics.js";

/**
 * Downlink messages that may overtake one without it being refused (late-window.ts): a fleet
 * head-end's workers publish one concentrator's acknowledgements and commands over different
 * connections (docs/headend.md "Commands").
 */
export const DOWNLINK_LATE_WINDOW = 16;

export interface UplinkOptions {
  /** The concentrator's id (u32): in the topics, the client id and every envelope. */
  concentratorId: number;
  /** Topic prefix. Default "mc". */
  topicPrefix?: string;
  /** Shared key with the head-end (envelope.ts `deriveSharedKey`, done once). */
  sharedKey: Uint8Array;
  counters: CounterStore;
  queue: UplinkQueue;
  handlers: CommandHandlers;
  connector: StreamConnector;
  host: string;
  port: number;
  clock: MonotonicClock;
  timers: Timers;
  wallClock: WallClock;
  random: RandomSource;
  /** Seals and opens every message (off the main loop on the device). */
  crypto: CryptoService;
  /** MQTT settings (keep-alive, window, timeouts, credentials). */
  mqtt?: Partial<Omit<MqttClientOptions, "connector" | "clock" | "timers" | "random" | "host" | "port" | "clientId" | "subscriptions">>;
  /** Drain settings (batch sizes, outstanding window, timeouts). */
  drain?: Partial<Omit<DrainOptions, "queue" | "transport" | "clock" | "timers">>;
  /** Interval of status messages, ms; one also follows every connection. Default 3,600,000. */
  statusIntervalMs?: number;
  /** More counters for the status message (the application's). */
  statusCounters?: () => Record<string, number>;
  /** OTA (firmware/ota): frames from the `ota` topic, and each new connection. Without it the topic is not subscribed. */
  ota?: OtaSink;
}

export interface OtaSink {
  frame(payload: Uint8Array): void;
  linkUp(): void;
}

export class Uplink implements MqttClientEvents, DrainTransport {
  readonly topics: Topics;
  readonly channel: SecureChannel;
  readonly mqtt: MqttClient;
  readonly drain: Drain;
  readonly commands: CommandDispatcher;
  readonly #o: UplinkOptions;
  #statusTimer: number | undefined;
  /** Messages on a topic other than ours (a broker or ACL misconfiguration). */
  #strayMessages = 0;
  /** Bytes of the MQTT packets that carried OTA requests (docs/ota.md "Bytes on the air"). */
  otaRequestBytes = 0;

  constructor(o: UplinkOptions) {
    this.#o = o;
    this.topics = topicsOf(o.concentratorId, o.topicPrefix);
    this.channel = new SecureChannel({ sharedKey: o.sharedKey, concentratorId: o.concentratorId, role: "concentrator", counters: o.counters, lateWindow: DOWNLINK_LATE_WINDOW, crypto: o.crypto });
    this.mqtt = new MqttClient(
      {
        ...o.mqtt,
        connector: o.connector,
        clock: o.clock,
        timers: o.timers,
        random: o.random,
        host: o.host,
        port: o.port,
        clientId: this.topics.clientId,
        // OTA frames at QoS 0: a frame lost with a connection is asked for again, and the broker
        // keeps none for an offline concentrator (they would be stale when it is back).
        subscriptions: o.ota ? [{ topic: this.topics.down, qos: 1 }, { topic: this.topics.ota, qos: 0 }] : [{ topic: this.topics.down, qos: 1 }],
      },
      // The uplink hears the client's events and is the drain's transport itself: its methods, not a
      // closure each (some 11 slots in XS).
      this,
    );
    this.drain = new Drain({ ...o.drain, queue: o.queue, clock: o.clock, timers: o.timers, transport: this });
    this.commands = new CommandDispatcher(o.handlers, o.queue, () => this.drain.kick());
  }

  start(): void {
    this.mqtt.start();
    const every = this.#o.statusIntervalMs ?? 3_600_000;
    this.#statusTimer = this.#o.timers.set(() => this.sendStatus(), every, every);
  }

  stop(): void {
    if (this.#statusTimer !== undefined) this.#o.timers.clear(this.#statusTimer);
    this.#statusTimer = undefined;
    this.drain.stop();
    this.mqtt.stop();
  }

  /** New records of `kind` are in the store. Alarms and results go out at once. */
  notify(_kind: RecordKind): void {
    this.drain.kick();
  }

  /** Whether the MQTT session is up: records go out over GPRS now. */
  get connected(): boolean {
    return this.mqtt.state === "connected";
  }

  /**
   * A sealed message for us that came by another bearer (an SMS from the head-end's gateway): opened
   * and acted on as on the down topic, and the MQTT session tried again at once if it was waiting.
   * `taken` runs (in a later turn) once it was authentic, fresh and well-formed and acted on; anything
   * else is dropped and counted.
   */
  receive(payload: Uint8Array, taken: () => void): void {
    this.handle(payload, (acted) => {
      if (!acted) return;
      this.mqtt.reconnectNow();
      taken();
    });
  }

  /**
   * Seals an OTA request and publishes it when sealed, at QoS 0: the updater asks again after its
   * time-out. False when the session is not up.
   */
  sendOtaRequest(m: OtaRequestMessage): boolean {
    if (this.mqtt.state !== "connected") return false;
    this.channel.sealLater(encodeMessage(m), (sealed) => {
      if (sealed && this.mqtt.state === "connected" && this.mqtt.publish(this.topics.up, sealed, 0)) this.otaRequestBytes += publishPacketBytes(this.topics.up, sealed.length, 0);
    });
    return true;
  }

  /**
   * Seals a message body with the next counter, for the drain and for a bearer other than MQTT (alarms
   * by SMS): the envelope comes to `done` in a later turn.
   */
  seal(body: Uint8Array, done: (envelope: Uint8Array | undefined) => void): void {
    this.channel.sealLater(body, done);
  }

  // --- the drain's transport (DrainTransport) ---

  /** @internal Whether the client's window takes a message now. */
  get canSend(): boolean {
    return this.mqtt.canPublish;
  }

  /** @internal Publishes a sealed message of the drain (QoS 1); false if the window did not take it. */
  send(envelope: Uint8Array): boolean {
    return this.mqtt.publish(this.topics.up, envelope, 1);
  }

  /** Every counter of the uplink, flat (status messages, the console). */
  diagnostics(): Record<string, number> {
    const out: Record<string, number> = { strayMessages: this.#strayMessages, outstanding: this.drain.outstanding, inFlight: this.mqtt.inFlight };
    for (const [k, v] of Object.entries(this.channel.counters)) out[`rx.${k}`] = v;
    for (const [k, v] of Object.entries(this.mqtt.counters)) out[`mqtt.${k}`] = v;
    for (const [k, v] of Object.entries(this.drain.counters)) out[`drain.${k}`] = v;
    for (const [k, v] of Object.entries(this.commands.counters)) out[`cmd.${k}`] = v;
    return out;
  }

  // --- the MQTT client's events (MqttClientEvents) ---

  /** @internal The session is up. */
  onConnected(sessionPresent: boolean): void {
    // Without a session the broker may also have lost what it had accepted from us: send it again.
    if (!sessionPresent && this.drain.outstanding > 0) this.drain.rewind();
    this.drain.start();
    this.sendStatus();
    this.#o.ota?.linkUp();
  }

  /** @internal The session is down. */
  onDisconnected(): void {
    this.drain.stop();
  }

  /** @internal The client's window has room again. */
  onWindowOpen(): void {
    this.drain.kick();
  }

  /** @internal A message from the broker; `taken` (its PUBACK) once it was acted on or dropped, not before. */
  onMessage(topic: string, payload: Uint8Array, taken: () => void): void {
    if (topic === this.topics.ota && this.#o.ota) {
      this.#o.ota.frame(payload);
      return taken();
    }
    if (topic !== this.topics.down) {
      this.#strayMessages++;
      return taken();
    }
    this.handle(payload, taken);
  }

  /** Opens `payload` on the crypto service and acts on it; `settled` then, with whether it was acted on (or dropped). */
  private handle(payload: Uint8Array, settled: (acted: boolean) => void): void {
    this.channel.openLater(payload, (body) => {
      const m = body && decodeDownlink(body);
      if (!m) return settled(false); // dropped silently, counted by the channel
      if (m instanceof MessageError) {
        this.channel.bodyRejected();
        return settled(false);
      }
      if (m.kind === "ack") this.drain.acknowledged(m.seqs);
      else this.commands.dispatch(m.command);
      settled(true);
    });
  }

  private sendStatus(): void {
    if (this.mqtt.state !== "connected") return;
    const wall = this.#o.wallClock;
    // Counters that are 0 are left out: a status is then a few hundred bytes, not a kilobyte.
    const counters: Record<string, number> = {};
    for (const [k, v] of Object.entries({ ...this.diagnostics(), ...this.#o.statusCounters?.() })) if (v !== 0) counters[k] = v;
    const body = encodeMessage({
      kind: "status",
      time: wall.valid ? Math.floor(wall.now() / 1000) : 0,
      uptimeS: Math.floor(this.#o.clock.now() / 1000),
      counters,
    });
    // Sealed on the crypto service, as the drain's messages are.
    this.channel.sealLater(body, (sealed) => {
      if (sealed && this.mqtt.state === "connected") this.mqtt.publish(this.topics.up, sealed, 0);
    });
  }
}
