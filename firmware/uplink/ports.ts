/**
 * What the uplink needs from the rest of the concentrator, as small interfaces: the store's queue of
 * unacknowledged records, persistent message counters, and the command handlers. The application
 * (firmware/app) binds them to the store, the latch module and the configuration; the tests bind them
 * to small in-memory implementations.
 */
import type { MeterEvent, Reading } from "../model/records.js";
import type { LoadLimit } from "../model/load-limit.js";
import type { Command, CommandResult, ConfigChange, SwitchWindow } from "./messages.js";

/**
 * Record kinds in drain priority order: alarms first, then command results, events, daily billing
 * snapshots, interval readings. Sequence numbers increase within a kind (each is one store class).
 */
export type RecordKind = "alarm" | "result" | "event" | "billing" | "reading";
export const DRAIN_ORDER: readonly RecordKind[] = Object.freeze(["alarm", "result", "event", "billing", "reading"]);

/** Kinds whose records are readings, sent in readings messages. */
export function isReadingKind(kind: RecordKind): kind is "billing" | "reading" {
  return kind === "billing" || kind === "reading";
}

export type UplinkRecord =
  | { kind: "billing" | "reading"; seq: number; reading: Reading }
  | { kind: "event" | "alarm"; seq: number; event: MeterEvent }
  | { kind: "result"; seq: number; result: CommandResult };

/**
 * The store seen from the uplink. Sequence numbers are the store's: unique, increasing, never reused.
 *
 * Contract:
 * - `pending(kind, afterSeq, max)` returns up to `max` records of `kind` that are not acknowledged,
 *   with seq > `afterSeq`, in increasing seq order; fewer only when there are no more. Synchronous
 *   and short: it runs inside a turn, so when telling would take a long read of the store it reads a
 *   part and returns undefined ("ask again in a later turn").
 *   Several readings may share one sequence number (one stored record); they are returned together,
 *   even beyond `max`, so that a message never covers part of a record.
 *   An "alarm" is an event with `alarm: true`; "event" returns the others.
 * - `acknowledge(seqs)` marks the records as stored by the head-end; they may leave the store. Seqs
 *   that are unknown or already acknowledged are ignored (acknowledgements may repeat or overlap).
 *   Short like `pending`: the store may release them in later turns, and `pending` no longer returns
 *   them meanwhile; a reset before that returns them again (the head-end stores idempotently).
 * - `appendResult(result)` stores a command result as a record (durable when it returns), so it
 *   survives an outage like any other record; returns its seq.
 */
export interface UplinkQueue {
  pending(kind: RecordKind, afterSeq: number, max: number): UplinkRecord[] | undefined;
  acknowledge(seqs: readonly number[]): void;
  appendResult(result: CommandResult): number;
}

/**
 * The two persistent message counters of the security envelope (critical state: the value read
 * after any power cut is the old one or the new one, never lower, never absent).
 * Every `save*` is durable when it returns.
 */
export interface CounterStore {
  /** Highest send counter reserved so far (0 when never used). Sent counters are all ≤ it. */
  loadSendReserve(): number;
  saveSendReserve(value: number): void;
  /** Highest counter accepted from the peer (0 when none). */
  loadLastAccepted(): number;
  saveLastAccepted(value: number): void;
  /**
   * Only for a channel with a replay window (channel.ts `replayWindow`, the head-end's): which of
   * the counters just below the last accepted one were accepted too, bit i for last - 1 - i.
   */
  loadAcceptedBelow?(): number;
  saveAcceptedBelow?(bits: number): void;
}

/** What a command handler reports when it is done: the code and an optional detail. */
export type CommandOutcome = Omit<CommandResult, "commandId">;

/**
 * The concentrator's side of each command. Each handler is called once per authenticated, fresh
 * command, after its counter is persisted, and calls `done` exactly once (now or in a later turn).
 * Handlers validate their arguments (unknown meter → `rejected`) and never throw.
 */
export interface CommandHandlers {
  /** Reads the meters now (all their registers if `registers` is empty). */
  read(meters: readonly number[], registers: readonly number[], done: (outcome: CommandOutcome) => void): void;
  /** Opens the consumer's breaker and latches it; `done` after the latch is persisted. */
  disconnect(meter: number, done: (outcome: CommandOutcome) => void): void;
  /** Reconnection clearance into the latch module. */
  reconnect(meter: number, done: (outcome: CommandOutcome) => void): void;
  /** Applies configuration changes, writing an audit entry that names `commandId`. */
  configure(changes: readonly ConfigChange[], commandId: number, done: (outcome: CommandOutcome) => void): void;
  /** Sets the wall clock. */
  setTime(epochMs: number, done: (outcome: CommandOutcome) => void): void;
  /** Sets the consumer's disconnect control mode; `done` after it is persisted. */
  setMode(meter: number, mode: number, done: (outcome: CommandOutcome) => void): void;
  /** Sets (undefined: removes) the consumer's load limit; `done` after it is persisted. */
  setLimit(meter: number, limit: LoadLimit | undefined, done: (outcome: CommandOutcome) => void): void;
  /**
   * Takes an OTA offer (firmware/ota): `done` once its head is judged (ok: accepted or already in
   * progress; rejected with the reason). Without it the command is `unsupported`.
   */
  update?(head: Uint8Array, window: SwitchWindow | undefined, done: (outcome: CommandOutcome) => void): void;
  /** Reads a meter's load profile from `fromS` to `toS` (wall clock, s); the values in the outcome's readings. */
  profile?(meter: number, fromS: number, toS: number, done: (outcome: CommandOutcome) => void): void;
}

export type { Command };
