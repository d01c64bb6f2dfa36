/**
 * SMS transfer-layer PDUs in the form AT+CMGS takes them and +CMGR/+CMGL/+CDS give them (3GPP TS 27.005
 * §3.1 <pdu>: the service-centre address, then the TPDU of 3GPP TS 23.040):
 * - SMS-SUBMIT (23.040 §9.2.2.2), encoded: 8-bit data, optional user data header, status-report request;
 * - SMS-DELIVER (§9.2.2.1) and SMS-STATUS-REPORT (§9.2.2.3), decoded.
 *
 * Byte layouts (one octet per field unless noted):
 *
 *   SUBMIT:        SCA(00) | first(MTI=01,VPF,SRR,UDHI) | MR | DA(2+n) | PID | DCS | VP | UDL | UD(≤140)
 *   DELIVER:       SCA(1+n) | first(MTI=00,MMS,SRI,UDHI) | OA(2+n) | PID | DCS | SCTS(7) | UDL | UD
 *   STATUS-REPORT: SCA(1+n) | first(MTI=10,MMS,SRQ) | MR | RA(2+n) | SCTS(7) | DT(7) | ST | [PI …]
 *
 * Decoding never throws: it returns `{ ok: false, error }` with a code naming what was wrong.
 */
import { gsm7Text, unpackSeptets } from "./gsm7.js";

/** 23.040 §9.2.3.1 TP-MTI, bits 1..0 of the first octet (in the direction the modem receives). */
const MTI_MASK = 0x03;
const MTI_DELIVER = 0x00;
const MTI_SUBMIT = 0x01;
const MTI_STATUS_REPORT = 0x02;
/** §9.2.3.3 TP-VPF = 10: relative validity period, one octet. */
const VPF_RELATIVE = 0x10;
/** §9.2.3.5 TP-SRR: status report requested. */
const SRR = 0x20;
/** §9.2.3.23 TP-UDHI: the user data starts with a header. */
const UDHI = 0x40;
/** §9.2.3.10 TP-DCS 0x04: general data coding, 8-bit data, no message class (23.038 §4). */
const DCS_8BIT = 0x04;
/** §9.2.3.12.1: 0xA7 = 12 h + (167 − 143) × 30 min = 24 h, the value of AT+CSMP=49,167 (domain.md §4.5). */
export const VALIDITY_24_HOURS = 0xa7;
/** §9.2.3.16: user data of one message is at most 140 octets. */
export const MAX_USER_DATA_OCTETS = 140;
/** 23.040 §9.1.2.5 type of address: international number, ISDN numbering plan. */
const TOA_INTERNATIONAL = 0x91;
/** Unknown type, ISDN numbering plan: how a number without "+" is sent. */
const TOA_UNKNOWN = 0x81;
/** Type-of-number bits 6..4 = 101: alphanumeric (GSM 7-bit), e.g. an operator's sender name. */
const TON_MASK = 0x70;
const TON_INTERNATIONAL = 0x10;
const TON_ALPHANUMERIC = 0x50;
/** §9.1.2.5: an address value has at most 20 digits (10 octets). */
const MAX_ADDRESS_DIGITS = 20;

export type PduErrorCode =
  | "truncated"
  | "bad-length"
  | "bad-address"
  | "bad-timestamp"
  | "bad-udh"
  | "unsupported-dcs"
  | "unsupported-type";

export type Alphabet = "gsm7" | "8bit" | "ucs2";

/** A phone number as the network presents it: "+40722000111" (international) or the bare digits. */
export interface Address {
  readonly kind: "international" | "other" | "alphanumeric";
  /** "+" and digits for international numbers, digits (and * # a b c) otherwise, text if alphanumeric. */
  readonly text: string;
}

/** Service-centre time stamp (§9.2.3.11), as sent: local time and its offset from UTC. */
export interface SmscTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Offset of the local time from UTC, in quarter hours (−79..79). */
  readonly zoneQuarterHours: number;
}

export interface InformationElement {
  readonly id: number;
  readonly data: Uint8Array;
}

