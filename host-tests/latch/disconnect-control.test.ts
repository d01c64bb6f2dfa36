import assert from "node:assert/strict";
import { ControlState, outputState, transition, type ControlMode, type Trigger } from "../../firmware/latch/disconnect-control.js";

const { disconnected: D, connected: C, readyForReconnection: R } = ControlState;

/**
 * DLMS UA 1000-1 table 25 as listed in reference/domain.md §2.2, and the modes of §2.3, written out
 * state by state: [mode, state, trigger] → expected state, or "refused".
 */
const transitions: Record<string, [from: ControlState, trigger: Trigger, to: ControlState]> = {
  a: [D, "remoteReconnect", C],
  b: [C, "remoteDisconnect", D],
  c: [R, "remoteDisconnect", D],
  d: [D, "remoteReconnect", R],
  e: [R, "manualReconnect", C],
  f: [C, "manualDisconnect", R],
  g: [C, "localDisconnect", R],
  h: [R, "localReconnect", C],
};
const modes: Record<ControlMode, string[]> = {
  0: [],
  1: ["b", "c", "f", "g", "d", "e"],
  2: ["b", "c", "f", "g", "a", "e"],
  3: ["b", "c", "g", "d", "e"],
  4: ["b", "c", "g", "a", "e"],
  5: ["b", "c", "f", "g", "d", "e", "h"],
  6: ["b", "c", "g", "d", "e", "h"],
};
const triggers: Trigger[] = ["remoteDisconnect", "remoteReconnect", "manualDisconnect", "manualReconnect", "localDisconnect", "localReconnect"];

describe("IC 70 disconnect control", () => {
  for (const m of [0, 1, 2, 3, 4, 5, 6] as ControlMode[]) {
    it(`mode ${m} allows exactly the transitions ${modes[m].join("") || "(none)"} and refuses everything else`, () => {
      for (const from of [D, C, R]) {
        for (const trigger of triggers) {
          const t = transition(from, m, trigger);
          const expected = modes[m].map((l) => transitions[l]!).find(([f, tr]) => f === from && tr === trigger);
          if (expected) {
            assert.equal(t.allowed, true, `${trigger} from ${from}`);
            assert.equal(t.to, expected[2], `${trigger} from ${from}`);
          } else {
            assert.equal(t.allowed, false, `${trigger} from ${from} must be refused`);
            assert.equal(t.to, from, `a refused ${trigger} leaves the state`);
          }
        }
      }
    });
  }

  it("sends remote_reconnect straight to connected only in modes 2 and 4, otherwise to ready-for-reconnection", () => {
    for (const m of [1, 2, 3, 4, 5, 6] as ControlMode[]) {
      assert.equal(transition(D, m, "remoteReconnect").to, m === 2 || m === 4 ? C : R);
    }
  });

  it("closes the relay only in the connected state", () => {
    assert.deepEqual([D, C, R].map(outputState), [false, true, false]);
  });
});
