/**
 * SHA-256 (FIPS 180-4 §6.2) in plain ECMAScript, incremental: the simulated board's stand-in for the
 * device's native SHA-256 (hal/system.ts `CryptoService.sha256`), and the simulated bootloader's image
 * check. 32-bit words in `| 0` arithmetic, one compression per 64-byte block.
 *
 * Cost in XS (xsnap): ~15 k units per block, ~235 k per KiB. @noble/hashes' sha256 measured 547 k per
 * KiB in the same engine, so this one stands in for native code at the lowest cost plain ECMAScript
 * allows (docs/ota.md "Hashing"). Checked against Node's crypto in host-tests/sim/sha256.test.ts.
 */
import type { Sha256 } from "../system.js";

/** The first 32 bits of the fractional parts of the cube roots of the first 64 primes (§4.2.2). */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
/** Initial hash value (§5.3.3). */
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const BLOCK = 64;

export class SoftSha256 implements Sha256 {
  readonly #h = new Int32Array(H0);
  readonly #w = new Int32Array(64);
  readonly #buffer = new Uint8Array(BLOCK);
  #buffered = 0;
  #length = 0;
  #done = false;

  update(bytes: Uint8Array): void {
    if (this.#done) throw new Error("digest taken");
    let i = 0;
    const n = bytes.length;
    this.#length += n;
    if (this.#buffered > 0) {
      while (this.#buffered < BLOCK && i < n) this.#buffer[this.#buffered++] = bytes[i++]!;
      if (this.#buffered < BLOCK) return;
      this.#block(this.#buffer, 0);
      this.#buffered = 0;
    }
    for (; i + BLOCK <= n; i += BLOCK) this.#block(bytes, i);
    while (i < n) this.#buffer[this.#buffered++] = bytes[i++]!;
  }

  digest(): Uint8Array {
    if (this.#done) throw new Error("digest taken");
    // Padding (§5.1.1): 0x80, zeros, then the length in bits as a 64-bit big-endian integer.
    const bits = this.#length * 8;
    const tail = new Uint8Array(this.#buffered < 56 ? 64 : 128);
    tail.set(this.#buffer.subarray(0, this.#buffered));
    tail[this.#buffered] = 0x80;
    const hi = Math.floor(bits / 2 ** 32);
    const at = tail.length - 8;
    for (let k = 0; k < 4; k++) {
      tail[at + k] = (hi >>> (24 - 8 * k)) & 0xff;
      tail[at + 4 + k] = (bits >>> (24 - 8 * k)) & 0xff;
    }
    this.#done = true;
    for (let o = 0; o < tail.length; o += BLOCK) this.#block(tail, o);
    const out = new Uint8Array(32);
    for (let k = 0; k < 8; k++) {
      const v = this.#h[k]!;
      out[4 * k] = v >>> 24;
      out[4 * k + 1] = (v >>> 16) & 0xff;
      out[4 * k + 2] = (v >>> 8) & 0xff;
      out[4 * k + 3] = v & 0xff;
    }
    return out;
  }

  /** One compression (§6.2.2) of the 64 bytes at `p[o]`. */
  #block(p: Uint8Array, o: number): void {
    const w = this.#w;
    const h = this.#h;
    for (let t = 0; t < 16; t++, o += 4) w[t] = (p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!;
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15]!;
      const b = w[t - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[t] = (s1 + w[t - 7]! + s0 + w[t - 16]!) | 0;
    }
    let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
    for (let t = 0; t < 64; t++) {
      const t1 = (k + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
    h[5] = (h[5]! + f) | 0;
    h[6] = (h[6]! + g) | 0;
    h[7] = (h[7]! + k) | 0;
  }
}

/** SHA-256 of `bytes` in one call. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const h = new SoftSha256();
  h.update(bytes);
  return h.digest();
}
