/**
 * Who owns which keys of the state journal. Like a partition table: once devices are in the field a
 * range may grow only into unused keys, never move. The journal is opened with `STATE_KEY_COUNT` keys.
 */
import { frozen } from "../model/frozen.js";

export const StateLayout = frozen({
  /** Two keys per MonotonicCounter / HighWaterMark: 0-1 uplink message counter out, 2-3 highest counter in, 4 + 2g the last billing day of schedule group g. */
  counters: { base: 0, count: 32 },
  /** Configuration values, one key per parameter (ConfigSchema `key`). */
  config: { base: 32, count: 160 },
  /** The configuration audit trail: AUDIT_ENTRIES entries and the forwarded mark (config.ts). */
  audit: { base: 192, count: 64 },
  /** Module topology, in chunks of up to 224 bytes. */
  topology: { base: 256, count: 128 },
  /** OTA state (slot, version, anti-rollback counter). */
  ota: { base: 384, count: 16 },
  /** Acknowledgement maps of worn log sectors (RecordLogOptions.retired). */
  retiredLogSectors: { base: 400, count: 16 },
  /** One disconnect latch record per consumer. */
  latches: { base: 512, count: 1024 },
  /** One record per module of the topology (firmware/app/persistence.ts); `topology` keeps its counters. */
  modules: { base: 1536, count: 512 },
  /** Per module, the last entry of its own event log already taken (firmware/poll/module-log.ts). */
  moduleLogMarks: { base: 2048, count: 512 },
  /** One record per DLMS meter: its id, and the capture times of the last profile entry and log entries taken (firmware/dlms/integration). */
  dlmsMeters: { base: 2560, count: 64 },
  /** Per DLMS meter record i: the client's invocation counter (keys 4i, 4i+1) and the meter's highest accepted (4i+2, 4i+3). */
  dlmsCounters: { base: 2624, count: 256 },
  /** The profile catch-up (firmware/app/backfill-store.ts): keys 0-1 the last slot accounted, 2-3 the commissioning slot, then one record per meter with its missing slots. */
  backfill: { base: 2880, count: 520 },
} as const);

export const STATE_KEY_COUNT = 3400;
