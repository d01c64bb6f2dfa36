/**
 * The reference head-end inside the simulation: its protocol core (tools/headend/core.ts) on an
 * in-memory database, connected to the broker with the firmware's own MQTT client (a persistent
 * session on `mc/+/up`), and an SMS gateway (`sms`, a phone of the simulated SMS centre): alarms a
 * concentrator sends by SMS are stored like those from MQTT and confirmed as processed, and commands
 * can go out by SMS. It runs on a power domain of its own: `crash()` kills the process (its connection
 * drops, its RAM is gone, the database stays), `restart()` starts a new one on the same database. Pure
 * ECMAScript (XS too).
 */
import { AppKind, appElement, findAppHeader } from "../../firmware/modem/sms/app-header.js";
import type { StreamConnector } from "../../firmware/net/byte-stream.js";
import type { CommandRequest, SwitchWindow } from "../../firmware/uplink/messages.js";
import { MqttClient } from "../../firmware/uplink/mqtt/client.js";
import { allUplinks } from "../../firmware/uplink/topics.js";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import type { Prng } from "../../hal/sim/prng.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import type { SimPhone, SimSms } from "../../hal/sim/modem/index.js";
import { SimRandom } from "../../hal/sim/system.js";
import { HeadendCore, type HeadendKeys, type Outgoing } from "../headend/core.js";
import { MemoryHeadendStore } from "../headend/memory-store.js";
import { OtaCampaigns, type OtaCampaignsOptions } from "../headend/ota-campaign.js";

export interface SimHeadendOptions {
  scheduler: Scheduler;
  prng: Prng;
  /** The head-end's connections, on its power domain. */
  connector: (domain: PowerDomain) => StreamConnector;
  brokerHost: string;
  brokerPort: number;
  keys: HeadendKeys;
  /** Wall clock of the head-end, ms since 1970. */
  now: () => number;
  /** Concentrators whose shared key is derived at the start (≈ 12 M XS units each, not in a measured turn). */
  concentrators?: readonly number[];
  /** OTA campaign settings (time-outs, retries). */
  ota?: Omit<OtaCampaignsOptions, "store" | "now">;
}

/** How often the head-end looks for OTA offers to make, ms. */
const CAMPAIGN_TICK_MS = 60_000;

export class SimHeadend {
  /** The database: survives crashes. */
  readonly store = new MemoryHeadendStore();
  readonly domain: PowerDomain;
  /** When false, messages are stored but never acknowledged (a head-end that cannot commit). */
  acks = true;
  /** Uplink messages handled (whatever their fate), across restarts. */
  messages = 0;
  /** Campaigns started (building and signing a package is the head-end's work: XS figures). */
  campaignsStarted = 0;
  /** SMS that reached the gateway, and those taken (authentic, fresh, stored), across restarts. */
  readonly smsCounters = { received: 0, taken: 0 };
  /** The SMS gateway's phone, once `attachSms` has connected it. */
  #phone: SimPhone | undefined;
  #smsRef = 0;
  #core!: HeadendCore;
  #client!: MqttClient;
  #ota!: OtaCampaigns;
  #outbox: Outgoing[] = [];

  constructor(o: SimHeadendOptions) {
    this.domain = new PowerDomain(o.scheduler, "headend");
    const connector = o.connector(this.domain);
    const clock = new SimClock(this.domain);
    let starts = 0;
    this.domain.onPowerOn(() => {
      // A new process: the campaigns go on from what the database holds.
      this.#ota = new OtaCampaigns({ ...o.ota, store: this.store, now: o.now });
      this.#core = new HeadendCore({ keys: o.keys, store: this.store, now: o.now, ota: this.#ota, send: (out) => this.#send(out) });
      clock.set(() => this.#ota.tick((c, request) => this.command(c, request)), CAMPAIGN_TICK_MS, CAMPAIGN_TICK_MS);
      for (const id of o.concentrators ?? []) this.#core.channel(id);
      this.#outbox = [];
      this.#client = new MqttClient(
        {
          connector,
          clock,
          timers: clock,
          random: new SimRandom(this.domain, o.prng.fork(`headend-${starts++}`)),
          host: o.brokerHost,
          port: o.brokerPort,
          clientId: "headend",
          keepAliveS: 60,
          maxInFlight: 32,
          reconnectMinMs: 500,
          reconnectMaxMs: 10_000,
          subscriptions: [{ topic: allUplinks(), qos: 1 }],
        },
        {
          onMessage: (topic, payload, taken) => {
            this.messages++;
            const out = this.#core.handleUplink(topic, payload);
            taken();
            if (out && this.acks) this.#send(out);
          },
          onWindowOpen: () => this.#flush(),
        },
      );
      this.#client.start();
    });
    this.domain.powerOn();
  }

