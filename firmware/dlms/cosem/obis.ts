/**
 * COSEM logical names: the six OBIS value groups A.B.C.D.E.F (IEC 62056-6-1) as the 6-byte octet
 * string of attribute 1 and of every attribute descriptor. Text forms accepted: "1.0.1.8.0.255",
 * "1-0:1.8.0.255" and "1-0:1.8.0*255".
 */
import { frozen } from "../../model/frozen.js";

export type LogicalName = Uint8Array;

/** The six groups of `text`, or undefined when it is not a complete OBIS code. */
export function parseLogicalName(text: string): LogicalName | undefined {
  const m = /^([0-9]{1,3})[.-]([0-9]{1,3})[.:]([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})[.*]([0-9]{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const groups = m.slice(1).map(Number);
  return groups.every((g) => g <= 255) ? Uint8Array.from(groups) : undefined;
}

/** "A.B.C.D.E.F". */
export function formatLogicalName(ln: LogicalName): string {
  return Array.from(ln.subarray(0, 6)).join(".");
}

export function sameLogicalName(a: LogicalName, b: LogicalName): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return a.length === 6 && b.length === 6;
}

/** A logical name from six numbers (for the constants below). */
export function ln(a: number, b: number, c: number, d: number, e: number, f: number): LogicalName {
  return Uint8Array.of(a, b, c, d, e, f);
}

/** Objects the concentrator reads and drives (IEC 62056-6-1 / DLMS Blue Book object lists). */
export const Obis = frozen({
  /** Clock (IC 8). */
  clock: ln(0, 0, 1, 0, 0, 255),
  /** Current association (IC 15): reply_to_HLS_authentication is its method 1. */
  currentAssociation: ln(0, 0, 40, 0, 0, 255),
  /** COSEM logical device name (IC 1): starts with the 3-letter FLAG manufacturer id. */
  logicalDeviceName: ln(0, 0, 42, 0, 0, 255),
  /** Device ID 1, the manufacturing number (IC 1). */
  serialNumber: ln(0, 0, 96, 1, 0, 255),
  /** Number of power failures in any phase (IC 1). */
  powerFailures: ln(0, 0, 96, 7, 21, 255),
  /** Disconnect control (IC 70). */
  disconnectControl: ln(0, 0, 96, 3, 10, 255),
  /** Limiter (IC 71). */
  limiter: ln(0, 0, 17, 0, 0, 255),
  /** Load profile 1 (IC 7). */
  loadProfile1: ln(1, 0, 99, 1, 0, 255),
  /** Standard event log (IC 7) and its event code object (IC 1). */
  standardEventLog: ln(0, 0, 99, 98, 0, 255),
  /** Fraud detection event log. */
  fraudEventLog: ln(0, 0, 99, 98, 1, 255),
  /** Disconnector control event log. */
  disconnectorEventLog: ln(0, 0, 99, 98, 2, 255),
  /** Power quality event log. */
  powerQualityEventLog: ln(0, 0, 99, 98, 4, 255),
  /** Frame counter (invocation counter) of the management client's association, read before ciphering. */
  invocationCounter: ln(0, 0, 43, 1, 0, 255),
} as const);
