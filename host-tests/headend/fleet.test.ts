/**
 * The fleet head-end (issue 17) on a throw-away PostgreSQL cluster and a real Mosquitto: migrations,
 * two workers taking one concentrator's messages out of order, a worker killed between receiving
 * and committing, and a whole fleet run through a worker kill, a database restart and a broker outage.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import nacl from "tweetnacl";
import { EventType, registerCode, type Reading } from "../../firmware/model/records.js";
import { PACKAGE_ID_BYTES, packVersion } from "../../firmware/ota/format.js";
import { decodeFrame, FrameObject } from "../../firmware/ota/frames.js";
import { DOWNLINK_LATE_WINDOW } from "../../firmware/uplink/uplink.js";
import { buildImagePackage, splitPackage } from "../../tools/ota/package.js";
import { HeadendWorker } from "../../tools/headend/worker.js";
import { OtaCampaigns } from "../../tools/headend/ota-campaign.js";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey, peekHeader } from "../../firmware/uplink/envelope.js";
import { type CommandRequest, decodeDownlink, type DownlinkMessage, encodeMessage, ResultCode, type UplinkMessage } from "../../firmware/uplink/messages.js";
import { seqSetOf, seqSetValues } from "../../firmware/uplink/seq-set.js";
import { topicsOf } from "../../firmware/uplink/topics.js";
import { HeadendCore } from "../../tools/headend/core.js";
import { deviceKeyPath, headendKeysOf, provision, readDeviceKeys } from "../../tools/headend/keyfiles.js";
import { migrationsFor } from "../../tools/headend/migrations.js";
import { PostgresHeadendStore } from "../../tools/headend/postgres-store.js";
import { SqliteHeadendStore } from "../../tools/headend/sqlite-store.js";
import { FleetConcentrator } from "../../tools/fleet-load/concentrator.js";
import { runFleet, WorkerProcess } from "../../tools/fleet-load/run.js";
import { startPostgres, type Postgres } from "../../tools/net/postgres.js";
import { startMosquitto, type Broker } from "../../tools/net/servers.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";
import { keyPairOf } from "../../tools/sim/keys.js";
import { UplinkSite } from "../../tools/sim/uplink-site.js";

const ID = 17;
const REG = registerCode(1, 8, 0);
const HEADEND_CLI = fileURLToPath(new URL("../../tools/headend/cli.js", import.meta.url));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Hands a sealed downlink message to the site's uplink as by SMS: whether it was taken once opened on
 * the simulated crypto service (a few ms), before the drain could send and have acknowledged the result.
 */
function taken(site: UplinkSite, payload: Uint8Array): boolean {
  let ok = false;
  site.uplink.receive(payload, () => (ok = true));
  site.s.runFor(50);
  return ok;
}

function readingsOf(meters: number, timeS: number): Reading[] {
  return Array.from({ length: meters }, (_, m) => ({ meter: m + 1, register: REG, time: timeS, value: 1000 + m, status: 0 }));
}

