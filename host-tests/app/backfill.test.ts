// The profile catch-up (docs/backfill.md) in the simulated site: intervals missed while the
// concentrator or a module was down are read back from the meters' own load profiles, stored once,
// flagged back-filled with the profile's status; what the meters cannot give is counted with its
// reason; module clocks off by minutes are placed by the concentrator's clock and reported.
import assert from "node:assert/strict";
import { ReadingStatus, registerCode, type Reading } from "../../firmware/model/records.js";
import { Unrecoverable } from "../../firmware/poll/backfill/holdings.js";
import type { SimLocalModule } from "../../hal/sim/local-module.js";
import { SimMeter } from "../../hal/sim/meters.js";
import type { Site } from "../../tools/site/site.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import type { CommandOutcome } from "../../firmware/uplink/ports.js";
import { ConcentratorCommands } from "../../firmware/app/command-handlers.js";
import { addModule, afterDiscovery, calmSite, consumersOf, firmware, HOUR, MINUTE, play, stored } from "../lib/core-rig.js";

const SLOT_S = 900;
const IMPORT = registerCode(1, 8, 0);
const EXPORT = registerCode(2, 8, 0);

/** Every stored reading of the energy channels, by "meter/register/slot". */
function bySlot(site: Site): Map<string, Reading[]> {
  const out = new Map<string, Reading[]>();
  for (const r of stored(firmware(site)).readings) {
    if (r.register !== IMPORT && r.register !== EXPORT) continue;
    const key = `${r.meter}/${r.register}/${Math.floor(r.time / SLOT_S)}`;
    out.set(key, [...(out.get(key) ?? []), r]);
  }
  return out;
}

const slotNow = (site: Site) => Math.floor(site.world.board.rtc.now() / 1000 / SLOT_S);
/** The concentrator runs, has accounted every slot that ended, and misses none of them. */
function caughtUp(site: Site): boolean {
  const h = site.concentrator?.catchUp?.holdings;
  return h !== undefined && h.accounted >= slotNow(site) - 1 && [...h.metersMissing()].length === 0;
}

const backfilled = (r: Reading) => (r.status & ReadingStatus.backfilled) !== 0;

/** Nothing fetched twice: no slot of a channel has a back-filled value besides another value. */
function assertNothingTwice(slots: Map<string, Reading[]>): void {
  for (const [key, list] of slots) {
    if (list.some(backfilled)) assert.equal(list.length, 1, `${key}: ${JSON.stringify(list)}`);
  }
}

/** Every meter of `meters` holds an import value in every slot of [from, to]; import never goes backwards. */
function assertComplete(slots: Map<string, Reading[]>, meters: readonly number[], from: number, to: number): void {
  for (const meter of meters) {
    let last = -1;
    for (let s = from; s <= to; s++) {
      const list = slots.get(`${meter}/${IMPORT}/${s}`);
      assert.ok(list?.length, `meter ${meter} slot ${s} (${s - from} of ${to - from})`);
      for (const r of list) {
        assert.ok(r.value >= last, `meter ${meter} slot ${s}: ${r.value} after ${last}`);
        last = r.value;
      }
    }
  }
}

/** A module with serial meters only (serial meters keep their profile while their module is down). */
function serialModule(site: Site, address: string, serial: string, extra: Partial<Parameters<typeof addModule>[2]> = {}): SimLocalModule {
  const p = site.world.prng.fork(`serial-${address}`);
  const meters = [0, 1].map((k) => new SimMeter({ serial: `7${serial}${k}`, kind: "serial", meanPowerW: 500, prng: p.fork(String(k)), startImportWh: 1_000_000 }));
  const m = addModule(site, 0, { address, serial, meters, ...extra });
  m.setProfileMemory(96 * 30);
  return m;
}

