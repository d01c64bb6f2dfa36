/**
 * A whole uplink path inside the simulation, for tests, scenarios and benchmarks: a concentrator
 * (its Uplink on a power domain, with an in-memory store and counters that survive power cuts), a
 * GPRS-like network, a broker, and the reference head-end's core with an in-memory database, all on
 * one scheduler. Pure ECMAScript: the XS scenarios use it too.
 */
import nacl from "tweetnacl";
import type { Reading } from "../../firmware/model/records.js";
import type { StreamConnector } from "../../firmware/net/byte-stream.js";
import type { CommandRequest } from "../../firmware/uplink/messages.js";
import { MqttClient } from "../../firmware/uplink/mqtt/client.js";
import type { MqttPacket } from "../../firmware/uplink/mqtt/packets.js";
import { MqttParser } from "../../firmware/uplink/mqtt/parser.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import { allUplinks } from "../../firmware/uplink/topics.js";
import { Uplink, type UplinkOptions } from "../../firmware/uplink/uplink.js";
import { SimClock, SimRtc } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimRandom } from "../../hal/sim/system.js";
import { HeadendCore, type Outgoing } from "../../tools/headend/core.js";
import { MemoryHeadendStore } from "../../tools/headend/memory-store.js";
import { SimBroker, type SimBrokerOptions } from "./sim-broker.js";
import { SimNetwork, type SimNetworkOptions } from "./sim-net.js";
import { MemoryCounters, MemoryQueue, RecordingHandlers } from "./uplink-ports.js";

export const START_EPOCH_MS = Date.UTC(2026, 0, 1);

export interface UplinkSiteOptions {
  seed: string;
  concentratorId?: number;
  net?: SimNetworkOptions;
  broker?: SimBrokerOptions;
  /** Options passed to the concentrator's Uplink. */
  uplink?: Pick<UplinkOptions, "mqtt" | "drain" | "statusIntervalMs">;
  /** When false the head-end receives but never acknowledges (a head-end that cannot commit). */
  headendAcks?: boolean;
}

/** Deterministic X25519 key pair from a label. */
export function keyPairOf(label: string): nacl.BoxKeyPair {
  const seed = new Uint8Array(32);
  new Prng(label).fill(seed);
  return nacl.box.keyPair.fromSecretKey(seed);
}

export class UplinkSite {
  readonly s = new Scheduler();
  readonly prng: Prng;
  readonly net: SimNetwork;
  readonly broker: SimBroker;
  readonly domain: PowerDomain;
  readonly clock: SimClock;
  readonly rtc: SimRtc;
  readonly id: number;
  /** The concentrator's flash, as far as the uplink is concerned: survives power cuts. */
  readonly queue = new MemoryQueue();
  readonly counters = new MemoryCounters();
  readonly handlers: RecordingHandlers;
  readonly headendStore = new MemoryHeadendStore();
  readonly headend: HeadendCore;
  readonly headendClient: MqttClient;
  readonly sharedKey: Uint8Array;
  uplink!: Uplink;
  /** Every MQTT packet the concentrator wrote, in order, across connections and boots. */
  readonly sent: MqttPacket[] = [];
  boots = 0;
  headendAcks: boolean;
  readonly #outbox: Outgoing[] = [];
  readonly #connector: StreamConnector;

