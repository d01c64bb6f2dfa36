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

  /**
   * The checker against a plain model (a Map of every counter's last accepted value, time and width,
   * bounded like the checker's table): the same verdicts and flags on any sequence of readings of any
   * meter's registers, with meters forgotten in between.
   */
  it("judges like a plain map of every counter's last accepted value, over any sequence of readings", () => {
    const registers = [registerCode(1, 8, 0), registerCode(2, 8, 0), registerCode(1, 8, 1), registerCode(1, 8, 2), registerCode(3, 8, 0), registerCode(4, 8, 4), registerCode(15, 8, 0), registerCode(16, 8, 255), registerCode(32, 7, 0), registerCode(1, 7, 0), registerCode(1, 9, 0)];
    type Op = { forget: number } | { meter: number; register: number; value: number; dt: number; width: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 1, arbitrary: fc.record({ forget: fc.integer({ min: 0, max: 5 }) }) },
      {
        weight: 12,
        arbitrary: fc.record({
          meter: fc.integer({ min: 0, max: 5 }),
          register: fc.constantFrom(...registers),
          // Whole Wh as meters send them, fractions, and values about 2^32 (kept whole beyond the 32-bit column).
          value: fc.oneof(fc.integer({ min: -10, max: 3_000_000 }), fc.double({ min: -1, max: 1e7, noNaN: true }), fc.integer({ min: 2 ** 32 - 30, max: 2 ** 32 + 30 }), fc.double({ min: 2 ** 32 - 30, max: 2 ** 32 + 30, noNaN: true })),
          dt: fc.integer({ min: 0, max: 7200 }),
          width: fc.integer({ min: 1, max: 12 }),
        }),
      },
    );
    const maxPowerW = 10_000;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.integer({ min: 1, max: 12 }), (ops, maxEntries) => {
        const p = new PlausibilityChecker({ maxPowerW }, maxEntries);
        const model = new Map<string, { value: number; time: number; width: number }>();
        let time = 1_700_000_000;
        for (const o of ops) {
          if ("forget" in o) {
            p.forgetMeter(o.forget);
            for (const k of [...model.keys()]) if (k.startsWith(`${o.forget}/`)) model.delete(k);
            continue;
          }
          time += o.dt;
          const reading: Reading = { meter: o.meter, register: o.register, time, value: o.value, status: 0 };
          const txt = "9".repeat(o.width);
          const counter = ((o.register >> 8) & 0xff) === 8;
          const key = `${o.meter}/${o.register}`, last = model.get(key);
          let expected: string;
          if (!counter) {
            const c = o.register >> 16;
            expected = c === 32 ? (o.value >= 0 && o.value <= 3000 ? "ok" : "range") : c === 1 && ((o.register >> 8) & 0xff) === 7 ? (Math.abs(o.value) <= maxPowerW ? "ok" : "range") : "ok";
          } else if (o.value < 0) expected = "range";
          else if (!last) expected = "ok";
          else if (o.width !== last.width) expected = "width";
          else if (o.value < last.value) expected = "backwards";
          else expected = o.value - last.value <= maxPowerW * (Math.max(time - last.time, 1) / 3600) + 1 ? "ok" : "jump";
          assert.equal(p.check(reading, txt), expected);
          assert.equal((reading.status & ReadingStatus.implausible) !== 0, expected !== "ok");
          if (counter && expected === "ok" && (last || model.size < maxEntries)) model.set(key, { value: o.value, time, width: o.width });
        }
      }),
      { numRuns: 300 },
    );
  });
});
