// Power supervision of the whole concentrator in the simulated site: mains failures, the battery, the
// orderly shutdown at the low-battery threshold that ends with the battery disconnected, brown-outs
// and what happens when mains return.
import assert from "node:assert/strict";
import { CONCENTRATOR, EventType, ReadingStatus } from "../../firmware/model/records.js";
import { ChangeResult, ChangeSource } from "../../firmware/store/audit.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import { afterDiscovery, calmSite, command, consumersOf, eventsOf, firmware, HOUR, MINUTE, play, POLL_MS, stored } from "../lib/core-rig.js";

const THRESHOLD_MV = 3550; // config power.lowBatteryMv, default

describe("core: power", () => {
  it("keeps polling on battery through a mains failure, shuts down in order at the low-battery threshold with everything stored, disconnects the battery, and boots when mains return", () => {
    // 200 mAh at 250 mA: 48 min on battery; the threshold (3550 mV) comes at about 8.7 % of charge.
    const site = calmSite("power-1", { modules: 4, board: { power: { capacityMah: 200 } } });
    const w = site.world;
    let readoutsAtFailure = 0, storedBefore = 0, shutdownMv = 0, busyAtShutdown = 0, failedAtS = 0;
    let onBattery = firmware(site);
    const busy = () => w.buses.reduce((n, b) => n + b.busyMs, 0);
    const script = afterDiscovery(site, 4)
      .wait(HOUR, "an hour of normal polling")
      .do("mains fail", () => {
        onBattery = firmware(site);
        readoutsAtFailure = onBattery.poller.counters.ok;
        storedBefore = onBattery.counters.readingsStored;
        failedAtS = Math.floor(w.board.rtc.now() / 1000);
        w.setGrid(false);
      })
      .within(HOUR, "orderly shutdown, the battery disconnected: the board is off", () => w.board.power.cutoffs === 1, () => {
        assert.equal(onBattery.state, "shutdown");
        assert.ok(!w.board.domain.on);
        shutdownMv = Math.round(w.board.power.millivolts()); // as the firmware read it
        busyAtShutdown = busy();
        // Every module was read in each slot on battery: the board feeds the bus.
        assert.ok(onBattery.poller.counters.ok - readoutsAtFailure >= 2 * 4, `${onBattery.poller.counters.ok - readoutsAtFailure} readouts on battery`);
      })
      .wait(3 * MINUTE, "shut down", () => assert.equal(busy(), busyAtShutdown, "nothing on the buses after the shutdown"))
      .wait(HOUR, "an hour off, past when the battery would have been flat", () => {
        assert.equal(Math.round(w.board.power.millivolts()), shutdownMv, "the battery keeps its charge");
      })
      .do("mains return", () => w.setGrid(true))
      .within(1_000, "the board boots", () => site.concentrator?.state === "running")
      .wait(POLL_MS + MINUTE, "a poll interval");
    play(site, script, 6 * HOUR);

    assert.ok(shutdownMv <= THRESHOLD_MV && shutdownMv >= THRESHOLD_MV - 5, `battery at shutdown ${shutdownMv} mV`);
    const c = firmware(site);
    const s = stored(c);
    const low = eventsOf(s, EventType.batteryLow, CONCENTRATOR);
    assert.equal(low.length, 1, "the shutdown is recorded");
    assert.ok(low[0]!.alarm && low[0]!.detail <= THRESHOLD_MV, `battery-low alarm, ${low[0]!.detail} mV`);
    assert.equal(eventsOf(s, EventType.powerFail, CONCENTRATOR).length, 1, "power fail");
    assert.equal(eventsOf(s, EventType.powerRestore, CONCENTRATOR).filter((e) => e.time > failedAtS).length, 1, "power restore when mains came back");
    // Nothing stored before the shutdown is lost, and polling resumed after the boot.
    assert.ok(s.readings.length >= storedBefore + c.counters.readingsStored, `${s.readings.length} readings on flash`);
    assert.ok(c.poller.counters.ok >= 4, "every module read after the boot");
    assert.equal(site.report().brownouts, 0);
    assert.equal(site.report().shutdowns, 1);
    assert.equal(site.report().batteryCutoffs, 1);
  });

  it("shuts down at a higher threshold set by the head-end, keeping that much of the battery for the next outage", () => {
    const site = calmSite("power-2", { modules: 2, board: { power: { capacityMah: 200 } } });
    const w = site.world;
    const script = afterDiscovery(site, 2)
      .do("a higher threshold, from the head-end", () => {
        const entry = firmware(site).config.set("power.lowBatteryMv", 3700, ChangeSource.headEnd);
        assert.equal(entry.result, ChangeResult.applied);
      })
      .do("mains fail", () => w.setGrid(false))
      // 3700 mV is about 31 % of charge: after about 33 minutes; flat at 48.
      .within(40 * MINUTE, "orderly shutdown, the battery disconnected", () => w.board.power.cutoffs === 1)
      .wait(HOUR, "an hour off, past when the battery would have been flat", () => {
        assert.ok(w.board.power.millivolts() >= 3695, `${w.board.power.millivolts()} mV kept`);
        w.setGrid(true);
      })
      .within(5_000, "booted and running", () => w.board.boots === 2 && site.concentrator?.state === "running")
      .wait(POLL_MS, "a poll interval");
    play(site, script, 3 * HOUR);
    assert.equal(w.board.power.brownouts, 0);
    assert.equal(site.report().shutdowns, 1);
    assert.ok(firmware(site).poller.counters.ok >= 2, "polling again");
  });

  it("re-asserts every latch within one poll interval when mains return after an outage that took the board and the flat-battery modules down cold", () => {
    const site = calmSite("power-3", { modules: 4, board: { power: { capacityMah: 100 } } });
    const w = site.world;
    const modules = w.local.flat();
    for (const m of modules) m.setBattery(false);
    const latched = [modules[0]!, modules[2]!];
    let bootS = 0;
    const script = afterDiscovery(site, 4)
      .do("latch two modules' consumers", () => {
        for (const m of latched) for (const meter of consumersOf(site, m)) assert.equal(command(site, "disconnect", meter).code, ResultCode.ok);
      })
      .within(MINUTE, "their relays open", () => latched.every((m) => !m.relayConnected))
      .do("mains fail", () => w.setGrid(false))
      .within(HOUR, "the board goes off (shut down, the battery disconnected)", () => !w.board.domain.on)
      .do("the modules went down with the bus supply", () => assert.ok(modules.every((m) => !m.domain.on)))
      .wait(HOUR, "an hour off")
      .do("mains return", () => {
        w.setGrid(true);
        bootS = Math.floor(w.board.rtc.now() / 1000);
      })
      .within(1_000, "the modules boot cold and close their relays", () => latched.every((m) => m.relayConnected))
      .within(POLL_MS, "every latch re-asserted", () => latched.every((m) => !m.relayConnected))
      .wait(HOUR, "an hour more");
    play(site, script, 5 * HOUR);
    const s = stored(firmware(site));
    // The first readings after the boot carry the power failure of their interval.
    const first = new Map<number, number>();
    for (const r of s.readings) if (r.time >= bootS && !first.has(r.meter)) first.set(r.meter, r.status);
    assert.ok(first.size > 0);
    for (const [meter, status] of first) assert.ok(status & ReadingStatus.powerFailure, `meter ${meter}: first reading after the boot flagged`);
  });
});
