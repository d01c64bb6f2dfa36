/**
 * The network's side of SMS PDUs (3GPP TS 23.040 §9.2): the service centre decodes what a modem submits
 * (SMS-SUBMIT) and builds what it delivers (SMS-DELIVER) and reports (SMS-STATUS-REPORT).
 *
 * This is deliberately an implementation of its own, not the firmware's codec run backwards: the
 * firmware encodes SUBMIT and decodes DELIVER / STATUS-REPORT, the network does the opposite, and two
 * independent readings of 23.040 meeting in the middle is what the round-trip tests check.
 */

export interface SimIe {
  readonly id: number;
  readonly data: Uint8Array;
}

/** A short message as the simulated network carries it. */
export interface SimSms {
  readonly from: string;
  readonly to: string;
  /** "8bit": `data` are octets; "gsm7": `data` are septet values; "ucs2": octets. */
  readonly alphabet: "8bit" | "gsm7" | "ucs2";
  readonly header: readonly SimIe[];
  readonly data: Uint8Array;
}

export interface DecodedSubmit {
  readonly to: string;
  readonly messageRef: number;
  readonly statusReport: boolean;
  readonly alphabet: SimSms["alphabet"];
  readonly header: readonly SimIe[];
  readonly data: Uint8Array;
}

/** SMS-SUBMIT TPDU (no SCA) → its fields; undefined when malformed (the modem answers +CMS ERROR: 304). */
export function decodeSubmit(tpdu: Uint8Array): DecodedSubmit | undefined {
  if (tpdu.length < 2) return undefined;
  const first = tpdu[0]!;
  const messageRef = tpdu[1]!;
  if ((first & 0x03) !== 0x01) return undefined; // TP-MTI 01: SUBMIT
  const to = readAddress(tpdu, 2);
  if (!to) return undefined;
  // TP-PID, TP-DCS, TP-VP (§9.2.3.3 TP-VPF: 0 none, 2 relative: 1 octet, 1 enhanced / 3 absolute: 7), TP-UDL
  const vpf = (first >> 3) & 0x03;
  const udlAt = to.end + 2 + (vpf === 0 ? 0 : vpf === 2 ? 1 : 7);
  if (udlAt >= tpdu.length) return undefined;
  const dcs = tpdu[to.end + 1]!;
  const udl = tpdu[udlAt]!;
  const alphabet = dcs === 0x00 || dcs === 0xf0 ? "gsm7" : dcs === 0x04 || dcs === 0xf4 ? "8bit" : dcs === 0x08 ? "ucs2" : undefined;
  if (!alphabet) return undefined;
  const octets = alphabet === "gsm7" ? Math.ceil((udl * 7) / 8) : udl;
  if (octets > MAX_OCTETS || udlAt + 1 + octets !== tpdu.length) return undefined;
  const ud = tpdu.subarray(udlAt + 1);
  let header: SimIe[] = [];
  let start = 0;
  if (first & 0x40) {
    const h = readHeader(ud);
    if (!h) return undefined;
    header = h;
    start = 1 + ud[0]!;
  }
  let data: Uint8Array | undefined;
  if (alphabet === "gsm7") {
    const headerSeptets = Math.ceil((start * 8) / 7);
    data = unpack(ud.subarray(start), udl - headerSeptets, headerSeptets * 7 - start * 8);
  } else data = ud.slice(start);
  if (!data) return undefined;
  return { to: to.number, messageRef, statusReport: (first & 0x20) !== 0, alphabet, header, data };
}

/** One SMS carries at most 140 octets of user data (§9.2.3.16): 160 septets in the 7-bit alphabet. */
const MAX_OCTETS = 140;
const MAX_SEPTETS = 160;

/**
 * TP-UDL of `sms`: septets (header included, padded to a septet boundary) in the 7-bit alphabet,
 * octets otherwise. RangeError when it does not fit one SMS: no network delivers such a message.
 */
export function userDataLength(sms: SimSms): number {
  const hdr = headerOctets(sms.header).length;
  const udl = sms.alphabet === "gsm7" ? Math.ceil((hdr * 8) / 7) + sms.data.length : hdr + sms.data.length;
  if (udl > (sms.alphabet === "gsm7" ? MAX_SEPTETS : MAX_OCTETS)) throw new RangeError(`an SMS holds at most ${MAX_OCTETS} octets of user data (TP-UDL ${udl}, ${sms.alphabet})`);
  return udl;
}

/** SMS-DELIVER TPDU (no SCA): MTI 00, TP-MMS set (no more messages), TP-UDHI if a header is given. */
export function encodeDeliver(sms: SimSms, epochMs: number): Uint8Array {
  const udl = userDataLength(sms);
  const out: number[] = [0x04 | (sms.header.length ? 0x40 : 0)];
  out.push(...address(sms.from), 0x00, sms.alphabet === "8bit" ? 0x04 : sms.alphabet === "ucs2" ? 0x08 : 0x00, ...timestamp(epochMs));
  const hdr = headerOctets(sms.header);
  if (sms.alphabet === "gsm7") {
    const headerSeptets = Math.ceil((hdr.length * 8) / 7);
    out.push(udl, ...hdr, ...pack(sms.data, headerSeptets * 7 - hdr.length * 8));
  } else {
    out.push(udl, ...hdr, ...sms.data);
  }
  return new Uint8Array(out);
}

