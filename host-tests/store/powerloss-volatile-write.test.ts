// The campaign's checks must be able to fail: a faulty part whose cut also undoes the last completed
// program (a volatile write cache) loses acknowledged records and state, and the campaign says so.
import assert from "node:assert/strict";
import { GEOMETRIES, randomCampaign } from "../../tools/powercut/campaign.js";

describe("powerloss: the campaign against a flash that loses completed writes", () => {
  it("reports lost records, wrong state and repeated counters", () => {
    const r = randomCampaign({ seed: "volatile", geometry: { ...GEOMETRIES.esp32!, volatileWrites: true }, cuts: 100 });
    assert.ok(r.lostAcknowledged > 0, "lost records");
    assert.ok(r.criticalStateViolations > 0, "state neither old nor new");
    assert.ok(r.counterRepeats > 0, "counters repeat");
  });
});
