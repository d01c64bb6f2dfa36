import assert from "node:assert/strict";
import fc from "fast-check";
import { PlausibilityChecker } from "../../firmware/poll/plausibility.js";
import { ReadingStatus, registerCode, type Reading } from "../../firmware/model/records.js";

const E = registerCode(1, 8, 0);
const text = (wh: number) => (wh / 1000).toFixed(3).padStart(11, "0");
const r = (value: number, time: number, register = E): Reading => ({ meter: 1, register, time, value, status: 0 });

describe("plausibility", () => {
  it("accepts a growing energy register within the largest credible power", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 50 }), (steps) => {
        const p = new PlausibilityChecker();
        let v = 1_000_000, t = 0;
        for (const s of steps) {
          v += s;
          t += 900;
          assert.equal(p.check(r(v, t), text(v)), "ok");
        }
      }),
    );
  });

  it("flags a counter that goes backwards and keeps judging against the last good value", () => {
    const p = new PlausibilityChecker();
    p.check(r(5_000_000, 0), text(5_000_000));
    const bad = r(4_000_000, 900);
    assert.equal(p.check(bad, text(4_000_000)), "backwards");
    assert.ok(bad.status & ReadingStatus.implausible);
    assert.equal(p.check(r(5_000_100, 1800), text(5_000_100)), "ok");
  });

  it("flags a dropped digit (mode D has no BCC): the text is narrower than the register's", () => {
    const p = new PlausibilityChecker();
    p.check(r(8_048_375, 0), "0008048.375");
    assert.equal(p.check(r(848_375, 900), "000848.375"), "width");
  });

  it("flags a jump larger than the largest credible power over the elapsed time", () => {
    const p = new PlausibilityChecker({ maxPowerW: 10_000 });
    p.check(r(1_000_000, 0), text(1_000_000));
    assert.equal(p.check(r(1_002_500, 900), text(1_002_500)), "ok"); // 10 kW × 0.25 h = 2500 Wh
    assert.equal(p.check(r(1_005_002, 1800), text(1_005_002)), "jump");
  });

  it("flags instantaneous values out of range", () => {
    const p = new PlausibilityChecker();
    assert.equal(p.check(r(2300, 0, registerCode(32, 7, 0)), "230.0"), "ok");
    assert.equal(p.check(r(40_000, 0, registerCode(32, 7, 0)), "4000.0"), "range");
    assert.equal(p.check(r(70_000, 0, registerCode(14, 7, 0)), "70.00"), "range");
  });
});
