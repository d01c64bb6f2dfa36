/**
 * Disconnect control in the model of DLMS/COSEM interface class 70 (IEC 62056-6-2 §4.5.8;
 * DLMS Blue Book, IC 70): three control states, seven control modes, and the transitions each
 * mode allows. Pure logic: no I/O, no time. The latch manager persists the result and drives the relay.
 */

/** control_state (attribute 3). */
export const ControlState = Object.freeze({
  disconnected: 0,
  connected: 1,
  readyForReconnection: 2,
} as const);
export type ControlState = (typeof ControlState)[keyof typeof ControlState];

/** control_mode (attribute 4), 0..6. */
export type ControlMode = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/**
 * Triggers, named by the transition letters of DLMS UA 1000-1 table 25 where one trigger has one
 * transition, and by their source otherwise (remote_disconnect is b or c depending on the state).
 */
export type Trigger =
  | "remoteDisconnect" // b: connected → disconnected; c: ready → disconnected
  | "remoteReconnect" // a: disconnected → connected (modes 2, 4); d: disconnected → ready (1, 3, 5, 6)
  | "manualDisconnect" // f: connected → ready
  | "manualReconnect" // e: ready → connected
  | "localDisconnect" // g: connected → ready (limiter, prepayment)
  | "localReconnect"; // h: ready → connected (modes 5, 6)

/** Transition letters each control mode enables (DLMS Blue Book, IC 70 control_mode, letters as in the SP library). */
const MODE_LETTERS: Record<ControlMode, string> = Object.freeze({
  0: "",
  1: "bcfgde",
  2: "bcfgae",
  3: "bcgde",
  4: "bcgae",
  5: "bcfgdeh",
  6: "bcgdeh",
});

export interface Transition {
  /** The transition letter that applies, or undefined when the trigger does nothing. */
  readonly letter: "a" | "b" | "c" | "d" | "e" | "f" | "g" | "h" | undefined;
  readonly from: ControlState;
  readonly to: ControlState;
  /** False when the mode forbids the transition or the trigger does not apply in this state. */
  readonly allowed: boolean;
}

/** Which letter a trigger would take from `state` in `mode`, before asking whether the mode allows it. */
function letterFor(trigger: Trigger, state: ControlState, mode: ControlMode): Transition["letter"] {
  const S = ControlState;
  switch (trigger) {
    case "remoteDisconnect":
      return state === S.connected ? "b" : state === S.readyForReconnection ? "c" : undefined;
    case "remoteReconnect":
      if (state !== S.disconnected) return undefined;
      return mode === 2 || mode === 4 ? "a" : "d";
    case "manualDisconnect":
      return state === S.connected ? "f" : undefined;
    case "localDisconnect":
      return state === S.connected ? "g" : undefined;
    case "manualReconnect":
      return state === S.readyForReconnection ? "e" : undefined;
    case "localReconnect":
      return state === S.readyForReconnection ? "h" : undefined;
  }
}

const TARGET: Record<NonNullable<Transition["letter"]>, ControlState> = Object.freeze({
  a: ControlState.connected,
  b: ControlState.disconnected,
  c: ControlState.disconnected,
  d: ControlState.readyForReconnection,
  e: ControlState.connected,
  f: ControlState.readyForReconnection,
  g: ControlState.readyForReconnection,
  h: ControlState.connected,
});

/** The outcome of `trigger` in `state` under `mode`. Mode 0 keeps the consumer connected whatever happens. */
export function transition(state: ControlState, mode: ControlMode, trigger: Trigger): Transition {
  const letter = letterFor(trigger, state, mode);
  const allowed = letter !== undefined && MODE_LETTERS[mode].includes(letter);
  return { letter, from: state, to: allowed ? TARGET[letter!] : state, allowed };
}

/** output_state (attribute 2): the relay is closed (consumer supplied) only in the connected state. */
export function outputState(state: ControlState): boolean {
  return state === ControlState.connected;
}

export function isControlMode(v: unknown): v is ControlMode {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 6;
}
