/**
 * What the bus master is asked to do and what it answers: typed transactions, each completing through
 * its callback with a typed result or a typed failure. Timing is per transaction (or per route), so a
 * PLC/radio bridge transport can reuse the same exchanges with its own, far longer, timeouts.
 */
import type { DataSet } from "../d0/data-set.js";
import type { DataSetText } from "../d0/encoder.js";
import type { Identification } from "../d0/identification.js";

export interface Timing {
  /** The answer's first character must arrive within this after the request has left, ms. Default 1600: tr ≤ 1500 ms (STD §6.4.1.5) plus the UART's delivery after 4 idle characters. */
  firstCharTimeoutMs: number;
  /** Longest silence inside an answer, ms. Default 1500 (ta, STD §6.4.1.5). */
  interCharTimeoutMs: number;
  /** Further attempts after the first one fails. Default 2. */
  retries: number;
  /** Wait before retry n: backoffMs × 2^(n−1), ms. Default 20. */
  backoffMs: number;
  /** Silence that ends a garbled answer, in character times: the line is free again. Default 10. */
  resyncIdleChars: number;
  /** Highest rate for a mode C session, Bd. Default 9600. */
  maxBaud: number;
}

export const DEFAULT_TIMING: Timing = Object.freeze({
  firstCharTimeoutMs: 1600,
  interCharTimeoutMs: 1500,
  retries: 2,
  backoffMs: 20,
  resyncIdleChars: 10,
  maxBaud: 9600,
});

/**
 * `base` with `overrides`' fields: `base` itself when there are none, so a bus, a bridge or a
 * transaction that keeps the defaults holds no copy of them (an object of 7 slots in XS).
 */
export function withOverrides<T extends object>(base: T, overrides: Partial<T> | undefined): T {
  return overrides === undefined ? base : { ...base, ...overrides };
}

export type FailureCode =
  /** No answer, or an answer that stopped (first-character or inter-character timeout). */
  | "timeout"
  /** A character with wrong parity. */
  | "parity"
  /** A block check character that does not match. */
  | "bad-bcc"
  /** An answer that breaks the protocol (bad structure, cut off, unexpected message). */
  | "malformed"
  /** Our own echo differed from what we sent: another driver was on the line. */
  | "collision"
  /** The readout's device address (0.0.0) is not the one asked for. */
  | "wrong-address"
  /** The meter kept answering NAK. */
  | "nak"
  /** The password was refused. */
  | "password-refused"
  /** The meter refuses passwords for now (too many wrong ones). */
  | "locked-out"
  /** Removed from the queue by its owner. */
  | "cancelled"
  /** The bus master was closed. */
  | "closed"
  /** Through a bridge: no route it was asked to use reached the remote module (firmware/bridge, docs/bridge.md). */
  | "unreachable"
  /** Through a bridge: the bridge did not answer on the bus, refused the relay, or lost it (docs/bridge.md). */
  | "bridge"
  /** DLMS: the HDLC link was refused or broken (DM, FRMR, a protocol violation). */
  | "link"
  /** DLMS: the meter refused the association (wrong password or keys, unsupported context), or HLS failed. */
  | "association-refused"
  /** DLMS: an answer failed authentication (GCM tag) or came with a used invocation counter: dropped. */
  | "security"
  /** DLMS: the meter answered a request with an error (exception response, confirmed service error). */
  | "service-error";

export interface Failure {
  readonly code: FailureCode;
  /** Offset in the answer, or the meter's error text, when there is one. */
  readonly detail?: string;
}

/** The bytes of the successful attempt: what the lower bound of a poll cycle is made of. */
export interface WireCost {
  readonly sentBytes: number;
  readonly receivedBytes: number;
  readonly baud: number;
  /** The meter's tr lower limit, ms (20 or 200, from its identification). */
  readonly reactionMs: number;
  /**
   * The shortest the successful attempt could have taken, ms: on a bus the wire time of its characters
   * (10 bits each at `baud`) plus tr (STD §6.4.1.5); through a bridge the air time of the relayed bytes
   * as well (docs/bridge.md). A poll cycle's lower bound is the sum of these.
   */
  readonly lowerBoundMs: number;
}