export interface Deliver {
  readonly type: "deliver";
  readonly from: Address;
  readonly pid: number;
  readonly alphabet: Alphabet;
  readonly timestamp: SmscTime;
  /** Information elements of the user data header, in order (empty when TP-UDHI is 0). */
  readonly header: readonly InformationElement[];
  /** The user data after the header: octets for 8-bit and UCS-2, septet values for GSM 7-bit. */
  readonly data: Uint8Array;
}

export interface StatusReport {
  readonly type: "status-report";
  /** TP-MR of the SMS-SUBMIT this reports on (the number +CMGS returned). */
  readonly messageRef: number;
  readonly recipient: Address;
  readonly timestamp: SmscTime;
  readonly dischargeTime: SmscTime;
  /** TP-ST (§9.2.3.15). */
  readonly status: number;
}

export type DecodedPdu = Deliver | StatusReport;
export type DecodeResult = { readonly ok: true; readonly pdu: DecodedPdu } | { readonly ok: false; readonly error: PduErrorCode };

/** What TP-ST says about the message (23.040 §9.2.3.15). */
export type DeliveryOutcome = "delivered" | "pending" | "failed";

/** 0x00-0x1F: transaction completed; 0x20-0x3F: temporary error, the SC keeps trying;
 * 0x40-0x7F: permanent error, or temporary error the SC no longer retries. Reserved values are failures. */
export function deliveryOutcome(status: number): DeliveryOutcome {
  if (status >= 0 && status <= 0x1f) return "delivered";
  if (status >= 0x20 && status <= 0x3f) return "pending";
  return "failed";
}

export interface SubmitOptions {
  /** Destination: "+" and digits for an international number, or digits as dialled. */
  readonly to: string;
  /** 8-bit user data after the header. */
  readonly data: Uint8Array;
  /** Information elements of a user data header (sets TP-UDHI). */
  readonly header?: readonly InformationElement[];
  /** Ask the service centre for a status report (TP-SRR). */
  readonly statusReport: boolean;
  /** TP-VP, relative format. Default 24 hours. */
  readonly validity?: number;
}

export interface EncodedSubmit {
  /** SCA + TPDU, as written in hexadecimal after the AT+CMGS prompt. */
  readonly pdu: Uint8Array;
  /** The <length> parameter of AT+CMGS: TPDU octets, without the SCA (27.005 §3.5.1). */
  readonly tpduLength: number;
}

