// End to end on Node: the simulated site (meters, modules, the concentrator firmware, the modem
// emulator) over real TCP to a real broker — aedes embedded, or a Mosquitto started here on a free
// loopback port without persistence — and the real head-end service on a SQLite file.
import assert from "node:assert/strict";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { ResultCode, type CommandRequest } from "../../firmware/uplink/messages.js";
import { CAMPAIGN_FAULTS, judge, runCampaign } from "../../tools/campaign/campaign.js";
import { RealSite } from "../../tools/campaign/real.js";
import { Site } from "../../tools/site/site.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const small = { modules: 4, plc: 0, radio: 0, mainsFailuresPerDay: 0, moduleRebootsPerDay: 0, openingsPerDay: 0, flatBatteryShare: 0, balanceConsumers: 0 };

/** Checks `cond` once a simulated second while the site runs (it may query the database). */
async function waitFor(real: RealSite, what: string, cond: () => boolean, limitMs: number): Promise<void> {
  const s = real.site.world.scheduler;
  let next = 0;
  let held = false;
  const ok = await real.drive(() => {
    if (s.now >= next) {
      next = s.now + 1000;
      held = cond();
    }
    return held;
  }, limitMs);
  assert.ok(ok, `timed out waiting for ${what}`);
}

/** Issues a command through the head-end service and waits for its result in the database. */
async function roundTrip(real: RealSite, request: CommandRequest) {
  const id = await real.service.command(17, request);
  const row = () => real.db.commands(17).find((c) => c.id === id);
  await waitFor(real, `the result of ${request.op}`, () => row()?.result_code !== null && row()?.result_code !== undefined, 10 * MINUTE);
  return row()!;
}

for (const broker of ["aedes", "mosquitto"] as const) {
  describe(`site on real TCP with ${broker} and the head-end on SQLite`, function () {
    this.timeout(120_000);

    it("stores every reading exactly once, and commands change the real latch and configuration and answer", async () => {
      const real = await RealSite.start({ seed: `e2e-${broker}`, days: 1, ...small, broker, headendInProcess: true, speed: 600 });
      try {
        const c = () => real.site.concentrator!;
        await waitFor(real, "the first readings at the head-end", () => real.db.readingCount(17) > 0, 2 * HOUR);
        const module = [...c().topology.modules][0]!;
        const meter = [...module.meters.values()][0]!;
        const sim = real.site.world.modules.find((m) => m.serial === module.serial)!;

        const off = await roundTrip(real, { op: "disconnect", meter });
        assert.equal(off.result_code, ResultCode.ok);
        assert.equal(c().latch.state(meter), ControlState.disconnected);
        await waitFor(real, "the module's relay open", () => !sim.relayConnected, 5 * MINUTE);

        const clear = await roundTrip(real, { op: "reconnect", meter });
        assert.equal(clear.result_code, ResultCode.ok);
        assert.equal(c().latch.state(meter), ControlState.connected, "control mode 2: a remote reconnection is direct (IC 70 a)");
        await waitFor(real, "the module's relay closed", () => sim.relayConnected, 5 * MINUTE);

        const limit = { thresholdNormal: 20_000, thresholdEmergency: 5_000, minOverMs: 60_000, minUnderMs: 600_000, emergencyGroups: [3] };
        const limited = await roundTrip(real, { op: "limit", meter, limit });
        assert.equal(limited.result_code, ResultCode.ok);
        assert.deepEqual(c().latch.limiter(meter), limit);
        const mode = await roundTrip(real, { op: "mode", meter, mode: 5 });
        assert.equal(mode.result_code, ResultCode.ok);
        assert.equal(c().latch.mode(meter), 5);
        assert.equal((await roundTrip(real, { op: "limit", meter, limit: null })).result_code, ResultCode.ok);
        assert.equal(c().latch.limiter(meter), undefined);

        const conf = await roundTrip(real, { op: "configure", changes: [{ key: "clock.maxDriftS", value: 30 }] });
        assert.equal(conf.result_code, ResultCode.ok);
        assert.equal(c().config.get("clock.maxDriftS"), 30);
        const refused = await roundTrip(real, { op: "configure", changes: [{ key: "clock.maxDriftS", value: 1 }] });
        assert.equal(refused.result_code, ResultCode.rejected, "below the parameter's minimum");
        assert.equal(c().config.get("clock.maxDriftS"), 30);

        const before = real.db.readingCount(17);
        const read = await roundTrip(real, { op: "read", meters: [meter], registers: [] });
        assert.equal(read.result_code, ResultCode.ok);
        await waitFor(real, "the on-demand readings at the head-end", () => real.db.readingCount(17) > before, 5 * MINUTE);

        const epochMs = c().hal.wallClock.now() + 90 * MINUTE;
        const time = await roundTrip(real, { op: "time", epochMs });
        assert.equal(time.result_code, ResultCode.ok);
        const offset = Number(time.result_detail);
        assert.ok(Math.abs(offset - 90 * MINUTE) < MINUTE, `offset applied: ${offset} ms`);
        assert.ok(Math.abs(c().hal.wallClock.now() - epochMs) < 10 * MINUTE, "the concentrator's clock follows");

        // Then the data: half an hour more, and every reading stored is in SQLite once, with its value.
        await real.drive(() => false, 30 * MINUTE);
        const v = await judge(real.site, (until, limitMs) => real.drive(until, limitMs), { days: 1, servers: broker });
        assert.ok(v.ok, JSON.stringify(v));
        assert.ok(v.readingsDelivered > 200, `${v.readingsDelivered} readings`);
        assert.equal(v.commandsRejected, 1, "the refused configuration");
      } finally {
        await real.close();
      }
    });
  });
}

