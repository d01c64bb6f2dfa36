// Acquisition by the whole concentrator in the simulated site: priorities on a bus, catching up after
// an outage, status flags of the readings, plausibility, and the clocks of the modules.
import assert from "node:assert/strict";
import type { Transaction } from "../../firmware/bus/types.js";
import { CONCENTRATOR, EventType, ReadingStatus, registerCode } from "../../firmware/model/records.js";
import { ChangeResult, ChangeSource } from "../../firmware/store/audit.js";
import { ConcentratorCommands } from "../../firmware/app/command-handlers.js";
import { Priority } from "../../firmware/poll/poller.js";
import { SimMeter } from "../../hal/sim/meters.js";
import { addModule, afterDiscovery, calmSite, command, consumersOf, eventsOf, firmware, HOUR, MINUTE, play, POLL_MS, ProbeMeter, stored } from "../lib/core-rig.js";

const IMPORT = registerCode(1, 8, 0);
const LABEL: Record<number, string> = { [Priority.alarm]: "alarm", [Priority.onDemand]: "on-demand", [Priority.scheduled]: "scheduled" };

describe("core: acquisition", () => {
  it("serves a latch (alarm) before an on-demand read, and both before the scheduled readouts already waiting", () => {
    const site = calmSite("priority", { modules: 16 });
    const w = site.world;
    const s = w.scheduler;
    const order: string[] = [];
    const [latched, onDemand] = [w.local[0]![6]!, w.local[0]![7]!];
    const script = afterDiscovery(site, 16)
      .when("the start of a slot", () => s.now > HOUR && s.now % POLL_MS >= 1_000 && s.now % POLL_MS < 2_000)
      .do("a disconnect and an on-demand read, while the slot's readouts wait", () => {
        const c = firmware(site);
        const bus = c.buses[0]!;
        const enqueue = bus.enqueue.bind(bus);
        // Record the order in which the bus finishes transactions (one at a time: the order it serves them).
        bus.enqueue = (tx: Transaction) =>
          enqueue({ ...tx, onDone: (r: never) => (order.push(`${LABEL[tx.priority ?? 0] ?? tx.priority} ${tx.address}`), tx.onDone(r)) } as Transaction);
        const meter = consumersOf(site, onDemand)[0]!;
        new ConcentratorCommands(c).read([meter], [], () => undefined);
        assert.equal(command(site, "disconnect", consumersOf(site, latched)[0]!).code, 0);
      })
      .wait(3 * MINUTE, "the slot's readouts are over");
    play(site, script, 3 * HOUR);
    // The transaction under way when they came finishes first, then the latch, then the read.
    const i = order.indexOf(`alarm ${latched.address}`);
    assert.ok(i >= 0 && i <= 1, order.join(", "));
    assert.equal(order[i + 1], `on-demand ${onDemand.address}`, order.join(", "));
    assert.ok(order.slice(i + 2).filter((x) => x.startsWith("scheduled")).length >= 5, "scheduled readouts of the slot were still waiting");
  });

  it("reads a module once per slot on schedule even when an on-demand read of it overlaps the scheduled one", () => {
    const site = calmSite("overlap", { modules: 16 });
    const w = site.world;
    const s = w.scheduler;
    const target = w.local[0]![7]!;
    const scheduled: number[] = [];
    let slotStart = -1, onDemandDone = false;
    const script = afterDiscovery(site, 16)
      .when("an hour in", () => s.now > HOUR)
      .do("watch one module's scheduled readouts; when the first is queued, read that module on demand", () => {
        const c = firmware(site);
        const bus = c.buses[0]!;
        const enqueue = bus.enqueue.bind(bus);
        bus.enqueue = (tx: Transaction) => {
          if (tx.kind === "readout" && tx.address === target.address && tx.priority === Priority.scheduled) {
            scheduled.push(s.now);
            // Just after, while the scheduled readout still waits behind others: the on-demand one overtakes it and ends first.
            if (slotStart < 0) (slotStart = s.now - (s.now % POLL_MS)), s.after(0, () => new ConcentratorCommands(c).read([consumersOf(site, target)[0]!], [], () => (onDemandDone = true)));
          }
          return enqueue(tx);
        };
      })
      .wait(2 * POLL_MS, "two slots");
    play(site, script, 4 * HOUR);
    assert.ok(onDemandDone, "the on-demand read finished");
    const inSlot = scheduled.filter((t) => t >= slotStart && t < slotStart + POLL_MS);
    assert.equal(inSlot.length, 1, `scheduled readouts of ${target.address} in the slot from ${slotStart}: ${inSlot.join(", ")}`);
  });

  it("catches up after the concentrator was off for two hours with one readout per module, not one per missed slot", () => {
    const site = calmSite("catch-up", { modules: 6 });
    const w = site.world;
    const script = afterDiscovery(site, 6)
      .wait(HOUR, "an hour")
      .do("the concentrator is switched off", () => w.board.cutPower())
      .wait(2 * HOUR, "two hours off", () => w.board.powerOn())
      .wait(POLL_MS - MINUTE, "the rest of the first slot");
    play(site, script, 5 * HOUR);
    const c = firmware(site);
    // The firmware's counters are this boot's.
    assert.equal(c.poller.counters.scheduled, 6, "one scheduled readout per module");
    assert.equal(c.poller.counters.ok, 6);
    // The first readings after the outage carry the power failure (the concentrator lost power).
    const s = stored(c);
    const bootS = Math.floor(w.board.rtc.now() / 1000) - POLL_MS / 1000;
    const after = s.readings.filter((r) => r.time >= bootS);
    assert.ok(after.length > 0 && after.every((r) => r.status & ReadingStatus.powerFailure));
  });

  it("flags a corrupted register value as implausible, reads the module again at once, and keeps judging against the last good value", () => {
    const site = calmSite("plausibility", { modules: 2 });
    const w = site.world;
    const probe = new ProbeMeter(new SimMeter({ serial: "44440002", kind: "serial", meanPowerW: 500, startImportWh: 1_234_567, prng: w.prng.fork("probe") }));
    const m = addModule(site, 0, { address: String(10_000_001 + 5), serial: "88880002", meters: [probe] });
    const script = afterDiscovery(site, 3)
      .wait(HOUR, "an hour of good values")
      // A flipped digit in the millions of Wh: 1000 kWh more than the meter has, for one readout.
      .when("a slot starts", () => w.scheduler.now % POLL_MS < 1_000, () => (probe.corruptionWh = 1_000_000))
      .within(MINUTE, "the corrupted readout", () => firmware(site).acquirer.counters.implausible > 0, () => (probe.corruptionWh = 0))
      .wait(HOUR, "an hour more");
    play(site, script, 4 * HOUR);
    const c = firmware(site);
    const meter = consumersOf(site, m)[0]!;
    const imports = stored(c).readings.filter((r) => r.meter === meter && r.register === IMPORT);
    const bad = imports.filter((r) => r.status & ReadingStatus.implausible);
    assert.equal(bad.length, 1, "one implausible value");
    const at = imports.indexOf(bad[0]!);
    assert.ok(bad[0]!.value - imports[at - 1]!.value >= 1_000_000, "it is the corrupted one");
    assert.ok(imports[at + 1]!.time - bad[0]!.time < 60, "the module is read again at once");
    const good = imports.filter((r) => !(r.status & ReadingStatus.implausible));
    for (let k = 1; k < good.length; k++) assert.ok(good[k]!.value >= good[k - 1]!.value && good[k]!.value - good[k - 1]!.value < 10_000, "the good values go on from the last good one");
  });

  it("sets module clocks that drift beyond the threshold, audited, and follows the wall time the head-end sets", () => {
    const site = calmSite("clocks", { modules: 2 });
    const w = site.world;
    // Two minutes fast from the start, and a crystal 2000 ppm fast (7.2 s an hour).
    const fast = addModule(site, 0, { address: String(10_000_001 + 5), serial: "88880003", startEpochMs: Date.UTC(2026, 0, 1) + 120_000, clockDriftPpm: 2000 });
    let setAtS = 0;
    const script = afterDiscovery(site, 3)
      .wait(4 * HOUR, "four hours")
      .do("the head-end sets the wall clock 5 minutes ahead", () => {
        let detail: unknown;
        new ConcentratorCommands(firmware(site)).setTime(w.board.rtc.now() + 300_000, (o) => (detail = o.detail));
        assert.ok(typeof detail === "number" && Math.abs(detail - 300_000) < 1_000, String(detail));
        setAtS = Math.floor(w.board.rtc.now() / 1000);
      })
      .wait(POLL_MS + MINUTE, "a poll interval");
    play(site, script, 6 * HOUR);
    const c = firmware(site);
    const st = stored(c);
    const n = site.moduleNumber(fast)!;
    const sets = eventsOf(st, EventType.clockSet, n);
    // Set at the first readout (120 s off), again when 20 s of drift had built up (about every 3 h), and after the wall clock moved.
    assert.ok(sets.length >= 3, JSON.stringify(sets));
    assert.ok(Math.abs(sets[0]!.detail - 120) <= 2, `first correction ${sets[0]!.detail} s`);
    const audits = st.audits.filter((a) => a.name === `clock.module${n}`);
    assert.equal(audits.length, sets.length, "each setting audited");
    assert.ok(audits.every((a) => a.result === ChangeResult.applied && a.source === ChangeSource.local));
    const wall = st.audits.filter((a) => a.name === "clock.concentrator");
    assert.equal(wall.length, 1);
    assert.equal(wall[0]!.source, ChangeSource.headEnd);
    assert.equal(eventsOf(st, EventType.clockSet, CONCENTRATOR).length, 1);
    // Every module's clock follows, and the readings of that interval say the clock moved.
    for (const m of w.local.flat()) assert.ok(Math.abs(m.clock().epochMs - w.board.rtc.now()) < 5_000, `module ${m.address} clock`);
    const afterSet = st.readings.filter((r) => r.time >= setAtS);
    assert.ok(afterSet.length > 0);
    const first = new Map<number, number>();
    for (const r of afterSet) if (!first.has(r.meter)) first.set(r.meter, r.status);
    for (const [meter, status] of first) assert.ok(status & ReadingStatus.clockAdjusted, `meter ${meter}`);
  });
});