  constructor(o: UplinkSiteOptions) {
    this.prng = new Prng(o.seed);
    this.id = o.concentratorId ?? 17;
    this.net = new SimNetwork(this.s, o.net);
    this.broker = new SimBroker(this.net, o.broker);
    this.domain = new PowerDomain(this.s, "mc");
    this.clock = new SimClock(this.domain);
    this.rtc = new SimRtc(this.domain, { startEpochMs: START_EPOCH_MS });
    this.handlers = new RecordingHandlers(this.counters);
    this.headendAcks = o.headendAcks ?? true;
    const device = keyPairOf("concentrator");
    const he = keyPairOf("headend");
    this.sharedKey = deriveSharedKey(device.secretKey, he.publicKey);
    this.headend = new HeadendCore({
      keys: { secretKey: he.secretKey, concentratorPublicKey: (id) => (id === this.id ? device.publicKey : undefined) },
      store: this.headendStore,
      now: () => START_EPOCH_MS + this.s.now,
    });
    this.headend.channel(this.id); // derive the shared key now, not inside a measured turn
    // The head-end's own MQTT connection (not on the concentrator's power domain).
    const heDomain = new PowerDomain(this.s, "headend");
    heDomain.powerOn();
    const heClock = new SimClock(heDomain);
    this.headendClient = new MqttClient(
      {
        connector: this.net.connector(),
        clock: heClock,
        timers: heClock,
        random: new SimRandom(heDomain, this.prng.fork("headend")),
        host: this.broker.host,
        port: this.broker.port,
        clientId: "headend",
        keepAliveS: 60,
        maxInFlight: 32,
        reconnectMinMs: 500,
        reconnectMaxMs: 10_000,
        subscriptions: [{ topic: allUplinks(), qos: 1 }],
      },
      {
        onMessage: (topic, payload) => {
          const out = this.headend.handleUplink(topic, payload);
          if (out && this.headendAcks) this.#headendSend(out);
        },
        onWindowOpen: () => this.#flushOutbox(),
      },
    );
    this.headendClient.start();
    const uplinkOptions = o.uplink ?? {};
    this.#connector = this.#tap(this.net.connector(this.domain));
    this.domain.onPowerOn(() => this.#boot(uplinkOptions));
  }

  /** Powers the concentrator on (it boots and starts its uplink). */
  powerOn(): void {
    this.domain.powerOn();
  }

  /** A power cut: everything in RAM is gone; the store and the counters stay. */
  powerCut(): void {
    this.domain.powerOff("power-cut");
  }

  /** 15-minute load profile of `meters` meters (register 1.8.0) for `intervals` intervals from `fromS`. */
  addLoadProfile(meters: number, intervals: number, fromS = START_EPOCH_MS / 1000, register = 0x010800): Reading[] {
    const out: Reading[] = [];
    for (let i = 0; i < intervals; i++) {
      for (let m = 1; m <= meters; m++) {
        const r: Reading = { meter: m, register, time: fromS + i * 900, value: 5_000_000 * m + i * (100 + ((m * 37 + i * 11) % 400)), status: 0 };
        this.queue.addReading(r);
        out.push(r);
      }
    }
    this.uplink?.notify("reading");
    return out;
  }

  /** The head-end issues a command; returns its id. */
  command(command: CommandRequest): number {
    const out = this.headend.command(this.id, command)!;
    this.#headendSend(out);
    return out.commandId;
  }

  #boot(o: NonNullable<UplinkSiteOptions["uplink"]>): void {
    this.boots++;
    this.uplink = new Uplink({
      concentratorId: this.id,
      sharedKey: this.sharedKey,
      counters: this.counters,
      queue: this.queue,
      handlers: this.handlers,
      connector: this.#connector,
      host: this.broker.host,
      port: this.broker.port,
      clock: this.clock,
      timers: this.clock,
      wallClock: this.rtc,
      random: new SimRandom(this.domain, this.prng.fork(`random-${this.boots}`)),
      ...o,
      mqtt: { keepAliveS: 60, reconnectMinMs: 1_000, reconnectMaxMs: 30_000, ...o.mqtt },
    });
    this.uplink.start();
  }

  /** Records every packet the concentrator writes (what the wire carried, before any loss). */
  #tap(inner: StreamConnector): StreamConnector {
    return {
      connect: (host, port, handlers) => {
        const stream = inner.connect(host, port, handlers);
        const parser = new MqttParser({ maxPacketBytes: 1 << 20, onPacket: (p) => this.sent.push(p), onError: () => {} });
        return {
          write: (bytes) => {
            const ok = stream.write(bytes);
            if (ok) parser.push(bytes);
            return ok;
          },
          close: () => stream.close(),
        };
      },
    };
  }

  #headendSend(out: Outgoing): void {
    this.#outbox.push(out);
    this.#flushOutbox();
  }

  #flushOutbox(): void {
    while (this.#outbox.length > 0 && this.headendClient.publish(this.#outbox[0]!.topic, this.#outbox[0]!.payload, 1)) this.#outbox.shift();
  }
}
