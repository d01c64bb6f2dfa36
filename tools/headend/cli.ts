#!/usr/bin/env node
/**
 * The reference head-end's command line (README "Head-end"):
 *
 *   headend serve   --keys DIR --db FILE [--broker URL | --port N]
 *   headend serve   --keys DIR --db postgres://... --broker URL [--workers N] [--lanes L] [--group G] [--client-id ID]
 *                   [--session-expiry-s S]
 *                   a fleet's workers (worker.ts): N processes, each in the MQTT 5 shared subscription,
 *                   supervised (supervisor.ts: a standby takes a dead one's place at once)
 *   headend command --keys DIR --db FILE [--broker URL] --id N read --meters 1,2 [--registers 1.8.0,2.8.0]
 *                                                     | disconnect --meter M | reconnect --meter M
 *                                                     | configure KEY=VALUE ... | time [--epoch-ms T]
 *                                                     | mode --meter M --mode 0..6
 *                                                     | limit --meter M (--threshold-w W [--emergency-w W] [--over-s S]
 *                                                       [--under-s S] [--groups G,G] | --none)
 *                                                     [--sms: print the sealed SMS payload (hex) instead of publishing]
 *   headend sms-in  --keys DIR --db FILE|postgres://... [--broker URL] HEX    what an SMS gateway received from a concentrator
 *   headend report  --db FILE --id N latest | gaps [--step-s 900] | alarms | commands | security
 *
 * --db is a SQLite file, or a PostgreSQL database: postgres://USER@HOST:PORT/DB, or `postgres` alone
 * for the PG* environment variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD).
 */
import { hostname } from "node:os";
import mqtt from "mqtt";
import { isValidLoadLimit, LOAD_LIMIT_BOUNDS } from "../../firmware/model/load-limit.js";
import type { CommandRequest, ConfigValue } from "../../firmware/uplink/messages.js";
import { registerCode, registerName } from "../../firmware/model/records.js";
import { parseOptions, UsageError } from "../cli-args.js";
import { peekHeader } from "../../firmware/uplink/envelope.js";
import { HeadendCore, type HeadendStore, type Outgoing } from "./core.js";
import { headendKeysOf, readRegistry } from "./keyfiles.js";
import { HeadendService } from "./service.js";
import { isPostgres, PostgresHeadendStore } from "./postgres-store.js";
import { SqliteHeadendStore } from "./sqlite-store.js";
import { type SlotAssignment, STANDBY_READY, Supervisor } from "./supervisor.js";
import { HeadendWorker } from "./worker.js";

const SPEC = {
  keys: "string",
  db: "string",
  broker: "string",
  port: "number",
  id: "number",
  meter: "number",
  meters: "string",
  registers: "string",
  "epoch-ms": "number",
  mode: "number",
  "threshold-w": "number",
  "emergency-w": "number",
  "over-s": "number",
  "under-s": "number",
  groups: "string",
  from: "string",
  to: "string",
  none: "boolean",
  sms: "boolean",
  "step-s": "number",
  json: "boolean",
  workers: "number",
  lanes: "number",
  group: "string",
  "client-id": "string",
  "session-expiry-s": "number",
  standby: "boolean",
} as const;

type Options = ReturnType<typeof parseOptions<typeof SPEC>>;

