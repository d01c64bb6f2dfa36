/**
 * One head-end worker of a fleet: PostgreSQL (postgres-store.ts) and any MQTT 5 broker or broker
 * cluster. Workers on one or many machines subscribe with a shared subscription
 * (`$share/GROUP/mc/+/up`), so the broker spreads the concentrators' messages over them.
 *
 * A worker holds `lanes` MQTT connections in the group; each handles its messages one at a time (the
 * broker gives a connection its next message only as it acknowledges: MQTT.js delivers the next
 * packet when the handler finishes), and the lanes run in parallel, each message its own transaction.
 *
 * "Acknowledged only after commit": a message is taken through MQTT.js's `customHandleAcks`, which
 * sends the PUBACK when called back; it is called back after the transaction committed and the
 * application acknowledgement was published. While the database is unreachable the message is tried
 * again (the lane waits: nothing else could be stored either); a message the database refuses is
 * answered with PUBACK "unspecified error" and no application acknowledgement, so the concentrator
 * sends its records again.
 *
 * Persistent sessions: each lane has a stable client id (`<clientId>-<lane>`, the worker slot's) and
 * connects with clean start false and a session expiry. Mosquitto 2 keeps a disconnected member's
 * session in the shared group: the messages it had handed to the lane and not had PUBACKed stay in
 * it, and it goes on giving that session its turn of the group's new messages while it is away
 * (verified in host-tests/headend/fleet.test.ts). When a worker is killed before it committed, its
 * supervisor's standby takes its slot at once (supervisor.ts, `serve --workers N`) under the same
 * ids; the broker sends it those messages again (DUP) and it stores each once (replay window,
 * idempotent keys). A slot that does not
 * come back loses its queue when the session expires; the concentrators send those records again
 * after their acknowledgement time-out.
 */
import mqtt, { type MqttClient } from "mqtt";
import { hostname } from "node:os";
import type { CommandRequest } from "../../firmware/uplink/messages.js";
import { allUplinks, concentratorOfUplink, DEFAULT_TOPIC_PREFIX } from "../../firmware/uplink/topics.js";
import { HeadendCore, type Outgoing } from "./core.js";
import { headendKeysOf } from "./keyfiles.js";
import { OtaCampaigns } from "./ota-campaign.js";
import { isTransient, PostgresHeadendStore } from "./postgres-store.js";

export interface HeadendWorkerOptions {
  /** Key directory (tools/keys.ts): headend.json and concentrators.json. */
  keys: string;
  /** postgres://... (or `postgres`: from the PG* environment variables). */
  db: string;
  /** The broker (or the cluster's load balancer), e.g. mqtt://127.0.0.1:1883. */
  broker: string;
  /** Shared-subscription group. Default "headend". */
  group?: string;
  /** MQTT connections of this worker, each taking one message at a time. Default 4. */
  lanes?: number;
  /**
   * Client id prefix; lane i is `<clientId>-<i>`. Stable per worker slot, so a restarted worker finds
   * its sessions again. Default `headend-<host name>`.
   */
  clientId?: string;
  /** How long the broker keeps a lane's session (and what it queued for it) after a disconnection, s. Default 60. */
  sessionExpiryS?: number;
  topicPrefix?: string;
  onMessage?: (topic: string, acknowledged: boolean) => void;
  /** How often a round of OTA offers is made (offers to new units, retries), ms. Default 30,000. */
  campaignTickMs?: number;
  /** Not stored: a database refusal (the message is not acknowledged) or a transient failure (tried again). */
  onError?: (error: Error) => void;
}

/** Acknowledgements repeat the last ones' seqs (core.ts `ackHistory`): one overtaken by a later one is not lost. */
const ACK_HISTORY = 4;
/** A database that is restarting is asked again soon: from 50 ms, doubling to at most 500 ms. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 500;
const SESSION_EXPIRY_S = 60;
const PARTITIONS_EVERY_MS = 3_600_000;
/** MQTT 5 PUBACK reason code "unspecified error": the broker drops the message, the concentrator sends it again. */
const PUBACK_ERROR = 0x80;

