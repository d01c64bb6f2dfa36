/**
 * Several simulated sites on one simulated internet, broker and head-end: a utility's fleet of
 * concentrators, for OTA campaigns to many units at once (docs/ota.md "Campaigns"). Each site is a
 * whole site (tools/site), with its own board, modules, modem and seed; the head-end registers every
 * concentrator and runs the campaigns.
 *
 * Pure ECMAScript: the tests, the benchmarks and the XS scenarios run it.
 */
import { SimInternet } from "../../hal/sim/modem/index.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import type { Prng } from "../../hal/sim/prng.js";
import { Prng as Rng } from "../../hal/sim/prng.js";
import type { CampaignUnit } from "../headend/ota-campaign.js";
import { keyPairOf } from "../sim/keys.js";
import { SimBroker } from "../sim/sim-broker.js";
import { SimHeadend } from "../sim/sim-headend.js";
import { connectorOver, serversOn } from "../sim/streams.js";
import type { SiteOtaOptions } from "./ota-world.js";
import { Site, type SiteOptions } from "./site.js";
import { BROKER_HOST } from "./uplink-world.js";

export interface FleetOptions {
  seed: string;
  /** Concentrator ids, one site each. */
  ids: readonly number[];
  /** Options of every site (each gets a seed of its own). */
  site: Omit<SiteOptions, "seed" | "scheduler" | "uplink" | "headendView" | "ota">;
  ota: Omit<SiteOtaOptions, "campaign">;
  /** One-way latency of the simulated internet, ms. Default 300. */
  latencyMs?: number;
  /** The head-end's campaign settings. */
  campaigns?: ConstructorParameters<typeof SimHeadend>[0]["ota"];
}

export class SimFleet {
  readonly scheduler = new Scheduler();
  readonly internet: SimInternet;
  readonly broker: SimBroker;
  readonly headend: SimHeadend;
  readonly sites: Site[];
  readonly #prng: Prng;

  constructor(o: FleetOptions) {
    const s = this.scheduler;
    this.#prng = new Rng(o.seed);
    const internet = (this.internet = new SimInternet(s, { latencyMs: o.latencyMs ?? 300 }));
    this.broker = new SimBroker(serversOn(internet), { host: BROKER_HOST, port: 1883 });
    const he = keyPairOf(`${o.seed}/headend`);
    const devices = new Map(o.ids.map((id) => [id, keyPairOf(`${o.seed}/mc-${id}`)]));
    const startEpochMs = Date.UTC(2026, 0, 1);
    this.headend = new SimHeadend({
      scheduler: s,
      prng: this.#prng.fork("headend"),
      connector: (domain) => connectorOver(internet, domain),
      brokerHost: BROKER_HOST,
      brokerPort: 1883,
      keys: { secretKey: he.secretKey, concentratorPublicKey: (id) => devices.get(id)?.publicKey },
      now: () => startEpochMs + s.now,
      concentrators: o.ids,
      ...(o.campaigns ? { ota: o.campaigns } : {}),
    });
    const store = this.headend.store;
    this.sites = o.ids.map(
      (id) =>
        new Site({
          ...o.site,
          seed: `${o.seed}/site-${id}`,
          scheduler: s,
          ota: { releaseSeed: o.seed, ...o.ota },
          headendView: { readings: (c) => store.readingsOf(c), count: (c) => store.readingCount(c), duplicates: (c) => store.duplicateReadings(c) },
          uplink: {
            concentratorId: id,
            network: internet,
            keys: { publicKey: devices.get(id)!.publicKey, secretKey: devices.get(id)!.secretKey, headendPublicKey: he.publicKey },
          },
        }),
    );
  }

  /** A campaign of `packageBytes` to every site of the fleet (or `ids`). */
  campaign(packageBytes: Uint8Array, ids: readonly number[] = this.sites.map((s) => s.world.uplink!.concentratorId)): number {
    return this.headend.startCampaign(packageBytes, ids);
  }

  /** The units of campaign `id`, as the head-end has them. */
  units(id: number): CampaignUnit[] {
    return this.headend.ota.progress().find((p) => p.campaign.id === id)?.units ?? [];
  }
}
