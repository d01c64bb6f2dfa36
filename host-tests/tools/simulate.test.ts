import assert from "node:assert/strict";
import { simulateSite } from "../../tools/simulate.js";

describe("site simulation", () => {
  it("polls every module on both buses every 15 minutes and reports the cycle ratio", () => {
    const r = simulateSite({ days: 0.25, seed: "t", modules: 6, plc: 0, radio: 0 });
    assert.equal(r.modulesPolled, 6);
    assert.equal(r.readoutsOk + r.readoutsFailed, 6 * 24, "24 cycles of 6 modules in 6 hours");
    assert.ok(r.readingsAcquired > r.readoutsOk);
    assert.ok(r.pollCycleRatio > 1 && r.pollCycleRatio < 1.2, String(r.pollCycleRatio));
    assert.ok(r.busUtilisation > 0 && r.busUtilisation < 0.5);
    assert.equal(r.remoteModules, 0);
  });

  it("polls the remote modules behind a PLC and a radio bridge every 15 minutes alongside the local ones, and reports their routes", () => {
    const r = simulateSite({ days: 0.25, seed: "t", modules: 4, plc: 3, radio: 2 });
    assert.equal(r.modulesPolled, 4);
    assert.equal(r.readoutsOk + r.readoutsFailed, 4 * 24);
    assert.equal(r.remoteModules, 5);
    assert.equal(r.remoteModulesPolled, 5);
    assert.equal(r.remoteReadoutsOk + r.remoteReadoutsFailed, 5 * 24, "24 cycles of 5 remote modules in 6 hours");
    assert.ok(r.remoteReadoutsFailed <= 2, `failed remote readouts ${r.remoteReadoutsFailed}`);
    assert.ok(r.remoteCycleRatio > 1 && r.remoteCycleRatio < 4, String(r.remoteCycleRatio));
    assert.ok(r.routeRecoveries <= r.routeFailovers, "a recovery follows a failover");
    assert.match(r.rateSteps, /^\d+ down \/ \d+ up$/);
  });
});
