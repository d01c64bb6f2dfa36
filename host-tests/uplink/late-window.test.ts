/**
 * The concentrator's late window (firmware/uplink/late-window.ts, channel.ts `lateWindow`): downlink
 * messages that overtook one another are each accepted once; a replay never; a restart closes it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey, peekHeader } from "../../firmware/uplink/envelope.js";
import { LateWindow } from "../../firmware/uplink/late-window.js";
import { DOWNLINK_LATE_WINDOW } from "../../firmware/uplink/uplink.js";
import { MemoryHeadendStore } from "../../tools/headend/memory-store.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";
import { keyPairOf } from "../../tools/sim/keys.js";

const ID = 17;
const he = keyPairOf("late-headend");
const unit = keyPairOf("late-unit");

/** The rule as a model: not accepted before, and above the `size`-th highest of what was accepted (and the floor). */
function model(size: number, floor: number) {
  const accepted: number[] = [];
  return (counter: number): boolean => {
    const top = [floor, ...accepted].sort((a, b) => b - a).slice(0, size);
    if (accepted.includes(counter) || counter <= top[top.length - 1]!) return false;
    accepted.push(counter);
    return true;
  };
}

describe("uplink: the concentrator's late window", () => {
  it("accepts each counter once in any order and with any repeats, as the model does", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.nat({ max: 50 }),
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 200 }),
        (size, floor, counters) => {
          const w = new LateWindow(size, floor);
          const m = model(size, floor);
          for (const c of counters) {
            const fresh = w.fresh(c);
            assert.equal(fresh, m(c), `counter ${c}`);
            if (fresh) w.record(c);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("in the channel: a message overtaken by later ones (counters far apart, as the head-end's clock makes them) is accepted once; a replay, one too old, and after a restart anything not above the persisted counter are refused", () => {
    const headend = new SecureChannel({ sharedKey: deriveSharedKey(he.secretKey, unit.publicKey), concentratorId: ID, role: "headend", counters: new MemoryCounters(), reserveBlock: 1, counterFloor: (() => { let t = 1_800_000_000_000; return () => (t += 1_000); })() });
    const sealed = Array.from({ length: DOWNLINK_LATE_WINDOW + 3 }, (_, i) => headend.seal(new Uint8Array([i])));
    const counters = new MemoryCounters();
    const open = () => new SecureChannel({ sharedKey: deriveSharedKey(unit.secretKey, he.publicKey), concentratorId: ID, role: "concentrator", counters, lateWindow: DOWNLINK_LATE_WINDOW });
    const rx = open();
    assert.ok(rx.open(sealed[1]!));
    assert.ok(rx.open(sealed[0]!), "overtaken by one");
    assert.equal(rx.open(sealed[0]!), undefined, "a replay");
    assert.equal(counters.lastAccepted, peekHeader(sealed[1]!)!.counter, "the highest persisted");
    for (let i = 3; i < sealed.length; i++) assert.ok(rx.open(sealed[i]!));
    assert.equal(rx.open(sealed[2]!), undefined, `overtaken by more than ${DOWNLINK_LATE_WINDOW - 1}`);
    const writes = counters.writes;
    const again = open(); // a reboot
    assert.equal(again.open(sealed[2]!), undefined);
    assert.equal(again.open(sealed[sealed.length - 2]!), undefined);
    assert.equal(counters.writes, writes, "nothing written for refused messages");
    assert.throws(() => new SecureChannel({ sharedKey: new Uint8Array(32), concentratorId: ID, role: "concentrator", counters: new MemoryHeadendStore().counters(ID), lateWindow: 4, replayWindow: 4 }), TypeError);
  });
});
