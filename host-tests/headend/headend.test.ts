import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import { encodeMessage } from "../../firmware/uplink/messages.js";
import { seqSetOf } from "../../firmware/uplink/seq-set.js";
import { HeadendCore } from "../../tools/headend/core.js";
import { deviceKeyPath, provision, readDeviceKeys, readHeadendKeys } from "../../tools/headend/keyfiles.js";
import { HeadendService } from "../../tools/headend/service.js";
import { SqliteHeadendStore } from "../../tools/headend/sqlite-store.js";
import { SimDevice } from "../../tools/device/sim-device.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function workdir() {
  const dir = mkdtempSync(join(tmpdir(), "headend-"));
  provision(join(dir, "keys"), [17]);
  return { dir, keys: join(dir, "keys"), db: join(dir, "headend.db") };
}

/** A device-side channel and a head-end core on SQLite, without any broker. */
function coreOnSqlite() {
  const w = workdir();
  const store = new SqliteHeadendStore(w.db);
  const he = readHeadendKeys(w.keys);
  const dev = readDeviceKeys(deviceKeyPath(w.keys, 17));
  const core = new HeadendCore({ keys: { secretKey: he.secretKey, concentratorPublicKey: (id) => (id === 17 ? dev.publicKey : undefined) }, store, now: () => Date.now() });
  const device = new SecureChannel({ sharedKey: deriveSharedKey(dev.secretKey, he.publicKey), concentratorId: 17, role: "concentrator", counters: new MemoryCounters() });
  const readings = Array.from({ length: 8 }, (_, i) => ({ meter: 1, register: 0x010800, time: 1_767_225_600 + 900 * i, value: 100 * i, status: 0 }));
  const batch = () => device.seal(encodeMessage({ kind: "readings", seqs: seqSetOf([1, 2, 3, 4, 5, 6, 7, 8]), readings }));
  return { w, store, core, device, batch, cleanup: () => (store.close(), rmSync(w.dir, { recursive: true, force: true })) };
}

describe("head-end on SQLite", () => {
  it("stores a batch once: a duplicate delivery is dropped, a re-sent batch is acknowledged again and changes nothing", () => {
    const t = coreOnSqlite();
    try {
      const first = t.batch();
      assert.ok(t.core.handleUplink("mc/17/up", first), "acknowledged");
      assert.equal(t.core.handleUplink("mc/17/up", first), undefined, "the same envelope again: replay, no answer");
      const again = t.core.handleUplink("mc/17/up", t.batch()); // same records, new envelope (a drain rewind)
      assert.ok(again, "acknowledged again");
      assert.equal(t.store.readingCount(17), 8);
      assert.deepEqual(t.store.rejections(), [{ concentrator: 17, reason: "replayed", count: 1 }]);
    } finally {
      t.cleanup();
    }
  });

  it("acknowledges nothing when the transaction fails, and keeps nothing of it", () => {
    const t = coreOnSqlite();
    try {
      const put = t.store.putReadings.bind(t.store);
      let calls = 0;
      t.store.putReadings = (...args) => {
        put(...args);
        if (++calls === 1) throw new Error("disk full");
      };
      assert.throws(() => t.core.handleUplink("mc/17/up", t.batch()), /disk full/);
      assert.equal(t.store.readingCount(17), 0, "rolled back");
      assert.ok(t.core.handleUplink("mc/17/up", t.batch()), "the next attempt is stored and acknowledged");
      assert.equal(t.store.readingCount(17), 8);
    } finally {
      t.cleanup();
    }
  });

  it("files messages from an unknown concentrator or for another id under their reason", () => {
    const t = coreOnSqlite();
    try {
      assert.equal(t.core.handleUplink("mc/18/up", t.batch()), undefined);
      assert.equal(t.core.handleUplink("mc/99/up", new Uint8Array(40)), undefined);
      const reasons = t.store.rejections().map((r) => r.reason);
      assert.deepEqual(reasons, ["foreign", "malformed"]);
    } finally {
      t.cleanup();
    }
  });

  it("reports gaps in a load profile", () => {
    const t = coreOnSqlite();
    try {
      const at = (i: number) => ({ meter: 2, register: 0x010800, time: 1_767_225_600 + 900 * i, value: i, status: 0 });
      t.store.putReadings(17, [0, 1, 2, 6, 7, 9].map(at), 0);
      assert.deepEqual(
        t.store.gaps(17).map((g) => [g.after, g.before, g.missing]),
        [
          [at(2).time, at(6).time, 3],
          [at(7).time, at(9).time, 1],
        ],
      );
    } finally {
      t.cleanup();
    }
  });
});

