/**
 * Profile generic (IC 7) buffers: selective access by range on the clock column (access selector 1,
 * range_descriptor), and the buffer read back as rows with their time.
 *
 * A row's time is its clock column; a meter may leave it null in rows that follow the previous one
 * by exactly one capture period (IEC 62056-6-2 §4.3.6, "compressed" entries), which is honoured here.
 */
import { array, int, octets, structure, Tag, itemsOf, integerOf, type Data } from "../axdr/data.js";
import type { AccessSelection } from "../apdu/xdlms.js";
import { ClassId, dateTimeOf, type CaptureObject } from "./classes.js";
import { encodeDateTime } from "./date-time.js";
import { Obis, sameLogicalName } from "./obis.js";
import { frozen } from "../../model/frozen.js";

/** Bits of the AMR profile status column (0.0.96.10.x.255), as IDIS and DSMR meters set them. */
export const ProfileStatus = frozen({
  criticalError: 0x01,
  clockInvalid: 0x02,
  dataNotValid: 0x04,
  daylightSaving: 0x08,
  clockAdjusted: 0x20,
  recoveredValue: 0x40,
  powerDown: 0x80,
} as const);

/** The clock column as the restricting object of a range descriptor. */
function clockColumn(): Data {
  return structure(int(Tag.longUnsigned, ClassId.clock), octets(Obis.clock), int(Tag.integer, 2), int(Tag.longUnsigned, 0));
}

/**
 * Entries captured from `fromS` to `toS` (UTC seconds, both included), all columns; the meter's local
 * time is given with `deviation` (minutes to add to local time to get UTC).
 */
export function byRange(fromS: number, toS: number, deviation: number): AccessSelection {
  return { selector: 1, parameters: structure(clockColumn(), octets(encodeDateTime(fromS, deviation)), octets(encodeDateTime(toS, deviation)), array([])) };
}

export interface ProfileRow {
  /** UTC seconds of the capture. */
  readonly timeS: number;
  /** The columns, in capture-object order (the clock column included). */
  readonly values: readonly Data[];
}

/**
 * The rows of a buffer, oldest first as the meter keeps them. Rows that do not match the capture
 * objects, or whose time cannot be known, are left out and counted in `skipped`.
 */
export function profileRows(buffer: Data | undefined, columns: readonly CaptureObject[], capturePeriodS: number): { rows: ProfileRow[]; skipped: number } {
  const rows: ProfileRow[] = [];
  let skipped = 0;
  const entries = itemsOf(buffer) ?? [];
  const clock = columns.findIndex((c) => c.classId === ClassId.clock && sameLogicalName(c.ln, Obis.clock));
  let previous: number | undefined;
  for (const entry of entries) {
    const values = itemsOf(entry);
    if (!values || values.length !== columns.length || clock < 0) {
      skipped++;
      continue;
    }
    const stamp = values[clock]!;
    let timeS = dateTimeOf(stamp)?.epochS;
    if (timeS === undefined && stamp.tag === Tag.null && previous !== undefined && capturePeriodS > 0) timeS = previous + capturePeriodS;
    if (timeS === undefined) {
      skipped++;
      previous = undefined;
      continue;
    }
    previous = timeS;
    rows.push({ timeS, values });
  }
  return { rows, skipped };
}

/** The status column's value in a row, if the profile has one (IC 1, 0.0.96.10.x.255, attribute 2). */
export function statusOf(row: ProfileRow, columns: readonly CaptureObject[]): number {
  const i = columns.findIndex((c) => c.classId === ClassId.data && c.ln[2] === 96 && c.ln[3] === 10);
  return i < 0 ? 0 : integerOf(row.values[i]) ?? 0;
}
