import assert from "node:assert/strict";
import fc from "fast-check";
import { billingDay, inWindow, minuteOfDay, slotOf, slotStart, validateSchedule, INTERVALS_MIN } from "../../firmware/poll/schedule.js";

describe("group schedules", () => {
  it("aligns slots to the hour for every interval that divides it", () => {
    fc.assert(
      fc.property(fc.constantFrom(...INTERVALS_MIN), fc.integer({ min: 0, max: 2e9 }), fc.integer({ min: -720, max: 840 }), (interval, t, offset) => {
        const slot = slotOf(t, interval, offset);
        const start = slotStart(slot, interval, offset);
        assert.ok(start <= t && t < start + interval * 60);
        assert.equal(Math.abs(((start + offset * 60) % 3600) % (interval * 60)), 0);
      }),
    );
  });

  it("keeps readings inside a window, also one that wraps midnight", () => {
    const g = { id: 1, modules: [], intervalMin: 15, window: { fromMin: 22 * 60, toMin: 6 * 60 } };
    assert.equal(inWindow(g, 23 * 3600), true);
    assert.equal(inWindow(g, 5 * 3600 + 3599), true);
    assert.equal(inWindow(g, 6 * 3600), false);
    assert.equal(inWindow(g, 12 * 3600, 60), false);
  });

  it("starts a new billing day at the billing minute of local time", () => {
    const g = { id: 1, modules: [], intervalMin: 15, billingAtMin: 0 };
    assert.equal(billingDay(g, 86_400 - 1), 0);
    assert.equal(billingDay(g, 86_400), 1);
    assert.equal(billingDay(g, 86_400 - 3600, 60), 1, "UTC+1: local midnight is 23:00 UTC");
    assert.equal(minuteOfDay(90, 0), 1);
  });

  it("refuses intervals that do not divide the hour and minutes outside the day", () => {
    assert.throws(() => validateSchedule({ id: 1, modules: [], intervalMin: 7 }), RangeError);
    assert.throws(() => validateSchedule({ id: 1, modules: [], intervalMin: 15, billingAtMin: 1440 }), RangeError);
  });
});
