import assert from "node:assert/strict";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { EventType } from "../../firmware/model/records.js";
import type { SimDlmsMeter } from "../../hal/sim/dlms/meter.js";
import type { Site } from "../../tools/site/site.js";
import { calmSite, eventsOf, firmware, HOUR, MINUTE, play, POLL_MS, Script, stored } from "../lib/core-rig.js";

/** A calm site of one IEC module and two DLMS meters, the second with LLS; the DLMS meters known. */
function site(seed: string): { site: Site; hls: SimDlmsMeter; script: Script } {
  const s = calmSite(seed, { modules: 1, dlmsMeters: 2 });
  const script = new Script(s.world.scheduler).within(30 * MINUTE, "the DLMS meters known", () => s.world.dlmsMeters.every((m) => s.moduleNumber(m) !== undefined));
  return { site: s, hls: s.world.dlmsMeters[0]!, script };
}

function consumerOf(site: Site, m: SimDlmsMeter): number {
  return firmware(site).topology.module(site.moduleNumber(m)!)!.meters.get(1)!;
}

describe("dlms/integration: what the concentrator does with DLMS meters", function () {
  this.timeout(120_000);

  it("a load limit from the head-end goes to the meter's IC 71; the meter disconnects locally and the latch learns it; the button reconnects once the limit is lifted", () => {
    const { site: s, hls, script } = site("limit");
    let consumer = 0;
    script.do("a 50 W limit, 2 minutes over", () => {
      consumer = consumerOf(s, hls);
      assert.equal(firmware(s).latch.setMode(consumer, 1, "head-end").code, "ok");
      assert.equal(firmware(s).latch.setLimiter(consumer, { thresholdNormal: 50, thresholdEmergency: 20, minOverMs: 120_000, minUnderMs: 120_000, emergencyGroups: [3] }, "head-end").code, "ok");
    });
    script.within(POLL_MS + 2 * MINUTE, "the meter has the limit", () => hls.objects.limiter.normal === 50 && hls.objects.limiter.minOverS === 120);
    script.within(5 * MINUTE, "the meter disconnects by itself (g)", () => !hls.relayConnected && hls.objects.controlState === ControlState.readyForReconnection);
    script.within(POLL_MS + 2 * MINUTE, "the latch took it as a local disconnection", () => firmware(s).latch.state(consumer) === ControlState.readyForReconnection);
    script.do("the head-end lifts the limit", () => assert.equal(firmware(s).latch.setLimiter(consumer, undefined, "head-end").code, "ok"));
    script.within(POLL_MS + 2 * MINUTE, "the meter's limiter is off", () => hls.objects.limiter.normal === 0);
    script.do("the consumer presses the button", () => assert.ok(hls.pressButton()));
    script.within(POLL_MS + 2 * MINUTE, "connected, in the latch too", () => hls.relayConnected && firmware(s).latch.state(consumer) === ControlState.connected);
    play(s, script, 4 * HOUR);
    assert.equal(s.report().latchViolations, 0);
  });

  it("a drifted meter clock is set (IC 8); a terminal cover opened on the meter becomes an alarm; a replayed meter counter is a security alarm", () => {
    const { site: s, hls, script } = site("clock");
    const o = hls.objects.o;
    script.do("the meter's clock jumps 5 minutes ahead; its terminal cover is opened", () => {
      o.setClockS(o.clockS() + 300);
      hls.setTerminalCover(true);
    });
    script.within(POLL_MS + 2 * MINUTE, "set again within a few seconds of the wall clock", () => Math.abs(o.clockS() - firmware(s).hal.wallClock.now() / 1000) < 5);
    script.wait(POLL_MS, "the next read takes the log");
    script.do("the meter replays its counter", () => (hls.faults.replayCounter = true));
    script.wait(POLL_MS + 2 * MINUTE, "a read");
    play(s, script, 3 * HOUR);
    const module = s.moduleNumber(hls)!;
    const st = stored(firmware(s));
    assert.ok(eventsOf(st, EventType.clockSet, module).length >= 1, "clock set");
    assert.ok(eventsOf(st, EventType.terminalCover, module).some((e) => e.alarm), "terminal cover alarm");
    assert.ok(eventsOf(st, EventType.meterSecurity, module).some((e) => e.alarm && e.detail === 2), "replay alarm");
    assert.ok(firmware(s).dlms!.stats.replayed >= 1);
  });
});
