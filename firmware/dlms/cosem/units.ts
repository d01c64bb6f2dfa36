/**
 * Register values with their scaler and unit (IEC 62056-6-2 §4.3.2, attribute scaler_unit): the value
 * is value × 10^scaler in the unit. The concentrator keeps them exact, as the decimal text a D0 readout
 * would carry (firmware/d0/decimal.ts), so "8048375 × 10^-3 kWh" never becomes 8048.374999….
 */
import { frozen } from "../../model/frozen.js";

/** Unit enumeration of IEC 62056-6-2 §4.3.2 (the ones a concentrator meets), as D0 readouts write them. */
export const UNIT_TEXT: Readonly<Record<number, string>> = frozen({
  1: "a",
  2: "mo",
  3: "wk",
  4: "d",
  5: "h",
  6: "min",
  7: "s",
  8: "deg",
  9: "degC",
  27: "W",
  28: "VA",
  29: "var",
  30: "Wh",
  31: "VAh",
  32: "varh",
  33: "A",
  34: "C",
  35: "V",
  44: "Hz",
  56: "%",
  57: "Ah",
  254: "",
  255: "",
});

/**
 * The decimal text of `digits` (an integer's exact decimal form, sign allowed) × 10^scaler:
 * ("8048375", -3) → "8048.375", ("-5", -2) → "-0.05", ("12", 2) → "1200".
 */
export function scaledText(digits: string, scaler: number): string {
  const negative = digits.startsWith("-");
  let d = negative ? digits.slice(1) : digits;
  if (scaler >= 0) d = d === "0" ? "0" : d + "0".repeat(scaler);
  else {
    const point = -scaler;
    d = d.padStart(point + 1, "0");
    d = `${d.slice(0, d.length - point)}.${d.slice(d.length - point)}`;
  }
  return negative && !/^[0.]*$/.test(d) ? `-${d}` : d;
}
