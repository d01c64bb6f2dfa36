/**
 * Builders for every IEC 62056-21 message (STD §6.3), as 7-bit characters: the serial port adds the
 * parity bit (hal/serial-7e1.ts). Arguments that break the standard's limits throw RangeError: they
 * are programming errors, never data from the line.
 */
import { bcc } from "./bcc.js";
import { ACK, END, EOT, ETX, NAK, SOH, STX, asciiBytes } from "./chars.js";
import { ADDRESS_MAX, UNIT_MAX, VALUE_MAX } from "./data-set.js";

/** A data set to encode: values as strings (with an optional unit each), one value group per entry. */
export interface DataSetText {
  readonly address: string;
  readonly values: ReadonlyArray<{ readonly value: string; readonly unit?: string | undefined }>;
}

const CRLF = "\r\n";

function check(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`invalid ${what}`);
}

function onlyChars(text: string, allowed: (c: number) => boolean): boolean {
  for (let i = 0; i < text.length; i++) if (!allowed(text.charCodeAt(i))) return false;
  return true;
}

const printable = (c: number) => c >= 0x20 && c <= 0x7e;
/** Address and unit: printable except ( ) / ! (§6.5). Value: also not * (§6.5). */
const addressChar = (c: number) => printable(c) && c !== 0x28 && c !== 0x29 && c !== 0x2f && c !== 0x21;
const valueChar = (c: number) => addressChar(c) && c !== 0x2a;

/** `address(value*unit)(…)` as text. */
export function dataSetText(ds: DataSetText): string {
  check(ds.address.length <= ADDRESS_MAX && onlyChars(ds.address, addressChar), "address");
  let out = ds.address;
  for (const v of ds.values) {
    check(v.value.length <= VALUE_MAX && onlyChars(v.value, valueChar), "value");
    out += `(${v.value}`;
    if (v.unit !== undefined) {
      check(v.unit.length > 0 && v.unit.length <= UNIT_MAX && onlyChars(v.unit, addressChar), "unit");
      out += `*${v.unit}`;
    }
    out += ")";
  }
  return out;
}

/** Request `/ ? address ! CR LF` (§6.3.1): address ≤ 32 of 0-9 A-Z a-z space; "" is the general address. */
export function encodeRequest(address: string): Uint8Array {
  const ok = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x20;
  check(address.length <= 32 && onlyChars(address, ok), "address");
  return asciiBytes(`/?${address}!${CRLF}`);
}

/** Identification `/ XXX Z identification CR LF` (§6.3.2); `rest` holds any `\W` pairs. */
export function encodeIdentification(manufacturer: string, baudChar: string, rest: string): Uint8Array {
  check(/^[A-Za-z]{3}$/.test(manufacturer), "manufacturer");
  check(baudChar.length === 1 && printable(baudChar.charCodeAt(0)) && !"/!\\".includes(baudChar), "baud character");
  check(rest.length <= 16 && onlyChars(rest, (c) => printable(c) && c !== 0x2f && c !== 0x21), "identification");
  return asciiBytes(`/${manufacturer}${baudChar}${rest}${CRLF}`);
}

/** ACK/option select `ACK V Z Y CR LF` (§6.3.3): V protocol control, Z baud character, Y mode control. */
export function encodeOptionSelect(protocol: string, baudChar: string, modeChar: string): Uint8Array {
  check(/^[0-9]$/.test(protocol) && /^[0-9A-Za-z]$/.test(baudChar) && /^[0-9A-Z]$/.test(modeChar), "option select");
  const out = asciiBytes(`_${protocol}${baudChar}${modeChar}${CRLF}`);
  out[0] = ACK;
  return out;
}

export function encodeAck(): Uint8Array {
  return Uint8Array.of(ACK);
}

export function encodeNak(): Uint8Array {
  return Uint8Array.of(NAK);
}

/** Appends ETX (or EOT) and the BCC over everything after the first byte (SOH or STX). */
function withBcc(body: string, first: number, partial: boolean): Uint8Array {
  const out = new Uint8Array(body.length + 3);
  out[0] = first;
  out.set(asciiBytes(body), 1);
  out[body.length + 1] = partial ? EOT : ETX;
  out[body.length + 2] = bcc(out, 1, body.length + 2) & 0x7f;
  return out;
}

export type CommandLetter = "P" | "W" | "R" | "E" | "B";

/**
 * Programming command `SOH C D STX data-set ETX BCC` (§6.3.7), or `SOH C D ETX BCC` without a data
 * set (break B0, B1). `partial` ends it with EOT (types 3 and 4, §6.4.7).
 */
export function encodeCommand(letter: CommandLetter, type: string, dataSet?: DataSetText, partial = false): Uint8Array {
  check("PWREB".includes(letter) && letter.length === 1 && /^[0-9]$/.test(type), "command");
  if (dataSet === undefined) {
    const out = new Uint8Array(5);
    out[0] = SOH;
    out[1] = letter.charCodeAt(0);
    out[2] = type.charCodeAt(0);
    out[3] = partial ? EOT : ETX;
    out[4] = bcc(out, 1, 4) & 0x7f;
    return out;
  }
  return withBcc(`${letter}${type}\x02${dataSetText(dataSet)}`, SOH, partial);
}

/** Break `SOH B 0 ETX BCC` (§6.3.8): bytes 01 42 30 03 71. */
export function encodeBreak(): Uint8Array {
  return encodeCommand("B", "0");
}

/**
 * Data message `STX data-block ETX BCC` (§6.3.5), one data set per line. With `readout` the block
 * ends with "! CR LF"; without it (programming-mode data) the last line has no CR LF. `partial` ends
 * it with EOT.
 */
export function encodeDataMessage(dataSets: readonly DataSetText[], options: { readout?: boolean; partial?: boolean } = {}): Uint8Array {
  const body = options.readout ? dataSets.map((d) => dataSetText(d) + CRLF).join("") + `!${CRLF}` : dataSets.map(dataSetText).join(CRLF);
  return withBcc(body, STX, options.partial ?? false);
}

/** Error message `STX (text) ETX BCC` (§6.3.6, Annex A): ≤ 32 printable characters, not ( ) * / !. */
export function encodeErrorMessage(text: string): Uint8Array {
  check(text.length <= 32 && onlyChars(text, valueChar), "error text");
  return withBcc(`(${text})`, STX, false);
}

/** The data part of a readout without STX: one data set per line, then "! CR LF" (mode D, §6.4.4 Fig. 19). */
export function modeDDataText(dataSets: readonly DataSetText[]): string {
  return dataSets.map((d) => dataSetText(d) + CRLF).join("") + String.fromCharCode(END) + CRLF;
}

/** Mode D readout `/ XXX 3 identification CR LF CR LF data ! CR LF` (§6.4.4): no STX, ETX or BCC. */
export function encodeModeDReadout(identificationText: string, dataSets: readonly DataSetText[]): Uint8Array {
  return asciiBytes(`/${identificationText}${CRLF}${CRLF}${modeDDataText(dataSets)}`);
}
