// Sectors wearing out during a power-cut campaign (programs then change nothing, erases leave junk),
// at seeded random operations in either partition: records move, releases of records in a worn
// sector are kept in the state journal, and every invariant still holds.
import assert from "node:assert/strict";
import { GEOMETRIES, randomCampaign } from "../../tools/powercut/campaign.js";

const SWEEP = [
  { worn: 2, cuts: 300, seed: "worn-1" },
  { worn: 5, cuts: 300, seed: "worn-2" },
] as const;

describe("powerloss: sectors wearing out during a campaign", () => {
  for (const row of SWEEP) {
    it(`keeps every invariant with ${row.worn} sectors wearing out over ${row.cuts} cuts`, () => {
      const r = randomCampaign({ seed: row.seed, geometry: GEOMETRIES.esp32!, cuts: row.cuts, wornSectors: row.worn, maxGap: 60 });
      assert.deepEqual(r.failures, []);
      assert.equal(r.lostAcknowledged + r.corruptReturned + r.criticalStateViolations + r.counterRepeats, 0);
    });
  }
});