describe("fleet head-end on PostgreSQL", function () {
  let dir: string;
  let pg: Postgres;
  let keys: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-test-"));
    pg = await startPostgres(dir);
    keys = join(dir, "keys");
    provision(keys, [ID]);
  });
  after(async () => {
    await pg?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh database in the cluster. */
  async function database(name: string): Promise<string> {
    const admin = await PostgresHeadendStore.open(pg.url, { connections: 1 });
    await admin.pool.query(`CREATE DATABASE ${name}`);
    await admin.close();
    return pg.url.replace(/\/postgres$/, `/${name}`);
  }

  it("applies the migrations to an empty database and to one made by an earlier version, keeping its data", async () => {
    const all = migrationsFor("postgres").map((m) => ({ version: m.version, name: m.name }));
    const empty = await PostgresHeadendStore.open(await database("empty"));
    assert.deepEqual(await empty.migrations(), all);
    const parts = (await empty.pool.query("SELECT relname FROM pg_inherits JOIN pg_class ON inhrelid = oid ORDER BY relname")).rows.map((r) => r.relname as string);
    assert.ok(parts.includes("reading_default") && parts.length >= 5, `monthly partitions made ahead: ${parts}`);
    await empty.close();

    // An earlier head-end: only the first migration, with a concentrator's counter and a reading.
    const url = await database("earlier");
    const old = new (await import("pg")).default.Client({ connectionString: url });
    await old.connect();
    await old.query(migrationsFor("postgres")[0]!.sql);
    await old.query("CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL); INSERT INTO schema_migration VALUES (1, 'initial', 0)");
    await old.query("INSERT INTO channel VALUES (17, 40, 99); INSERT INTO reading VALUES (17, 1, 67584, 1800000000, 5, 0, 0)");
    await old.end();
    const store = await PostgresHeadendStore.open(url);
    assert.deepEqual(await store.migrations(), all);
    assert.equal(await store.readingCount(17), 1);
    const row = (await store.pool.query("SELECT send_reserve, last_accepted, accepted_below, recent_acks FROM channel WHERE concentrator = 17")).rows[0];
    assert.deepEqual(row, { send_reserve: 40, last_accepted: 99, accepted_below: 0, recent_acks: "[]" });
    await store.close();
    const again = await PostgresHeadendStore.open(url); // nothing left to apply
    assert.deepEqual(await again.migrations(), all);
    await again.close();
  });

  it("SQLite: a database made before the migrations takes them and keeps its readings", () => {
    const path = join(dir, "old.sqlite");
    const old = new Database(path);
    old.exec(migrationsFor("sqlite")[0]!.sql); // the schema every earlier head-end made
    old.prepare("INSERT INTO reading VALUES (17, 1, 67584, 1800000000, 5, 0, 0)").run();
    old.close();
    const store = new SqliteHeadendStore(path);
    assert.deepEqual(
      store.migrations(),
      migrationsFor("sqlite").map((m) => ({ version: m.version, name: m.name })),
    );
    assert.equal(store.readingCount(17), 1);
    store.close();
    new SqliteHeadendStore(path).close(); // opening again applies nothing twice
  });

  it("two workers: a concentrator's messages taken out of order are stored once each, replays are rejected, commands from either reach it, a result counts once", async () => {
    const url = await database("workers");
    const unit = readDeviceKeys(deviceKeyPath(keys, ID));
    const workers = await Promise.all(
      [0, 1].map(async () => {
        const store = await PostgresHeadendStore.open(url, { connections: 2 });
        const core = new HeadendCore({ keys: headendKeysOf(keys), store, now: () => Date.now(), ackHistory: 4 });
        const take = (payload: Uint8Array) => store.unit(ID, () => core.handleUplink(topicsOf(ID).up, payload));
        return { store, core, take };
      }),
    );
    const [a, b] = workers as [(typeof workers)[0], (typeof workers)[0]];
    const rx = new SecureChannel({ sharedKey: deriveSharedKey(unit.secretKey, unit.headendPublicKey), concentratorId: ID, role: "concentrator", counters: new MemoryCounters() });
    const t = 1_800_000_000;
    const m = [0, 1, 2].map((k) => rx.seal(encodeMessage({ kind: "readings", seqs: seqSetOf([k * 10 + 1, k * 10 + 2]), readings: readingsOf(2, t + 900 * k) })));
    // Both workers at once, the later message first: the row lock puts them in turn, both are accepted.
    const [ack3, ack1] = await Promise.all([a.take(m[2]!), b.take(m[0]!)]);
    assert.ok(ack3 && ack1);
    assert.equal(await b.take(m[2]!), undefined); // replay through the other worker
    assert.ok(await a.take(m[1]!)); // late but fresh
    assert.equal(await a.take(m[0]!), undefined);
    assert.equal(await a.store.readingCount(ID), 6);
    assert.equal(await a.store.duplicateReadings(ID), 0);
    assert.deepEqual(
      (await a.store.rejections()).map((r) => [r.reason, r.count]),
      [["replayed", 2]],
    );
    // The acknowledgements open at the concentrator (in their counters' order, the order the row lock
    // gave them); the later one also names what the earlier one did.
    const acked = new Set<number>();
    let last: number[] = [];
    for (const ack of [ack1!, ack3!].sort((x, y) => peekHeader(x.payload)!.counter - peekHeader(y.payload)!.counter)) {
      const body = rx.open(ack.payload);
      assert.ok(body, "an acknowledgement the concentrator accepts");
      const d = decodeDownlink(body);
      assert.ok(!(d instanceof Error) && d.kind === "ack");
      last = d.seqs.flatMap((s) => seqSetValues([s]));
      for (const s of last) acked.add(s);
    }
    assert.deepEqual([...acked].sort((x, y) => x - y), [1, 2, 21, 22]);
    assert.deepEqual(last, [1, 2, 21, 22]);

    // Commands through either worker: recorded with distinct ids, sealed with increasing counters.
    const c1 = await a.store.unit(ID, () => a.core.command(ID, { op: "disconnect", meter: 3 }), { commandIds: 1 });
    const c2 = await b.store.unit(ID, () => b.core.command(ID, { op: "reconnect", meter: 3 }), { commandIds: 1 });
    assert.ok(c1 && c2 && c1.commandId !== c2.commandId);
    for (const c of [c1, c2]) {
      const body = rx.open(c.payload);
      assert.ok(body, "a command the concentrator accepts");
      const d = decodeDownlink(body);
      assert.ok(!(d instanceof Error) && d.kind === "command");
    }
    // A result sent twice (a resend, new counter) through both workers: the first one stands.
    const result = (code: ResultCode) => rx.seal(encodeMessage({ kind: "result", seq: 40, result: { commandId: c1.commandId, code } }));
    await Promise.all([a.take(result(ResultCode.ok)), b.take(result(ResultCode.failed))]);
    const rows = await a.store.commands(ID);
    const first = rows.find((r) => r.id === c1.commandId)!;
    assert.ok(first.result_code === ResultCode.ok || first.result_code === ResultCode.failed);
    assert.equal(rows.filter((r) => r.result_code !== null).length, 1);
    await Promise.all(workers.map((w) => w.store.close()));
  });

  it("two commands to one concentrator through two workers that reach it out of order are both executed once; a replay is refused, also after a reboot", async () => {
    const url = await database("commands");
    const site = new UplinkSite({ seed: "fleet-commands" }); // the firmware's Uplink, its handlers and counters
    site.powerOn();
    const headend = keyPairOf("headend");
    const device = keyPairOf("concentrator");
    const workers = await Promise.all(
      [0, 1].map(async () => {
        const store = await PostgresHeadendStore.open(url, { connections: 1 });
        const core = new HeadendCore({ keys: { secretKey: headend.secretKey, concentratorPublicKey: (n) => (n === site.id ? device.publicKey : undefined) }, store, now: () => Date.now() });
        return { store, command: (c: CommandRequest) => store.unit(site.id, () => core.command(site.id, c), { commandIds: 1 }) };
      }),
    );
    try {
      const first = (await workers[0]!.command({ op: "disconnect", meter: 3 }))!;
      await pause(50); // the second sealed 50 ms later: its counter (the head-end's clock) is far above the first's
      const second = (await workers[1]!.command({ op: "reconnect", meter: 4 }))!;
      assert.ok(peekHeader(second.payload)!.counter - peekHeader(first.payload)!.counter > 32);
      // The second overtakes the first on the way (another worker's broker connection).
      assert.equal(taken(site, second.payload), true);
      assert.equal(taken(site, first.payload), true, "the overtaken command is not refused");
      assert.equal(taken(site, first.payload), false, "a replay");
      assert.equal(taken(site, second.payload), false, "a replay");
      site.powerCut();
      site.powerOn();
      assert.equal(taken(site, first.payload), false, "a reboot does not reopen the window");
      assert.deepEqual(
        site.handlers.calls.map((c) => [c.op, "meter" in c ? c.meter : undefined]),
        [["reconnect", 4], ["disconnect", 3]],
        "each executed once",
      );
      const results = (site.queue.pending("result", 0, 10) ?? []).map((r) => (r.kind === "result" ? r.result.commandId : 0));
      assert.deepEqual(results, [second.commandId, first.commandId], "one result each, stored for the drain");
    } finally {
      await Promise.all(workers.map((w) => w.store.close()));
    }
  });

  it("Mosquitto 2 keeps a killed persistent member's in-flight messages, and its turn of new ones, for its next connection (DUP)", async () => {
    // What worker.ts builds on (docs/headend.md "Supervision"): checked on the broker the fleet runs on.
    const broker: Broker = await startMosquitto(dir);
    const topic = "$share/g/mc/+/up";
    const member = (clientId: string, hold: boolean) => {
      const got: string[] = [];
      const c = mqtt.connect(broker.url, {
        clientId,
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
        reconnectPeriod: 0,
        customHandleAcks: (_t, payload, packet, done) => {
          got.push(`${payload}${packet.dup ? " dup" : ""}`);
          if (!hold) done(0);
        },
      });
      c.on("connect", (ack) => void (ack.sessionPresent || c.subscribe(topic, { qos: 1 })));
      return { c, got, connected: new Promise<boolean>((r) => c.once("connect", (ack) => r(ack.sessionPresent))) };
    };
    const publisher = await mqtt.connectAsync(broker.url, { clientId: "concentrators", protocolVersion: 4 });
    try {
      let a = member("a", true); // takes messages and never acknowledges them: it dies with them
      const b = member("b", false);
      await Promise.all([a.connected, b.connected]);
      await pause(200);
      for (let i = 0; i < 6; i++) await publisher.publishAsync(`mc/${i}/up`, String(i), { qos: 1 });
      await pause(300);
      const taken = ["0", "2", "4"].filter((x) => !b.got.includes(x));
      assert.equal(a.got.length, 1, "a's client works on one message at a time");
      a.c.stream.destroy(); // killed: no DISCONNECT
      await pause(300);
      for (let i = 6; i < 12; i++) await publisher.publishAsync(`mc/${i}/up`, String(i), { qos: 1 });
      await pause(300);
      assert.deepEqual(b.got, ["1", "3", "5", "7", "9", "11"], "a away: its turn of the group's messages is kept for it, not given to b");
      a = member("a", false);
      assert.equal(await a.connected, true, "the session is still there");
      await pause(500);
      assert.deepEqual(a.got, [...taken.map((x) => `${x} dup`), "6", "8", "10"]);
      await a.c.endAsync();
      await b.c.endAsync();
    } finally {
      await publisher.endAsync();
      await broker.stop();
    }
  });

  it("a supervisor whose workers cannot start fills their slots again after a growing delay, and its processes end with it", async () => {
    const supervisor = spawn(process.execPath, [HEADEND_CLI, "serve", "--keys", join(dir, "no-such-keys"), "--db", pg.url, "--broker", "mqtt://127.0.0.1:1", "--workers", "2"], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    supervisor.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    const delays = () => [...log.matchAll(/worker 0 ended \([^)]*\); (?:its slot is filled again in (\d+) ms|the standby takes its slot)/g)].map((m) => Number(m[1] ?? 0));
    for (let i = 0; i < 300 && delays().length < 4; i++) await pause(50);
    const exited = new Promise((r) => supervisor.once("exit", r));
    supervisor.kill("SIGTERM");
    await exited;
    assert.deepEqual(delays().slice(0, 4), [0, 100, 200, 400], log);
    await pause(500);
    assert.equal(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) => l.includes("no-such-keys")).length, 0, "no worker or standby left");
  });

  it("a worker killed while it holds a message inside its transaction is started again by its supervisor, which gets the message again from the broker and stores it once", async () => {
    const url = await database("killed");
    const broker: Broker = await startMosquitto(dir);
    const head = new WorkerProcess(["serve", "--keys", keys, "--db", url, "--broker", broker.url, "--workers", "2", "--lanes", "1", "--group", "kill", "--client-id", "kill"], { workers: 2 });
    const holder = await PostgresHeadendStore.open(url, { connections: 2 });
    const lock = await holder.pool.connect();
    // The concentrator would send the message again only after 10 minutes: what arrives before came from the broker.
    const concentrator = new FleetConcentrator({ keys: readDeviceKeys(deviceKeyPath(keys, ID)), broker: broker.url, readings: readingsOf(64, 1_800_000_000), perMessage: 64, window: 1, ackTimeoutMs: 600_000 });
    try {
      await head.start();
      // The concentrator's channel row is held, so the worker that takes the message waits inside its transaction.
      await lock.query("BEGIN; INSERT INTO channel (concentrator) VALUES (17) ON CONFLICT DO NOTHING; SELECT * FROM channel WHERE concentrator = 17 FOR UPDATE");
      const drained = concentrator.run();
      const waiting = async () => (await holder.pool.query<{ name: string }>("SELECT application_name AS name FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rows.map((r) => r.name);
      for (let i = 0; i < 100 && (await waiting()).length === 0; i++) await pause(50);
      const [name] = await waiting();
      const slot = /^kill-w(\d)$/.exec(name ?? "");
      assert.ok(slot, `a worker received the message and waits to commit it: ${name}`);
      await head.killWorker(Number(slot[1])); // resolves when the supervisor's new worker is connected
      await lock.query("ROLLBACK");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("not acknowledged within 20 s")), 20_000)))]);
      clearTimeout(timer);
      assert.equal(concentrator.published, 1, "sent once: the broker handed it to the restarted worker");
      assert.equal(concentrator.resentReadings, 0);
      assert.equal(await holder.readingCount(ID), 64);
      assert.equal(await holder.duplicateReadings(ID), 0);
    } finally {
      lock.release();
      await concentrator.close();
      await head.kill("SIGTERM");
      await holder.close();
      await broker.stop();
    }
  });

  it("OTA on PostgreSQL: a campaign started through one worker is offered once by the workers' rounds, its parts served and its unit followed through either worker to done; sms-in stores once", async () => {
    const url = await database("ota");
    const broker: Broker = await startMosquitto(dir);
    const start = (name: string) => HeadendWorker.start({ keys, db: url, broker: broker.url, lanes: 1, group: "ota", clientId: name, campaignTickMs: 3_600_000 });
    const workers = [await start("ota-a"), await start("ota-b")] as const;
    const [a, b] = workers;
    const device = readDeviceKeys(deviceKeyPath(keys, ID));
    // The concentrator: the firmware's channel rule for a fleet (acknowledgements from two workers may cross).
    const ch = new SecureChannel({ sharedKey: deriveSharedKey(device.secretKey, device.headendPublicKey), concentratorId: ID, role: "concentrator", counters: new MemoryCounters(), lateWindow: DOWNLINK_LATE_WINDOW });
    const topics = topicsOf(ID);
    const mc = await mqtt.connectAsync(broker.url, { clientId: "mc-17", protocolVersion: 4 });
    const down: DownlinkMessage[] = [];
    const frames: Uint8Array[] = [];
    mc.on("message", (topic, payload) => {
      if (topic === topics.ota) return void frames.push(new Uint8Array(payload));
      const body = ch.open(new Uint8Array(payload));
      const m = body && decodeDownlink(body);
      if (m && !(m instanceof Error)) down.push(m);
    });
    const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await ok()); i++) await pause(25);
      assert.ok(await ok(), what);
    };
    let seq = 100;
    /** Sends a message; events: waits for the acknowledgement naming them. */
    const send = async (m: UplinkMessage) => {
      await mc.publishAsync(topics.up, Buffer.from(ch.seal(encodeMessage(m))), { qos: 1 });
      if (m.kind !== "events") return;
      const mine = m.events[0]!.seq;
      await until(`seq ${mine} acknowledged`, () => down.some((d) => d.kind === "ack" && seqSetValues(d.seqs).includes(mine)));
    };
    const progress = async () => (await a.store.campaignUnit(() => a.ota.progress()))[0]!;
    try {
      await mc.subscribeAsync([topics.down, topics.ota], { qos: 1 });
      const image = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
      const pkg = buildImagePackage({ image, version: "1.1.0", hardwareId: "HW", sequence: 2, securityCounter: 0, expiresS: 2e9, signers: [nacl.sign.keyPair().secretKey] });
      const parts = splitPackage(pkg);
      // The running version, reported through whichever worker the broker picks, is the campaign's "before".
      await send({ kind: "status", time: 1_800_000_000, uptimeS: 60, counters: { "ota.version": packVersion("1.0.0") } });
      await until("the status stored", async () => (await a.store.pool.query("SELECT 1 FROM status WHERE concentrator = $1", [ID])).rowCount === 1);
      await a.startCampaign(pkg, [ID]);
      await assert.rejects(b.startCampaign(pkg, [ID]), /another active campaign/, "the campaign is in the database, seen by every worker");
      await Promise.all([b.campaignTick(), a.campaignTick()]); // rounds on both: one offer
      await until("an offer", () => down.some((d) => d.kind === "command"));
      await pause(200);
      const offers = down.filter((d) => d.kind === "command");
      assert.equal(offers.length, 1);
      assert.ok(offers[0]!.kind === "command" && offers[0]!.command.op === "update");
      assert.deepEqual((await progress()).units.map((u) => [u.state, u.attempts]), [["offered", 1]]);

      // The parts, asked for through whichever worker the broker picks.
      await send({ kind: "otaRequest", packageId: parts.digest.subarray(0, PACKAGE_ID_BYTES), object: FrameObject.head, first: 0, count: 0 });
      await send({ kind: "otaRequest", packageId: parts.digest.subarray(0, PACKAGE_ID_BYTES), object: FrameObject.chunk, first: 0, count: 2 });
      await until("frames", () => frames.length >= 3);
      const got = frames.map((f) => decodeFrame(f)!);
      assert.deepEqual(got.find((f) => f.object === FrameObject.head)!.data, parts.headBytes);
      assert.deepEqual(got.filter((f) => f.object === FrameObject.chunk).map((f) => f.index).sort(), [0, 1]);

      // The unit's events, one by one (each through either worker).
      const event = (type: EventType, detail: number) => ({ kind: "events" as const, events: [{ seq: seq++, event: { type, subject: 0, time: 1_800_000_000, detail, alarm: false } }] });
      for (const [type, detail] of [[EventType.otaDownload, 0], [EventType.otaDownload, image.length], [EventType.otaVerified, image.length], [EventType.otaSwitched, 0], [EventType.otaConfirmed, packVersion("1.1.0")]] as const) await send(event(type, detail));
      await b.campaignTick(); // every unit final: the campaign is done
      const p = await progress();
      assert.deepEqual(p.units.map((u) => [u.state, u.bytes, u.versionBefore, u.versionAfter, u.attempts]), [["confirmed", image.length, "1.0.0", "1.1.0", 1]]);
      assert.equal(p.campaign.state, "done");

      // sms-in: an alarm that came by SMS, given to the head-end command twice (the second is a replay).
      const alarm = ch.seal(encodeMessage({ kind: "events", events: [{ seq: seq++, event: { type: EventType.tamper, subject: 3, time: 1_800_000_100, detail: 1, alarm: true } }] }));
      const smsIn = () => execFileSync(process.execPath, [HEADEND_CLI, "sms-in", "--keys", keys, "--db", url, "--broker", broker.url, Buffer.from(alarm).toString("hex")], { encoding: "utf8" });
      assert.match(smsIn(), /stored; acknowledgement published/);
      assert.match(smsIn(), /not taken/);
      assert.deepEqual((await a.store.alarms(ID)).map((e) => [e.type, e.subject]), [[EventType.tamper, 3]]);
      assert.ok((await a.store.rejections()).some((r) => r.concentrator === ID && r.reason === "replayed"));
    } finally {
      await mc.endAsync();
      await Promise.all(workers.map((w) => w.close()));
      await broker.stop();
    }
  });

  it("OTA on PostgreSQL: a message that waited for its concentrator's lock while an offer round held it sees the unit as the round left it", async () => {
    const url = await database("otarace");
    const store = await PostgresHeadendStore.open(url, { connections: 2 });
    const ota = new OtaCampaigns({ store, now: () => Date.now() });
    const core = new HeadendCore({ keys: headendKeysOf(keys), store, now: () => Date.now(), ota });
    const device = readDeviceKeys(deviceKeyPath(keys, ID));
    const ch = new SecureChannel({ sharedKey: deriveSharedKey(device.secretKey, device.headendPublicKey), concentratorId: ID, role: "concentrator", counters: new MemoryCounters() });
    const round = await store.pool.connect();
    try {
      const pkg = buildImagePackage({ image: new Uint8Array(5_000), version: "1.1.0", hardwareId: "HW", sequence: 2, securityCounter: 0, expiresS: 2e9, signers: [nacl.sign.keyPair().secretKey] });
      const campaign = await store.createCampaign(ota, pkg, [ID]);
      // A round (another worker's) holds the channel row and offers: the unit becomes "offered".
      await round.query("BEGIN; INSERT INTO channel (concentrator) VALUES (17) ON CONFLICT DO NOTHING; SELECT * FROM channel WHERE concentrator = 17 FOR UPDATE");
      await round.query("UPDATE ota_unit SET state = 'offered', attempts = 1, command = 99, offered_ms = $1 WHERE campaign = $2", [Date.now(), campaign]);
      const download = ch.seal(encodeMessage({ kind: "events", events: [{ seq: 1, event: { type: EventType.otaDownload, subject: 0, time: 1_800_000_000, detail: 0, alarm: false } }] }));
      const taken = store.unit(ID, () => core.handleUplink(topicsOf(ID).up, download)); // waits for the lock
      await pause(300);
      await round.query("COMMIT");
      assert.ok(await taken, "stored and acknowledged");
      const units = await store.campaignUnit(() => ota.progress());
      assert.deepEqual(units[0]!.units.map((u) => [u.state, u.attempts, u.commandId]), [["downloading", 1, 99]]);
    } finally {
      round.release();
      await store.close();
    }
  });

  it("a fleet drains through a worker kill, a database restart and a broker outage: nothing lost, nothing twice, no replay accepted", async () => {
    // About 150,000 readings: a few seconds of work, so the faults (from 0.2 s) fall inside the drain.
    const r = await runFleet({ concentrators: 12, metersPer: 256, hours: 12, workers: 2, lanes: 2, perMessage: 512, killWorkerAtS: 0.2, restartDbAtS: 0.5, outageS: 1, ackTimeoutMs: 2_000, timeoutS: 60 });
    assert.equal(r.drained, true);
    assert.equal(r.readingsSent, 12 * 256 * 48);
    assert.equal(r.readingsStored, r.readingsSent);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicates, 0);
    assert.ok(r.replaysSent > 0);
    assert.equal(r.replaysAccepted, 0);
    assert.deepEqual([r.workerKills, r.dbRestarts, r.brokerOutages], [1, 1, 1]);
  });
});
