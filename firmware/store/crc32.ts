/**
 * CRC-32/ISO-HDLC (the zlib and Ethernet CRC): polynomial 0x04C11DB7 reflected (0xEDB88320),
 * initial value 0xFFFFFFFF, input and output reflected, final XOR 0xFFFFFFFF. Check value of the
 * ASCII string "123456789": 0xCBF43926 (Greg Cook's CRC catalogue, "CRC-32/ISO-HDLC").
 *
 * Slicing-by-4 (four bytes per step, Intel's "slicing-by-N" method): in XS a loop step costs far more
 * than the table look-ups in it, so this halves the cost per byte of the one-table loop. The 4 KiB of
 * tables are built once and never written again (on the device they are preloaded into flash).
 */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  }
  return t;
}

/** CRC-32 of `bytes[from, to)`. */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  const t = TABLES;
  let c = 0xffffffff;
  let i = from;
  // Single bytes up to a 4-byte boundary, then whole words (one typed-array read for four bytes;
  // the ESP32 and the hosts are little-endian, as the table order assumes), then the tail.
  while (i < to && ((bytes.byteOffset + i) & 3) !== 0) c = t[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8);
  const words = (to - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      c ^= w[k]!;
      c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
    }
    i += words << 2;
  }
  for (; i < to; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