describe("uplink fault campaign", function () {
  this.timeout(120_000);

  it("in simulation: two days of GPRS outages, PDP drops, modem resets, broker restarts and head-end crashes lose nothing", async () => {
    const site = new Site({ seed: "campaign", days: 2, modules: 16, plc: 2, radio: 2, uplink: CAMPAIGN_FAULTS });
    const v = await runCampaign(site, (until, limitMs) => site.world.scheduler.runUntilTrue(until, limitMs), { days: 2, servers: "sim" });
    assert.ok(v.ok, JSON.stringify(v));
    const f = v.faults;
    for (const k of ["gprsOutages", "pdpDrops", "modemResets", "brokerRestarts", "headendCrashes", "mainsFailures"] as const) assert.ok((f[k] ?? 0) > 0, `${k}: ${JSON.stringify(f)}`);
    assert.ok(v.outageShare > 0.2, `outage share ${v.outageShare}`);
  });

  it("over real TCP: Mosquitto restarts, the head-end is killed with SIGKILL, GPRS drops, the modem resets; SQLite holds every reading once", async () => {
    const faults = { outageShare: 0.3, meanOutageMs: 30 * MINUTE, pdpDropsPerDay: 8, modemResetsPerDay: 8, brokerRestartsPerDay: 8, headendCrashesPerDay: 8, headendDowntimeMs: 5 * MINUTE };
    const real = await RealSite.start({ seed: "r3", days: 0.25, ...small, broker: "mosquitto", speed: 1000, faults });
    try {
      const v = await runCampaign(real.site, (until, limitMs) => real.drive(until, limitMs), { days: 0.25, servers: "mosquitto" });
      assert.ok(v.ok, JSON.stringify(v));
      const f = v.faults;
      for (const k of ["gprsOutages", "modemResets", "brokerRestarts", "headendCrashes"] as const) assert.ok((f[k] ?? 0) > 0, `${k}: ${JSON.stringify(f)}`);
      const mqtt = real.site.concentrator!.uplink!.mqtt.counters;
      assert.ok(mqtt.connects > f.brokerRestarts!, `the concentrator connected again after each restart: ${JSON.stringify(mqtt)}`);
      assert.equal(real.db.readingCount(17), v.readingsDelivered, "nothing in the database the concentrator did not store");
    } finally {
      await real.close();
    }
  });
});
