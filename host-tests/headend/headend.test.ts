import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import { encodeMessage } from "../../firmware/uplink/messages.js";
import { seqSetOf } from "../../firmware/uplink/seq-set.js";
import nacl from "tweetnacl";
import { packVersion } from "../../firmware/ota/format.js";
import { HeadendCore } from "../../tools/headend/core.js";
import { deviceKeyPath, provision, readDeviceKeys, readHeadendKeys } from "../../tools/headend/keyfiles.js";
import { OtaCampaigns } from "../../tools/headend/ota-campaign.js";
import { HeadendService } from "../../tools/headend/service.js";
import { SqliteHeadendStore } from "../../tools/headend/sqlite-store.js";
import { buildImagePackage } from "../../tools/ota/package.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
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

  it("an OTA campaign made by another process than the one that took the concentrator's status records the version it ran, and its offer the newest one", () => {
    const t = coreOnSqlite();
    const tool = new SqliteHeadendStore(t.w.db); // tools/ota.ts, a process of its own on the same database
    try {
      const status = (version: string) => t.device.seal(encodeMessage({ kind: "status", time: 1_767_225_600, uptimeS: 60, counters: { "ota.version": packVersion(version) } }));
      t.core.handleUplink("mc/17/up", status("1.0.0"));
      const pkg = buildImagePackage({ image: new Uint8Array(64), version: "1.1.0", hardwareId: "HW", sequence: 2, securityCounter: 0, expiresS: 2e9, signers: [nacl.sign.keyPair().secretKey] });
      const campaigns = new OtaCampaigns({ store: tool, now: () => Date.now() });
      const id = campaigns.create(pkg, [17]);
      assert.deepEqual(tool.campaignUnits(id).map((u) => u.versionBefore), ["1.0.0"]);
      // The campaign made before the concentrator ever reported: its offer takes the version reported since.
      const other = new OtaCampaigns({ store: tool, now: () => Date.now() });
      tool.putCampaignUnit({ ...tool.campaignUnits(id)[0]!, versionBefore: "" });
      t.core.handleUplink("mc/17/up", status("1.0.1"));
      other.tick(() => 1);
      assert.deepEqual(tool.campaignUnits(id).map((u) => [u.state, u.versionBefore]), [["offered", "1.0.1"]]);
    } finally {
      tool.close();
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

describe("npm run device: the real site on a real broker", function () {
  this.timeout(60_000);

  it("reaches the head-end, carries out a command, and keeps its flash across runs so a second run is accepted", async () => {
    const w = workdir();
    const service = await HeadendService.start({ keys: w.keys, db: w.db, port: 0 });
    const state = join(w.dir, "state");
    const device = () =>
      spawn(process.execPath, [join(process.cwd(), "dist/tools/device.js"), "--keys", deviceKeyPath(w.keys, 17), "--broker", service.brokerUrl, "--modules", "2", "--speed", "600", "--state", state], { stdio: "ignore" });
    const stop = async (p: ReturnType<typeof device>) => {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGINT");
      await exited;
    };
    try {
      const first = device();
      await until("readings from the first run", () => service.store.readingCount(17) > 0, 30_000);
      const id = await service.command(17, { op: "disconnect", meter: 1 });
      await until("the command's result", () => service.store.commands(17).some((c) => c.id === id && c.result_code === 0), 20_000);
      await stop(first);
      assert.ok(existsSync(join(state, "state.bin")), "the flash was kept");
      const before = service.store.readingCount(17);
      const second = device();
      await until("readings from the second run", () => service.store.readingCount(17) > before, 30_000);
      await stop(second);
      assert.deepEqual(service.store.rejections(), [], "nothing of the second run was taken for a replay");
    } finally {
      await service.close();
      rmSync(w.dir, { recursive: true, force: true });
    }
  });
});
