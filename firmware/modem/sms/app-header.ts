/**
 * The concentrator's application header in an SMS: one user-data-header information element that
 * numbers a message and asks for, or gives, the receiver's "processed" confirmation — the 1:1 state of
 * the SMS exchange in the SMS-based metering system's product document ("data delivered with a message is processed by a smart meter").
 *
 *   IEI 0x80 (1) | length 3 (1) | kind (1) | reference (2, big-endian)
 *
 * 3GPP TS 23.040 §9.2.3.24 reserves IEI 0x80..0x9F for "SME to SME specific use": the network carries
 * it untouched and phones that do not know it ignore it. Kinds:
 *   0x00 data, no confirmation wanted;  0x01 data, confirm when processed;  0x02 confirmation of <reference>.
 */
import type { InformationElement } from "./pdu.js";

export const APP_IEI = 0x80;
const APP_IE_LENGTH = 3;

export const AppKind = Object.freeze({ data: 0x00, dataConfirm: 0x01, confirmation: 0x02 } as const);
export type AppKind = (typeof AppKind)[keyof typeof AppKind];

export interface AppHeader {
  readonly kind: AppKind;
  /** 0..65535 */
  readonly ref: number;
}

/** User data octets the header takes in a message: UDHL + IEI + length + 3 (23.040 §9.2.3.24). */
export const APP_HEADER_OCTETS = 1 + 2 + APP_IE_LENGTH;

export function appElement(header: AppHeader): InformationElement {
  return { id: APP_IEI, data: new Uint8Array([header.kind, (header.ref >> 8) & 0xff, header.ref & 0xff]) };
}

/** The application header among a message's elements: undefined when there is none, "malformed" when
 * an element with our IEI has the wrong length or an unknown kind. */
export function findAppHeader(elements: readonly InformationElement[]): AppHeader | "malformed" | undefined {
  for (const ie of elements) {
    if (ie.id !== APP_IEI) continue;
    if (ie.data.length !== APP_IE_LENGTH) return "malformed";
    const kind = ie.data[0]!;
    if (kind !== AppKind.data && kind !== AppKind.dataConfirm && kind !== AppKind.confirmation) return "malformed";
    return { kind, ref: (ie.data[1]! << 8) | ie.data[2]! };
  }
  return undefined;
}
