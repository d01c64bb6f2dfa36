/**
 * The uplink side of the simulated installation: a GPRS modem (SIM800 or Quectel emulator) on the
 * board's modem UART and power key, the mobile network behind it, and at the other end either
 *
 * - a simulated internet with an MQTT broker (tools/sim/sim-broker.ts, Mosquitto's semantics without
 *   persistence) and the reference head-end (its protocol core on an in-memory database), or
 * - a real network (`network`: tools/net's NodePacketNetwork), where the broker and the head-end are
 *   real processes and nothing of them is simulated.
 *
 * Keys are provisioned deterministically from the seed unless given. Seeded faults over the days:
 * GPRS outage windows (coverage lost, the network searching, or only the packet service lost while
 * SMS still works), PDP context drops, modem resets,
 * broker restarts (sessions and queues lost) and head-end crashes (the process dies; its database stays).
 *
 * Pure ECMAScript: it runs in the site simulation, the tests and inside XS.
 */
import type { SimBoard } from "../../hal/sim/board.js";
import { connectModem, SimInternet, SimModem, SimSmsc, type NetConnection, type PacketNetwork, type RadioLinkOptions, type SimModemFamily } from "../../hal/sim/modem/index.js";
import type { Prng } from "../../hal/sim/prng.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import { keyPairOf } from "../sim/keys.js";
import { SimBroker } from "../sim/sim-broker.js";
import { SimHeadend } from "../sim/sim-headend.js";
import { connectorOver, serversOn } from "../sim/streams.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const APN = "m2m.test";
export const BROKER_HOST = "broker.test";
/** The concentrator's SIM and the head-end's SMS gateway. */
export const CONCENTRATOR_SMS_NUMBER = "+40700000001";
export const HEADEND_SMS_NUMBER = "+40700000900";

export interface ProvisionedKeys {
  /** The concentrator's X25519 key pair. */
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  headendPublicKey: Uint8Array;
}

/** The broker and the head-end as the fault schedule acts on them (simulated, or real processes). */
export interface ServerFaults {
  /** A restart without persistence: sessions and queued messages are gone. */
  restartBroker(): void;
  /** The head-end's process dies (its database stays); nothing happens if it is down already. */
  crashHeadend(): void;
  restartHeadend(): void;
}

export interface UplinkWorldOptions {
  /** Default 17. */
  concentratorId?: number;
  /** Modem on the board. Default "sim800". */
  family?: SimModemFamily;
  /** The network behind the modem. Default a simulated internet holding the broker and the head-end. */
  network?: PacketNetwork;
  /** With a real network: what broker restarts and head-end crashes act on. */
  servers?: ServerFaults;
  /** The broker's address as the concentrator is configured with it. Defaults "broker.test", 1883. */
  brokerHost?: string;
  brokerPort?: number;
  /** The concentrator's provisioned keys. Default: derived from the seed (the simulated head-end's too). */
  keys?: ProvisionedKeys;
  /** One-way latency of the simulated internet, ms. Default 300 (GPRS). */
  latencyMs?: number;
  /** A GPRS radio hop with bandwidth and losses (hal/sim/modem/sim-internet.ts); default: latency only. */
  radio?: Omit<RadioLinkOptions, "prng">;
  /** Share of the time the GPRS bearer is down, 0..1, in windows of mean `meanOutageMs` (default 2 h). Default 0. */
  outageShare?: number;
  meanOutageMs?: number;
  /** Mean PDP context drops, modem resets, broker restarts and head-end crashes per day. Defaults 0. */
  pdpDropsPerDay?: number;
  modemResetsPerDay?: number;
  brokerRestartsPerDay?: number;
  headendCrashesPerDay?: number;
  /** Mean time a crashed head-end stays down, ms. Default 15 min. */
  headendDowntimeMs?: number;
}

