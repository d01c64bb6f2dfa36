/**
 * Seeded pseudo-random numbers for the simulation: sfc32 (Chris Doty-Humphrey's Small Fast Counter),
 * which passes PractRand to 2^40+ and needs only 32-bit integer arithmetic, cheap in XS.
 *
 * Every random consumer takes its own stream from `fork(label)`, so adding a consumer (or a draw in
 * one) never shifts the numbers another one sees: traces stay comparable between versions.
 */
export class Prng {
  readonly seed: string;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number | string) {
    this.seed = String(seed);
    const h = hash32(this.seed);
    this.#a = h[0]!;
    this.#b = h[1]!;
    this.#c = h[2]!;
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** A uniformly distributed number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** An exponentially distributed number with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 4) {
      let v = this.nextUint32();
      for (let j = i; j < i + 4 && j < bytes.length; j++, v >>>= 8) bytes[j] = v & 0xff;
    }
  }

  /** An independent stream that depends only on this stream's seed and `label`, not on draws made. */
  fork(label: string): Prng {
    return new Prng(`${this.seed}/${label}`);
  }
}

/** Three 32-bit words from a string (cyrb128-style mixing). */
function hash32(text: string): number[] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h1 ^ Math.imul(h3 ^ k, 951274213);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h1 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h2 ^ (h3 >>> 17), 951274213);
  return [(h1 ^ h2 ^ h3) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0];
}
