import assert from "node:assert/strict";
import { simulateSite } from "../../tools/simulate.js";

describe("site simulation", () => {
  it("polls every module on both buses every 15 minutes and reports the cycle ratio", () => {
    const r = simulateSite({ days: 0.25, seed: "t", modules: 6 });
    assert.equal(r.modulesPolled, 6);
    assert.equal(r.readoutsOk + r.readoutsFailed, 6 * 24, "24 cycles of 6 modules in 6 hours");
    assert.ok(r.readingsAcquired > r.readoutsOk);
    assert.ok(r.pollCycleRatio > 1 && r.pollCycleRatio < 1.2, String(r.pollCycleRatio));
    assert.ok(r.busUtilisation > 0 && r.busUtilisation < 0.5);
  });
});
