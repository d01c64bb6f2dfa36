/**
 * Seeded line noise applied to each character on a wire. Rates are probabilities per character.
 * A flipped bit is one of the 8 bits between start and stop (in 7E1 that may be the parity bit, so
 * the receiver's parity check catches every single flip); a dropped character is one whose start bit
 * was lost; an extra character is a burst that looks like one more byte.
 */
import type { Prng } from "./prng.js";

export interface LineNoiseRates {
  /** Probability that one bit of a character is inverted. */
  flip?: number;
  /** Probability that a character is not received at all. */
  drop?: number;
  /** Probability that a random extra byte is received after a character. */
  extra?: number;
}

export interface NoiseCounters {
  characters: number;
  flipped: number;
  dropped: number;
  extra: number;
}

export class LineNoise {
  rates: Required<LineNoiseRates>;
  readonly counters: NoiseCounters = { characters: 0, flipped: 0, dropped: 0, extra: 0 };
  readonly #prng: Prng;

  constructor(prng: Prng, rates: LineNoiseRates = {}) {
    this.#prng = prng;
    this.rates = { flip: 0, drop: 0, extra: 0 };
    this.set(rates);
  }

  set(rates: LineNoiseRates): void {
    this.rates = { flip: rates.flip ?? 0, drop: rates.drop ?? 0, extra: rates.extra ?? 0 };
  }

  /** The bytes the receivers see for one transmitted character: [], [b'] or [b', extra]. */
  apply(byte: number): number[] {
    this.counters.characters++;
    const { flip, drop, extra } = this.rates;
    if (flip + drop + extra === 0) return [byte];
    const p = this.#prng;
    if (p.chance(drop)) {
      this.counters.dropped++;
      return [];
    }
    if (p.chance(flip)) {
      this.counters.flipped++;
      byte ^= 1 << p.int(8);
    }
    if (p.chance(extra)) {
      this.counters.extra++;
      return [byte, p.int(256)];
    }
    return [byte];
  }
}
