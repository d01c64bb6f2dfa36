/**
 * Which events are alarms (sent at once, drained first) and how each is debounced. The types are the
 * stable numbers of firmware/model/records.ts; this table is policy, kept in one place.
 */
import { EventType } from "../model/records.js";
import { frozen } from "../model/frozen.js";

export interface EventPolicy {
  /** Sent immediately and drained before readings and ordinary events. */
  alarm: boolean;
  /** A condition must hold this long before it is raised, ms (0: raise on first sight). */
  debounceMs: number;
  /** After a raise, a repeat of the same event for the same subject within this time is counted, not raised. */
  holdOffMs: number;
}

const MINUTE = 60_000;

const POLICY: Record<EventType, EventPolicy> = frozen({
  [EventType.tamper]: { alarm: true, debounceMs: 0, holdOffMs: 15 * MINUTE },
  [EventType.terminalCover]: { alarm: true, debounceMs: 0, holdOffMs: 15 * MINUTE },
  [EventType.door]: { alarm: true, debounceMs: 2_000, holdOffMs: 5 * MINUTE },
  [EventType.magneticField]: { alarm: true, debounceMs: 0, holdOffMs: 15 * MINUTE },
  [EventType.powerFail]: { alarm: true, debounceMs: 0, holdOffMs: 0 },
  [EventType.powerRestore]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  // Voltage excursions shorter than a minute are flicker, not an out-of-band supply (EN 50160 uses 10-min means).
  [EventType.voltageOutOfBand]: { alarm: false, debounceMs: MINUTE, holdOffMs: 15 * MINUTE },
  [EventType.commLoss]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.commRestore]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.batteryLow]: { alarm: true, debounceMs: 10_000, holdOffMs: 60 * MINUTE },
  [EventType.passwordGuessing]: { alarm: true, debounceMs: 0, holdOffMs: 15 * MINUTE },
  [EventType.relayMismatch]: { alarm: true, debounceMs: 0, holdOffMs: 0 },
  [EventType.latchChange]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.configChange]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.firmware]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.balanceAlarm]: { alarm: true, debounceMs: 0, holdOffMs: 0 },
  [EventType.moduleNew]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.moduleMissing]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.moduleReplaced]: { alarm: true, debounceMs: 0, holdOffMs: 0 },
  [EventType.moduleMoved]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.clockSet]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.storageEviction]: { alarm: true, debounceMs: 0, holdOffMs: 60 * MINUTE },
  [EventType.storageQuarantine]: { alarm: true, debounceMs: 0, holdOffMs: 0 },
  [EventType.otaDownload]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.otaVerified]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.otaSwitched]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.otaConfirmed]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  // A rollback means the fleet's new image failed on this unit: the operator must know at once.
  [EventType.otaRolledBack]: { alarm: true, debounceMs: 0, holdOffMs: 0 },
  [EventType.otaRejected]: { alarm: false, debounceMs: 0, holdOffMs: 0 },
  [EventType.meterSecurity]: { alarm: true, debounceMs: 0, holdOffMs: 60 * MINUTE },
});

export function policyOf(type: EventType): EventPolicy {
  return POLICY[type];
}