/**
 * Runs `fn` until it does not fail for an unreachable database (a restarting PostgreSQL is asked
 * again from 50 ms, doubling to 500 ms); any other failure is thrown. Undefined when `stopped`
 * became true first.
 */
async function whenReachable<T>(fn: () => Promise<T>, onError?: (e: Error) => void, stopped: () => boolean = () => false): Promise<T | undefined> {
  for (let wait = RETRY_FIRST_MS; !stopped(); wait = Math.min(RETRY_MAX_MS, wait * 2)) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e)) throw e;
      onError?.(e as Error);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return undefined;
}

/** Where the core's OTA frames go while a message is handled (the core runs synchronously, one message at a time). */
interface FrameSink {
  frames?: Outgoing[];
}

export class HeadendWorker {
  readonly store: PostgresHeadendStore;
  readonly core: HeadendCore;
  /** OTA campaigns: their state is in the database, followed by every worker. */
  readonly ota: OtaCampaigns;
  readonly lanes: MqttClient[] = [];
  /** The prefix of the lanes' client ids (the worker slot). */
  readonly clientId: string;
  #closing = false;
  #partitions: ReturnType<typeof setInterval> | undefined;
  #campaigns: ReturnType<typeof setInterval> | undefined;
  /** OTA frames the core asks to send while it handles a message, published after its unit committed. */
  readonly #sink: FrameSink;

  private constructor(store: PostgresHeadendStore, core: HeadendCore, ota: OtaCampaigns, clientId: string, sink: FrameSink) {
    this.store = store;
    this.core = core;
    this.ota = ota;
    this.clientId = clientId;
    this.#sink = sink;
  }

  static async start(o: HeadendWorkerOptions): Promise<HeadendWorker> {
    const lanes = o.lanes ?? 4;
    const clientId = o.clientId ?? `headend-${hostname()}`;
    // A worker started while PostgreSQL restarts (its supervisor restarting it) waits for it.
    const store = (await whenReachable(() => PostgresHeadendStore.open(o.db, { connections: lanes + 1, applicationName: clientId }), o.onError))!;
    const ota = new OtaCampaigns({ store, now: () => Date.now(), ...(o.topicPrefix ? { topicPrefix: o.topicPrefix } : {}) });
    const sink: FrameSink = {};
    const core = new HeadendCore({
      keys: headendKeysOf(o.keys),
      store,
      now: () => Date.now(),
      ackHistory: ACK_HISTORY,
      ota,
      send: (out) => void sink.frames?.push(out), // only while one of this worker's messages is handled
      ...(o.topicPrefix ? { topicPrefix: o.topicPrefix } : {}),
    });
    const worker = new HeadendWorker(store, core, ota, clientId, sink);
    worker.#partitions = setInterval(() => void store.ensurePartitions(Date.now()).catch((e: Error) => o.onError?.(e)), PARTITIONS_EVERY_MS);
    worker.#campaigns = setInterval(() => void worker.campaignTick().catch((e: Error) => o.onError?.(e)), o.campaignTickMs ?? 30_000);
    try {
      for (let i = 0; i < lanes; i++) worker.lanes.push(await worker.#lane(o, `${worker.clientId}-${i}`));
    } catch (e) {
      await worker.close();
      throw e;
    }
    return worker;
  }

  /** One connection in the group, subscribed, handling what it gets. */
  async #lane(o: HeadendWorkerOptions, clientId: string): Promise<MqttClient> {
    const prefix = o.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
    const topic = `$share/${o.group ?? "headend"}/${allUplinks(prefix)}`;
    const client = mqtt.connect(o.broker, {
      clientId,
      protocolVersion: 5,
      // A persistent session: what the broker handed to this lane and was not acknowledged comes back
      // to the lane's next connection (this worker restarted) instead of being dropped.
      clean: false,
      properties: { sessionExpiryInterval: o.sessionExpiryS ?? SESSION_EXPIRY_S },
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
      customHandleAcks: (t, payload, _packet, done) => void this.#take(o, client, t, payload).then((code) => done(code)),
    });
    client.on("connect", (connack) => {
      if (!connack.sessionPresent) client.subscribe(topic, { qos: 1 });
    });
    // A broker that is down (restarting) is waited for: MQTT.js connects again every second.
    client.on("error", (e) => o.onError?.(e));
    await new Promise<void>((resolve) => client.once("connect", () => resolve()));
    return client;
  }

