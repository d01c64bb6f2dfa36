/**
 * The concentrator's data vocabulary, shared by acquisition (poll), storage (store) and uplink:
 * what a reading and an event are, independent of how each layer encodes them.
 *
 * Values are integers in a fixed resolution per quantity, so they are exact (a meter's
 * "0008048.375*kWh" is 8,048,375 Wh) and compress well as deltas.
 */

/** Electrical quantities the concentrator acquires, with their integer resolution. */
export const Quantity = Object.freeze({
  /** Active energy, Wh (OBIS 1.8.x import, 2.8.x export). */
  energyWh: 1,
  /** Reactive energy, varh (OBIS 3.8.x, 4.8.x). */
  reactiveVarh: 2,
  /** Active power, W (OBIS 1.7.0, 2.7.0, 16.7.0). */
  powerW: 3,
  /** Voltage, 0.1 V (OBIS 32.7.0, 52.7.0, 72.7.0). */
  voltageDeciV: 4,
  /** Current, mA (OBIS 31.7.0, 51.7.0, 71.7.0). */
  currentMilliA: 5,
  /** Frequency, mHz (OBIS 14.7.0). */
  frequencyMilliHz: 6,
} as const);
export type Quantity = (typeof Quantity)[keyof typeof Quantity];

/**
 * A register is named by the C.D.E groups of its electricity OBIS code (A = 1, B = 0, F = 255 implied),
 * packed as C << 16 | D << 8 | E: 1.8.0 (import total) = 0x010800, 1.8.1 (import tariff 1) = 0x010801,
 * 2.8.0 (export total) = 0x020800, 32.7.0 (L1 voltage) = 0x200700.
 */
export type RegisterCode = number;

export function registerCode(c: number, d: number, e: number): RegisterCode {
  return ((c & 0xff) << 16) | ((d & 0xff) << 8) | (e & 0xff);
}

/** Active energy import, total (1.8.0): the register every meter gives, which marks its slot read. */
export const IMPORT_TOTAL: RegisterCode = registerCode(1, 8, 0);

export function registerName(code: RegisterCode): string {
  return `${(code >> 16) & 0xff}.${(code >> 8) & 0xff}.${code & 0xff}`;
}

/** Per-value status flags (load-profile status in the spirit of the DLMS profile status word). */
export const ReadingStatus = Object.freeze({
  /** A power failure occurred in the interval. */
  powerFailure: 1 << 0,
  /** The clock was adjusted in the interval. */
  clockAdjusted: 1 << 1,
  /** The value is estimated (interpolated or carried), not measured. */
  estimated: 1 << 2,
  /** The module or meter behind it was replaced in the interval. */
  moduleReplaced: 1 << 3,
  /** The value failed a plausibility check (counter went backwards, delta out of bounds): never truth. */
  implausible: 1 << 4,
  /** The meter's own clock was outside tolerance when read. */
  meterClockInvalid: 1 << 5,
  /** A value of the daily billing snapshot (read at the billing time of the meter's group). */
  billing: 1 << 6,
  /** Read back from the meter's own load profile after the interval (docs/backfill.md), not at its time. */
  backfilled: 1 << 7,
} as const);

/** One register value of one meter at one instant. */
export interface Reading {
  /** Meter number in the concentrator's topology (0..65535). */
  meter: number;
  register: RegisterCode;
  /** Acquisition or interval-end time, seconds since 1970 UTC. An attribute, never a key. */
  time: number;
  /** Integer value in the register quantity's resolution. */
  value: number;
  /** ReadingStatus bits. */
  status: number;
}

/** Event types (docs/design.md, area "events"). Stable numbers: they are stored and sent. */
export const EventType = Object.freeze({
  tamper: 1,
  terminalCover: 2,
  door: 3,
  magneticField: 4,
  powerFail: 5,
  powerRestore: 6,
  voltageOutOfBand: 7,
  commLoss: 8,
  commRestore: 9,
  batteryLow: 10,
  passwordGuessing: 11,
  relayMismatch: 12,
  latchChange: 13,
  configChange: 14,
  firmware: 15,
  balanceAlarm: 16,
  moduleNew: 17,
  moduleMissing: 18,
  moduleReplaced: 19,
  moduleMoved: 20,
  clockSet: 21,
  storageEviction: 22,
  storageQuarantine: 23,
  /** OTA (firmware/ota, docs/ota.md "Reports"): image bytes in the slot so far (0: the offer was taken). */
  otaDownload: 24,
  /** OTA: every chunk hash and the whole image's SHA-256 checked; detail: the image length. */
  otaVerified: 25,
  /** OTA: the new image is selected and the unit restarts into it; detail: its version (packed). */
  otaSwitched: 26,
  /** OTA: the new image passed its self-test and confirmed itself (detail: its version), or a key set was installed (detail: its version). */
  otaConfirmed: 27,
  /** OTA: the previous image runs again; detail: the reason (firmware/ota/format.ts OtaReason). */
  otaRolledBack: 28,
  /** OTA: an offered package was refused or abandoned; detail: the reason. */
  otaRejected: 29,
  /** A DLMS meter's answer failed authentication (detail 1), reused an invocation counter (2), or the meter refused the association (3). */
  meterSecurity: 40,
} as const);
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface MeterEvent {
  type: EventType;
  /** Meter or module the event concerns; 0xffff for the concentrator itself. */
  subject: number;
  /** Seconds since 1970 UTC, as known when raised. */
  time: number;
  /** Alarms are sent at once and drained first. */
  alarm: boolean;
  /** Type-specific detail (e.g. voltage, relay state, count). */
  detail: number;
}

/** Subject number meaning "the concentrator itself". */
export const CONCENTRATOR = 0xffff;
