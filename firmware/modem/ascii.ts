/**
 * ASCII and hexadecimal text for the AT interface. The device has TextEncoder/TextDecoder only as
 * modules, and AT traffic is 7-bit text anyway: one character is one byte (Latin-1 on decode, so a
 * garbage byte becomes one odd character instead of an exception).
 */

/** The bytes of `text`, one per character (low 8 bits). */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** `bytes[start..end)` as a string, one character per byte. */
export function asciiText(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = "";
  // Chunks keep the argument count of fromCharCode small (XS and V8 limit arguments).
  for (let i = start; i < end; i += 256) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 256)) as unknown as number[]);
  }
  return s;
}

const HEX_DIGITS = "0123456789ABCDEF";

/** Upper-case hexadecimal, two digits per byte (the PDU-mode notation of 3GPP TS 27.005 §3.1). */
export function hexEncode(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX_DIGITS[bytes[i]! >> 4]! + HEX_DIGITS[bytes[i]! & 15]!;
  return s;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Bytes of a hexadecimal string (either case); undefined if it has an odd length or a non-hex digit. */
export function hexDecode(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(text.charCodeAt(2 * i));
    const lo = hexValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}