  /** Stores one message (trying again while the database is unreachable); the PUBACK reason code. */
  async #take(o: HeadendWorkerOptions, client: MqttClient, topic: string, payload: Buffer): Promise<number> {
    const id = concentratorOfUplink(topic, o.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
    try {
      const handled = await whenReachable(() => this.store.unit(id, () => this.#handle(() => this.core.handleUplink(topic, new Uint8Array(payload)))), o.onError, () => this.#closing);
      if (!handled) return PUBACK_ERROR; // closing: not stored, not acknowledged
      const [out, frames] = handled; // committed
      for (const f of frames) this.#publish(client, f);
      if (out) this.#publish(client, out);
      o.onMessage?.(topic, out !== undefined);
      return 0;
    } catch (e) {
      o.onError?.(e as Error); // refused by the database: the concentrator sends it again
      return PUBACK_ERROR;
    }
  }

  /** Runs the core on a message inside a unit (synchronously): its answer, and the OTA frames it asked to send. */
  #handle(fn: () => Outgoing | undefined): [Outgoing | undefined, Outgoing[]] {
    const frames: Outgoing[] = (this.#sink.frames = []);
    try {
      return [fn(), frames];
    } finally {
      this.#sink.frames = undefined;
    }
  }

  /**
   * A round of OTA offers (ota-campaign.ts `tick`): every worker makes one every `campaignTickMs`,
   * one at a time (campaignUnit), so an offer made by one is not due for the next. Published after
   * the round committed.
   */
  async campaignTick(): Promise<void> {
    const offers = await this.store.campaignUnit(
      () => {
        const out: Outgoing[] = [];
        this.ota.tick((concentrator, request) => {
          const sealed = this.core.command(concentrator, request);
          if (!sealed) return undefined;
          out.push(sealed);
          return sealed.commandId;
        });
        return out;
      },
      { offers: true },
    );
    for (const offer of offers) this.#publish(this.lanes[0]!, offer);
  }

  /** Starts an OTA campaign of a package (its bytes) to concentrators; the workers' next rounds offer it. Returns its id. */
  async startCampaign(packageBytes: Uint8Array, concentrators: readonly number[], o: Parameters<OtaCampaigns["create"]>[2] = {}): Promise<number> {
    return this.store.createCampaign(this.ota, packageBytes, concentrators, o);
  }

  #publish(client: MqttClient, out: Outgoing): void {
    client.publish(out.topic, Buffer.from(out.payload), { qos: out.qos ?? 1 });
  }

  /** Issues a command: recorded and sealed in one transaction, then published (QoS 1). Returns its id. */
  async command(concentrator: number, request: CommandRequest): Promise<number> {
    const out = await this.store.unit(concentrator, () => this.core.command(concentrator, request), { commandIds: 1 });
    if (!out) throw new RangeError(`concentrator ${concentrator} is not registered`);
    await this.lanes[0]!.publishAsync(out.topic, Buffer.from(out.payload), { qos: 1 });
    return out.commandId;
  }

  async close(): Promise<void> {
    this.#closing = true;
    if (this.#partitions !== undefined) clearInterval(this.#partitions);
    if (this.#campaigns !== undefined) clearInterval(this.#campaigns);
    await Promise.all(this.lanes.map((c) => c.endAsync()));
    await this.store.close();
  }
}
