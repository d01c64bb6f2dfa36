// Disconnect latches on the whole concentrator in the simulated site: the IC 71 limiter, latches
// persisted before they are acknowledged (a power cut at every flash operation of the command), kept
// across reboots, and released only by the head-end's clearance.
import assert from "node:assert/strict";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { ChangeResult, ChangeSource } from "../../firmware/store/audit.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import { PowerLossError } from "../../hal/sim/power-domain.js";
import type { SimLocalModule } from "../../hal/sim/local-module.js";
import type { Site } from "../../tools/site/site.js";
import { afterDiscovery, calmSite, command, consumersOf, firmware, handled, HOUR, MINUTE, play, POLL_MS, stored } from "../lib/core-rig.js";

/** A module of the site with one serial meter (its consumer has a power reading for the limiter). */
function oneSerialMeter(site: Site): SimLocalModule {
  const m = site.world.local.flat().find((x) => x.meters.length === 1 && x.meters[0]!.kind === "serial");
  assert.ok(m, "a module with one serial meter");
  return m;
}

const LIMIT = { thresholdNormal: 50, thresholdEmergency: 50, minOverMs: 0, minUnderMs: 30 * MINUTE, emergencyGroups: [] };

describe("core: latches", () => {
  it("lets the IC 71 limiter disconnect a consumer locally; in mode 2 it stays off until the head-end clears it", () => {
    const site = calmSite("limiter-2", { modules: 6 });
    const module = oneSerialMeter(site);
    let consumer = 0;
    const script = afterDiscovery(site, 6)
      .do("a 50 W limit on one consumer", () => {
        consumer = consumersOf(site, module)[0]!;
        firmware(site).latch.setLimiter(consumer, LIMIT, "head-end");
      })
      .within(POLL_MS + MINUTE, "the next readout's power is over the limit: relay open", () => !module.relayConnected)
      .do("ready for reconnection", () => assert.equal(firmware(site).latch.state(consumer), ControlState.readyForReconnection))
      .wait(2 * HOUR, "two hours: the load is gone, but mode 2 has no local reconnection", () => assert.ok(!module.relayConnected))
      .do("the head-end clears it: disconnect (c), then reconnect (a)", () => {
        firmware(site).latch.setLimiter(consumer, undefined, "head-end");
        assert.equal(command(site, "disconnect", consumer).code, ResultCode.ok);
        assert.equal(command(site, "reconnect", consumer).code, ResultCode.ok);
      })
      .within(MINUTE, "relay closed", () => module.relayConnected);
    play(site, script, 4 * HOUR);
    const audits = stored(firmware(site)).audits.filter((a) => a.name.startsWith(`latch.${consumer}.`));
    assert.deepEqual(audits.map((a) => [a.name.split(".")[2], a.source]), [
      ["limit", ChangeSource.headEnd],
      ["localDisconnect", ChangeSource.local],
      ["limit", ChangeSource.headEnd],
      ["remoteDisconnect", ChangeSource.headEnd],
      ["remoteReconnect", ChangeSource.headEnd],
    ]);
  });

  it("lets the limiter reconnect locally in mode 5 once the load has stayed under the limit", () => {
    const site = calmSite("limiter-5", { modules: 6 });
    const module = oneSerialMeter(site);
    let consumer = 0;
    const script = afterDiscovery(site, 6)
      .do("mode 5 and a 50 W limit", () => {
        consumer = consumersOf(site, module)[0]!;
        const latch = firmware(site).latch;
        latch.setMode(consumer, 5, "head-end");
        latch.setLimiter(consumer, LIMIT, "head-end");
      })
      .within(POLL_MS + MINUTE, "disconnected locally (g)", () => !module.relayConnected)
      // Readouts show 0 W with the relay open; after 30 minutes under the limit: h.
      .within(POLL_MS * 4, "reconnected locally (h)", () => module.relayConnected, () => assert.equal(firmware(site).latch.state(consumer), ControlState.connected));
    play(site, script, 4 * HOUR);
  });

  it("takes a load limit and a control mode from the head-end, keeps them across a reboot, and applies the emergency threshold while the configured profile is in force", () => {
    const site = calmSite("limit-command", { modules: 6 });
    const w = site.world;
    const module = oneSerialMeter(site);
    const limit = { thresholdNormal: 1_000_000, thresholdEmergency: 50, minOverMs: 0, minUnderMs: 1_800_000, emergencyGroups: [7] };
    let consumer = 0;
    const script = afterDiscovery(site, 6)
      .do("a 1 MW limit (50 W in emergency profile 7) and mode 5, from the head-end", () => {
        consumer = consumersOf(site, module)[0]!;
        assert.equal(handled(site, "limit", (h, done) => h.setLimit(consumer, limit, done)).code, ResultCode.ok);
        assert.equal(handled(site, "mode", (h, done) => h.setMode(consumer, 5, done)).code, ResultCode.ok);
        assert.equal(handled(site, "limit", (h, done) => h.setLimit(99_999, limit, done)).code, ResultCode.rejected, "an unknown meter");
        assert.equal(handled(site, "mode", (h, done) => h.setMode(consumer, 9, done)).code, ResultCode.rejected, "an invalid mode");
      })
      .wait(POLL_MS + MINUTE, "a poll interval: the load is far under 1 MW", () => assert.ok(module.relayConnected))
      .do("a restart", () => w.board.system.restart())
      .wait(MINUTE, "a minute", () => {
        const latch = firmware(site).latch;
        assert.deepEqual(latch.limiter(consumer), limit);
        assert.equal(latch.mode(consumer), 5);
      })
      .do("emergency profile 7 for two hours", () => {
        const untilS = Math.floor(w.board.rtc.now() / 1000) + 2 * 3600;
        const changes = [{ key: "limiter.emergencyProfile", value: 7 }, { key: "limiter.emergencyUntilS", value: untilS }];
        assert.equal(handled(site, "configure", (h, done) => h.configure(changes, 1, done)).code, ResultCode.ok);
      })
      .within(POLL_MS + MINUTE, "over the 50 W emergency threshold: disconnected locally (g)", () => !module.relayConnected)
      // The profile ends after two hours; the load (0 W while off) has been under the threshold since: h in mode 5.
      .within(3 * HOUR, "the profile over, reconnected locally (h)", () => module.relayConnected);
    play(site, script, 6 * HOUR);
    const audits = stored(firmware(site)).audits.filter((a) => a.name.startsWith(`latch.${consumer}.`));
    assert.deepEqual(audits.slice(0, 3).map((a) => [a.name.split(".")[2], a.source, a.result]), [
      ["limit", ChangeSource.headEnd, ChangeResult.applied],
      ["mode", ChangeSource.headEnd, ChangeResult.applied],
      ["mode", ChangeSource.headEnd, ChangeResult.denied],
    ]);
    assert.equal(audits[0]!.newValue, "1000000/50 0/1800000 g7");
  });

  it("keeps a disconnection the head-end was told of across a power cut at any flash operation of the command", () => {
    // A cut at the n-th flash operation after the command arrives, for every n until one lands after it.
    for (let n = 1; ; n++) {
      assert.ok(n < 20, "the command's flash operations end");
      const site = calmSite(`cut-${n}`, { modules: 2 });
      const w = site.world;
      const module = w.local[0]![0]!;
      let acknowledged = false;
      let cut = false;
      let consumer = 0;
      const script = afterDiscovery(site, 2)
        .wait(MINUTE, "a quiet minute")
        .do(`disconnect, with power cut at flash operation ${n}`, () => {
          consumer = consumersOf(site, module)[0]!;
          w.board.stateFlash.cutAtOperation(n);
          try {
            acknowledged = command(site, "disconnect", consumer).code === ResultCode.ok;
          } catch (e) {
            assert.ok(e instanceof PowerLossError, String(e));
          }
          cut = !w.board.domain.on;
          if (!cut) w.board.stateFlash.cutAtOperation(0);
        })
        .wait(MINUTE, "a minute", () => w.board.powerOn())
        .wait(2 * MINUTE, "two minutes after the boot");
      play(site, script, 2 * HOUR);
      const state = firmware(site).latch.state(consumer);
      if (acknowledged) {
        assert.equal(state, ControlState.disconnected, `cut at ${n}: an acknowledged disconnection survives`);
        assert.equal(module.relayConnected, false, `cut at ${n}: and is carried out after the boot`);
      } else assert.ok(state === ControlState.disconnected || state === ControlState.connected, `cut at ${n}: old or new`);
      if (!cut) {
        assert.ok(n > 2, "the cuts landed in the command's writes");
        break;
      }
    }
  });

  it("holds a latch across reboots and refuses every reconnection but the head-end's, each refusal audited", () => {
    const site = calmSite("clearance", { modules: 2 });
    const w = site.world;
    const module = w.local[0]![0]!;
    let consumer = 0;
    const script = afterDiscovery(site, 2)
      .do("disconnect (mode 1: a clearance only readies the consumer)", () => {
        consumer = consumersOf(site, module)[0]!;
        firmware(site).latch.setMode(consumer, 1, "head-end");
        assert.equal(command(site, "disconnect", consumer).code, ResultCode.ok);
      })
      .within(MINUTE, "relay open", () => !module.relayConnected)
      .do("a watchdog-style restart", () => w.board.system.restart())
      .wait(MINUTE, "a minute")
      .do("a power cut", () => w.board.cutPower())
      .wait(10 * MINUTE, "ten minutes off", () => w.board.powerOn())
      .wait(MINUTE, "a minute", () => {
        const latch = firmware(site).latch;
        assert.equal(latch.state(consumer), ControlState.disconnected, "still latched after the reboots");
        for (const source of ["local", "manual"] as const) assert.equal(latch.trigger(consumer, "remoteReconnect", source).code, "refused", source);
        assert.equal(latch.trigger(consumer, "manualReconnect", "manual").code, "refused", "e needs ready-for-reconnection");
        assert.equal(latch.setMode(consumer, 0, "console").code, "refused", "mode 0 would reconnect");
        assert.ok(!module.relayConnected);
      })
      .do("the head-end's clearance (d: ready for reconnection)", () => assert.equal(command(site, "reconnect", consumer).code, ResultCode.ok))
      .wait(MINUTE, "still off until the consumer presses the button", () => assert.ok(!module.relayConnected))
      .do("the consumer presses the button (e)", () => assert.equal(firmware(site).latch.trigger(consumer, "manualReconnect", "manual").code, "ok"))
      .within(MINUTE, "relay closed", () => module.relayConnected);
    play(site, script, 2 * HOUR);
    const audits = stored(firmware(site)).audits.filter((a) => a.name.startsWith(`latch.${consumer}.`));
    assert.deepEqual(
      audits.map((a) => [a.name.split(".")[2], a.source, a.result]),
      [
        ["mode", ChangeSource.headEnd, ChangeResult.applied],
        ["remoteDisconnect", ChangeSource.headEnd, ChangeResult.applied],
        ["remoteReconnect", ChangeSource.local, ChangeResult.denied],
        ["remoteReconnect", ChangeSource.local, ChangeResult.denied],
        ["manualReconnect", ChangeSource.local, ChangeResult.denied],
        ["mode", ChangeSource.console, ChangeResult.denied],
        ["remoteReconnect", ChangeSource.headEnd, ChangeResult.applied],
        ["manualReconnect", ChangeSource.local, ChangeResult.applied],
      ],
    );
  });
});
