/**
 * The numeric view of a D0 value: a decimal number written with a point (§6.5: "decimal point only"),
 * an optional sign, and the space padding real meters use (`0.0(        18438636)`). Conversion to an
 * integer in a given resolution is done on the digits, so "0008048.375" kWh is exactly 8048375 Wh, never
 * 8048374.999….
 */

export interface Decimal {
  readonly negative: boolean;
  /** Digits before the point, as sent (may be empty: ".5"). */
  readonly integer: string;
  /** Digits after the point (empty when none). */
  readonly fraction: string;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Parses `text` as `[spaces][+|-]digits[.digits][spaces]`; undefined when it is not such a number. */
export function parseDecimal(text: string): Decimal | undefined {
  let i = 0;
  let end = text.length;
  while (i < end && text.charCodeAt(i) === 0x20) i++;
  while (end > i && text.charCodeAt(end - 1) === 0x20) end--;
  let negative = false;
  const sign = text.charCodeAt(i);
  if (sign === 0x2b || sign === 0x2d) {
    negative = sign === 0x2d;
    i++;
  }
  const intStart = i;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  const integer = text.slice(intStart, i);
  let fraction = "";
  if (i < end && text.charCodeAt(i) === 0x2e) {
    const fracStart = ++i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    fraction = text.slice(fracStart, i);
  }
  if (i !== end || integer.length + fraction.length === 0) return undefined;
  return { negative, integer, fraction };
}

/** True when `text` is a number as parseDecimal reads it (no allocation: the decoder calls it for every value with a unit). */
export function isDecimal(text: string): boolean {
  let i = 0;
  let end = text.length;
  while (i < end && text.charCodeAt(i) === 0x20) i++;
  while (end > i && text.charCodeAt(end - 1) === 0x20) end--;
  const sign = text.charCodeAt(i);
  if (sign === 0x2b || sign === 0x2d) i++;
  let digits = 0;
  let point = false;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && !point) point = true;
    else return false;
  }
  return digits > 0;
}

/** The value as a double (for display and tolerance checks), or undefined when it is not a number. */
export function decimalNumber(text: string): number | undefined {
  const d = parseDecimal(text);
  if (!d) return undefined;
  const n = Number(`${d.integer || "0"}.${d.fraction || "0"}`);
  return d.negative ? -n : n;
}

/**
 * trunc(value × 10^exponent) as an exact integer: `scaledInteger("0008048.375", 3)` is 8048375.
 * Digits below the resolution are dropped (rounding toward zero: an energy register has not reached
 * the next unit yet). Undefined when `text` is not a number or the result exceeds 2^53 − 1.
 */
export function scaledInteger(text: string, exponent: number): number | undefined {
  const d = parseDecimal(text);
  if (!d) return undefined;
  const digits = d.integer + d.fraction;
  const point = d.integer.length + exponent;
  let whole: string;
  if (point <= 0) whole = "0";
  else if (point >= digits.length) whole = digits + "0".repeat(point - digits.length);
  else whole = digits.slice(0, point);
  let start = 0;
  while (start < whole.length - 1 && whole.charCodeAt(start) === 0x30) start++;
  whole = whole.slice(start);
  if (whole.length > 16) return undefined;
  const n = Number(whole);
  if (n > Number.MAX_SAFE_INTEGER) return undefined;
  return d.negative && n !== 0 ? -n : n;
}
