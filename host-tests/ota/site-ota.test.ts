import assert from "node:assert/strict";
import { SimFleet } from "../../tools/site/fleet.js";
import { standInBundle } from "../../tools/site/ota-world.js";
import { Site } from "../../tools/site/site.js";
import { CALM } from "../lib/core-rig.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START_S = Date.UTC(2026, 0, 1) / 1000;

describe("OTA in the simulated site", () => {
  it("a campaign to three concentrators: each downloads, switches, self-tests, confirms and reports; stored readings and latches are intact", () => {
    const fleet = new SimFleet({
      seed: "fleet",
      ids: [11, 12, 13],
      site: { ...CALM, days: 1, modules: 4, disconnectedShare: 0.5 },
      ota: { bundle: standInBundle(64 * 1024), firmware: { selfTestTimeoutMs: 10 * MINUTE } },
    });
    fleet.scheduler.runUntil(20 * MINUTE);
    const latchedBefore = fleet.sites.map((s) => s.concentrator!.latch.latchedConsumers().sort());
    assert.ok(latchedBefore.every((l) => l.length > 0), "every site holds latched consumers");
    const ota = fleet.sites[0]!.ota!;
    const campaign = fleet.campaign(ota.package(ota.image("1.1.0"), "1.1.0", { sequence: 2, nowS: START_S }));
    fleet.scheduler.runUntil(2 * HOUR);
    const units = fleet.units(campaign);
    assert.deepEqual(units.map((u) => [u.concentrator, u.state, u.versionBefore, u.versionAfter]), [11, 12, 13].map((id) => [id, "confirmed", "1.0.0", "1.1.0"]));
    fleet.sites.forEach((site, i) => {
      const r = site.report();
      assert.equal(site.world.board.firmware.booted?.version, "1.1.0");
      assert.equal(r.boots, 2, "one restart: into the new image");
      assert.deepEqual([r.lost, r.readingsCorrupt, r.internalErrors, r.latchViolations], [0, 0, 0, 0], `site ${i}`);
      assert.deepEqual(site.concentrator!.latch.latchedConsumers().sort(), latchedBefore[i], "the same consumers latched after the switch");
      const steps = [...new Set(site.ota!.report(undefined, "", "", 0).timeline.map(([, name]) => name))];
      assert.deepEqual(steps, ["download", "verified", "switched", "confirmed"]);
    });
    // Readings go on reaching the head-end after the switch.
    const delivered = fleet.sites.map((s) => s.report().readingsDelivered);
    fleet.scheduler.runUntil(3 * HOUR);
    fleet.sites.forEach((s, i) => assert.ok(s.report().readingsDelivered > delivered[i]!, "readings delivered by the new image"));
  });

  it("keeps readings, commands and alarms flowing during a download: an alarm reaches the head-end in seconds", () => {
    const site = new Site({
      ...CALM,
      seed: "flow",
      days: 1,
      modules: 4,
      uplink: {},
      ota: { bundle: standInBundle(400 * 1024), campaign: { atMs: 20 * MINUTE, compress: false }, firmware: { selfTestTimeoutMs: 10 * MINUTE } },
    });
    const s = site.world.scheduler;
    const he = site.world.uplink!.headend!;
    s.runUntilTrue(() => site.concentrator?.ota?.status().state === "downloading" && site.concentrator.ota.status().bytesDone > 50_000, HOUR);
    assert.equal(site.concentrator!.ota!.status().state, "downloading");
    const alarmsBefore = [...he.store.events.values()].filter((e) => e.alarm).length;
    const openedAt = s.now;
    site.world.board.door.drive(1); // the cabinet door opens
    const commandId = he.command(17, { op: "time", epochMs: Math.floor(Date.UTC(2026, 0, 1) + s.now) });
    s.runUntilTrue(() => [...he.store.events.values()].filter((e) => e.alarm).length > alarmsBefore, 5 * MINUTE);
    const latency = s.now - openedAt;
    assert.ok(latency < 15_000, `the door alarm reached the head-end ${latency} ms after the door opened (2 s of debounce)`);
    s.runUntilTrue(() => he.store.commands.find((c) => c.id === commandId)?.result !== undefined, 5 * MINUTE);
    assert.equal(he.store.commands.find((c) => c.id === commandId)?.result?.code, 0, "the command was carried out during the download");
    assert.equal(site.concentrator!.ota!.status().state, "downloading", "and the download is still going on");
    const delivered = site.report().readingsDelivered;
    site.run(3 * HOUR);
    const r = site.report();
    assert.equal(r.ota?.outcome, "confirmed");
    assert.ok(r.readingsDelivered > delivered);
    assert.deepEqual([r.lost, r.readingsCorrupt, r.internalErrors], [0, 0, 0]);
    assert.ok(r.ota!.timeline.some(([, name]) => name === "switched"));
  });

  for (const [defect, reason] of [
    ["uplink", "selfTestUplink"],
    ["bus", "selfTestBus"],
    ["hang", "watchdog"],
  ] as const) {
    it(`a bad image (every check passes; on first boot: ${defect}) is rolled back, reported with its reason, and the previous image goes on`, () => {
      const site = new Site({
        ...CALM,
        seed: `bad-${defect}`,
        days: 1,
        modules: 2,
        uplink: {},
        ota: { bundle: standInBundle(32 * 1024), campaign: { atMs: 10 * MINUTE, defect }, firmware: { selfTestTimeoutMs: 10 * MINUTE } },
      });
      site.run(2 * HOUR);
      const r = site.report();
      assert.equal(r.ota?.outcome, "rolled-back");
      assert.equal(r.ota.reason, reason);
      assert.deepEqual([r.ota.versionBefore, r.ota.versionAfter, site.world.board.firmware.booted?.version], ["1.0.0", "1.0.0", "1.0.0"]);
      assert.deepEqual(
        [...new Set(r.ota.timeline.map(([, name]) => name))],
        ["offered", "download", "verified", "switched", "rolled-back"],
        "every step in the report's timeline, the rollback raised by the previous image at its boot",
      );
      assert.deepEqual([r.lost, r.readingsCorrupt, r.internalErrors, r.latchViolations], [0, 0, 0, 0]);
      const delivered = r.readingsDelivered;
      site.run(3 * HOUR);
      assert.ok(site.report().readingsDelivered > delivered, "the previous image delivers readings again");
    });
  }
});
