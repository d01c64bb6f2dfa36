// The whole concentrator with remote modules behind a PLC bridge whose primary route fails, and the
// balance of a feeder with an illegal tap.
import assert from "node:assert/strict";
import { EventType } from "../../firmware/model/records.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import { afterDiscovery, calmSite, command, consumersOf, eventsOf, firmware, HOUR, MINUTE, play, POLL_MS, stored } from "../lib/core-rig.js";

describe("core: bridges and balance", () => {
  it("keeps reading the modules behind a PLC repeater that loses power over their backup route, carries out a latch there, and goes back to the primary", () => {
    const site = calmSite("bridge", { modules: 2, plc: 3 });
    const w = site.world;
    const plc = w.bridgeSites[0]!.site;
    // Repeater 1 is on the primary route of levels 1 and 2 (hal/sim/bridge-site.ts).
    const behind = plc.remotes.filter((r) => r.primary.includes(1));
    assert.equal(behind.length, 2);
    const far = behind.find((r) => r.level === 2)!.module;
    let failedBefore = 0;
    const script = afterDiscovery(site, 5)
      .wait(HOUR, "an hour")
      .do("repeater 1 loses power", () => {
        failedBefore = firmware(site).poller.counters.failed;
        plc.repeaters.get(1)!.powerOff("power-cut");
      })
      .wait(30 * MINUTE, "half an hour")
      .do("disconnect the consumer two repeaters away", () => {
        for (const m of consumersOf(site, far)) assert.equal(command(site, "disconnect", m).code, ResultCode.ok);
      })
      .within(5 * MINUTE, "its relay open, over the backup route", () => !far.relayConnected)
      .wait(HOUR, "an hour more", () => plc.repeaters.get(1)!.powerOn())
      .wait(2 * HOUR, "two hours after the repeater is back");
    play(site, script, 8 * HOUR);

    const c = firmware(site);
    const transport = c.bridges.get("plc0")!;
    // A transaction survives a dead primary with one extra attempt: no readout failed.
    assert.equal(c.poller.counters.failed - failedBefore, 0, "failed readouts while the repeater was off");
    assert.ok(transport.counters.failovers >= 2, `failovers ${transport.counters.failovers}`);
    assert.ok(transport.counters.recoveries >= 2, `recoveries ${transport.counters.recoveries}`);
    for (const r of behind) {
      const stats = transport.routeStats(r.module.address)!;
      assert.ok(stats[0]!.up, `module ${r.module.address} is back on its primary`);
    }
    const s = stored(c);
    for (const r of plc.remotes) {
      const n = site.moduleNumber(r.module)!;
      const meters = new Set(c.topology.module(n)!.meters.values());
      const times = new Set(s.readings.filter((x) => meters.has(x.meter)).map((x) => Math.floor(x.time / 900)));
      // Every slot since discovery has its readings (the first slot is discovery's).
      assert.ok(times.size >= Math.floor(w.scheduler.now / POLL_MS) - 1, `module ${r.module.address}: ${times.size} slots`);
    }
  });

  it("raises a balance alarm when an illegal tap keeps the feeder's loss above the threshold for an hour, not before, and reports its end", () => {
    const site = calmSite("balance", { modules: 8, balanceConsumers: 4 });
    const w = site.world;
    const feeder = w.feeder!;
    let tappedAtS = 0;
    let raised = false;
    const script = afterDiscovery(site, 9)
      .wait(3 * HOUR, "three hours of 2 % line loss")
      .do("no alarm so far; a 2 kW tap between the balance meter and the consumers", () => {
        assert.equal(eventsOf(stored(firmware(site)), EventType.balanceAlarm).length, 0);
        firmware(site).events.onRaised((e) => (raised ||= e.type === EventType.balanceAlarm));
        feeder.module.advanceMeters();
        feeder.meter.setTap(2000);
        tappedAtS = Math.floor(w.board.rtc.now() / 1000);
      })
      .within(HOUR + 2 * POLL_MS, "the balance alarm", () => raised)
      .wait(HOUR, "an hour more", () => {
        feeder.module.advanceMeters();
        feeder.meter.setTap(0);
      })
      .wait(HOUR, "an hour after the tap is removed");
    play(site, script, 8 * HOUR);
    const events = eventsOf(stored(firmware(site)), EventType.balanceAlarm);
    const alarm = events.filter((e) => e.alarm);
    assert.equal(alarm.length, 1, "raised once while the tap lasts");
    const cleared = events.filter((e) => !e.alarm);
    assert.equal(cleared.length, 1, "the end of the imbalance is reported once");
    assert.ok(cleared[0]!.detail === 0 && cleared[0]!.time > alarm[0]!.time);
    assert.ok(alarm[0]!.alarm && alarm[0]!.subject === 1, "an alarm for group 1");
    assert.ok(alarm[0]!.detail >= 20, `loss ${alarm[0]!.detail} %`);
    // The imbalance must last balance.minDurationMin (60 minutes) of judged intervals: the fourth
    // interval with the tap in it (the first one only in part).
    const after = alarm[0]!.time - tappedAtS;
    assert.ok(after > 45 * 60 && after <= 60 * 60 + 60, `raised ${after} s after the tap`);
  });
});
