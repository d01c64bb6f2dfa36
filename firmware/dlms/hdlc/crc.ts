/**
 * The HDLC frame check sequence of IEC 62056-46 §5.3 (the same as ISO/IEC 13239's FCS-16, "CRC-16/X.25"):
 * polynomial x^16 + x^12 + x^5 + 1 processed LSB first (0x8408 reflected), register preset to 0xFFFF, the
 * result complemented and sent low byte first. The header check sequence (HCS) is the same CRC over the
 * header only.
 */

const TABLE = /* @__PURE__ */ (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** The FCS of `bytes[start, end)`, as the 16-bit value sent low byte first. */
export function fcs16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return ~crc & 0xffff;
}

/** Writes the FCS of `bytes[start, end)` at `end` (two bytes, low first). */
export function putFcs(bytes: Uint8Array, start: number, end: number): void {
  const crc = fcs16(bytes, start, end);
  bytes[end] = crc & 0xff;
  bytes[end + 1] = crc >>> 8;
}

/** True when the two bytes at `end` are the FCS of `bytes[start, end)`. */
export function fcsMatches(bytes: Uint8Array, start: number, end: number): boolean {
  const crc = fcs16(bytes, start, end);
  return bytes[end] === (crc & 0xff) && bytes[end + 1] === crc >>> 8;
}
