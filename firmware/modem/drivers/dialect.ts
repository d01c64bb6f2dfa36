/**
 * What differs between modem families: the TCP/IP stack commands (SIM800 CIP*, Quectel QI*), their
 * URCs, the power key and boot timing. The modem manager (modem.ts), the sockets (tcp.ts) and the SMS
 * channel only speak to a family through this interface; everything 3GPP-standard is shared.
 */
import type { AtCommand, AtEngine } from "../at/engine.js";
import type { AtFailure } from "../at/response.js";
import type { Step, StepFailure } from "../at/sequence.js";

export type ModemFamily = "sim800" | "quectel";

export interface ApnSettings {
  readonly apn: string;
  readonly user: string;
  readonly password: string;
}

/** Why a socket open did not succeed. */
export type OpenFailure = "refused" | "in-use" | "packet-down" | "timeout";

/** A URC as the modem manager and the sockets understand it. */
export type ModemEvent =
  | { readonly type: "boot" }
  | { readonly type: "power-down"; readonly cause: "normal" | "under-voltage" | "over-voltage" }
  | { readonly type: "voltage-warning" }
  | { readonly type: "sim-lost" }
  | { readonly type: "pdp-lost" }
  | { readonly type: "socket-opened"; readonly id: number }
  | { readonly type: "socket-open-failed"; readonly id: number; readonly reason: OpenFailure }
  | { readonly type: "socket-closed"; readonly id: number }
  | { readonly type: "socket-data"; readonly id: number }
  /** Quectel "incoming full": some socket's receive buffer is full; drain them all. */
  | { readonly type: "socket-buffer-full" }
  /** Recognised and harmless (Call Ready, time zone, ring). */
  | { readonly type: "ignored" };

/** The result of one send command: bytes the modem accepted, or why it took none. */
export type SendOutcome =
  | { readonly accepted: number }
  /** "retry": the modem's send buffer is full (Quectel SEND FAIL); "reset": the connection failed. */
  | { readonly failed: "retry" | "reset" | "timeout" | "no-prompt" | "aborted" };

/** The result of one read command: bytes delivered, and whether more may be waiting. */
export type ReadOutcome = { readonly got: number; readonly more: boolean } | { readonly failure: AtFailure };

export interface Dialect {
  readonly family: ModemFamily;
  /** Socket ids of the stack (SIM800 multi-IP 0..5, BG96 0..11). */
  readonly socketIds: number;
  /** Largest payload of one send command, bytes. */
  readonly maxSendBytes: number;
  /** Largest read of one read command, bytes. */
  readonly maxReadBytes: number;
  /** Time the stack may take to report the outcome of an open, ms. */
  readonly openTimeoutMs: number;
  /** Pause before repeating a send the modem refused for lack of buffer, ms. */
  readonly sendRetryMs: number;
  /** How long the power key is held: long enough to switch on and to switch off, ms. */
  readonly powerKeyPulseMs: number;
  /** From the power key (or a reset) until the modem answers AT, ms. */
  readonly bootTimeMs: number;
  /** A remotely closed socket stays allocated until the host closes it (Quectel: state Closing). */
  readonly closeAfterRemoteClose: boolean;
  /** Family settings made once per modem boot, after echo and error format are set. */
  configure(engine: AtEngine, done: (failed: StepFailure | undefined) => void): void;
  /** Attach and bring the PDP context up; starts by tearing down whatever a previous boot left. */
  packetUpSteps(apn: ApnSettings): readonly Step[];
  /** Packet-service registration queries ("+CGREG", and "+CEREG" where LTE is possible). */
  readonly packetRegistration: readonly string[];
  /** Orderly power-down by command (network detach, settings saved). */
  readonly powerDownStep: Step;
  /** Reads a URC; undefined when the line is not one of this family's. */
  classify(line: string): ModemEvent | undefined;
  /** Starts opening socket `id`; the outcome arrives as a socket-opened / socket-open-failed event. */
  open(id: number, host: string, port: number, done: (failure: AtFailure | undefined) => void): AtCommand;
  send(id: number, bytes: Uint8Array, done: (outcome: SendOutcome) => void): AtCommand;
  read(id: number, maxBytes: number, onData: (bytes: Uint8Array) => void, done: (outcome: ReadOutcome) => void): AtCommand;
  close(id: number, done: () => void): AtCommand;
  /** Asks whether the PDP context is up (after an open was refused with a bare ERROR). */
  packetState(done: (up: boolean | undefined) => void): AtCommand;
}

/** A host name or address that can go between the quotes of an AT command. */
export function isValidHost(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x3a;
    if (!ok) return false;
  }
  return true;
}

/** True when `text` can go between quotes in an AT command (APN, user, password): printable ASCII, no quote. */
export function isQuotable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22) return false;
  }
  // 3GPP TS 23.003 §9.1: an APN is at most 100 octets; user and password fit the same bound.
  return text.length <= 100;
}