function need<T>(v: T | undefined, name: string): T {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

function register(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not a register (C.D.E, e.g. 1.8.0)`);
  return registerCode(Number(m[1]), Number(m[2]), Number(m[3]));
}

function configValue(text: string): ConfigValue {
  if (text === "true" || text === "false") return text === "true";
  if (/^-?\d+$/.test(text)) return Number(text);
  return text;
}

function commandRequest(op: string | undefined, args: string[], o: Options): CommandRequest {
  switch (op) {
    case "read":
      return {
        op: "read",
        meters: need(o.meters, "meters").split(",").map(Number),
        registers: o.registers ? o.registers.split(",").map(register) : [],
      };
    case "disconnect":
    case "reconnect":
      return { op, meter: need(o.meter, "meter") };
    case "configure":
      if (args.length === 0) throw new UsageError("configure needs KEY=VALUE arguments");
      return {
        op: "configure",
        changes: args.map((a) => {
          const i = a.indexOf("=");
          if (i < 1) throw new UsageError(`"${a}" is not KEY=VALUE`);
          return { key: a.slice(0, i), value: configValue(a.slice(i + 1)) };
        }),
      };
    case "time":
      return { op: "time", epochMs: o["epoch-ms"] ?? Date.now() };
    case "mode":
      return { op: "mode", meter: need(o.meter, "meter"), mode: need(o.mode, "mode") };
    case "limit": {
      if (o.none) return { op: "limit", meter: need(o.meter, "meter"), limit: null };
      const thresholdW = need(o["threshold-w"], "threshold-w");
      const limit = {
        thresholdNormal: thresholdW,
        thresholdEmergency: o["emergency-w"] ?? thresholdW,
        minOverMs: (o["over-s"] ?? 60) * 1000,
        minUnderMs: (o["under-s"] ?? 300) * 1000,
        emergencyGroups: o.groups ? o.groups.split(",").map(Number) : [],
      };
      const b = LOAD_LIMIT_BOUNDS;
      if (!isValidLoadLimit(limit)) throw new UsageError(`a limit is whole watts, whole ms of at most ${b.maxDurationMs / 1000} s and at most ${b.maxGroups} groups`);
      return { op: "limit", meter: need(o.meter, "meter"), limit };
    }
    case "profile": {
      // A meter's load profile over a range of at most a day (docs/backfill.md), times as ISO 8601.
      const time = (name: "from" | "to") => {
        const ms = Date.parse(need(o[name], name));
        if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`--${name}: a time such as 2026-12-05T00:00Z`);
        return Math.floor(ms / 1000);
      };
      return { op: "profile", meter: need(o.meter, "meter"), fromS: time("from"), toS: time("to") };
    }
    default:
      throw new UsageError("command: read | disconnect | reconnect | configure | time | mode | limit | profile");
  }
}

/** The service's and the workers' log lines: one per message, errors on standard error. */
const log = {
  onMessage: (topic: string, acked: boolean) => console.log(`${new Date().toISOString()} ${topic}${acked ? " stored, acknowledged" : ""}`),
  onError: (e: Error) => console.error(`${new Date().toISOString()} not stored: ${e.message}`),
};

async function serve(o: Options): Promise<void> {
  if (isPostgres(need(o.db, "db"))) return o.standby ? standby(o) : (o.workers ?? 1) > 1 ? superviseWorkers(o) : serveWorker(o);
  const service = await HeadendService.start({
    keys: need(o.keys, "keys"),
    db: need(o.db, "db"),
    ...(o.broker ? { broker: o.broker } : { port: o.port ?? 1883 }),
    ...log,
  });
  console.log(`head-end: broker ${service.brokerUrl}, database ${o.db}`);
  process.on("SIGINT", () => void service.close().then(() => process.exit(0)));
}

/** One worker of a fleet in this process (PostgreSQL, a shared subscription). */
async function serveWorker(o: Options): Promise<void> {
  const worker = await HeadendWorker.start({
    keys: need(o.keys, "keys"),
    db: need(o.db, "db"),
    broker: need(o.broker, "broker"),
    ...(o.lanes !== undefined ? { lanes: o.lanes } : {}),
    ...(o.group ? { group: o.group } : {}),
    ...(o["client-id"] ? { clientId: o["client-id"] } : {}),
    ...(o["session-expiry-s"] !== undefined ? { sessionExpiryS: o["session-expiry-s"] } : {}),
    ...log,
  });
  console.log(`head-end worker ${process.pid} (${worker.clientId}): broker ${need(o.broker, "broker")}, ${worker.lanes.length} lanes, PostgreSQL`);
  const stop = () => {
    setTimeout(() => process.exit(0), 5_000).unref(); // a lane stuck on a dead broker does not hold the exit
    void worker.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** `--workers N`: N worker processes and a standby under a supervisor (supervisor.ts). */
function superviseWorkers(o: Options): void {
  const argv = process.argv.slice(1).filter((_, i, a) => a[i] !== "--workers" && a[i - 1] !== "--workers" && a[i] !== "--client-id" && a[i - 1] !== "--client-id");
  const supervisor = new Supervisor({
    workers: need(o.workers, "workers"),
    standbyArgs: [...process.execArgv, ...argv, "--workers", "1", "--standby"],
    clientIdBase: o["client-id"] ?? `headend-${hostname()}`,
    log: (line) => console.error(`${new Date().toISOString()} ${line}`),
  });
  process.on("SIGINT", () => supervisor.stop());
  process.on("SIGTERM", () => supervisor.stop());
}

/**
 * A supervisor's standby: loaded, it waits for its slot (the client id), then serves as that
 * worker; it ends when the supervisor does.
 */
function standby(o: Options): void {
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
  process.once("message", (m: SlotAssignment) => void serveWorker({ ...o, "client-id": m.clientId }));
  process.send!(STANDBY_READY);
}

/** The head-end's core with the keys of a key directory, on a store. */
function coreOf(keys: string, store: HeadendStore): HeadendCore {
  return new HeadendCore({ keys: headendKeysOf(keys), store, now: () => Date.now() });
}

/** Runs `fn` with the head-end's core on the SQLite database and keys of the options. */
async function withCore<T>(o: Options, fn: (core: HeadendCore) => Promise<T>): Promise<T> {
  const store = new SqliteHeadendStore(need(o.db, "db"));
  try {
    return await fn(coreOf(need(o.keys, "keys"), store));
  } finally {
    store.close();
  }
}

async function publish(o: Options, topic: string, payload: Uint8Array): Promise<void> {
  const client = await mqtt.connectAsync(o.broker ?? "mqtt://127.0.0.1:1883", { clientId: `headend-cli-${process.pid}`, clean: true, protocolVersion: 4 });
  await client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
  await client.endAsync();
}

/** Runs `fn` with the head-end's core on the PostgreSQL database and keys of the options. */
async function withPostgresCore<T>(o: Options, fn: (store: PostgresHeadendStore, core: HeadendCore) => Promise<T>): Promise<T> {
  const store = await PostgresHeadendStore.open(need(o.db, "db"), { connections: 1 });
  try {
    return await fn(store, coreOf(need(o.keys, "keys"), store));
  } finally {
    await store.close();
  }
}

/** Publishes a sealed command, or prints it for an SMS gateway (8-bit data, asking for the processed confirmation). */
async function send(o: Options, out: Outgoing & { commandId: number }, id: number): Promise<void> {
  if (o.sms) {
    console.log(Buffer.from(out.payload).toString("hex"));
    return;
  }
  await publish(o, out.topic, out.payload);
  console.log(`command ${out.commandId} sent to concentrator ${id}; its result appears in "report commands"`);
}

async function command(o: Options): Promise<void> {
  const id = need(o.id, "id");
  const [op, ...args] = o._.slice(1);
  const request = commandRequest(op, args, o);
  const keys = need(o.keys, "keys");
  if (!readRegistry(keys).has(id)) throw new UsageError(`concentrator ${id} is not registered in ${keys}/concentrators.json`);
  if (isPostgres(need(o.db, "db"))) return withPostgresCore(o, async (store, core) => send(o, (await store.unit(id, () => core.command(id, request), { commandIds: 1 }))!, id));
  await withCore(o, async (core) => send(o, core.command(id, request)!, id));
}

/** What an SMS gateway received from a concentrator: stored (on either database), its acknowledgement published on MQTT. */
async function smsIn(o: Options): Promise<void> {
  const hex = o._[1] ?? "";
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError("sms-in needs the payload as hex");
  const payload = Uint8Array.from(Buffer.from(hex, "hex"));
  const ack = isPostgres(need(o.db, "db"))
    ? await withPostgresCore(o, (store, core) => store.unit(peekHeader(payload)?.concentrator, () => core.handleSms(payload)))
    : await withCore(o, async (core) => core.handleSms(payload));
  if (!ack) {
    console.log('not taken (see "report security")');
    return;
  }
  await publish(o, ack.topic, ack.payload);
  console.log("stored; acknowledgement published");
}

/** The reports, from either database (the PostgreSQL store answers the same queries asynchronously). */
async function report(o: Options): Promise<void> {
  const id = need(o.id, "id");
  const db = need(o.db, "db");
  const store = isPostgres(db) ? await PostgresHeadendStore.open(db, { connections: 1 }) : new SqliteHeadendStore(db);
  try {
    const what = o._[1];
    let rows: unknown[];
    switch (what) {
      case "latest":
        rows = (await store.latest(id)).map((r) => ({ ...r, register: registerName(r.register), iso: new Date(r.time * 1000).toISOString() }));
        break;
      case "gaps":
        rows = (await store.gaps(id, o["step-s"] ?? 900)).map((g) => ({ ...g, register: registerName(g.register), from: new Date(g.after * 1000).toISOString(), to: new Date(g.before * 1000).toISOString() }));
        break;
      case "alarms":
        rows = (await store.alarms(id)).map((e) => ({ ...e, iso: new Date(e.time * 1000).toISOString() }));
        break;
      case "commands":
        rows = await store.commands(id);
        break;
      case "security":
        rows = (await store.rejections()).filter((r) => r.concentrator === id || r.concentrator < 0);
        break;
      default:
        throw new UsageError("report: latest | gaps | alarms | commands | security");
    }
    if (o.json) console.log(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) console.log("(none)");
    else console.table(rows);
  } finally {
    await store.close();
  }
}

try {
  const o = parseOptions(process.argv.slice(2), SPEC);
  const verb = o._[0];
  if (verb === "serve") await serve(o);
  else if (verb === "command") await command(o);
  else if (verb === "sms-in") await smsIn(o);
  else if (verb === "report") await report(o);
  else throw new UsageError("usage: headend serve | command | sms-in | report (see the README, section Head-end)");
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
