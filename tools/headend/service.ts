/**
 * The reference head-end as a service: an MQTT connection (to an embedded aedes broker by default,
 * or to any broker by URL, e.g. Mosquitto), the protocol core, and the SQLite store.
 *
 * Ordering that makes "nothing acknowledged is ever lost" hold: a message is handled inside MQTT.js's
 * `handleMessage`, so the broker gets its PUBACK only after the SQLite transaction has committed;
 * the application acknowledgement to the concentrator is published after that commit too.
 */
import { Aedes } from "aedes";
import mqtt, { type MqttClient } from "mqtt";
import { createServer, type AddressInfo, type Server } from "node:net";
import type { CommandRequest } from "../../firmware/uplink/messages.js";
import { allUplinks } from "../../firmware/uplink/topics.js";
import { HeadendCore, type Outgoing } from "./core.js";
import { headendKeysOf } from "./keyfiles.js";
import { OtaCampaigns, type OtaCampaignsOptions } from "./ota-campaign.js";
import { SqliteHeadendStore } from "./sqlite-store.js";

export interface HeadendServiceOptions {
  /** Key directory (tools/keys.ts): headend.json and concentrators.json. */
  keys: string;
  /** SQLite database file. */
  db: string;
  /** A broker to use, e.g. mqtt://127.0.0.1:1883. Default: an embedded aedes broker. */
  broker?: string;
  /** Port of the embedded broker (0 = any free port). Default 1883. */
  port?: number;
  /** Address the embedded broker listens on. Default 127.0.0.1. */
  listen?: string;
  topicPrefix?: string;
  /** MQTT client id of the head-end (its persistent session). Default "headend". */
  clientId?: string;
  /** Called for every uplink message, after it was handled (for logs). */
  onMessage?: (topic: string, acknowledged: boolean) => void;
  /** A message that could not be stored (database error); it was not acknowledged. */
  onError?: (error: Error) => void;
  /** OTA campaign settings (time-outs, retries). */
  ota?: Omit<OtaCampaignsOptions, "store" | "now">;
  /** How often OTA offers due are made, ms (offers to new units, retries). Default 30,000. */
  campaignTickMs?: number;
}

export class HeadendService {
  readonly store: SqliteHeadendStore;
  readonly core: HeadendCore;
  readonly client: MqttClient;
  /** OTA campaigns; their state is in the database, so a restarted service goes on with them. */
  readonly ota: OtaCampaigns;
  /** The embedded broker's address, when there is one. */
  readonly brokerUrl: string;
  readonly #server: Server | undefined;
  readonly #aedes: Aedes | undefined;
  #tick: ReturnType<typeof setInterval> | undefined;

  private constructor(store: SqliteHeadendStore, core: HeadendCore, ota: OtaCampaigns, client: MqttClient, brokerUrl: string, server?: Server, aedes?: Aedes) {
    this.store = store;
    this.core = core;
    this.ota = ota;
    this.client = client;
    this.brokerUrl = brokerUrl;
    this.#server = server;
    this.#aedes = aedes;
  }

  static async start(o: HeadendServiceOptions): Promise<HeadendService> {
    const store = new SqliteHeadendStore(o.db);
    const ota = new OtaCampaigns({ ...o.ota, store, now: () => Date.now(), ...(o.topicPrefix ? { topicPrefix: o.topicPrefix } : {}) });
    let client: MqttClient | undefined;
    const publish = (out: Outgoing) => client?.publish(out.topic, Buffer.from(out.payload), { qos: out.qos ?? 1 });
    const core = new HeadendCore({
      keys: headendKeysOf(o.keys),
      store,
      now: () => Date.now(),
      ota,
      send: publish,
      ...(o.topicPrefix ? { topicPrefix: o.topicPrefix } : {}),
    });
    let server: Server | undefined;
    let aedes: Aedes | undefined;
    let url = o.broker;
    if (!url) {
      aedes = await Aedes.createBroker();
      const s = (server = createServer(aedes.handle));
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(o.port ?? 1883, o.listen ?? "127.0.0.1", () => resolve());
      });
      const a = s.address() as AddressInfo;
      url = `mqtt://${a.address}:${a.port}`;
    }
    client = mqtt.connect(url, {
      clientId: o.clientId ?? "headend",
      clean: false, // a persistent session: the broker queues uplink messages while we are away
      protocolVersion: 4,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
    });
    const service = new HeadendService(store, core, ota, client, url, server, aedes);
    const mqttClient = client;
    mqttClient.handleMessage = (packet, done) => {
      if (packet.cmd !== "publish") return done();
      try {
        const out = core.handleUplink(packet.topic, new Uint8Array(packet.payload as Buffer)); // committed when it returns
        if (out) publish(out);
        o.onMessage?.(packet.topic, out !== undefined);
      } catch (e) {
        // Not stored, so not acknowledged: the concentrator sends the records again after its timeout.
        o.onError?.(e as Error);
      }
      done();
    };
    mqttClient.on("connect", (connack) => {
      if (!connack.sessionPresent) mqttClient.subscribe(allUplinks(o.topicPrefix), { qos: 1 });
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => reject(e);
      mqttClient.once("connect", () => {
        mqttClient.off("error", fail);
        resolve();
      });
      mqttClient.once("error", fail);
    });
    service.#tick = setInterval(() => service.#campaignTick(o), o.campaignTickMs ?? 30_000);
    service.#campaignTick(o);
    return service;
  }

  /** Makes the OTA offers due now (a failure to store one is reported and retried at the next tick). */
  #campaignTick(o: HeadendServiceOptions): void {
    try {
      this.ota.tick((concentrator, request) => {
        const out = this.core.command(concentrator, request);
        if (!out) return undefined;
        this.client.publish(out.topic, Buffer.from(out.payload), { qos: 1 });
        return out.commandId;
      });
    } catch (e) {
      o.onError?.(e as Error);
    }
  }

  /** Starts an OTA campaign of a package (its bytes) to concentrators; offers go out at the next tick. */
  startCampaign(packageBytes: Uint8Array, concentrators: readonly number[], o: Parameters<OtaCampaigns["create"]>[2] = {}): number {
    return this.ota.create(packageBytes, concentrators, o);
  }

  /** Issues a command: recorded, sealed and published (QoS 1). Returns its id, or throws for an unknown concentrator. */
  async command(concentrator: number, request: CommandRequest): Promise<number> {
    const out = this.core.command(concentrator, request);
    if (!out) throw new RangeError(`concentrator ${concentrator} is not registered`);
    await this.client.publishAsync(out.topic, Buffer.from(out.payload), { qos: 1 });
    return out.commandId;
  }

  async close(): Promise<void> {
    if (this.#tick !== undefined) clearInterval(this.#tick);
    await this.client.endAsync();
    if (this.#aedes) {
      const a = this.#aedes;
      await new Promise<void>((r) => a.close(() => r())); // closes the concentrators' connections too
    }
    if (this.#server) {
      const s = this.#server;
      await new Promise<void>((r) => s.close(() => r()));
    }
    this.store.close();
  }
}
