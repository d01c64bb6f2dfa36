/**
 * HDLC frames of IEC 62056-46 (frame format type 3, §6.4.1):
 *
 *   7E | format (2) | destination (1..4) | source (1..4) | control | [HCS (2) | information] | FCS (2) | 7E
 *
 * The format field is `1010 S LLL LLLLLLLL`: type 3 (0xA), the segmentation bit S (more segments of the
 * same APDU follow) and the 11-bit frame length, which counts every byte between the flags. The HCS
 * (over format, addresses, control) is present only when the frame carries information; the FCS covers
 * everything between the flags before it.
 *
 * Control field (§6.4.3): I-frame `RRR P SSS 0`; RR `RRR P 0001`; RNR `RRR P 0101`; SNRM 0x83, DISC
 * 0x43, UA 0x63, DM 0x0F, FRMR 0x87, UI 0x03, each with the poll/final bit 0x10.
 */
import { putFcs } from "./crc.js";
import { frozen } from "../../model/frozen.js";

export const FLAG = 0x7e;
/** Longest frame the format field can describe (11 bits). */
export const MAX_FRAME_LENGTH = 0x7ff;
const POLL_FINAL = 0x10;

export type FrameKind = "I" | "RR" | "RNR" | "SNRM" | "DISC" | "UA" | "DM" | "FRMR" | "UI";

const U_CODES: Record<string, number> = frozen({ SNRM: 0x83, DISC: 0x43, UA: 0x63, DM: 0x0f, FRMR: 0x87, UI: 0x03 });

export interface Frame {
  readonly kind: FrameKind;
  /** Address bytes exactly as on the wire (client or server form, see address.ts). */
  readonly destination: Uint8Array;
  readonly source: Uint8Array;
  readonly pollFinal: boolean;
  /** N(S) of an I-frame, 0..7. */
  readonly sendSeq: number;
  /** N(R) of an I-frame, RR or RNR, 0..7. */
  readonly receiveSeq: number;
  /** The S bit: more segments of the same APDU follow. */
  readonly segmented: boolean;
  /** The information field (empty when absent). */
  readonly info: Uint8Array;
}

/** The control byte of a frame. */
function controlByte(f: Pick<Frame, "kind" | "pollFinal" | "sendSeq" | "receiveSeq">): number {
  const pf = f.pollFinal ? POLL_FINAL : 0;
  switch (f.kind) {
    case "I":
      return ((f.receiveSeq & 7) << 5) | pf | ((f.sendSeq & 7) << 1);
    case "RR":
      return ((f.receiveSeq & 7) << 5) | pf | 0x01;
    case "RNR":
      return ((f.receiveSeq & 7) << 5) | pf | 0x05;
    default:
      return U_CODES[f.kind]! | pf;
  }
}

/** The kind and sequence numbers a control byte stands for; undefined for a code this profile does not use. */
export function parseControl(c: number): Pick<Frame, "kind" | "pollFinal" | "sendSeq" | "receiveSeq"> | undefined {
  const pollFinal = (c & POLL_FINAL) !== 0;
  if ((c & 1) === 0) return { kind: "I", pollFinal, sendSeq: (c >> 1) & 7, receiveSeq: c >> 5 };
  if ((c & 0x0f) === 0x01) return { kind: "RR", pollFinal, sendSeq: 0, receiveSeq: c >> 5 };
  if ((c & 0x0f) === 0x05) return { kind: "RNR", pollFinal, sendSeq: 0, receiveSeq: c >> 5 };
  const code = c & ~POLL_FINAL;
  for (const kind in U_CODES) if (U_CODES[kind] === code) return { kind: kind as FrameKind, pollFinal, sendSeq: 0, receiveSeq: 0 };
  return undefined;
}

/** The bytes of a frame, flags included. Throws RangeError when it is longer than the format field allows. */
export function encodeFrame(f: Frame): Uint8Array {
  const header = 2 + f.destination.length + f.source.length + 1;
  const length = header + (f.info.length ? 2 + f.info.length : 0) + 2;
  if (length > MAX_FRAME_LENGTH) throw new RangeError("frame too long");
  const out = new Uint8Array(length + 2);
  out[0] = FLAG;
  out[1] = 0xa0 | (f.segmented ? 0x08 : 0) | (length >> 8);
  out[2] = length & 0xff;
  let at = 3;
  out.set(f.destination, at);
  at += f.destination.length;
  out.set(f.source, at);
  at += f.source.length;
  out[at++] = controlByte(f);
  if (f.info.length) {
    putFcs(out, 1, at);
    at += 2;
    out.set(f.info, at);
    at += f.info.length;
  }
  putFcs(out, 1, at);
  out[at + 2] = FLAG;
  return out;
}

/** A frame without sequence numbers or information (SNRM without parameters, DISC, UA, DM). */
export function unnumbered(kind: "SNRM" | "DISC" | "UA" | "DM", destination: Uint8Array, source: Uint8Array, info: Uint8Array = new Uint8Array(0)): Frame {
  return { kind, destination, source, pollFinal: true, sendSeq: 0, receiveSeq: 0, segmented: false, info };
}
