// Seeded random power cuts on one device (cuts also land in recovery), checked after every recovery.
// The long campaign is `npm run powercut` (tools/powercut.ts).
import assert from "node:assert/strict";
import { GEOMETRIES, randomCampaign } from "../../tools/powercut/campaign.js";

/** `evicts`: the row's log is small enough for the head-end's outages to fill it. */
const SWEEP = [
  { geometry: "small", cuts: 600, maxGap: 60, seed: "random-1", evicts: true },
  { geometry: "esp32", cuts: 400, maxGap: 150, seed: "random-2", evicts: false },
] as const;

describe("powerloss: seeded random cuts, recovery and continued operation", () => {
  for (const row of SWEEP) {
    it(`keeps every invariant over ${row.cuts} cuts (${row.geometry}, a cut every 1-${row.maxGap} operations)`, () => {
      const r = randomCampaign({ seed: row.seed, geometry: GEOMETRIES[row.geometry]!, cuts: row.cuts, maxGap: row.maxGap });
      assert.equal(r.cuts, row.cuts);
      assert.deepEqual(r.failures, []);
      assert.equal(r.lostAcknowledged + r.corruptReturned + r.criticalStateViolations + r.counterRepeats, 0);
      assert.ok(r.collections > 0, "the state journal collected garbage");
      if (row.evicts) assert.ok(r.evictions > 0, "the log evicted");
    });
  }
});
