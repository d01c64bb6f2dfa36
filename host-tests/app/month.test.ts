// A month of the whole concentrator in the simulated site: a mains failure every day (short ones,
// and ones long enough to end in an orderly shutdown with the battery disconnected, returning soon
// after it or hours later), modules rebooting and going down cold with the bus supply, tamper and door
// openings, and latched consumers that must stay off through all of it.
import assert from "node:assert/strict";
import { CONCENTRATOR, EventType } from "../../firmware/model/records.js";
import { Prng } from "../../hal/sim/prng.js";
import { Site } from "../../tools/site/site.js";
import { afterDiscovery, command, consumersOf, eventsOf, firmware, HOUR, MINUTE, play, POLL_MS, stored } from "../lib/core-rig.js";

const DAY = 24 * HOUR;
const DAYS = 30;
const THRESHOLD_MV = 3550;

describe("core: a month", () => {
  it("survives a month of daily mains failures with orderly shutdowns: every latch held, every shutdown at the threshold, never a brown-out, nothing thrown", function () {
    this.timeout(120_000);
    // 300 mAh at 250 mA: the threshold comes after about 66 min on battery (a brown-out would come at 72).
    const site = new Site({
      seed: "month",
      days: DAYS,
      modules: 6,
      plc: 0,
      radio: 0,
      dlmsMeters: 0,
      balanceConsumers: 3,
      flatBatteryShare: 0.5,
      mainsFailuresPerDay: 0,
      moduleRebootsPerDay: 0.5,
      openingsPerDay: 0.2,
      repeaterOutagesPerDay: 0,
      board: { power: { capacityMah: 300 } },
    });
    const w = site.world;
    const s = w.scheduler;
    const latchedModules = w.local.flat().filter((m) => !m.batteryOk).slice(0, 2);
    latchedModules.push(w.local.flat().find((m) => m.batteryOk)!);
    let consumers: number[] = [];
    const kinds = { short: 30 * MINUTE, shutdown: 70 * MINUTE, long: 3 * HOUR };
    const outages: Array<keyof typeof kinds> = [];
    const p = new Prng("month-outages");
    const script = afterDiscovery(site, 7).do("latch the consumers of three modules, two with flat batteries", () => {
      consumers = latchedModules.flatMap((m) => consumersOf(site, m));
      for (const c of consumers) assert.equal(command(site, "disconnect", c).code, 0);
    });
    for (let day = 0; day < DAYS; day++) {
      const kind = (["short", "shutdown", "long"] as const)[day % 3]!;
      const at = day * DAY + 2 * HOUR + p.int(18 * HOUR);
      outages.push(kind);
      script
        .when(`day ${day}: mains fail`, () => s.now >= at, () => w.setGrid(false))
        .when(`day ${day}: mains return after a ${kind} outage`, () => s.now >= at + kinds[kind], () => w.setGrid(true))
        .within(5_000, `day ${day}: the concentrator runs`, () => site.concentrator?.state === "running")
        .within(POLL_MS, `day ${day}: every latched relay open`, () => latchedModules.every((m) => !m.relayConnected));
    }
    script.wait(DAY, "a last day");
    play(site, script, (DAYS + 1) * DAY);

    const r = site.report();
    const down = outages.filter((k) => k !== "short").length;
    assert.equal(r.shutdowns, down, "an orderly shutdown in every outage longer than the battery's reserve");
    assert.equal(r.batteryCutoffs, down, "each shutdown ends with the battery disconnected");
    assert.equal(r.brownouts, 0, "so the battery is never run flat");
    assert.equal(r.boots, 1 + down, "a boot when mains return after every shutdown");
    assert.ok(r.faults.moduleReboots > 20 && r.faults.openings > 5, JSON.stringify(r.faults));
    assert.equal(r.modulesMissing, 0);
    assert.equal(r.readingsStored, r.readingsRead + r.backfillReadingsStored);
    // Outages take about 6 % of the month; modules on battery answer through most of them.
    assert.ok(r.readingsAcquired >= 0.9 * r.readingsExpected, `${r.readingsAcquired} of ${r.readingsExpected} readings`);
    assert.ok(r.latchMismatchesDetected > 0 && r.latchMismatchesRepaired === r.latchMismatchesDetected, `${r.latchMismatchesRepaired} of ${r.latchMismatchesDetected} mismatches repaired`);
    assert.ok(r.latchLongestSuppliedMs < POLL_MS, `longest supplied ${r.latchLongestSuppliedMs} ms`);

    const c = firmware(site);
    const st = stored(c);
    const shutdowns = eventsOf(st, EventType.batteryLow, CONCENTRATOR);
    assert.equal(shutdowns.length, down, "each shutdown recorded");
    assert.ok(shutdowns.every((e) => e.alarm && e.detail <= THRESHOLD_MV && e.detail >= THRESHOLD_MV - 5), JSON.stringify(shutdowns.map((e) => e.detail)));
    assert.equal(eventsOf(st, EventType.powerFail, CONCENTRATOR).length, DAYS, "power fail events");
    // One restore per outage, and one for the very first power-on.
    assert.equal(eventsOf(st, EventType.powerRestore, CONCENTRATOR).length, DAYS + 1, "power restore events");
    for (const consumer of consumers) assert.equal(c.latch.state(consumer), 0, `consumer ${consumer} still disconnected`);
  });
});
