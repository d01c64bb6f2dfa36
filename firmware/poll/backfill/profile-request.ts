/**
 * The load-profile read of a local module (docs/backfill.md): `R5 P.01(0yymmddhhmm;0yymmddhhmm)` in
 * programming mode asks for the rows whose time (the module's clock, the end of each interval) is in
 * the range; the answer is P.01 blocks (firmware/d0/load-profile.ts) whose channels are the energy
 * registers of the module's meters as `1-b:C.D.E` with their unit. A header's status (hex) is the
 * module's status of the intervals in its block:
 *
 * | bit | meaning | reading status |
 * |---|---|---|
 * | 0x01 | power failure in the interval | power failure |
 * | 0x02 | clock set in the interval | clock adjusted |
 * | 0x04 | value not valid | implausible (never truth) |
 */
import type { DataSet } from "../../d0/data-set.js";
import { loadProfiles, rowLocalSeconds } from "../../d0/load-profile.js";
import { parseObis } from "../../d0/obis.js";
import { unitExponent } from "../../d0/readings.js";
import { ReadingStatus, registerCode, type RegisterCode } from "../../model/records.js";
import type { SessionCommand } from "../../bus/types.js";
import { utcStamp } from "../../model/utc-stamp.js";

export const PROFILE_ADDRESS = "P.01";

/** Header status bits of a module's profile, and the reading status each becomes. */
const STATUS_MAP: ReadonlyArray<readonly [number, number]> = Object.freeze([
  Object.freeze([0x01, ReadingStatus.powerFailure] as const),
  Object.freeze([0x02, ReadingStatus.clockAdjusted] as const),
  Object.freeze([0x04, ReadingStatus.implausible] as const),
]);

/** R5 of the profile rows from `fromS` to `toS` (module clock, seconds since 1970 UTC; minutes are what the range carries). */
export function readProfile(fromS: number, toS: number): SessionCommand {
  return { letter: "R", type: "5", dataSet: { address: PROFILE_ADDRESS, values: [{ value: `0${utcStamp(fromS, false)};0${utcStamp(toS, false)}` }] } };
}

export interface ProfileValue {
  /** OBIS channel B: the meter behind the module. */
  readonly channel: number;
  readonly register: RegisterCode;
  /** Wh (energy) or varh. */
  readonly value: number;
}

export interface ProfileRow {
  /** Module clock at the end of the interval, s. */
  readonly moduleS: number;
  /** ReadingStatus bits from the block's header. */
  readonly status: number;
  readonly values: readonly ProfileValue[];
}

/**
 * The rows of a profile answer, oldest first. Channels that are not electricity energy registers with
 * a known unit are left out; a row whose value does not read is left out whole (`skipped`).
 */
export function profileRows(dataSets: readonly DataSet[]): { rows: ProfileRow[]; skipped: number } {
  const { blocks, errors } = loadProfiles(dataSets);
  const rows: ProfileRow[] = [];
  let skipped = errors.length;
  for (const block of blocks) {
    const channels = block.channels.map((ch) => {
      const o = parseObis(ch.code);
      const exponent = o && o.d !== undefined && (o.a === undefined || o.a === 1) && o.b !== undefined ? unitExponent(o.c, o.d, ch.unit) : undefined;
      return o && exponent !== undefined ? { channel: o.b!, register: registerCode(o.c, o.d!, o.e ?? 0), exponent } : undefined;
    });
    const status = headerStatus(block.status);
    block.rows.forEach((row, i) => {
      const values: ProfileValue[] = [];
      for (let k = 0; k < channels.length; k++) {
        const ch = channels[k];
        if (!ch) continue;
        const value = row[k]!.scaled(ch.exponent);
        if (value === undefined) return void skipped++;
        values.push({ channel: ch.channel, register: ch.register, value });
      }
      rows.push({ moduleS: rowLocalSeconds(block, i), status, values });
    });
  }
  return { rows, skipped };
}

function headerStatus(text: string): number {
  const bits = /^[0-9A-Fa-f]{1,4}$/.test(text) ? parseInt(text, 16) : 0;
  let s = 0;
  for (const [bit, status] of STATUS_MAP) if (bits & bit) s |= status;
  return s;
}

