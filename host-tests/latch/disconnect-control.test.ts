import assert from "node:assert/strict";
import { ControlState, outputState, transition, type ControlMode } from "../../firmware/latch/disconnect-control.js";
import { ALL_MODES, expectedTransition, MODES, TRIGGERS } from "../lib/ic70-spec.js";

const { disconnected: D, connected: C, readyForReconnection: R } = ControlState;

describe("IC 70 disconnect control", () => {
  for (const m of ALL_MODES) {
    it(`mode ${m} allows exactly the transitions ${MODES[m].join("") || "(none)"} and refuses everything else`, () => {
      for (const from of [D, C, R]) {
        for (const trigger of TRIGGERS) {
          const t = transition(from, m, trigger);
          const expected = expectedTransition(m, from, trigger);
          if (expected) {
            assert.equal(t.allowed, true, `${trigger} from ${from}`);
            assert.equal(t.letter, expected.letter, `${trigger} from ${from}`);
            assert.equal(t.to, expected.to, `${trigger} from ${from}`);
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
