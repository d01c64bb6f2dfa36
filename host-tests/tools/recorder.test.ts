// The site simulation's time series (tools/site/recorder.ts) against the simulated world's ground
// truth: the load profiles and the feeder balance come from the readings the firmware stored, and
// must say what the simulated meters did.
import assert from "node:assert/strict";
import { SimMeter } from "../../hal/sim/meters.js";
import { INTERVAL_MS } from "../../tools/site/recorder.js";
import { Site } from "../../tools/site/site.js";
import { CALM, HOUR } from "../lib/core-rig.js";

/** Energy the consumers' meters (every meter but the feeder's) have imported so far, Wh. */
function consumersImportWh(site: Site): number {
  let wh = 0;
  for (const m of site.world.modules) {
    m.advanceMeters();
    for (const meter of m.meters) if (meter instanceof SimMeter) wh += meter.importWh();
  }
  return wh;
}

function sum(values: ReadonlyArray<number | null>, from: number, to: number): number {
  return values.slice(from, to).reduce<number>((n, v) => n + (v ?? 0), 0);
}

describe("site recorder", () => {
  it("gives each group the energy its meters imported, interval by interval, from the stored readings", () => {
    const site = new Site({ seed: "load", days: 1, ...CALM, modules: 8, plc: 2, record: true });
    const at: number[] = [];
    for (const t of [HOUR, 5 * HOUR]) site.world.scheduler.at(t, () => at.push(consumersImportWh(site)));
    // Half an hour more: the readings after the 5th hour close its last interval.
    site.run(5.5 * HOUR);
    const truth = at[1]! - at[0]!;
    const iv = site.report().series!.intervals;
    assert.deepEqual(iv.groups.map((g) => g.name), ["bus0", "bus1", "plc0"]);
    const from = HOUR / INTERVAL_MS;
    const to = (5 * HOUR) / INTERVAL_MS;
    for (const g of iv.groups) assert.ok(g.wh.slice(from, to).every((v) => v !== null && v > 0), `${g.name}: every interval of hours 1-5`);
    const recorded = iv.groups.reduce((n, g) => n + sum(g.wh, from, to), 0);
    // Readouts come a few seconds to minutes into each interval: the edges shift a little energy.
    assert.ok(Math.abs(recorded - truth) / truth < 0.02, `recorded ${recorded} Wh, the meters imported ${truth} Wh`);
  });

  it("shows the feeder's technical loss, and an illegal tap on top of it", () => {
    const site = new Site({ seed: "feeder", days: 1, ...CALM, modules: 16, balanceConsumers: 8, record: true });
    const feeder = site.world.feeder!;
    site.run(3 * HOUR);
    feeder.module.advanceMeters();
    feeder.meter.setTap(2000);
    site.run(7.5 * HOUR);
    const f = site.report().series!.intervals.feeder!;
    const loss = (from: number, to: number) => {
      const fed = sum(f.feederWh, from, to);
      return { fed, consumers: sum(f.consumersWh, from, to), lossWh: fed - sum(f.consumersWh, from, to) };
    };
    // Hours 1 to 3: the simulated 2 % loss between the balance meter and its consumers.
    const calm = loss(4, 12);
    assert.ok(Math.abs(calm.lossWh / calm.consumers - 0.02) < 0.005, JSON.stringify(calm));
    // Hours 4 to 7: 2 kW more, 500 Wh per interval, on top of it.
    const tapped = loss(16, 28);
    const tapPerInterval = (tapped.lossWh - 0.02 * tapped.consumers) / 12;
    assert.ok(Math.abs(tapPerInterval - 500) < 25, `${tapPerInterval} Wh per interval`);
  });
});