export interface UplinkFaultCounters {
  gprsOutages: number;
  /** Time the bearer was down, ms. */
  gprsOutageMs: number;
  pdpDrops: number;
  modemResets: number;
  brokerRestarts: number;
  headendCrashes: number;
}

/** How a GPRS outage window takes the bearer away. */
const GPRS_OUTAGE_KINDS = ["no coverage", "searching", "no packet service"] as const;
export type GprsOutageKind = (typeof GPRS_OUTAGE_KINDS)[number];

/** Bytes the modem exchanged with the network (TCP payload, both directions). */
export interface LinkBytes {
  up: number;
  down: number;
}

export class UplinkWorld {
  readonly concentratorId: number;
  readonly modem: SimModem;
  readonly keys: ProvisionedKeys;
  readonly brokerHost: string;
  readonly brokerPort: number;
  /** The simulated internet, broker and head-end; undefined on a real network. */
  readonly internet: SimInternet | undefined;
  readonly broker: SimBroker | undefined;
  readonly headend: SimHeadend | undefined;
  /** The simulated head-end's key pair (a test seals with it what a head-end, or an impostor, would). */
  readonly headendKeys: { publicKey: Uint8Array; secretKey: Uint8Array } | undefined;
  readonly servers: ServerFaults | undefined;
  /** The mobile network's SMS centre. */
  readonly smsc: SimSmsc;
  /** The head-end's SMS gateway, when the head-end is simulated (the concentrator then uses SMS). */
  readonly smsNumber: string | undefined;
  readonly bytes: LinkBytes = { up: 0, down: 0 };
  readonly faults: UplinkFaultCounters = { gprsOutages: 0, gprsOutageMs: 0, pdpDrops: 0, modemResets: 0, brokerRestarts: 0, headendCrashes: 0 };
  /** The GPRS outage windows that have begun, simulated ms. */
  readonly gprsOutages: Array<{ fromMs: number; untilMs: number; kind: GprsOutageKind }> = [];