/** Runs a device against a head-end service until `n` intervals are stored; returns both. */
async function endToEnd(brokerUrl: string | undefined, w: ReturnType<typeof workdir>, port?: number) {
  const service = await HeadendService.start({ keys: w.keys, db: w.db, ...(brokerUrl ? { broker: brokerUrl } : { port: port ?? 0 }) });
  const device = new SimDevice({
    keyFile: deviceKeyPath(w.keys, 17),
    broker: service.brokerUrl,
    meters: 4,
    intervalMs: 0,
    uplink: { drain: { readingsDelayMs: 100, ackTimeoutMs: 2_000 }, mqtt: { reconnectMinMs: 200, reconnectMaxMs: 1_000, keepAliveS: 5 } },
  });
  device.start();
  return { service, device };
}

describe("head-end with an embedded aedes broker", function () {
  this.timeout(30_000);

  it("stores readings, answers a command with its result, and acknowledges so the device's store empties", async () => {
    const w = workdir();
    const { service, device } = await endToEnd(undefined, w);
    try {
      for (let i = 0; i < 24; i++) device.addInterval();
      await until("96 readings stored", () => service.store.readingCount(17) === 96 && device.queue.unacknowledged === 0, 15_000);
      const id = await service.command(17, { op: "disconnect", meter: 3 });
      await until("the command's result", () => service.store.commands(17).some((c) => c.id === id && c.result_code === 0), 10_000);
      assert.equal(device.latches.get(3), "disconnected");
    } finally {
      device.stop();
      await service.close();
      rmSync(w.dir, { recursive: true, force: true });
    }
  });
});

function startMosquitto(dir: string, port: number): ChildProcess {
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  // Debian installs it in /usr/sbin, which is not on every PATH (.ci/run installs the package).
  const bin = existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
  const p = spawn(bin, ["-c", conf], { stdio: "ignore" });
  p.on("error", (e) => assert.fail(`cannot start mosquitto (${e.message}): apt-get install mosquitto`));
  return p;
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await exited;
}

describe("head-end with Mosquitto", function () {
  this.timeout(60_000);

  it("loses nothing end to end when Mosquitto (no persistence) restarts twice during a drain", async () => {
    const w = workdir();
    const port = await freePort();
    let broker = startMosquitto(w.dir, port);
    await sleep(300);
    const { service, device } = await endToEnd(`mqtt://127.0.0.1:${port}`, w);
    try {
      for (let round = 0; round < 3; round++) {
        const before = device.queue.ackedCount;
        for (let i = 0; i < 100; i++) device.addInterval();
        // Restart while this round is draining: after its first acknowledgement, before its last.
        await until(`round ${round} under way`, () => device.queue.ackedCount > before, 15_000);
        if (round < 2) {
          await stop(broker); // queued and in-flight messages are gone with it
          await sleep(300);
          broker = startMosquitto(w.dir, port);
        }
      }
      await until("all 1,200 readings stored and acknowledged", () => service.store.readingCount(17) === 1200 && device.queue.unacknowledged === 0, 40_000);
      const c = device.uplink.mqtt.counters;
      assert.ok(c.connects >= 3 && c.disconnects >= 2, `reconnected after each restart: ${JSON.stringify(c)}`);
      const id = await service.command(17, { op: "reconnect", meter: 2 });
      await until("the command's result", () => service.store.commands(17).some((c) => c.id === id && c.result_code === 0), 15_000);
    } finally {
      device.stop();
      await service.close();
      await stop(broker);
      rmSync(w.dir, { recursive: true, force: true });
    }
  });
});