  get core(): HeadendCore {
    return this.#core;
  }

  /** The OTA campaigns of the running process (their state is in `store`). */
  get ota(): OtaCampaigns {
    return this.#ota;
  }

  /** Starts an OTA campaign; its first offers go out at the next campaign tick (within a minute). */
  startCampaign(packageBytes: Uint8Array, concentrators: readonly number[], o: { name?: string; window?: SwitchWindow } = {}): number {
    this.campaignsStarted++;
    return this.#ota.create(packageBytes, concentrators, o);
  }

  get running(): boolean {
    return this.domain.on;
  }

  /** Records and sends a command; returns its id (undefined: not registered, or the head-end is down). */
  command(concentrator: number, command: CommandRequest): number | undefined {
    if (!this.running) return undefined;
    const out = this.#core.command(concentrator, command);
    if (!out) return undefined;
    this.#send(out);
    return out.commandId;
  }

  /** Connects the SMS gateway: what reaches `phone` is handled here. */
  attachSms(phone: SimPhone): void {
    this.#phone = phone;
    phone.onMessage = (sms) => this.#smsIn(sms);
  }

  /** Records a command and sends it by SMS to `number` (the concentrator's); its id, as `command`. */
  commandBySms(concentrator: number, number: string, command: CommandRequest): number | undefined {
    if (!this.running || !this.#phone) return undefined;
    const out = this.#core.command(concentrator, command);
    if (!out) return undefined;
    this.sendSms(number, out.payload);
    return out.commandId;
  }

  /** Sends `payload` by SMS, asking for the processed confirmation (what a replay test resends). */
  sendSms(number: string, payload: Uint8Array): void {
    const ref = (this.#smsRef = (this.#smsRef + 1) & 0xffff);
    this.#phone!.send(number, { data: payload, header: [appElement({ kind: AppKind.dataConfirm, ref })] });
  }

  /** The process dies: no goodbye to the broker, acknowledgements not yet sent are gone. */
  crash(): void {
    if (!this.running) return;
    this.domain.powerOff("panic");
  }

  restart(): void {
    if (!this.running) this.domain.powerOn();
  }

  #smsIn(sms: SimSms): void {
    this.smsCounters.received++;
    if (!this.running) return; // the gateway has no one to hand it to: never confirmed
    const app = findAppHeader(sms.header);
    if (app !== "malformed" && app?.kind === AppKind.confirmation) return; // our own command was processed
    const out = this.#core.handleSms(sms.data);
    if (!out) return; // dropped (counted by the core) or a status: nothing to confirm
    this.smsCounters.taken++;
    if (this.acks) this.#send(out);
    confirmIfAsked(this.#phone!, sms);
  }

  #send(out: Outgoing): void {
    this.#outbox.push(out);
    this.#flush();
  }

  #flush(): void {
    while (this.#outbox.length > 0) {
      const out = this.#outbox[0]!;
      // QoS 0 (OTA frames) goes now or never: the concentrator asks again for what it misses.
      if (!this.#client.publish(out.topic, out.payload, out.qos ?? 1) && out.qos !== 0) return;
      this.#outbox.shift();
    }
  }
}

/** Sends `sms`'s sender the processed confirmation when the message asked for one (app-header.ts). */
export function confirmIfAsked(phone: SimPhone, sms: SimSms): void {
  const app = findAppHeader(sms.header);
  if (app === "malformed" || app?.kind !== AppKind.dataConfirm) return;
  phone.send(sms.from, { data: new Uint8Array(0), header: [appElement({ kind: AppKind.confirmation, ref: app.ref })] });
}
