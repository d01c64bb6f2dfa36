/**
 * firmware/store: power-loss-safe storage on raw NOR flash (docs/storage.md).
 *
 * - RecordLog (log partition): readings, events and audit entries until the head-end acknowledges them.
 * - StateJournal (state partition): small critical values, exactly old or new after any cut;
 *   MonotonicCounter / HighWaterMark and ConfigStore are built on it; StateLayout says who owns which keys.
 */
export { ChangeResult, ChangeSource, type AuditEntry } from "./audit.js";
export { ConfigStore, type ConfigParameter, type ConfigSchema, type ConfigStoreOptions, type ConfigValue } from "./config.js";
export { HighWaterMark, MonotonicCounter, type MonotonicCounterOptions } from "./counter.js";
export { CorruptStateError, InvalidKeyError, InvalidRecordError, StoreFullError, StoreIoError, type StoreErrorCode } from "./errors.js";
export { LogCursor, RecordLog, type LogStats, type LogUsage, type RecordLogOptions, type SeqRun } from "./log.js";
export {
  CorruptionReason,
  decodeRecord,
  RecordClass,
  RecordKind,
  type CorruptionNotice,
  type DecodedRecord,
  type EvictionNotice,
  type StoredRecord,
  type StoredResult,
} from "./record-codec.js";
export { MAX_VALUE_BYTES, StateJournal, StateRegion, type StateJournalOptions, type StateJournalStats } from "./state-journal.js";
export { STATE_KEY_COUNT, StateLayout } from "./state-layout.js";
