/**
 * A fleet of simulated sites over real TCP (docs/ota.md "End to end"): each site's modem emulator
 * reaches a real MQTT broker on a loopback port (Mosquitto or aedes), and the reference head-end
 * service on a SQLite file runs the OTA campaign, in this process so that the caller can start it.
 * Virtual time runs at `speed` × real time while sockets are open (tools/net/realtime-runner.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { deviceKeyPath, provision, readDeviceKeys } from "../headend/keyfiles.js";
import type { OtaCampaignsOptions } from "../headend/ota-campaign.js";
import { HeadendService, type HeadendServiceOptions } from "../headend/service.js";
import { SqliteHeadendStore } from "../headend/sqlite-store.js";
import { NodePacketNetwork } from "../net/node-packet-network.js";
import { RealTimeRunner } from "../net/realtime-runner.js";
import { startAedes, startMosquitto, type Broker } from "../net/servers.js";
import { keyPairOf } from "../sim/keys.js";
import type { SiteOtaOptions } from "../site/ota-world.js";
import { Site, type SiteOptions } from "../site/site.js";
import { BROKER_HOST } from "../site/uplink-world.js";

export interface RealFleetOptions {
  seed: string;
  ids: readonly number[];
  broker: "aedes" | "mosquitto";
  site: Omit<SiteOptions, "seed" | "scheduler" | "uplink" | "headendView" | "ota">;
  ota: Omit<SiteOtaOptions, "campaign">;
  /** Virtual ms per real ms while sockets are open. Default 600. */
  speed?: number;
  /** The head-end's campaign settings (real time: its ticks and time-outs are real milliseconds). */
  campaigns?: Omit<OtaCampaignsOptions, "store" | "now">;
  /** How often the head-end makes the offers due, real ms. Default 200. */
  campaignTickMs?: number;
}

export class RealFleet {
  readonly scheduler: Scheduler;
  readonly runner: RealTimeRunner;
  readonly network: NodePacketNetwork;
  readonly broker: Broker;
  #service: HeadendService;
  /** The head-end's database, read by this process. */
  readonly db: SqliteHeadendStore;
  readonly sites: Site[];
  readonly #dir: string;
  readonly #serviceOptions: HeadendServiceOptions;

  private constructor(o: { scheduler: Scheduler; runner: RealTimeRunner; network: NodePacketNetwork; broker: Broker; service: HeadendService; serviceOptions: HeadendServiceOptions; db: SqliteHeadendStore; sites: Site[]; dir: string }) {
    this.scheduler = o.scheduler;
    this.runner = o.runner;
    this.network = o.network;
    this.broker = o.broker;
    this.#service = o.service;
    this.#serviceOptions = o.serviceOptions;
    this.db = o.db;
    this.sites = o.sites;
    this.#dir = o.dir;
  }

  static async start(o: RealFleetOptions): Promise<RealFleet> {
    const dir = mkdtempSync(join(tmpdir(), "fleet-"));
    const broker = o.broker === "mosquitto" ? await startMosquitto(dir) : await startAedes();
    const keys = join(dir, "keys");
    provision(keys, o.ids, (owner) => keyPairOf(owner === "headend" ? `${o.seed}/headend` : `${o.seed}/mc-${owner}`));
    const dbPath = join(dir, "headend.db");
    const serviceOptions: HeadendServiceOptions = { keys, db: dbPath, broker: broker.url, campaignTickMs: o.campaignTickMs ?? 200, ...(o.campaigns ? { ota: o.campaigns } : {}) };
    const service = await HeadendService.start(serviceOptions);
    const db = new SqliteHeadendStore(dbPath);
    const scheduler = new Scheduler();
    const runner = new RealTimeRunner(scheduler, { speed: o.speed ?? 600 });
    const network = new NodePacketNetwork(runner, { hosts: { [BROKER_HOST]: "127.0.0.1" } });
    const sites = o.ids.map((id) => {
      const k = readDeviceKeys(deviceKeyPath(keys, id));
      return new Site({
        ...o.site,
        seed: `${o.seed}/site-${id}`,
        scheduler,
        ota: { releaseSeed: o.seed, ...o.ota },
        headendView: { readings: (c) => db.readings(c), count: (c) => db.readingCount(c), duplicates: (c) => db.duplicateReadings(c) },
        uplink: { concentratorId: id, network, brokerPort: broker.port, keys: { publicKey: k.publicKey, secretKey: k.secretKey, headendPublicKey: k.headendPublicKey } },
      });
    });
    return new RealFleet({ scheduler, runner, network, broker, service, serviceOptions, db, sites, dir });
  }

  /** The head-end service (a new one after `restartHeadend`). */
  get service(): HeadendService {
    return this.#service;
  }

  /** Stops the head-end service and starts a new one on the same database: campaigns go on. */
  async restartHeadend(): Promise<void> {
    await this.#service.close();
    this.#service = await HeadendService.start(this.#serviceOptions);
  }

  /** Runs the simulation until `until()` or `limitMs` of virtual time; true if `until()` held. */
  drive(until: () => boolean, limitMs: number): Promise<boolean> {
    return this.runner.run(until, limitMs);
  }

  async close(): Promise<void> {
    this.network.destroyAll();
    await this.#service.close();
    await this.broker.stop();
    this.db.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
