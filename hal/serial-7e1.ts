/**
 * 7E1 framing in software over an 8N1 UART (the ESP32 driver is 8N1-only, see Moddable SDK modules/io/serial/esp32/serial.c).
 *
 * A 7E1 character is start + 7 data + even parity + stop: the same 10 bits as 8N1, with the parity
 * bit where 8N1 carries bit 7. Transmit: set bit 7 to the even parity of the low 7 bits.
 * Receive: strip bit 7 when the parity is right; when it is wrong, keep bit 7 set so the error is
 * visible in-band at its exact position (a valid 7E1 character is always < 0x80).
 */

/** PARITY_BIT[c] is 0x80 when the 7-bit character c has an odd number of 1 bits. */
const PARITY_BIT = /* @__PURE__ */ (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    let ones = 0;
    for (let v = c; v; v >>= 1) ones += v & 1;
    table[c] = ones & 1 ? 0x80 : 0;
  }
  return table;
})();

/** The 8N1 byte that carries 7-bit character `c` with even parity. */
export function withEvenParity(c: number): number {
  const low = c & 0x7f;
  return low | PARITY_BIT[low]!;
}

/** Encodes 7-bit characters for an 8N1 line. Returns a new array. */
export function encode7E1(chars: Uint8Array): Uint8Array {
  const out = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) out[i] = withEvenParity(chars[i]!);
  return out;
}

/** True when the 8N1 byte `b` has even parity over all 8 bits, i.e. is a valid 7E1 character. */
export function hasEvenParity(b: number): boolean {
  return (b & 0x80) === PARITY_BIT[b & 0x7f];
}

/**
 * Decodes bytes received on an 8N1 line into 7E1 characters, in place.
 * Valid characters become < 0x80; a character with a parity error becomes (c & 0x7f) | 0x80.
 * Returns the number of parity errors.
 */
export function decode7E1InPlace(bytes: Uint8Array): number {
  let errors = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const low = b & 0x7f;
    if ((b & 0x80) === PARITY_BIT[low]) bytes[i] = low;
    else {
      bytes[i] = low | 0x80;
      errors++;
    }
  }
  return errors;
}

/** True when a decoded 7E1 character carries the parity-error mark. */
export function isParityError(c: number): boolean {
  return c >= 0x80;
}
