import assert from "node:assert/strict";
import fc from "fast-check";
import { BalanceMonitor } from "../../firmware/events/balance.js";

const Q = 15 * 60_000;
const config = { id: 1, balanceMeter: 100, consumers: [1, 2, 3], thresholdPercent: 5, minDurationMs: 60 * 60_000, minBalanceWh: 10 };

/** Feeds one interval: consumers take `use` Wh each; the balance meter sees their sum plus `tapWh`. */
function interval(m: BalanceMonitor, end: number, use: number[], tapWh: number) {
  let out;
  for (let i = 0; i < 3; i++) out = m.add(i + 1, end, use[i]!, Q);
  out = m.add(100, end, use.reduce((a, b) => a + b, 0) + tapWh, Q);
  return out;
}

describe("balance monitoring", () => {
  it("raises the alarm when an illegal tap keeps the loss above the threshold for the configured time, and clears it after", () => {
    const m = new BalanceMonitor(config);
    const changes: Array<[number, string]> = [];
    for (let k = 1; k <= 24; k++) {
      const tap = k >= 5 && k <= 12 ? 150 : 2; // a 600 W tap for two hours; 2 Wh of technical loss otherwise
      const r = interval(m, k * 900, [300, 250, 200], tap);
      if (r.change) changes.push([k, r.change]);
    }
    // The tap starts in interval 5; four judged intervals of 15 min reach the 1 h minimum at interval 8.
    assert.deepEqual(changes, [[8, "raised"], [13, "cleared"]]);
  });

  it("computes the loss exactly for any consumption pattern", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 5000 }), (use, tap) => {
        const m = new BalanceMonitor({ ...config, minBalanceWh: 0 });
        const r = interval(m, 900, use, tap);
        const total = use.reduce((a, b) => a + b, 0) + tap;
        assert.equal(r.balance!.lossWh, tap);
        assert.equal(r.balance!.judged, total > 0);
        if (total > 0) assert.equal(r.balance!.lossPercent, (tap * 100) / total);
      }),
    );
  });

  it("does not judge an interval in which a consumer did not report", () => {
    const m = new BalanceMonitor(config);
    m.add(1, 900, 300, Q);
    m.add(2, 900, 300, Q);
    m.add(100, 900, 1000, Q); // consumer 3 missing: 400 Wh unexplained, but not judged
    const next = m.add(1, 1800, 300, Q);
    assert.equal(next.balance!.judged, false);
    assert.equal(m.alarm, false);
  });

  it("ignores meters outside the group and stale intervals", () => {
    const m = new BalanceMonitor(config);
    assert.deepEqual(m.add(55, 900, 1, Q), { change: undefined });
    m.add(1, 1800, 1, Q);
    assert.deepEqual(m.add(2, 900, 1, Q), { change: undefined });
  });
});