export interface Readout {
  readonly identification: Identification;
  readonly dataSets: DataSet[];
}

export type ReadoutResult =
  | { readonly ok: true; readonly readout: Readout; readonly attempts: number; readonly responseMs: number; readonly wire: WireCost }
  | { readonly ok: false; readonly failure: Failure; readonly attempts: number };

/** A programming command: W (write), R (read), E (execute) with its type digit. R3/R4 read partial blocks. */
export interface SessionCommand {
  readonly letter: "W" | "R" | "E";
  readonly type: string;
  readonly dataSet: DataSetText;
}

export type CommandResult =
  | { readonly ok: true; readonly dataSets: DataSet[] }
  /** The meter could not execute it (error message, Annex A), or kept answering NAK. */
  | { readonly ok: false; readonly code: "error-message" | "nak"; readonly text?: string };

export type SessionResult =
  | { readonly ok: true; readonly identification: Identification; readonly operand: string; readonly results: CommandResult[]; readonly attempts: number }
  | { readonly ok: false; readonly failure: Failure; readonly attempts: number };

interface TransactionBase {
  /** Device address of the request (§6.3.14 item 22). */
  readonly address: string;
  /** Higher runs first; same priority in arrival order. Default 0. */
  readonly priority?: number;
  readonly timing?: Partial<Timing>;
}

/** A mode D readout: an addressed request at 2400 Bd, answered by `/XXX3 ident CR LF CR LF data ! CR LF`. */
export interface ReadoutTransaction extends TransactionBase {
  readonly kind: "readout";
  onDone(result: ReadoutResult): void;
}

/** A mode C programming session: sign-on at 300 Bd, option select Y=1, P1 password, the commands, B0. */
export interface SessionTransaction extends TransactionBase {
  readonly kind: "session";
  readonly password: string;
  readonly commands: readonly SessionCommand[];
  onDone(result: SessionResult): void;
}

export type Transaction = ReadoutTransaction | SessionTransaction;

/**
 * A transaction whose exchange the caller supplies: a whole session in another protocol that holds the
 * bus from its first frame to its last (a DLMS association, firmware/dlms). `create` builds the exchange
 * for each attempt; its result is `value`. Queued, timed, retried and counted like the others.
 */
export interface ExchangeTransaction<T> extends TransactionBase {
  readonly kind: "exchange";
  create(port: import("./exchange.js").ExchangePort): import("./exchange.js").Exchange;
  onDone(result: FrameResult<T>): void;
}

/**
 * How a frame transaction judges its answer, byte by byte (firmware/bridge/protocol.ts has one for
 * the bridge protocol). `reset` runs before every attempt.
 */
export interface FrameAnswer<T> {
  reset(): void;
  /** Received bytes in order: undefined while the answer is incomplete, then the answer or the failure that ends the attempt. */
  push(bytes: Uint8Array): { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: Failure } | undefined;
}

/**
 * A request and its answer in a framing other than D0, 8N1 on the same bus: how the concentrator
 * talks to a PLC or radio bridge (docs/bridge.md). Queued, timed, retried and counted like the
 * module transactions; `address` is the key of its statistics.
 */
export interface FrameTransaction<T> extends TransactionBase {
  readonly kind: "frame";
  /** Bit rate of request and answer, Bd (8N1). */
  readonly baud: number;
  readonly request: Uint8Array;
  readonly answer: FrameAnswer<T>;
  onDone(result: FrameResult<T>): void;
}

export type FrameResult<T> =
  | { readonly ok: true; readonly value: T; readonly attempts: number; readonly responseMs: number }
  | { readonly ok: false; readonly failure: Failure; readonly attempts: number };

export interface ModuleStats {
  transactions: number;
  ok: number;
  failed: number;
  /** Attempts beyond the first. */
  retries: number;
  timeouts: number;
  /** Line and protocol errors seen in answers (parity, BCC, structure). */
  errors: number;
  bytesSent: number;
  bytesReceived: number;
  /** From the end of the request to the end of the answer, successful attempts, ms. */
  lastResponseMs: number;
  maxResponseMs: number;
  totalResponseMs: number;
}
