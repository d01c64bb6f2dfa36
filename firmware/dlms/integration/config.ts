/**
 * DLMS meters in the concentrator's site configuration: where each is (bus, HDLC physical and logical
 * address, direct HDLC or a mode E sign-on), how to authenticate (public client, LLS password, or HLS
 * with its keys), what to read (registers by OBIS code, the load profile, the event logs), and which
 * physical addresses discovery scans.
 *
 * A DLMS meter is known to the rest of the concentrator as a module at the address "dlms:<physical>"
 * on its bus ("dlms:<physical>/<logical>" when the logical device is not 1) with one meter behind it
 * (channel 1): the topology, schedules, latches and uplink need nothing else. The form never collides
 * with an IEC 62056-21 device address, whose characters are letters, digits and spaces.
 */
import { serverAddress } from "../hdlc/address.js";
import type { Endpoint, Security } from "../client/types.js";
import type { RegisterSpec } from "../client/scripts.js";
import { parseLogicalName, type LogicalName } from "../cosem/obis.js";
import { frozen } from "../../model/frozen.js";

export interface DlmsMeterConfig {
  /** Index of the RS485 bus (hal.rs485). */
  bus: number;
  /** Lower HDLC address (0x10..0x3FFD). */
  physical: number;
  /** Upper HDLC address. Default 1 (the management logical device). */
  logical?: number;
  /** "none": the public client (SAP 16); "lls": password; "hls": HLS-GMAC with suite 0. */
  security: "none" | "lls" | "hls";
  /** Client SAP. Default 16 without security, 1 (management) with. */
  clientSap?: number;
  /** LLS password (ASCII). */
  password?: string;
  /** HLS: the meter's global unicast encryption key and authentication key (16 bytes each). */
  keys?: { encryptionKey: Uint8Array; authenticationKey: Uint8Array };
  /** Sign on with IEC 62056-21 mode E first, addressing this IEC device address. */
  modeE?: string;
  /** Registers to read at every scheduled read: "1.0.1.8.0.255", or "4:1.0.1.6.0.255" for another class (3, 4, 5). Default DEFAULT_REGISTERS. */
  registers?: readonly string[];
  /** Load profile to catch up (IC 7), or false for none. Default 1.0.99.1.0.255. */
  loadProfile?: string | false;
  /** Event logs to read. Default the standard and fraud detection logs. */
  eventLogs?: readonly string[];
}

export interface DlmsSiteConfig {
  meters: readonly DlmsMeterConfig[];
  /** The concentrator's system title (8 bytes) as a DLMS client: its FLAG id and a serial. */
  clientSystemTitle: Uint8Array;
  /** Physical addresses discovery probes per bus (meters found there and not configured are read with the public client). */
  scan?: ReadonlyArray<{ bus: number; from: number; to: number }>;
  /** How far back a meter's profile is read the first time, s. Default one day. */
  catchUpS?: number;
}

/** Import and export energy (total and per tariff), and the instantaneous values of phase 1. */
export const DEFAULT_REGISTERS: readonly string[] = frozen(["1.0.1.8.0.255", "1.0.1.8.1.255", "1.0.1.8.2.255", "1.0.2.8.0.255", "1.0.1.7.0.255", "1.0.32.7.0.255", "1.0.31.7.0.255"]);
export const DEFAULT_PROFILE = "1.0.99.1.0.255";
export const DEFAULT_LOGS: readonly string[] = frozen(["0.0.99.98.0.255", "0.0.99.98.1.255"]);

const PREFIX = "dlms:";

export function dlmsAddress(physical: number, logical = 1): string {
  return logical === 1 ? `${PREFIX}${physical}` : `${PREFIX}${physical}/${logical}`;
}

export function isDlmsAddress(address: string): boolean {
  return address.startsWith(PREFIX);
}

/** The physical and logical address of a "dlms:" address, or undefined. */
export function parseDlmsAddress(address: string): { physical: number; logical: number } | undefined {
  const m = /^dlms:([0-9]{1,5})(?:\/([0-9]{1,5}))?$/.exec(address);
  if (!m) return undefined;
  const physical = Number(m[1]);
  const logical = m[2] === undefined ? 1 : Number(m[2]);
  return physical >= 0x10 && physical <= 0x3ffd && logical <= 0x3fff ? { physical, logical } : undefined;
}

/** "1.0.1.8.0.255" (class 3) or "4:1.0.1.6.0.255". */
export function registerSpec(text: string): RegisterSpec | undefined {
  const m = /^(?:([345]):)?(.+)$/.exec(text);
  const ln = m && parseLogicalName(m[2]!);
  return ln ? { ln, classId: (m[1] ? Number(m[1]) : 3) as 3 | 4 | 5 } : undefined;
}

export function logicalName(text: string | false | undefined, fallback: string): LogicalName | undefined {
  return text === false ? undefined : parseLogicalName(text ?? fallback);
}

/** How to reach a meter: its configuration, or the public client for one discovery found. */
export function endpointOf(address: { physical: number; logical: number }, config: DlmsMeterConfig | undefined, clientSystemTitle: Uint8Array): Endpoint {
  const server = serverAddress(address.logical, address.physical);
  const security: Security =
    config?.security === "lls"
      ? { level: "lls", password: Uint8Array.from(config.password ?? "", (c) => c.charCodeAt(0) & 0xff) }
      : config?.security === "hls" && config.keys
        ? { level: "hls", keys: config.keys, clientSystemTitle }
        : { level: "none" };
  const clientSap = config?.clientSap ?? (security.level === "none" ? 16 : 1);
  return { server, clientSap, baud: 9600, security, ...(config?.modeE ? { modeE: { deviceAddress: config.modeE } } : {}) };
}
