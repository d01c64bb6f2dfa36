/**
 * The association APDUs of IEC 62056-5-3 §8 (ACSE, BER-encoded), logical name referencing:
 *
 *   AARQ 60 | A1 application-context-name | [A6 calling-AP-title (system title)] |
 *        [8A sender-acse-requirements 07 80 | 8B mechanism-name | AC calling-authentication-value] |
 *        BE user-information (04 + InitiateRequest, or its glo-ciphered form)
 *   AARE 61 | A1 context | A2 result | A3 result-source-diagnostic | [A4 responding-AP-title] |
 *        [88 responder-acse-requirements | 89 mechanism-name | AA responding-authentication-value] |
 *        BE user-information (04 + InitiateResponse, its glo-ciphered form, or a confirmed service error)
 *
 * Application context names and mechanism names are the DLMS UA object identifiers
 * 2.16.756.5.8.1.x and 2.16.756.5.8.2.x (joint-iso-ccitt country(16) ch(756) identified-organization(5)
 * DLMS-UA(8)).
 */
import { ByteSink, DecodeError } from "../axdr/codec.js";
import { berInteger, find, readTlvs, tlv, tlvBytes } from "./ber.js";
import { frozen } from "../../model/frozen.js";

const OID_PREFIX = frozen([0x60, 0x85, 0x74, 0x05, 0x08]);

/** Application context: logical name referencing without (1) or with (3) ciphering. */
export const Context = frozen({ logicalName: 1, logicalNameCiphered: 3 } as const);

/** Authentication mechanisms: none, LLS (password), HLS with GMAC (mechanism 5, security suite 0). */
export const Mechanism = frozen({ none: 0, lls: 1, hlsGmac: 5 } as const);
export type MechanismId = (typeof Mechanism)[keyof typeof Mechanism];

/** AARE result (A2). */
export const AssociationResult = frozen({ accepted: 0, rejectedPermanent: 1, rejectedTransient: 2 } as const);

/** acse-service-user diagnostics (A3 A1): 13 authentication failure, 14 authentication required (HLS pass 3 and 4 to follow). */
export const UserDiagnostic = frozen({
  none: 0,
  noReason: 1,
  contextNotSupported: 2,
  mechanismNotRecognised: 11,
  mechanismRequired: 12,
  authenticationFailure: 13,
  authenticationRequired: 14,
} as const);

export interface Aarq {
  readonly context: number;
  readonly mechanism: MechanismId;
  /** The client's system title (8 bytes), with ciphering or HLS. */
  readonly systemTitle?: Uint8Array;
  /** The password (LLS) or the client-to-server challenge (HLS). */
  readonly authenticationValue?: Uint8Array;
  /** InitiateRequest, plain or glo-ciphered. */
  readonly userInformation: Uint8Array;
}

function oid(arc: number, last: number): Uint8Array {
  return Uint8Array.from([...OID_PREFIX, arc, last]);
}

export function encodeAarq(a: Aarq): Uint8Array {
  const body = new ByteSink();
  tlv(body, 0xa1, tlvBytes(0x06, oid(1, a.context)));
  if (a.systemTitle) tlv(body, 0xa6, tlvBytes(0x04, a.systemTitle));
  if (a.mechanism !== Mechanism.none) {
    tlv(body, 0x8a, Uint8Array.of(0x07, 0x80));
    tlv(body, 0x8b, oid(2, a.mechanism));
    tlv(body, 0xac, tlvBytes(0x80, a.authenticationValue ?? new Uint8Array(0)));
  }
  tlv(body, 0xbe, tlvBytes(0x04, a.userInformation));
  return tlvBytes(0x60, body.done());
}

export interface Aare {
  readonly context: number | undefined;
  readonly result: number;
  /** Who diagnosed: "user" (A1) or "provider" (A2), and the code. */
  readonly diagnosticSource: "user" | "provider";
  readonly diagnostic: number;
  readonly systemTitle: Uint8Array | undefined;
  readonly mechanism: number | undefined;
  /** The server-to-client challenge (HLS). */
  readonly authenticationValue: Uint8Array | undefined;
  /** The xDLMS APDU inside user-information. */
  readonly userInformation: Uint8Array | undefined;
}

function oidArc(v: Uint8Array | undefined, arc: number): number | undefined {
  if (!v || v.length !== 7) return undefined;
  for (let i = 0; i < 5; i++) if (v[i] !== OID_PREFIX[i]) return undefined;
  return v[5] === arc ? v[6] : undefined;
}

/** Decodes an AARE. Throws DecodeError when it is not one. */
export function decodeAare(bytes: Uint8Array): Aare {
  const outer = readTlvs(bytes);
  if (outer.length !== 1 || outer[0]!.tag !== 0x61) throw new DecodeError("tag", 0);
  const t = readTlvs(outer[0]!.value);
  const inner = (tag: number, want: number) => {
    const v = find(t, tag);
    const x = v ? readTlvs(v) : [];
    return x[0]?.tag === want ? x[0].value : undefined;
  };
  const result = berInteger(inner(0xa2, 0x02));
  const diagnosticTlv = find(t, 0xa3);
  const diag = diagnosticTlv ? readTlvs(diagnosticTlv)[0] : undefined;
  const diagnostic = diag ? berInteger(readTlvs(diag.value)[0]?.value) : undefined;
  if (result === undefined || diag === undefined || diagnostic === undefined) throw new DecodeError("length", 0);
  return {
    context: oidArc(inner(0xa1, 0x06), 1),
    result,
    diagnosticSource: diag.tag === 0xa2 ? "provider" : "user",
    diagnostic,
    systemTitle: inner(0xa4, 0x04),
    mechanism: oidArc(find(t, 0x89), 2),
    authenticationValue: inner(0xaa, 0x80),
    userInformation: inner(0xbe, 0x04),
  };
}
