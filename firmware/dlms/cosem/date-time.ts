/**
 * COSEM date-time (IEC 62056-6-2 §4.1.6.1, 12 bytes): year (2, 0xFFFF not specified), month, day of
 * month, day of week (1 = Monday), hour, minute, second, hundredths (0xFF not specified), deviation
 * (int16, minutes, 0x8000 not specified) and clock status.
 *
 * The fields are local time; the deviation is what to add to it to get UTC, in minutes (central
 * European winter time is −60), as the Green Book's examples and the implementations that copy them
 * write it. Clock status bits: 0 invalid value, 1 doubtful value, 2 different clock base, 3 invalid
 * clock status, 7 daylight saving active; 0xFF not specified.
 */
import { frozen } from "../../model/frozen.js";

export const ClockStatus = frozen({
  invalid: 0x01,
  doubtful: 0x02,
  differentBase: 0x04,
  invalidStatus: 0x08,
  daylightSaving: 0x80,
  notSpecified: 0xff,
} as const);

const DEVIATION_NOT_SPECIFIED = -0x8000;

export interface CosemDateTime {
  /** UTC seconds since 1970 (local fields + deviation); undefined when a date or time field is not specified. */
  readonly epochS: number | undefined;
  /** Minutes to add to local time to get UTC; undefined when not specified (then `epochS` takes the fields as UTC). */
  readonly deviation: number | undefined;
  readonly status: number;
}

/** A date-time for `epochS` (UTC) shown in the local time of `deviation` (minutes to add to get UTC). */
export function encodeDateTime(epochS: number, deviation = 0, status = 0): Uint8Array {
  const local = new Date((Math.floor(epochS) - deviation * 60) * 1000);
  const dow = local.getUTCDay();
  const dev = deviation & 0xffff;
  const year = local.getUTCFullYear();
  return Uint8Array.of(year >> 8, year & 0xff, local.getUTCMonth() + 1, local.getUTCDate(), dow === 0 ? 7 : dow, local.getUTCHours(), local.getUTCMinutes(), local.getUTCSeconds(), 0, dev >> 8, dev & 0xff, status);
}

/** The date-time of 12 bytes; undefined when the length is wrong or a specified field is out of range. */
export function decodeDateTime(b: Uint8Array): CosemDateTime | undefined {
  if (b.length !== 12) return undefined;
  const year = (b[0]! << 8) | b[1]!;
  const [month, day, , hour, minute, second, hundredths] = [b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!];
  let dev = (b[9]! << 8) | b[10]!;
  if (dev >= 0x8000) dev -= 0x10000;
  const deviation = dev === DEVIATION_NOT_SPECIFIED ? undefined : dev;
  if (deviation !== undefined && (deviation < -720 || deviation > 720)) return undefined;
  const status = b[11]!;
  const unspecified = year === 0xffff || month > 12 || day > 31 || hour === 0xff || minute === 0xff;
  if (unspecified) return { epochS: undefined, deviation, status };
  if (month < 1 || day < 1 || hour > 23 || minute > 59 || (second !== 0xff && second > 59) || (hundredths !== 0xff && hundredths > 99)) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second === 0xff ? 0 : second);
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return { epochS: ms / 1000 + (deviation ?? 0) * 60, deviation, status };
}
