/**
 * A data set `address(value*unit)(value*unit)…` (STD §6.5-§6.6): the address and the values exactly as
 * sent, with a numeric view of each value where it is a number.
 */
import { decimalNumber, scaledInteger } from "./decimal.js";

export class DataValue {
  /** The value as sent (spaces and leading zeros kept). */
  readonly value: string;
  /** The unit as sent; undefined when the value group had none. */
  readonly unit: string | undefined;

  constructor(value: string, unit?: string) {
    this.value = value;
    if (unit !== undefined) this.unit = unit;
    else this.unit = undefined;
  }

  /** The value as a double, or undefined when it is not a decimal number ("1ISK0063355730", "L1-L2-L3"). */
  get number(): number | undefined {
    return decimalNumber(this.value);
  }

  /** trunc(value × 10^exponent) as an exact integer (see decimal.ts), or undefined. */
  scaled(exponent: number): number | undefined {
    return scaledInteger(this.value, exponent);
  }

  toJSON(): { value: string; unit?: string } {
    return this.unit === undefined ? { value: this.value } : { value: this.value, unit: this.unit };
  }
}

export interface DataSet {
  /** As sent: "1-0:1.8.0*255", "1.8.0", "F.F", "P.01", or "" for a row of values without address. */
  readonly address: string;
  /** One entry per value group; a group with `&`-separated parts gives one entry per part. */
  readonly values: DataValue[];
  /** Offset of the data set's first byte in the decoder's input. */
  readonly offset: number;
}

/** Address characters: printable, except ( ) / ! (§6.5). Address ≤ 16, value ≤ 128, unit ≤ 16. */
export const ADDRESS_MAX = 16;
export const VALUE_MAX = 128;
export const UNIT_MAX = 16;
/** Value groups kept per data set; a load-profile header with 16 channels has 36. */
export const VALUES_MAX = 64;