/** True for "+" followed by 1..20 digits, or 1..20 digits. */
export function isValidNumber(text: string): boolean {
  const digits = text.startsWith("+") ? text.slice(1) : text;
  if (digits.length === 0 || digits.length > MAX_ADDRESS_DIGITS) return false;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Octets of user data (header included) a submit with these parts needs. */
export function userDataLength(header: readonly InformationElement[] | undefined, dataLength: number): number {
  if (!header || header.length === 0) return dataLength;
  let n = 1;
  for (const ie of header) n += 2 + ie.data.length;
  return n + dataLength;
}

/** Encodes an SMS-SUBMIT with 8-bit data. Throws RangeError for an invalid number or too much data. */
export function encodeSubmit(options: SubmitOptions): EncodedSubmit {
  if (!isValidNumber(options.to)) throw new RangeError("invalid number");
  const header = options.header ?? [];
  const udl = userDataLength(header, options.data.length);
  if (udl > MAX_USER_DATA_OCTETS) throw new RangeError("data too long");
  const international = options.to.startsWith("+");
  const digits = international ? options.to.slice(1) : options.to;
  const out: number[] = [0x00]; // SCA: use the service centre stored in the modem (27.005 §3.1)
  out.push(MTI_SUBMIT | VPF_RELATIVE | (options.statusReport ? SRR : 0) | (header.length ? UDHI : 0));
  out.push(0x00); // TP-MR: the modem assigns it and reports it in +CMGS
  out.push(digits.length, international ? TOA_INTERNATIONAL : TOA_UNKNOWN);
  for (let i = 0; i < digits.length; i += 2) {
    const lo = digits.charCodeAt(i) - 0x30;
    const hi = i + 1 < digits.length ? digits.charCodeAt(i + 1) - 0x30 : 0x0f;
    out.push((hi << 4) | lo);
  }
  out.push(0x00, DCS_8BIT, options.validity ?? VALIDITY_24_HOURS, udl);
  if (header.length) {
    out.push(udl - options.data.length - 1);
    for (const ie of header) {
      out.push(ie.id, ie.data.length);
      for (let i = 0; i < ie.data.length; i++) out.push(ie.data[i]!);
    }
  }
  const pdu = new Uint8Array(out.length + options.data.length);
  pdu.set(out);
  pdu.set(options.data, out.length);
  return { pdu, tpduLength: pdu.length - 1 };
}

/** Decodes SCA + TPDU as +CMGR, +CMGL and +CDS deliver them. */
export function decodePdu(bytes: Uint8Array): DecodeResult {
  const r = new Reader(bytes);
  const scaLength = r.u8();
  if (scaLength === undefined) return fail("truncated");
  if (!r.skip(scaLength)) return fail("truncated");
  const first = r.u8();
  if (first === undefined) return fail("truncated");
  switch (first & MTI_MASK) {
    case MTI_DELIVER:
      return decodeDeliver(r, first);
    case MTI_STATUS_REPORT:
      return decodeStatusReport(r);
    default:
      return fail("unsupported-type");
  }
}

function decodeDeliver(r: Reader, first: number): DecodeResult {
  const from = readAddress(r);
  if (typeof from === "string") return fail(from);
  const pid = r.u8();
  const dcs = r.u8();
  if (pid === undefined || dcs === undefined) return fail("truncated");
  const alphabet = alphabetOf(dcs);
  if (!alphabet) return fail("unsupported-dcs");
  const timestamp = readTime(r);
  if (typeof timestamp === "string") return fail(timestamp);
  const udl = r.u8();
  if (udl === undefined) return fail("truncated");
  const octets = alphabet === "gsm7" ? Math.ceil((udl * 7) / 8) : udl;
  if (octets > MAX_USER_DATA_OCTETS) return fail("bad-length");
  const ud = r.bytes(octets);
  if (!ud) return fail("truncated");
  if (!r.atEnd) return fail("bad-length");
  let header: InformationElement[] = [];
  let dataStart = 0;
  if (first & UDHI) {
    const parsed = parseHeader(ud);
    if (!parsed) return fail("bad-udh");
    header = parsed;
    dataStart = 1 + ud[0]!;
  }
  if (alphabet !== "gsm7") return ok({ type: "deliver", from, pid, alphabet, timestamp, header, data: ud.slice(dataStart) });
  // 7-bit: the header occupies whole septets; fill bits pad it to a septet boundary (§9.2.3.24).
  const headerSeptets = Math.ceil((dataStart * 8) / 7);
  const fill = headerSeptets * 7 - dataStart * 8;
  if (headerSeptets > udl) return fail("bad-udh");
  const septets = unpackSeptets(ud.subarray(dataStart), udl - headerSeptets, fill);
  if (!septets) return fail("bad-length");
  return ok({ type: "deliver", from, pid, alphabet, timestamp, header, data: septets });
}

function decodeStatusReport(r: Reader): DecodeResult {
  const messageRef = r.u8();
  if (messageRef === undefined) return fail("truncated");
  const recipient = readAddress(r);
  if (typeof recipient === "string") return fail(recipient);
  const timestamp = readTime(r);
  if (typeof timestamp === "string") return fail(timestamp);
  const dischargeTime = readTime(r);
  if (typeof dischargeTime === "string") return fail(dischargeTime);
  const status = r.u8();
  if (status === undefined) return fail("truncated");
  // TP-PI and the optional parameters it announces may follow (§9.2.2.3); nothing here needs them.
  return ok({ type: "status-report", messageRef, recipient, timestamp, dischargeTime, status });
}

/** 23.038 §4 data coding groups; undefined for compressed text and reserved groups. */
function alphabetOf(dcs: number): Alphabet | undefined {
  const group = dcs & 0xf0;
  if (group < 0x80) {
    if (dcs & 0x20) return undefined; // compressed
    const a = (dcs >> 2) & 3;
    return a === 0 ? "gsm7" : a === 1 ? "8bit" : a === 2 ? "ucs2" : undefined;
  }
  if (group === 0xc0 || group === 0xd0) return "gsm7"; // message waiting, store/discard
  if (group === 0xe0) return "ucs2"; // message waiting, UCS-2
  if (group === 0xf0) return dcs & 0x04 ? "8bit" : "gsm7"; // data coding / message class
  return undefined;
}

/** §9.2.3.24: UDHL, then (IEI, length, data)… exactly filling UDHL octets. */
function parseHeader(ud: Uint8Array): InformationElement[] | undefined {
  if (ud.length < 1) return undefined;
  const end = 1 + ud[0]!;
  if (end > ud.length) return undefined;
  const out: InformationElement[] = [];
  let i = 1;
  while (i < end) {
    if (i + 2 > end) return undefined;
    const id = ud[i]!;
    const len = ud[i + 1]!;
    if (i + 2 + len > end) return undefined;
    out.push({ id, data: ud.slice(i + 2, i + 2 + len) });
    i += 2 + len;
  }
  return out;
}

/** §9.1.2.5: digit count, type of address, semi-octets (low nibble first, F filler). */
function readAddress(r: Reader): Address | PduErrorCode {
  const count = r.u8();
  const toa = r.u8();
  if (count === undefined || toa === undefined) return "truncated";
  if ((toa & TON_MASK) === TON_ALPHANUMERIC) {
    // The length counts semi-octets of the packed 7-bit text.
    const octets = r.bytes(Math.ceil(count / 2));
    if (!octets) return "truncated";
    const septets = unpackSeptets(octets, Math.floor((count * 4) / 7));
    if (!septets) return "bad-address";
    return { kind: "alphanumeric", text: gsm7Text(septets) };
  }
  if (count > MAX_ADDRESS_DIGITS) return "bad-address";
  const octets = r.bytes(Math.ceil(count / 2));
  if (!octets) return "truncated";
  let text = "";
  for (let i = 0; i < count; i++) {
    const nibble = (octets[i >> 1]! >> ((i & 1) * 4)) & 0x0f;
    if (nibble === 0x0f) return "bad-address";
    text += "0123456789*#abc"[nibble]!;
  }
  if (count % 2 === 1 && octets[octets.length - 1]! >> 4 !== 0x0f) return "bad-address";
  const international = (toa & TON_MASK) === TON_INTERNATIONAL;
  return { kind: international ? "international" : "other", text: international ? `+${text}` : text };
}

/** §9.2.3.11: seven octets of swapped BCD; the zone's bit 3 (in the first nibble read) is its sign. */
function readTime(r: Reader): SmscTime | PduErrorCode {
  const o = r.bytes(7);
  if (!o) return "truncated";
  const v: number[] = [];
  for (let i = 0; i < 6; i++) {
    const lo = o[i]! & 0x0f;
    const hi = o[i]! >> 4;
    if (lo > 9 || hi > 9) return "bad-timestamp";
    v.push(lo * 10 + hi);
  }
  const z = o[6]!;
  const zoneLo = z & 0x07;
  const zoneHi = z >> 4;
  if (zoneHi > 9) return "bad-timestamp";
  const quarters = zoneLo * 10 + zoneHi;
  const [yy, month, day, hour, minute, second] = v as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return "bad-timestamp";
  return { year: 2000 + yy, month, day, hour, minute, second, zoneQuarterHours: z & 0x08 ? -quarters : quarters };
}

function ok(pdu: DecodedPdu): DecodeResult {
  return { ok: true, pdu };
}

function fail(error: PduErrorCode): DecodeResult {
  return { ok: false, error };
}

class Reader {
  readonly #b: Uint8Array;
  #i = 0;
  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }
  get atEnd(): boolean {
    return this.#i === this.#b.length;
  }
  u8(): number | undefined {
    return this.#i < this.#b.length ? this.#b[this.#i++] : undefined;
  }
  skip(n: number): boolean {
    if (this.#i + n > this.#b.length) return false;
    this.#i += n;
    return true;
  }
  bytes(n: number): Uint8Array | undefined {
    if (this.#i + n > this.#b.length) return undefined;
    const out = this.#b.subarray(this.#i, this.#i + n);
    this.#i += n;
    return out;
  }
}
