/**
 * What the D0 decoder reports when input is malformed. Errors are values, never thrown: each carries a
 * stable `code` (callers branch on it) and the byte `offset` where the problem was seen.
 */
export type D0ErrorCode =
  /** Bytes outside any message were skipped (one error per run, at its first byte). */
  | "garbage"
  /** A character arrived with wrong 7E1 parity (hal/serial-7e1.ts marks it with bit 7). */
  | "parity"
  /** A byte that may not appear here: a control character inside a message, or an 8-bit byte on a 7-bit line. */
  | "bad-character"
  /** A request `/?address!` that breaks §6.3.1 (address characters, length ≤ 32, missing CR LF). */
  | "bad-request"
  /** An identification that breaks §6.3.2 (manufacturer, baud character, `\W` escape, length ≤ 16). */
  | "bad-identification"
  /** An ACK/option select `ACK V Z Y CR LF` that breaks §6.3.3. */
  | "bad-option-select"
  /** A programming command header `SOH C D` that breaks §6.3.7 (command letter, type digit, framing). */
  | "bad-command"
  /** A data set that breaks §6.5: stray parenthesis, address with no value, unterminated value group. */
  | "bad-data-set"
  /** An address longer than 16 characters (§6.5). */
  | "address-too-long"
  /** A value longer than 128 characters (§6.5, the programming-mode limit, accepted everywhere). */
  | "value-too-long"
  /** A unit longer than 16 characters, or a `*` with no unit after it (§6.5: "* is omitted when there is no unit"). */
  | "bad-unit"
  /** A value that carries a unit but is not a decimal number. */
  | "value-not-numeric"
  /** More value groups in one data set than the decoder keeps (64). */
  | "too-many-values"
  /** The block check character does not match (§6.2). */
  | "bcc-mismatch"
  /** A message was cut off: a new message started, or the input ended, before it was complete. */
  | "truncated";

export interface D0Error {
  readonly code: D0ErrorCode;
  /** Offset of the byte where the error was seen, counted from the decoder's start (or last reset). */
  readonly offset: number;
}