  /** `startEpochMs`: the wall clock of the servers at simulated time 0. */
  constructor(scheduler: Scheduler, prng: Prng, board: SimBoard, o: UplinkWorldOptions, days: number, startEpochMs: number) {
    const id = (this.concentratorId = o.concentratorId ?? 17);
    this.brokerHost = o.brokerHost ?? BROKER_HOST;
    this.brokerPort = o.brokerPort ?? 1883;
    let network = o.network;
    if (network) {
      if (!o.keys) throw new TypeError('"keys" are required with a real network');
      this.keys = o.keys;
      this.servers = o.servers;
    } else {
      const device = keyPairOf(`${prng.seed}/concentrator`);
      const he = (this.headendKeys = keyPairOf(`${prng.seed}/headend`));
      this.keys = o.keys ?? { publicKey: device.publicKey, secretKey: device.secretKey, headendPublicKey: he.publicKey };
      const radio = o.radio && { ...o.radio, prng: prng.fork("radio") };
      const internet = (network = this.internet = new SimInternet(scheduler, { latencyMs: o.latencyMs ?? 300, ...(radio ? { radio } : {}) }));
      this.broker = new SimBroker(serversOn(internet), { host: this.brokerHost, port: this.brokerPort });
      const devicePublic = this.keys.publicKey;
      this.headend = new SimHeadend({
        scheduler,
        prng: prng.fork("headend"),
        connector: (domain) => connectorOver(internet, domain),
        brokerHost: this.brokerHost,
        brokerPort: this.brokerPort,
        keys: { secretKey: he.secretKey, concentratorPublicKey: (n) => (n === id ? devicePublic : undefined) },
        now: () => startEpochMs + scheduler.now,
        concentrators: [id],
      });
      const broker = this.broker;
      const headend = this.headend;
      this.servers = { restartBroker: () => broker.restart(), crashHeadend: () => headend.crash(), restartHeadend: () => headend.restart() };
    }
    this.smsc = new SimSmsc(scheduler, { startEpochMs });
    if (this.headend) {
      this.headend.attachSms(this.smsc.phone(HEADEND_SMS_NUMBER));
      this.smsNumber = HEADEND_SMS_NUMBER;
    }
    this.modem = new SimModem(scheduler, prng.fork("modem"), { family: o.family ?? "sim800", network: this.#counted(network), apn: APN, smsc: this.smsc, number: CONCENTRATOR_SMS_NUMBER });
    connectModem(board, this.modem, prng.fork("modem-link"));
    this.#scheduleFaults(scheduler, prng, o, days * DAY);
  }

  /** The network as the modem sees it, counting the bytes that cross it. */
  #counted(network: PacketNetwork): PacketNetwork {
    const bytes = this.bytes;
    return {
      connect: (host, port, handlers): NetConnection => {
        const conn = network.connect(host, port, {
          onOpen: () => handlers.onOpen(),
          onData: (b) => {
            bytes.down += b.length;
            handlers.onData(b);
          },
          onClose: (reason) => handlers.onClose(reason),
        });
        return {
          send: (b) => {
            bytes.up += b.length;
            conn.send(b);
          },
          close: () => conn.close(),
          pause: () => conn.pause(),
          resume: () => conn.resume(),
        };
      },
    };
  }

  #scheduleFaults(s: Scheduler, prng: Prng, o: UplinkWorldOptions, end: number): void {
    const f = this.faults;
    const modem = this.modem;
    const share = o.outageShare ?? 0;
    if (share > 0) {
      if (!(share < 1)) throw new RangeError('"outageShare" is not below 1');
      const p = prng.fork("gprs-outages");
      const meanDown = o.meanOutageMs ?? 2 * HOUR;
      const meanUp = (meanDown * (1 - share)) / share;
      // Windows and gaps of 0.5 to 1.5 times their means: the share holds over a few days already.
      const around = (mean: number) => mean * (0.5 + p.next());
      for (let t = around(meanUp); t < end; ) {
        const from = t;
        const until = Math.min(end, from + around(meanDown));
        // A third of the windows lose the radio altogether, a third leave the module searching for a
        // network, a third lose only the packet service (SMS still goes through).
        const kind = GPRS_OUTAGE_KINDS[p.int(3)]!;
        s.at(from, () => {
          f.gprsOutages++;
          f.gprsOutageMs += Math.round(until - from);
          this.gprsOutages.push({ fromMs: from, untilMs: until, kind });
          if (kind === "no packet service") modem.setPacketService(false);
          else modem.setCoverage(kind === "no coverage" ? "none" : "searching");
        });
        s.at(until, () => (kind === "no packet service" ? modem.setPacketService(true) : modem.setCoverage("home")));
        t = until + around(meanUp);
      }
    }
    const every = (rate: number | undefined, label: string, fn: (p: Prng) => void) => {
      if (!rate || rate <= 0) return;
      const p = prng.fork(label);
      for (let t = p.exponential(DAY / rate); t < end; t += p.exponential(DAY / rate)) s.at(t, () => fn(p));
    };
    every(o.pdpDropsPerDay, "pdp-drops", () => {
      if (!modem.pdpActive) return;
      f.pdpDrops++;
      modem.dropPdp();
    });
    every(o.modemResetsPerDay, "modem-resets", () => {
      if (!modem.on) return;
      f.modemResets++;
      modem.reboot();
    });
    const servers = this.servers;
    if (!servers) return;
    every(o.brokerRestartsPerDay, "broker-restarts", () => {
      f.brokerRestarts++;
      servers.restartBroker();
    });
    let headendDown = false;
    every(o.headendCrashesPerDay, "headend-crashes", (p) => {
      if (headendDown) return;
      headendDown = true;
      f.headendCrashes++;
      servers.crashHeadend();
      s.after(p.exponential(o.headendDowntimeMs ?? 15 * 60_000), () => {
        headendDown = false;
        servers.restartHeadend();
      });
    });
  }
}
