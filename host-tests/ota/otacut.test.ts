import assert from "node:assert/strict";
import { linearCampaign, randomCampaign } from "../../tools/otacut/campaign.js";

describe("OTA power cuts (npm run otacut)", () => {
  it("a cut at every flash operation of a whole update (download, switch, first boot, confirmation): a valid image always boots, no reading, latch or counter lost", () => {
    const v = linearCampaign({ seed: "t" });
    assert.equal(v.cuts, v.updateOperations, "one cut per operation");
    assert.ok(v.cutsBeforeSwitch > 10 && v.cutsAfterSwitch > 10, `${v.cutsBeforeSwitch} cuts before the switch, ${v.cutsAfterSwitch} after`);
    assert.deepEqual([v.bricked, v.readingsLost, v.latchesLost, v.counterRegressions], [0, 0, 0, 0], v.failures.join("\n"));
    assert.equal(v.bootedOld + v.bootedNew, v.cuts, "something booted after every cut");
    assert.ok(v.bootedOld > 0 && v.bootedNew > 0, `${v.bootedOld} cuts booted the old image, ${v.bootedNew} the new one`);
    assert.equal(v.endedOld, 0, "the head-end's retries took every unit to the new image");
    assert.ok(v.latchesChecked >= v.runs, "latched consumers were there to lose");
  });

  it("random cuts, one or two per update", () => {
    const v = randomCampaign({ seed: "r", cuts: 12 });
    assert.ok(v.cuts >= 12);
    assert.deepEqual([v.bricked, v.readingsLost, v.latchesLost, v.counterRegressions], [0, 0, 0, 0], v.failures.join("\n"));
  });
});
