/**
 * Load-profile blocks (P.01, P.02) as EMH and Metcom meters answer an R5 read (IEC 62056-6-1 OBIS,
 * after Runamook/iec_62056-21 parser.py): a header data set
 * `P.01(syymmddhhmmss)(status)(period)(z)(code1)(unit1)…(codez)(unitz)` gives the time of the oldest
 * value, a status, the registration period in minutes and the z channels; each following data set
 * without address `(v1)…(vz)` is one period. A new header starts a new block (after a gap, or a
 * change of status). Header and status layout are vendor-specific: only this common shape is read.
 */
import type { DataSet, DataValue } from "./data-set.js";

export interface ProfileTime {
  /** s: 0 normal (winter) time, 1 summer time, 2 UTC (vendor usage). */
  readonly season: number;
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export interface LoadProfileBlock {
  /** "P.01" or "P.02" as sent. */
  readonly profile: string;
  readonly start: ProfileTime;
  /** Status as sent (vendor-specific, often hex). */
  readonly status: string;
  readonly periodMinutes: number;
  readonly channels: ReadonlyArray<{ readonly code: string; readonly unit: string }>;
  /** One row per period, oldest first, z values each. */
  readonly rows: DataValue[][];
  readonly offset: number;
}

export interface LoadProfileError {
  readonly code: "bad-header" | "bad-row" | "row-without-header";
  /** Offset of the data set. */
  readonly offset: number;
}

/** Parses `syymmddhhmm` or `syymmddhhmmss` (years 2000-2099); undefined when it is not a valid time. */
export function parseProfileTime(text: string): ProfileTime | undefined {
  if (!/^[0-9]{11}([0-9]{2})?$/.test(text)) return undefined;
  const n = (i: number) => Number(text.slice(i, i + 2));
  const t = { season: Number(text[0]), year: 2000 + n(1), month: n(3), day: n(5), hour: n(7), minute: n(9), second: text.length === 13 ? n(11) : 0 };
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > daysInMonth(t.year, t.month) || t.hour > 23 || t.minute > 59 || t.second > 59) return undefined;
  return t;
}

function daysInMonth(year: number, month: number): number {
  return month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** Days from 1970-01-01 to a civil date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The meter's local time as seconds since 1970 read as if it were UTC; subtract the meter's UTC offset for true UTC. */
export function localSeconds(t: ProfileTime): number {
  return daysFromCivil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

/** Local time (as localSeconds) of row `i` of a block. */
export function rowLocalSeconds(block: LoadProfileBlock, i: number): number {
  return localSeconds(block.start) + i * block.periodMinutes * 60;
}

/** Collects the load-profile blocks of `dataSets`; other data sets are ignored. */
export function loadProfiles(dataSets: readonly DataSet[]): { blocks: LoadProfileBlock[]; errors: LoadProfileError[] } {
  const blocks: LoadProfileBlock[] = [];
  const errors: LoadProfileError[] = [];
  let current: LoadProfileBlock | undefined;
  let inProfile = false;
  for (const ds of dataSets) {
    if (/^P\.0[12]$/.test(ds.address)) {
      current = header(ds);
      inProfile = true;
      if (current) blocks.push(current);
      else errors.push({ code: "bad-header", offset: ds.offset });
      continue;
    }
    if (ds.address !== "") {
      current = undefined;
      inProfile = false;
      continue;
    }
    if (!current) {
      if (!inProfile) errors.push({ code: "row-without-header", offset: ds.offset });
      continue;
    }
    if (ds.values.length !== current.channels.length || ds.values.some((v) => v.number === undefined)) errors.push({ code: "bad-row", offset: ds.offset });
    else current.rows.push(ds.values);
  }
  return { blocks, errors };
}

function header(ds: DataSet): LoadProfileBlock | undefined {
  const v = ds.values.map((x) => x.value);
  if (v.length < 4) return undefined;
  const start = parseProfileTime(v[0]!);
  const period = Number(v[2]);
  const z = Number(v[3]);
  if (!start || !/^[0-9]{1,4}$/.test(v[2]!) || period === 0 || !/^[0-9]{1,2}$/.test(v[3]!) || v.length !== 4 + 2 * z) return undefined;
  const channels: Array<{ code: string; unit: string }> = [];
  for (let i = 0; i < z; i++) channels.push({ code: v[4 + 2 * i]!, unit: v[5 + 2 * i]! });
  return { profile: ds.address, start, status: v[1]!, periodMinutes: period, channels, rows: [], offset: ds.offset };
}
