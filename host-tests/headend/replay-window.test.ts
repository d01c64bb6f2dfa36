/**
 * The head-end's replay window (firmware/uplink/channel.ts `replayWindow`): several workers share one
 * concentrator's counters, take its messages in any order, and each message is accepted exactly once
 * unless it is older than the window.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { REPLAY_WINDOW_MAX, SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import type { CounterStore } from "../../firmware/uplink/ports.js";
import { MemoryHeadendStore } from "../../tools/headend/memory-store.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";
import { keyPairOf } from "../../tools/sim/keys.js";

const ID = 17;
const he = keyPairOf("window-headend");
const unit = keyPairOf("window-unit");
const headendKey = deriveSharedKey(he.secretKey, unit.publicKey);
const unitKey = deriveSharedKey(unit.secretKey, he.publicKey);

/** `n` envelopes sealed by the concentrator, counter i + 1 carrying body [i]. */
function sealed(n: number): Uint8Array[] {
  const tx = new SecureChannel({ sharedKey: unitKey, concentratorId: ID, role: "concentrator", counters: new MemoryCounters(), reserveBlock: 1 });
  return Array.from({ length: n }, (_, i) => tx.seal(new Uint8Array([i])));
}

function receiver(counters: CounterStore, window: number): SecureChannel {
  return new SecureChannel({ sharedKey: headendKey, concentratorId: ID, role: "headend", counters, reserveBlock: 1, replayWindow: window });
}

/** What the window rule accepts, message by message: not seen before and at most `window` below the highest accepted. */
function expected(order: readonly number[], window: number): boolean[] {
  const seen = new Set<number>();
  let highest = 0;
  return order.map((i) => {
    const counter = i + 1;
    if (seen.has(counter) || counter < highest - window) return false;
    seen.add(counter);
    highest = Math.max(highest, counter);
    return true;
  });
}

describe("head-end: the replay window across workers", () => {
  it("accepts every message once in any order and with any repeats, whichever worker takes it, and rejects what is older than the window", () => {
    const envelopes = sealed(80);
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 79 }), { minLength: 1, maxLength: 200 }),
        fc.array(fc.nat({ max: 2 }), { minLength: 200, maxLength: 200 }),
        fc.integer({ min: 1, max: REPLAY_WINDOW_MAX }),
        (order, workerOf, window) => {
          // Three workers, each with its own channel object, on the counters of one database.
          const store = new MemoryHeadendStore();
          const workers = [0, 1, 2].map(() => receiver(store.counters(ID), window));
          const got = order.map((i, k) => {
            const body = workers[workerOf[k]!]!.open(envelopes[i]!);
            if (body) assert.equal(body[0], i);
            return body !== undefined;
          });
          assert.deepEqual(got, expected(order, window));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps the window in the store: a worker started later rejects what another accepted, and takes the late message the other has not seen", () => {
    const [m1, m2, m3] = sealed(3);
    const store = new MemoryHeadendStore();
    const first = receiver(store.counters(ID), REPLAY_WINDOW_MAX);
    assert.ok(first.open(m3!)); // arrives first
    assert.ok(first.open(m1!)); // late but fresh
    const second = receiver(store.counters(ID), REPLAY_WINDOW_MAX);
    assert.equal(second.open(m1!), undefined); // a replay of what the first worker took
    assert.equal(second.open(m3!), undefined);
    assert.ok(second.open(m2!)); // late, fresh, once
    assert.equal(first.open(m2!), undefined);
    assert.equal(first.counters.replayed + second.counters.replayed, 3);
  });

  it("is strict without a window (the concentrator's rule): a late message is a replay", () => {
    const [m1, m2] = sealed(2);
    const rx = new SecureChannel({ sharedKey: headendKey, concentratorId: ID, role: "headend", counters: new MemoryCounters(), reserveBlock: 1 });
    assert.ok(rx.open(m2!));
    assert.equal(rx.open(m1!), undefined);
    assert.throws(() => receiver(new MemoryCounters(), 4), TypeError); // a window needs a store that keeps it
    assert.throws(() => receiver(new MemoryHeadendStore().counters(ID), REPLAY_WINDOW_MAX + 1), RangeError);
  });
});
