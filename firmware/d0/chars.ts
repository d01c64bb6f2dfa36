/**
 * IEC 62056-21 control and framing characters (STD §6.3.14), and
 * the ASCII helpers the codec needs: TextEncoder/TextDecoder are modules, not globals, on the device.
 */

/** Start of header: opens a programming command (§6.3.7). */
export const SOH = 0x01;
/** Frame start: the BCC is computed from the character after it (§6.3.5). */
export const STX = 0x02;
/** End of block (§6.3.5). */
export const ETX = 0x03;
/** End of a partial block (§6.4.7). */
export const EOT = 0x04;
/** Acknowledge (§6.3.6). */
export const ACK = 0x06;
/** Repeat request (§6.3.6). */
export const NAK = 0x15;
export const LF = 0x0a;
export const CR = 0x0d;
/** Start character of a request or an identification (§6.3.1, §6.3.2). */
export const START = 0x2f; // "/"
/** Transmission request (§6.3.1). */
export const REQUEST = 0x3f; // "?"
/** End character of a request, and end of the data of a readout (§6.3.1, §6.3.5). */
export const END = 0x21; // "!"
export const OPEN = 0x28; // "("
export const CLOSE = 0x29; // ")"
export const STAR = 0x2a; // "*": separates value and unit (§6.5)
export const BACKSLASH = 0x5c; // "\": escape of an enhanced identification character (§6.3.2)
/** Separator of several values inside one value group: a Landis+Gyr/Siemens heat-meter habit (9.4(088*C&082*C)), not in the standard. */
export const AMPERSAND = 0x26;
/** Wake-up character of battery meters (STD Annex B). */
export const NUL = 0x00;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** ASCII bytes of `text`; throws RangeError when a character is not 7-bit. */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new RangeError("not ascii");
    out[i] = c;
  }
  return out;
}
