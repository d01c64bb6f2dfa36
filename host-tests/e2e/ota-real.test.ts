// OTA end to end over real TCP: a fleet of simulated sites whose modem emulators reach a real
// Mosquitto on a free loopback port, and the real head-end service on SQLite running the campaign.
import assert from "node:assert/strict";
import { RealFleet } from "../../tools/ota/real-fleet.js";
import { standInBundle } from "../../tools/site/ota-world.js";
import { CALM } from "../lib/core-rig.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START_S = Date.UTC(2026, 0, 1) / 1000;

describe("OTA campaign over real TCP with Mosquitto and the head-end on SQLite", function () {
  this.timeout(180_000);

  it("three concentrators download, switch, pass their self-test, confirm and report; readings and latches intact; a restarted head-end goes on", async () => {
    const fleet = await RealFleet.start({
      seed: "ota-real",
      ids: [21, 22, 23],
      broker: "mosquitto",
      site: { ...CALM, days: 1, modules: 4, disconnectedShare: 0.5 },
      ota: { bundle: standInBundle(64 * 1024), firmware: { selfTestTimeoutMs: 15 * MINUTE } },
    });
    try {
      const s = fleet.scheduler;
      await fleet.drive(() => fleet.sites.every((site) => (site.concentrator?.latch.latchedConsumers().length ?? 0) > 0 && site.report().readingsDelivered > 0), 2 * HOUR);
      const latched = fleet.sites.map((site) => site.concentrator!.latch.latchedConsumers().sort());
      const ota = fleet.sites[0]!.ota!;
      const id = fleet.service.startCampaign(ota.package(ota.image("1.1.0"), "1.1.0", { sequence: 2, nowS: START_S + Math.floor(s.now / 1000) }), [21, 22, 23]);
      const progress = () => fleet.service.ota.progress().find((p) => p.campaign.id === id)!;
      // The head-end restarts once the first unit is downloading: the campaign goes on from SQLite.
      await fleet.drive(() => progress().units.some((u) => u.state === "downloading"), HOUR);
      assert.ok(progress().units.some((u) => u.state === "downloading"), "a unit downloading");
      await fleet.restartHeadend();
      let checkAt = 0;
      let done = false;
      await fleet.drive(() => {
        if (s.now >= checkAt) {
          checkAt = s.now + MINUTE;
          done = progress().done;
        }
        return done;
      }, 4 * HOUR);
      const p = progress();
      assert.deepEqual(p.units.map((u) => [u.concentrator, u.state, u.versionAfter]), [21, 22, 23].map((n) => [n, "confirmed", "1.1.0"]));
      fleet.sites.forEach((site, i) => {
        const r = site.report();
        assert.equal(site.world.board.firmware.booted?.version, "1.1.0");
        assert.deepEqual([r.lost, r.readingsCorrupt, r.internalErrors, r.latchViolations], [0, 0, 0, 0]);
        assert.deepEqual(site.concentrator!.latch.latchedConsumers().sort(), latched[i]);
      });
      const events = fleet.db.db.prepare("SELECT concentrator, type FROM event WHERE type BETWEEN 24 AND 29 ORDER BY concentrator, seq").all() as Array<{ concentrator: number; type: number }>;
      for (const n of [21, 22, 23]) {
        const types = new Set(events.filter((e) => e.concentrator === n).map((e) => e.type));
        assert.deepEqual([...types].sort(), [24, 25, 26, 27], `unit ${n} reported download, verified, switched, confirmed`);
      }
    } finally {
      await fleet.close();
    }
  });
});