/** SMS-STATUS-REPORT TPDU (no SCA): MTI 10, the submit's TP-MR, the recipient, SCTS, DT, TP-ST. */
export function encodeStatusReport(messageRef: number, recipient: string, status: number, submittedMs: number, dischargedMs: number): Uint8Array {
  return new Uint8Array([0x06, messageRef & 0xff, ...address(recipient), ...timestamp(submittedMs), ...timestamp(dischargedMs), status & 0xff]);
}

/** The service-centre address field that precedes a TPDU in +CMGR / +CMT / +CDS (27.005 §3.1). */
export function scaOctets(number: string): number[] {
  const a = address(number);
  // An SCA counts octets (type octet included), an address counts digits.
  return [a.length - 1, ...a.slice(1)];
}

/** §9.1.2.5: digit count, type (0x91 international, 0x81 unknown), swapped BCD with an F filler. */
function address(number: string): number[] {
  const international = number.startsWith("+");
  const digits = international ? number.slice(1) : number;
  const out = [digits.length, international ? 0x91 : 0x81];
  for (let i = 0; i < digits.length; i += 2) {
    const lo = digits.charCodeAt(i) - 0x30;
    const hi = i + 1 < digits.length ? digits.charCodeAt(i + 1) - 0x30 : 0x0f;
    out.push(((hi & 0x0f) << 4) | (lo & 0x0f));
  }
  return out;
}

function readAddress(b: Uint8Array, i: number): { number: string; end: number } | undefined {
  if (i + 2 > b.length) return undefined;
  const count = b[i]!;
  const toa = b[i + 1]!;
  const end = i + 2 + Math.ceil(count / 2);
  if (count === 0 || count > 20 || end > b.length) return undefined;
  let digits = "";
  for (let k = 0; k < count; k++) {
    const nibble = (b[i + 2 + (k >> 1)]! >> ((k & 1) * 4)) & 0x0f;
    if (nibble > 9) return undefined;
    digits += String(nibble);
  }
  return { number: (toa & 0x70) === 0x10 ? `+${digits}` : digits, end };
}

/** §9.2.3.11: YY MM DD hh mm ss, each in swapped BCD, then the zone (0: UTC). */
function timestamp(epochMs: number): number[] {
  const d = new Date(epochMs);
  const fields = [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  return [...fields.map((v) => ((v % 10) << 4) | Math.floor(v / 10)), 0x00];
}

function headerOctets(header: readonly SimIe[]): number[] {
  if (header.length === 0) return [];
  const body: number[] = [];
  for (const ie of header) body.push(ie.id, ie.data.length, ...ie.data);
  return [body.length, ...body];
}

function readHeader(ud: Uint8Array): SimIe[] | undefined {
  if (ud.length === 0 || 1 + ud[0]! > ud.length) return undefined;
  const end = 1 + ud[0]!;
  const out: SimIe[] = [];
  for (let i = 1; i < end; ) {
    if (i + 2 > end || i + 2 + ud[i + 1]! > end) return undefined;
    out.push({ id: ud[i]!, data: ud.slice(i + 2, i + 2 + ud[i + 1]!) });
    i += 2 + ud[i + 1]!;
  }
  return out;
}

/** 23.038 §6.1.2.1 packing, starting `fill` bits into the first octet. */
function pack(septets: Uint8Array, fill: number): number[] {
  const out = new Array<number>(Math.ceil((fill + septets.length * 7) / 8)).fill(0);
  for (let k = 0; k < septets.length; k++) {
    const bit = fill + k * 7;
    const v = septets[k]! & 0x7f;
    out[bit >> 3]! |= (v << (bit & 7)) & 0xff;
    if ((bit & 7) > 1) out[(bit >> 3) + 1]! |= v >> (8 - (bit & 7));
  }
  return out;
}

function unpack(octets: Uint8Array, count: number, fill: number): Uint8Array | undefined {
  if (count < 0 || Math.ceil((fill + count * 7) / 8) > octets.length) return undefined;
  const out = new Uint8Array(count);
  for (let k = 0; k < count; k++) {
    const bit = fill + k * 7;
    const lo = octets[bit >> 3]! >> (bit & 7);
    const hi = (bit & 7) > 1 ? octets[(bit >> 3) + 1]! << (8 - (bit & 7)) : 0;
    out[k] = (lo | hi) & 0x7f;
  }
  return out;
}

/** ASCII text as GSM default-alphabet septets (letters, digits and common punctuation coincide). */
export function gsm7Septets(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) === 0x40 ? 0x00 : text.charCodeAt(i) & 0x7f;
  return out;
}
