/**
 * DLMS UA 1000-1 table 25 (DLMS Blue Book, IC 70), and its control modes,
 * written out as data: the specification the IC 70 tests hold the firmware to (the unit test of the
 * pure transitions and the scenario with relays on simulated modules).
 */
import { ControlState, type ControlMode, type Trigger } from "../../firmware/latch/disconnect-control.js";

const { disconnected: D, connected: C, readyForReconnection: R } = ControlState;

export const TRANSITIONS: Record<string, [from: ControlState, trigger: Trigger, to: ControlState]> = {
  a: [D, "remoteReconnect", C],
  b: [C, "remoteDisconnect", D],
  c: [R, "remoteDisconnect", D],
  d: [D, "remoteReconnect", R],
  e: [R, "manualReconnect", C],
  f: [C, "manualDisconnect", R],
  g: [C, "localDisconnect", R],
  h: [R, "localReconnect", C],
};

export const MODES: Record<ControlMode, string[]> = {
  0: [],
  1: ["b", "c", "f", "g", "d", "e"],
  2: ["b", "c", "f", "g", "a", "e"],
  3: ["b", "c", "g", "d", "e"],
  4: ["b", "c", "g", "a", "e"],
  5: ["b", "c", "f", "g", "d", "e", "h"],
  6: ["b", "c", "g", "d", "e", "h"],
};

export const TRIGGERS: Trigger[] = ["remoteDisconnect", "remoteReconnect", "manualDisconnect", "manualReconnect", "localDisconnect", "localReconnect"];

export const ALL_MODES: ControlMode[] = [0, 1, 2, 3, 4, 5, 6];

/** The state `trigger` leads to from `from` in `mode`, and its letter; undefined when the mode refuses it. */
export function expectedTransition(mode: ControlMode, from: ControlState, trigger: Trigger): { letter: string; to: ControlState } | undefined {
  const letter = MODES[mode].find((l) => TRANSITIONS[l]![0] === from && TRANSITIONS[l]![1] === trigger);
  return letter === undefined ? undefined : { letter, to: TRANSITIONS[letter]![2] };
}
