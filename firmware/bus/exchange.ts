/**
 * The contract between the bus master's engine (queue, line, timers, retries, statistics) and one kind
 * of exchange (a mode D readout, a mode C programming session). The engine owns timing and the line;
 * an exchange only decides what to send next and when an attempt has succeeded or failed.
 */
import type { SerialFrame } from "../../hal/serial.js";
import type { DataSet } from "../d0/data-set.js";
import type { D0Message } from "../d0/decoder.js";
import type { D0Error } from "../d0/errors.js";
import type { Failure, Timing } from "./types.js";

export interface ExchangePort {
  readonly timing: Timing;
  /** Clears the decoder: the next byte received is offset 0. */
  resetDecoder(): void;
  /** Sends at `baud` (7E1 unless `frame` says otherwise); `then` runs once the bytes have left the line (a collision fails the attempt instead). */
  send(bytes: Uint8Array, baud: number, then: () => void, frame?: SerialFrame): void;
  /** Expects an answer, at `baud` when given (mode C switch): the first-character timeout starts now. */
  listen(baud?: number): void;
  /** Runs `fn` after `ms` with the line quiet (a reaction time). */
  wait(ms: number, fn: () => void): void;
  /** The attempt failed: the engine waits for the line to fall silent, calls `abort`, then retries if `retry` and attempts remain. */
  fail(failure: Failure, retry: boolean): void;
  /** The transaction succeeded with `result` (the engine adds attempts and costs). */
  succeed(result: unknown): void;
  /**
   * The exchange is busy elsewhere (an answer being deciphered): no answer time-out runs until its next
   * `send` or `listen`, but the attempt fails if that takes longer than the first-character time-out.
   * Offered by the bus master, which runs the long exchanges that need it.
   */
  hold?(): void;
}

export interface Exchange {
  /** Starts an attempt (the first, or a retry). */
  start(): void;
  /** Raw answer bytes, for an exchange in another framing than D0: when present, the engine gives it every byte and no D0 decoder runs. */
  data?(bytes: Uint8Array): void;
  /** A complete message; for a block, the data sets it delivered. */
  message(m: D0Message, dataSets: DataSet[]): void;
  error(e: D0Error): void;
  /** After a failed attempt, before the next one: leave the meter in its initial state (e.g. B0), then `then()`. */
  abort(then: () => void): void;
  /** The meter's tr lower limit, ms, once known. */
  readonly reactionMs: number;
  /**
   * The answer's first or next character did not come in time. An exchange that recovers by itself
   * (sends its last frame again) returns true; otherwise, or without this method, the attempt fails.
   * An exchange with this method is not failed when the echo of its frame differs (a collision or
   * noise): the garbled frame goes unanswered and the time-out sends it again.
   */
  timeout?(): boolean;
}

/** The failure an answer's decode error stands for. */
export function failureOf(e: D0Error): Failure {
  const code = e.code === "parity" ? "parity" : e.code === "bcc-mismatch" ? "bad-bcc" : "malformed";
  return { code, detail: `${e.code} at ${e.offset}` };
}
