import assert from "node:assert/strict";
import fc from "fast-check";
import { Limiter } from "../../firmware/latch/limiter.js";

const config = { thresholdNormal: 5000, thresholdEmergency: 2000, minOverMs: 60_000, minUnderMs: 120_000, emergencyGroups: [7] };

describe("IC 71 limiter", () => {
  it("acts once the value has stayed over the threshold for the minimum duration, not before", () => {
    fc.assert(
      fc.property(fc.integer({ min: 5001, max: 20_000 }), fc.integer({ min: 1, max: 30 }), (value, stepS) => {
        const l = new Limiter(config);
        const actions: Array<[number, string]> = [];
        for (let t = 0; t <= 200_000; t += stepS * 1000) {
          const a = l.sample(value, t);
          if (a !== "none") actions.push([t, a]);
        }
        assert.equal(actions.length, 1);
        assert.equal(actions[0]![1], "overThreshold");
        assert.ok(actions[0]![0] >= 60_000 && actions[0]![0] < 60_000 + stepS * 1000);
      }),
    );
  });

  it("does not act on excursions shorter than the minimum duration", () => {
    const l = new Limiter(config);
    for (let t = 0; t < 600_000; t += 10_000) {
      const over = Math.floor(t / 50_000) % 2 === 0; // 50 s over, 50 s under
      assert.equal(l.sample(over ? 9000 : 100, t), "none");
    }
  });

  it("reports under-threshold after the value has stayed under for the minimum under duration", () => {
    const l = new Limiter(config);
    l.sample(9000, 0);
    assert.equal(l.sample(9000, 60_000), "overThreshold");
    assert.equal(l.sample(100, 70_000), "none");
    assert.equal(l.sample(100, 189_000), "none");
    assert.equal(l.sample(100, 190_000), "underThreshold");
    assert.equal(l.over, false);
  });

  it("uses the emergency threshold only while a profile of its group is active", () => {
    const l = new Limiter(config);
    l.setEmergency({ id: 7, activationMs: 100_000, durationMs: 50_000 });
    assert.equal(l.thresholdActive(99_999), 5000);
    assert.equal(l.thresholdActive(100_000), 2000);
    assert.equal(l.thresholdActive(150_000), 5000);
    l.setEmergency({ id: 8, activationMs: 0, durationMs: 1e9 });
    assert.equal(l.thresholdActive(10), 5000);
  });

  it("rejects a configuration with a negative or missing duration", () => {
    assert.throws(() => new Limiter({ ...config, minOverMs: -1 }), RangeError);
    assert.throws(() => new Limiter({ ...config, thresholdNormal: Number.NaN }), RangeError);
  });
});
