/**
 * A whole uplink path inside the simulation, for tests, scenarios and benchmarks: a concentrator
 * (its Uplink on a power domain, with an in-memory store and counters that survive power cuts), a
 * GPRS-like network, a broker, and the reference head-end's core with an in-memory database, all on
 * one scheduler. Pure ECMAScript: the XS scenarios use it too.
 */
import type { Reading } from "../../firmware/model/records.js";
import type { StreamConnector } from "../../firmware/net/byte-stream.js";
import type { CommandRequest } from "../../firmware/uplink/messages.js";
import type { MqttPacket } from "../../firmware/uplink/mqtt/packets.js";
import { MqttParser } from "../../firmware/uplink/mqtt/parser.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import { Uplink, type UplinkOptions } from "../../firmware/uplink/uplink.js";
import { SimClock, SimRtc } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimCrypto, SimRandom } from "../../hal/sim/system.js";
import type { HeadendCore } from "../headend/core.js";
import type { MemoryHeadendStore } from "../headend/memory-store.js";
import { keyPairOf } from "./keys.js";
import { SimBroker, type SimBrokerOptions } from "./sim-broker.js";
import { SimNetwork, type SimNetworkOptions } from "./sim-net.js";
import { MemoryCounters, MemoryQueue, RecordingHandlers } from "./memory-ports.js";
import { SimHeadend } from "./sim-headend.js";

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
  /** The concentrator's crypto service (the worker on the device): seals and opens every envelope. */
  readonly crypto: SimCrypto;
  readonly handlers: RecordingHandlers;
  readonly headendSim: SimHeadend;
  readonly sharedKey: Uint8Array;
  uplink!: Uplink;
  /** Every MQTT packet the concentrator wrote, in order, across connections and boots. */
  readonly sent: MqttPacket[] = [];
  boots = 0;
  readonly #connector: StreamConnector;

  constructor(o: UplinkSiteOptions) {
    this.prng = new Prng(o.seed);
    this.id = o.concentratorId ?? 17;
    this.net = new SimNetwork(this.s, o.net);
    this.broker = new SimBroker(this.net, o.broker);
    this.domain = new PowerDomain(this.s, "mc");
    this.crypto = new SimCrypto(this.domain);
    this.clock = new SimClock(this.domain);
    this.rtc = new SimRtc(this.domain, { startEpochMs: START_EPOCH_MS });
    this.handlers = new RecordingHandlers(this.counters);
    const device = keyPairOf("concentrator");
    const he = keyPairOf("headend");
    this.sharedKey = deriveSharedKey(device.secretKey, he.publicKey);
    this.headendSim = new SimHeadend({
      scheduler: this.s,
      prng: this.prng,
      connector: (domain) => this.net.connector(domain),
      brokerHost: this.broker.host,
      brokerPort: this.broker.port,
      keys: { secretKey: he.secretKey, concentratorPublicKey: (id) => (id === this.id ? device.publicKey : undefined) },
      now: () => START_EPOCH_MS + this.s.now,
      concentrators: [this.id],
    });
    this.headendSim.acks = o.headendAcks ?? true;
    const uplinkOptions = o.uplink ?? {};
    this.#connector = this.#tap(this.net.connector(this.domain));
    this.domain.onPowerOn(() => this.#boot(uplinkOptions));
  }

  /** The head-end's protocol core (of its current process). */
  get headend(): HeadendCore {
    return this.headendSim.core;
  }

  /** The head-end's database. */
  get headendStore(): MemoryHeadendStore {
    return this.headendSim.store;
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
    return this.headendSim.command(this.id, command)!;
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
      crypto: this.crypto,
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
}
