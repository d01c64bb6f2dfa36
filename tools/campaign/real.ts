/**
 * The site on real TCP: the simulated installation and the concentrator firmware, whose modem
 * emulator reaches a real MQTT broker on a loopback port (tools/net/node-packet-network.ts), and the
 * real head-end service on SQLite in a child process. The world's fault schedule restarts the real
 * broker (no persistence: sessions and queues are lost) and kills the head-end with SIGKILL.
 *
 * Time: the simulation runs on virtual time, the servers on real time. The real-time runner lets
 * virtual time run at `speed` × real time while a socket is open, which is always once the
 * concentrator is connected; so 7 days at the default 1,000× take at most 10 minutes. Each real
 * millisecond of a server (loopback, broker, an SQLite commit) then costs the concentrator a virtual
 * second, which is still a plausible GPRS round trip; the firmware's timeouts (acknowledgement 120 s,
 * PUBACK 60 s, ping 30 s) are virtual and keep their meaning, while the broker's keep-alive check
 * (1.5 × 60 s, real) can never expire.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimModemFamily } from "../../hal/sim/modem/index.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { deviceKeyPath, provision, readDeviceKeys } from "../headend/keyfiles.js";
import { HeadendService } from "../headend/service.js";
import { SqliteHeadendStore } from "../headend/sqlite-store.js";
import { NodePacketNetwork } from "../net/node-packet-network.js";
import { RealTimeRunner } from "../net/realtime-runner.js";
import { HeadendProcess, startAedes, startMosquitto, type Broker } from "../net/servers.js";
import { keyPairOf } from "../sim/keys.js";
import { Site, type HeadendView, type SiteOptions } from "../site/site.js";
import { BROKER_HOST, type UplinkWorldOptions } from "../site/uplink-world.js";
import { CAMPAIGN_FAULTS, runCampaign, type CampaignVerdict } from "./campaign.js";

export interface RealSiteOptions extends Omit<SiteOptions, "uplink" | "scheduler" | "headendView"> {
  broker: "aedes" | "mosquitto";
  family?: SimModemFamily;
  /** Virtual ms per real ms while sockets are open. Default 1,000. */
  speed?: number;
  /** Uplink faults; the broker's and head-end's act on the real processes. Default none. */
  faults?: Omit<UplinkWorldOptions, "network" | "servers" | "keys" | "brokerHost" | "brokerPort">;
  /**
   * The head-end service in this process (`service`: a test can issue commands through it) rather
   * than in a child process (`process`: it can be killed, for the campaign's crashes). Default false.
   */
  headendInProcess?: boolean;
}

/** The concentrator id of the site, in the key files and topics. */
const ID = 17;

/** A site on a real broker and the real head-end, with the means to drive and to tear it down. */
export class RealSite {
  readonly site: Site;
  readonly runner: RealTimeRunner;
  readonly network: NodePacketNetwork;
  readonly broker: Broker;
  /** The head-end's database, read by this process (the service writes it). */
  readonly db: SqliteHeadendStore;
  readonly dir: string;
  readonly headend: HeadendProcess | HeadendService;

  private constructor(site: Site, runner: RealTimeRunner, network: NodePacketNetwork, broker: Broker, db: SqliteHeadendStore, dir: string, headend: HeadendProcess | HeadendService) {
    this.site = site;
    this.runner = runner;
    this.network = network;
    this.broker = broker;
    this.db = db;
    this.dir = dir;
    this.headend = headend;
  }

  /** The in-process head-end service (headendInProcess). */
  get service(): HeadendService {
    if (!(this.headend instanceof HeadendService)) throw new TypeError("the head-end runs in a child process");
    return this.headend;
  }

  static async start(o: RealSiteOptions): Promise<RealSite> {
    const dir = mkdtempSync(join(tmpdir(), "site-"));
    const broker = o.broker === "mosquitto" ? await startMosquitto(dir) : await startAedes();
    // The simulation's seeded keys, provisioned as files for the head-end service.
    const device = keyPairOf(`${o.seed}/concentrator`);
    const he = keyPairOf(`${o.seed}/headend`);
    const keys = join(dir, "keys");
    provision(keys, [ID], (owner) => (owner === "headend" ? he : device));
    const k = readDeviceKeys(deviceKeyPath(keys, ID));
    const dbPath = join(dir, "headend.db");
    if (o.headendInProcess && o.faults?.headendCrashesPerDay) throw new TypeError('head-end crashes need the head-end in a child process, not "headendInProcess"');
    let headend: HeadendProcess | HeadendService;
    if (o.headendInProcess) headend = await HeadendService.start({ keys, db: dbPath, broker: broker.url });
    else (headend = new HeadendProcess({ keys, db: dbPath, broker: broker.url })).start();
    const child = headend instanceof HeadendProcess ? headend : undefined;
    const db = new SqliteHeadendStore(dbPath);
    const scheduler = new Scheduler();
    const runner = new RealTimeRunner(scheduler, { speed: o.speed ?? 1000 });
    const network = new NodePacketNetwork(runner, { hosts: { [BROKER_HOST]: "127.0.0.1" } });
    const view: HeadendView = { readings: (c) => db.readings(c), count: (c) => db.readingCount(c), duplicates: (c) => db.duplicateReadings(c) };
    const site = new Site({
      ...o,
      scheduler,
      headendView: view,
      uplink: {
        ...o.faults,
        concentratorId: ID,
        family: o.family ?? "sim800",
        network,
        brokerPort: broker.port,
        keys: { publicKey: k.publicKey, secretKey: k.secretKey, headendPublicKey: k.headendPublicKey },
        servers: {
          restartBroker: () => void broker.restart(),
          crashHeadend: () => void child?.crash(),
          restartHeadend: () => child?.start(),
        },
      },
    });
    return new RealSite(site, runner, network, broker, db, dir, headend);
  }

  /** Runs the simulation until `until()` or `limitMs` of virtual time; true if `until()` held. */
  drive(until: () => boolean, limitMs: number): Promise<boolean> {
    return this.runner.run(until, limitMs);
  }

  async close(): Promise<void> {
    this.network.destroyAll();
    if (this.headend instanceof HeadendService) await this.headend.close();
    else await this.headend.stop();
    await this.broker.stop();
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The campaign on a real broker and the real head-end (see campaign.ts). */
export async function runRealCampaign(o: RealSiteOptions): Promise<CampaignVerdict> {
  const real = await RealSite.start({ ...o, faults: o.faults ?? CAMPAIGN_FAULTS });
  try {
    return await runCampaign(real.site, (until, limitMs) => real.drive(until, limitMs), { days: o.days, servers: o.broker });
  } finally {
    await real.close();
  }
}
