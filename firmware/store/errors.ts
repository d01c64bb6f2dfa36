/**
 * Errors the store throws. The class (and its `code`) is the category; the message names the field
 * or the condition in two or three words. Nothing is written when one of these is thrown.
 */
export type StoreErrorCode = "invalid-record" | "invalid-key" | "full" | "io" | "corrupt";

/** A reading, event or state value out of range or of the wrong type: nothing was written. */
export class InvalidRecordError extends RangeError {
  readonly code = "invalid-record";
  override name = "InvalidRecordError";
}

/** A state key outside the journal's key space, or the same key twice in one atomic write. */
export class InvalidKeyError extends RangeError {
  readonly code = "invalid-key";
  override name = "InvalidKeyError";
}

/**
 * No room can be made without breaking a rule: the log's spare sectors are worn out, or the state
 * journal's live values would no longer fit with the spare sectors it needs to collect garbage.
 */
export class StoreFullError extends Error {
  readonly code = "full";
  override name = "StoreFullError";
}

/** Programs or erases kept failing their read-back check on every sector tried. */
export class StoreIoError extends Error {
  readonly code = "io";
  override name = "StoreIoError";
}

/** A state value whose record no longer passes its CRC (bit rot since boot). */
export class CorruptStateError extends Error {
  readonly code = "corrupt";
  override name = "CorruptStateError";
}