describe("core: billing snapshots", () => {
  it("takes the billing snapshot it missed while the concentrator was off at the billing time, once, when it is back", () => {
    const site = calmSite("billing-catch-up", { modules: 4 });
    const w = site.world;
    const s = w.scheduler;
    const DAY = 24 * HOUR;
    const script = afterDiscovery(site, 4)
      .when("the first billing point has passed", () => s.now > DAY + 30 * MINUTE)
      .when("an hour before the second one", () => s.now > 2 * DAY - HOUR)
      .do("the concentrator is switched off across it", () => w.board.cutPower())
      .wait(3 * HOUR, "three hours off", () => w.board.powerOn())
      .wait(30 * MINUTE, "half an hour back", () => w.board.cutPower())
      .wait(MINUTE, "another reboot", () => w.board.powerOn())
      .wait(30 * MINUTE, "half an hour after it");
    play(site, script, 3 * DAY);
    const c = firmware(site);
    const billing = stored(c).readings.filter((r) => r.status & ReadingStatus.billing && r.register === IMPORT);
    const meters = new Set(billing.map((r) => r.meter)).size;
    const days = new Set(billing.map((r) => Math.floor(r.time / 86_400))).size;
    assert.ok(meters > 0);
    // Day 1 at midnight, day 2 late (after the outage): every meter twice, no more.
    assert.equal(days, 2);
    assert.equal(billing.length, meters * 2);
    const late = billing.filter((r) => r.time % 86_400 > 2 * 3600);
    assert.equal(late.length, meters, "the missed snapshot is taken after the outage, and not again after the next reboot");
  });
});
