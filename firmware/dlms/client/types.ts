/**
 * What a DLMS session is asked to do and with whom: the meter's place on the bus and its security, the
 * requests (a script that can decide each one on the previous answer), and the counters that must
 * survive the concentrator's power cuts.
 */
import type { Data } from "../axdr/data.js";
import type { AttributeRequest, CosemRef, GetResult } from "../apdu/xdlms.js";
import type { ServerAddress } from "../hdlc/address.js";
import type { LinkParameters } from "../hdlc/parameters.js";
import type { SuiteKeys } from "../security/ciphering.js";

/** How the client authenticates: none (public client), LLS (password), HLS with GMAC and suite 0 ciphering. */
export type Security =
  | { readonly level: "none" }
  | { readonly level: "lls"; readonly password: Uint8Array }
  | { readonly level: "hls"; readonly keys: SuiteKeys; readonly clientSystemTitle: Uint8Array };

export interface Endpoint {
  readonly server: ServerAddress;
  readonly clientSap: number;
  /** HDLC rate, Bd (8N1). Direct HDLC on RS485 is 9600 Bd; after a mode E sign-on, the rate agreed there. */
  readonly baud: number;
  /** Sign on first with IEC 62056-21 mode E at 300 Bd, addressing the meter's IEC device address. */
  readonly modeE?: { readonly deviceAddress: string };
  readonly security: Security;
  /** HDLC parameters proposed in the SNRM. Default: the HDLC defaults. */
  readonly link?: LinkParameters;
  /** Client max receive PDU size proposed in the AARQ. Default 512. */
  readonly maxPdu?: number;
}

/**
 * The invocation counters of one meter's keys, persisted: the client's own (each value used once,
 * never again after any power cut), and the highest one accepted from the meter (an answer that
 * does not exceed it is a replay).
 */
export interface InvocationCounters {
  next(): number;
  /** Accepts `ic` from the meter if above every one accepted before (and stores it); false for a replay. */
  acceptServer(ic: number): boolean;
}

export type Request =
  /** One attribute (GET-Request-Normal) or several (GET-Request-With-List). */
  | { readonly kind: "get"; readonly refs: readonly AttributeRequest[] }
  | { readonly kind: "set"; readonly ref: CosemRef; readonly value: Data }
  | { readonly kind: "action"; readonly ref: CosemRef; readonly parameter?: Data };

export type Result =
  | { readonly kind: "get"; readonly results: readonly GetResult[] }
  | { readonly kind: "set"; readonly result: number }
  | { readonly kind: "action"; readonly result: number; readonly data: GetResult | undefined };

/** The requests of one association, each chosen after the previous answer; its value is the session's result. */
export interface Script<T> {
  /** The next request (`previous` is undefined for the first), or undefined: release. */
  next(previous: Result | undefined): Request | undefined;
  result(): T;
}

/** Counters of what went wrong, per meter or for the whole client. */
export interface SessionCounters {
  sessions: number;
  /** Answers whose GCM tag did not authenticate, and answers with a used invocation counter. */
  authFailed: number;
  replayed: number;
  /** Associations the meter refused (wrong password or keys). */
  refused: number;
  /** HDLC frames or APDUs that could not be decoded. */
  parseFailed: number;
  frameRetransmissions: number;
  bytesSent: number;
  bytesReceived: number;
}

export function newSessionCounters(): SessionCounters {
  return { sessions: 0, authFailed: 0, replayed: 0, refused: 0, parseFailed: 0, frameRetransmissions: 0, bytesSent: 0, bytesReceived: 0 };
}
