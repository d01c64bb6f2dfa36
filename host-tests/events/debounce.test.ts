import assert from "node:assert/strict";
import { EventDebouncer } from "../../firmware/events/debounce.js";
import { policyOf } from "../../firmware/events/catalogue.js";
import { EventType } from "../../firmware/model/records.js";

describe("event debounce", () => {
  it("raises a door opening only after it has stayed open for the debounce time", () => {
    const d = new EventDebouncer();
    const wait = policyOf(EventType.door).debounceMs;
    assert.equal(d.observe(EventType.door, 7, true, 0).raise, false);
    assert.equal(d.observe(EventType.door, 7, true, wait - 1).raise, false);
    assert.equal(d.observe(EventType.door, 7, true, wait).raise, true);
    assert.equal(d.observe(EventType.door, 7, true, wait + 5).raise, false, "raised once per assertion");
  });

  it("ignores a bounce shorter than the debounce time", () => {
    const d = new EventDebouncer();
    d.observe(EventType.door, 7, true, 0);
    d.observe(EventType.door, 7, false, 500);
    assert.equal(d.observe(EventType.door, 7, true, 1000).raise, false);
    assert.equal(d.observe(EventType.door, 7, true, 2500).raise, false, "the debounce restarts with the new run");
  });

  it("turns a chattering tamper contact into one alarm and a count of what was held off", () => {
    const d = new EventDebouncer();
    const holdOff = policyOf(EventType.tamper).holdOffMs;
    let raised = 0;
    for (let t = 0; t < holdOff; t += 10_000) {
      if (d.observe(EventType.tamper, 3, true, t).raise) raised++;
      d.observe(EventType.tamper, 3, false, t + 5_000);
    }
    assert.equal(raised, 1);
    const after = d.observe(EventType.tamper, 3, true, holdOff + 1);
    assert.deepEqual(after, { raise: true, suppressedBefore: Math.ceil(holdOff / 10_000) - 1 });
  });

  it("keeps subjects apart", () => {
    const d = new EventDebouncer();
    assert.equal(d.pulse(EventType.passwordGuessing, 1, 0).raise, true);
    assert.equal(d.pulse(EventType.passwordGuessing, 2, 0).raise, true);
    assert.equal(d.pulse(EventType.passwordGuessing, 1, 1).raise, false);
  });

  it("raises every relay mismatch (no hold-off) and forgets entries that have expired", () => {
    const d = new EventDebouncer(4);
    for (let i = 0; i < 10; i++) assert.equal(d.pulse(EventType.relayMismatch, 9, i).raise, true);
    assert.equal(d.untracked, 0);
  });

  it("raises conditions it cannot track when its table is full, rather than losing them", () => {
    const d = new EventDebouncer(2);
    d.observe(EventType.tamper, 1, true, 0);
    d.observe(EventType.tamper, 2, true, 0);
    assert.deepEqual(d.observe(EventType.tamper, 3, true, 0), { raise: true, suppressedBefore: 0 });
    assert.equal(d.untracked, 1);
  });
});
