import assert from "node:assert/strict";
import { linearCampaign, randomCampaign, runWithCuts, updateOperations, verdict } from "../../tools/otacut/campaign.js";

describe("OTA power cuts (npm run otacut)", () => {
  it("a cut at every flash operation of a whole update (download, switch, first boot, confirmation): a valid image always boots, no reading, latch or counter lost", function () {
    // 61 site runs, each cut once: about a minute alone on a 2-core machine, longer when it is shared.
    this.timeout(400_000);
    const v = linearCampaign({ seed: "t" });
    assert.equal(v.cuts, v.updateOperations, "one cut per operation");
    assert.ok(v.cutsBeforeSwitch > 10 && v.cutsAfterSwitch > 10, `${v.cutsBeforeSwitch} cuts before the switch, ${v.cutsAfterSwitch} after`);
    assert.deepEqual([v.bricked, v.readingsLost, v.latchesLost, v.counterRegressions], [0, 0, 0, 0], v.failures.join("\n"));
    assert.equal(v.bootedOld + v.bootedNew, v.cuts, "something booted after every cut");
    assert.ok(v.bootedOld > 0 && v.bootedNew > 0, `${v.bootedOld} cuts booted the old image, ${v.bootedNew} the new one`);
    // A cut during the new image's trial leaves it pending-verify: the bootloader goes back to the old one.
    assert.ok(v.bootedOld > v.cutsBeforeSwitch, `${v.bootedOld} cuts booted the old image, ${v.cutsBeforeSwitch} were before the switch`);
    assert.equal(v.endedOld, 0, "the head-end's retries took every unit to the new image");
    assert.ok(v.latchesChecked >= v.runs, "latched consumers were there to lose");
  });

  it("a cut the update never reaches is not made: the unit ends on the new image and powered", () => {
    const total = updateOperations("t");
    const v = verdict(total);
    runWithCuts("t", [total + 3], v);
    assert.deepEqual([v.cuts, v.runs, v.bricked, v.endedOld], [0, 1, 0, 0], v.failures.join("\n"));
  });

  it("random cuts, one or two per update", () => {
    const v = randomCampaign({ seed: "r", cuts: 12 });
    assert.ok(v.cuts >= 12);
    assert.deepEqual([v.bricked, v.readingsLost, v.latchesLost, v.counterRegressions], [0, 0, 0, 0], v.failures.join("\n"));
  });
});
