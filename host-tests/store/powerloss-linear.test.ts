// Power cut after every single program/erase of the workload (littlefs "linear"), then recovery,
// checks, the rest of the workload, checks. Sweeps are data: one row per geometry and workload.
import assert from "node:assert/strict";
import { GEOMETRIES, linearCampaign } from "../../tools/powercut/campaign.js";

const SWEEP = [
  { geometry: "small", steps: 500, seed: "linear-1" },
  { geometry: "esp32", steps: 400, seed: "linear-2" },
] as const;

describe("powerloss: a cut at every flash operation of the workload", () => {
  for (const row of SWEEP) {
    it(`loses nothing acknowledged and returns nothing corrupt (${row.geometry}, ${row.steps} steps)`, () => {
      const r = linearCampaign({ seed: row.seed, geometry: GEOMETRIES[row.geometry]!, steps: row.steps });
      assert.ok(r.cuts > 250, `cuts: ${r.cuts}`);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(
        { lost: r.lostAcknowledged, corrupt: r.corruptReturned, critical: r.criticalStateViolations, repeats: r.counterRepeats },
        { lost: 0, corrupt: 0, critical: 0, repeats: 0 },
      );
      if (row.geometry === "small") assert.ok(r.evictions > 0, "the log filled and evicted during the campaign");
    });
  }
});
