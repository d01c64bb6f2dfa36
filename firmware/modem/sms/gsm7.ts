/**
 * The GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1) as far as the concentrator needs it: unpacking
 * septets from octets (§6.1.2.1: packed least significant bit first, with `fillBits` skipped after a
 * user data header, 23.040 §9.2.3.24) and showing them as text for logs. The firmware never sends
 * 7-bit text: its own messages are 8-bit data.
 */

/** §6.2.1 default alphabet, code points 0x00..0x7F; 0x1B (escape to the extension table) shows as a space. */
const DEFAULT_ALPHABET =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/** `count` septets packed in `octets` from bit `fillBits` of `octets[0]`; undefined if they do not fit. */
export function unpackSeptets(octets: Uint8Array, count: number, fillBits = 0): Uint8Array | undefined {
  if (count < 0 || fillBits < 0 || fillBits > 6) return undefined;
  if (Math.ceil((fillBits + 7 * count) / 8) > octets.length) return undefined;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const bit = fillBits + 7 * i;
    const byte = bit >> 3;
    const shift = bit & 7;
    let v = octets[byte]! >> shift;
    if (shift > 1) v |= octets[byte + 1]! << (8 - shift);
    out[i] = v & 0x7f;
  }
  return out;
}

/** Septets as text, for display only (the extension table is not decoded). */
export function gsm7Text(septets: Uint8Array): string {
  let s = "";
  for (let i = 0; i < septets.length; i++) s += DEFAULT_ALPHABET[septets[i]! & 0x7f]!;
  return s;
}