describe("profile catch-up", () => {
  it("after the concentrator's own outage (the plug pulled for 3 h), every missed interval comes back from the meters' profiles, flagged back-filled and power failure, none twice", () => {
    const site = calmSite("backfill-1", { modules: 4, profileMemory: "all" });
    const w = site.world;
    let firstSlot = 0, cutSlot = 0, readInCutSlot: number[] = [];
    const script = afterDiscovery(site, 4)
      .wait(20 * MINUTE, "a slot read in full", () => (firstSlot = slotNow(site)))
      .wait(50 * MINUTE, "normal polling")
      .do("the plug is pulled", () => {
        cutSlot = slotNow(site);
        readInCutSlot = [...bySlot(site).keys()].filter((k) => k.endsWith(`/${IMPORT}/${cutSlot}`)).map((k) => Number(k.split("/")[0]));
        w.board.cutPower();
      })
      .wait(3 * HOUR, "three hours off", () => w.board.powerOn())
      .within(HOUR, "caught up", () => caughtUp(site));
    play(site, script, 8 * HOUR);

    const c = firmware(site);
    const slots = bySlot(site);
    const meters = w.modules.flatMap((m) => consumersOf(site, m));
    assertComplete(slots, meters, firstSlot, slotNow(site) - 1);
    assertNothingTwice(slots);
    const filled = [...slots.values()].flat().filter(backfilled);
    assert.ok(filled.length >= meters.length * 11, `${filled.length} back-filled`);
    // The outage's intervals: the modules ran on their batteries, the meters without mains.
    assert.ok(filled.every((r) => r.status & ReadingStatus.powerFailure), "power failure kept from the profile status");
    assert.ok(filled.every((r) => r.time % SLOT_S === 0), "at their interval's time");
    // Meters read in the interval the plug was pulled in are not read back for it.
    for (const meter of readInCutSlot) assert.ok(!slots.get(`${meter}/${IMPORT}/${cutSlot}`)!.some(backfilled), `meter ${meter} slot ${cutSlot}`);
    assert.equal(c.catchUp!.holdings.unrecoverableTotals().noProfile, 0);
    const r = site.report();
    assert.ok(r.readingsBackfilled > 0 && r.readingsAcquired <= r.readingsExpected);
    assert.equal(c.counters.internalErrors, 0);

    // The head-end's audit: a meter's profile over the outage, as the meter gives it.
    const meter = meters[0]!;
    const fromS = (cutSlot + 1) * SLOT_S;
    let outcome: CommandOutcome | undefined;
    new ConcentratorCommands(c).profile(meter, fromS, fromS + 2 * 3600, (o) => (outcome = o));
    w.scheduler.runUntilTrue(() => outcome !== undefined, HOUR);
    assert.equal(outcome?.code, ResultCode.ok, JSON.stringify(outcome));
    const audit = outcome!.readings!.filter((x) => x.register === IMPORT);
    assert.deepEqual(audit.map((x) => x.time), Array.from({ length: 9 }, (_, k) => fromS + k * SLOT_S));
    for (const x of audit) assert.deepEqual(slots.get(`${meter}/${IMPORT}/${x.time / SLOT_S}`), [x], "the values stored from the profile");
    assert.equal(bySlot(site).size, slots.size, "an audit of slots already held stores nothing");
    let refused: CommandOutcome | undefined;
    new ConcentratorCommands(c).profile(meter, fromS, fromS + 2 * 86_400, (o) => (refused = o));
    assert.equal(refused?.code, ResultCode.rejected, "more than a day");
  });

  it("after a module's outage, and through a power cut in the middle of the catch-up, stores each interval exactly once", () => {
    const site = calmSite("backfill-2", { modules: 2, profileMemory: "all" });
    const w = site.world;
    const m = serialModule(site, "10000003", "88000003");
    let firstSlot = 0;
    let cuts = 0;
    const script = afterDiscovery(site, 3)
      .wait(20 * MINUTE, "a slot read in full", () => (firstSlot = slotNow(site)))
      .do("the module goes down", () => m.domain.powerOff("power-cut"))
      .wait(90 * MINUTE, "an hour and a half without it", () => m.domain.powerOn())
      .within(3 * HOUR, "the catch-up has begun", () => (site.concentrator?.catchUp?.counters.readings ?? 0) > 0, () => {
        assert.ok([...firmware(site).catchUp!.holdings.metersMissing()].length > 0, "still missing slots when the power is cut");
        cuts++;
        w.board.cutPower();
      })
      .wait(10 * MINUTE, "ten minutes off", () => w.board.powerOn())
      .within(2 * HOUR, "caught up", () => caughtUp(site));
    play(site, script, 10 * HOUR);
    assert.equal(cuts, 1);
    const slots = bySlot(site);
    assertComplete(slots, consumersOf(site, m), firstSlot, slotNow(site) - 1);
    assertNothingTwice(slots);
    // Whole rows: both channels of every back-filled interval.
    for (const meter of consumersOf(site, m)) {
      for (const [key, list] of slots) {
        if (!key.startsWith(`${meter}/${IMPORT}/`) || !list.some(backfilled)) continue;
        assert.ok(slots.get(key.replace(`/${IMPORT}/`, `/${EXPORT}/`))?.some(backfilled), `${key}: export back-filled too`);
      }
    }
  });

  it("counts the intervals of meters without profile memory as unrecoverable, fetching nothing", () => {
    const site = calmSite("backfill-3", { modules: 3, profileMemory: "none" });
    const w = site.world;
    const script = afterDiscovery(site, 3)
      .wait(30 * MINUTE, "normal polling", () => w.board.cutPower())
      .wait(2 * HOUR, "two hours off", () => w.board.powerOn())
      .wait(HOUR, "an hour back");
    play(site, script, 6 * HOUR);
    const c = firmware(site);
    const slots = bySlot(site);
    assert.equal([...slots.values()].flat().filter(backfilled).length, 0);
    const meters = w.modules.flatMap((m) => consumersOf(site, m));
    const lost = c.catchUp!.holdings.unrecoverableTotals();
    assert.ok(lost.noProfile >= meters.length * 7, `${lost.noProfile} unrecoverable`);
    assert.equal(lost.noProfile, meters.reduce((n, meter) => n + c.catchUp!.holdings.unrecoverableOf(meter)[Unrecoverable.noProfile]!, 0));
    assert.equal([...c.catchUp!.holdings.metersMissing()].length, 0);
    const r = site.report();
    assert.ok(r.unrecoverableBy.noProfile > 0 && r.readingsUnrecoverable >= r.unrecoverableBy.noProfile, JSON.stringify(r.unrecoverableBy));
  });

  it("takes what a profile shorter than the gap still holds and counts the rest as too short", () => {
    const site = calmSite("backfill-4", { modules: 1, profileMemory: "all" });
    const w = site.world;
    const m = serialModule(site, "10000002", "88000002");
    let outFrom = 0, outTo = 0;
    const script = afterDiscovery(site, 2)
      .do("a profile of two hours", () => m.setProfileMemory(8))
      .wait(20 * MINUTE, "polling", () => {
        outFrom = slotNow(site) + 1;
        w.board.cutPower();
      })
      .wait(4 * HOUR, "four hours off", () => {
        outTo = slotNow(site) - 1;
        w.board.powerOn();
      })
      .within(HOUR, "caught up", () => caughtUp(site));
    play(site, script, 8 * HOUR);
    const c = firmware(site);
    const slots = bySlot(site);
    for (const meter of consumersOf(site, m)) {
      const lost = c.catchUp!.holdings.unrecoverableOf(meter);
      const got = [...slots.entries()].filter(([k, l]) => k.startsWith(`${meter}/${IMPORT}/`) && l.some(backfilled)).length;
      assert.ok(lost[Unrecoverable.profileTooShort]! > 0, `meter ${meter}: ${lost}`);
      assert.ok(got > 0 && got <= 8, `meter ${meter}: ${got} back-filled`);
      assert.ok(got + lost[Unrecoverable.profileTooShort]! >= outTo - outFrom, `${got} + ${lost} over ${outTo - outFrom}`);
      // The newest intervals are the ones recovered.
      assert.ok(slots.get(`${meter}/${IMPORT}/${outTo}`)?.some(backfilled), "the last interval of the outage");
    }
    assertNothingTwice(slots);
  });

  it("places the intervals of a module whose clock ran minutes off during the outage by the concentrator's clock, flagged and reported", () => {
    const site = calmSite("backfill-5", { modules: 1, profileMemory: "all" });
    const w = site.world;
    // A crystal 2 % fast: 72 s an hour, set again by the concentrator while it runs.
    const m = serialModule(site, "10000002", "88000002", { clockDriftPpm: 20_000 });
    let firstSlot = 0;
    const script = afterDiscovery(site, 2)
      .wait(20 * MINUTE, "a slot read in full", () => (firstSlot = slotNow(site)))
      .do("the plug is pulled", () => w.board.cutPower())
      .wait(4 * HOUR, "four hours off: the module clock runs about five minutes ahead", () => w.board.powerOn())
      .within(HOUR, "caught up", () => caughtUp(site));
    play(site, script, 6 * HOUR);
    const c = firmware(site);
    const slots = bySlot(site);
    const meters = consumersOf(site, m);
    assertComplete(slots, meters, firstSlot, slotNow(site) - 1);
    assertNothingTwice(slots);
    const filled = [...slots.entries()].filter(([k]) => meters.some((x) => k.startsWith(`${x}/`))).flatMap(([, l]) => l).filter(backfilled);
    assert.ok(filled.length > 0);
    assert.ok(filled.every((r) => r.time % SLOT_S === 0), "at the concentrator's interval times");
    assert.ok(filled.filter((r) => r.status & ReadingStatus.meterClockInvalid).length >= filled.length / 2, "flagged where the offset was beyond the tolerance");
    const offsets = c.catchUp!.clockOffsets();
    const offset = offsets.find((o) => o.module === site.moduleNumber(m));
    assert.ok(offset && offset.offsetS >= 240 && offset.offsetS <= 400, JSON.stringify(offsets));
    assert.equal(site.report().meterClockOffsets, 1);
  });

  it("retries profile answers corrupted on the bus and never stores a garbled or partial one", () => {
    const site = calmSite("backfill-6", { modules: 1, profileMemory: "all" });
    const w = site.world;
    const m = serialModule(site, "10000002", "88000002");
    const script = afterDiscovery(site, 2)
      .wait(20 * MINUTE, "polling", () => w.board.cutPower())
      .wait(3 * HOUR, "three hours off", () => {
        w.board.powerOn();
        // Flipped bits (parity errors, bad BCCs), lost characters (truncated blocks), noise between.
        for (const b of w.buses) b.noise.set({ flip: 0.01, drop: 0.003, extra: 0.002 });
      })
      .wait(40 * MINUTE, "forty minutes of noise", () => {
        for (const b of w.buses) b.noise.set({});
      })
      .within(2 * HOUR, "caught up", () => caughtUp(site));
    play(site, script, 8 * HOUR);
    const c = firmware(site);
    const noise = w.buses[0]!.noise.counters;
    assert.ok(noise.flipped > 10 && noise.dropped > 2, JSON.stringify(noise));
    assert.ok(c.catchUp!.counters.failed > 0, `some sessions failed on the noise and were tried again: ${JSON.stringify(c.catchUp!.counters)}`);
    const slots = bySlot(site);
    assertNothingTwice(slots);
    // Every back-filled value is the meter's own: the module's profile row for that interval.
    const rows = m.profile!.answer(0, 0xffffffff);
    let headerS = 0, k = 0;
    const valueAt = new Map<number, string[]>();
    for (const line of rows) {
      if (line.startsWith("P.01(")) {
        const t = line.slice(6, 16);
        headerS = Date.UTC(2000 + Number(t.slice(0, 2)), Number(t.slice(2, 4)) - 1, Number(t.slice(4, 6)), Number(t.slice(6, 8)), Number(t.slice(8, 10))) / 1000;
        k = 0;
      } else valueAt.set(headerS + SLOT_S * k++, line.slice(1, -1).split(")("));
    }
    const meters = consumersOf(site, m);
    let checked = 0;
    for (const [key, list] of slots) {
      const r = list.find(backfilled);
      if (!r) continue;
      const channel = meters.indexOf(r.meter);
      if (channel < 0) continue;
      const text = valueAt.get(r.time)![channel * 2 + (r.register === EXPORT ? 1 : 0)]!;
      assert.equal(r.value, Math.round(Number(text) * 1000), key);
      checked++;
    }
    assert.ok(checked > 20, `${checked} values checked`);
    assert.equal(c.counters.internalErrors, 0);
  });
});
