/**
 * A DLMS meter's read as the rest of the concentrator takes every readout: data sets of the local
 * module register map (docs/d0.md: serial 0-0:C.1.0, address 0-0:0.0.0, clock 0-0:0.9.1/0.9.2,
 * status 0-0:C.5.0, disconnector 0-0:96.3.10, power failures 0-0:C.7.0) and the meter's registers on
 * OBIS channel 1 (1-1:C.D.E), each value the exact decimal text of value × 10^scaler with its unit.
 * So topology, readings, plausibility, latches, clocks and the uplink treat it exactly like an IEC
 * meter's, and the conversion to integers happens once, in firmware/d0/readings.ts.
 */
import type { Readout } from "../../bus/types.js";
import { DataValue, type DataSet } from "../../d0/data-set.js";
import type { Identification } from "../../d0/identification.js";
import { scaledInteger } from "../../d0/decimal.js";
import { unitExponent } from "../../d0/readings.js";
import { ReadingStatus, registerCode, type Reading } from "../../model/records.js";
import { ModuleStatus } from "../../poll/module-readout.js";
import type { MeterRead, ProfileResult } from "../client/scripts.js";
import { ClassId, scaledValue, type ScalerUnit } from "../cosem/classes.js";
import { UNIT_TEXT } from "../cosem/units.js";
import { ClockStatus } from "../cosem/date-time.js";
import { ProfileStatus, statusOf } from "../cosem/profile.js";

function ds(address: string, value: string, unit?: string): DataSet {
  return { address, values: [new DataValue(value, unit)], offset: 0 };
}

/**
 * A register value with its whole part padded to 9 digits, as meter displays and D0 readouts write
 * them ("0006365.5"): the width of a register's text stays the same from read to read, which the
 * plausibility check relies on (a change of width is a misread digit on a D0 line).
 */
function displayed(text: string): string {
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  const point = body.indexOf(".");
  const whole = point < 0 ? body : body.slice(0, point);
  return (negative ? "-" : "") + whole.padStart(9, "0") + (point < 0 ? "" : body.slice(point));
}

const two = (n: number) => String(n).padStart(2, "0");

/** The D0 address of an electricity register on channel 1, or undefined (not electricity, or a historical value). */
function registerAddress(ln: ArrayLike<number>): string | undefined {
  if (ln[0] !== 1 || ln[5] !== 255) return undefined;
  return `1-1:${ln[2]}.${ln[3]}.${ln[4]}`;
}

export function readoutOf(read: MeterRead, address: string): Readout {
  const sets: DataSet[] = [];
  if (read.serial !== undefined) sets.push(ds("0-0:C.1.0", read.serial), ds("1-1:C.1.0", read.serial));
  sets.push(ds("0-0:0.0.0", address));
  const clock = read.clock;
  if (clock?.epochS !== undefined) {
    const t = new Date(clock.epochS * 1000);
    sets.push(ds("0-0:0.9.2", `0${two(t.getUTCFullYear() % 100)}${two(t.getUTCMonth() + 1)}${two(t.getUTCDate())}`), ds("0-0:0.9.1", `${two(t.getUTCHours())}${two(t.getUTCMinutes())}${two(t.getUTCSeconds())}`));
  }
  const clockNotSet = !clock || clock.epochS === undefined || (clock.status !== ClockStatus.notSpecified && (clock.status & ClockStatus.invalid) !== 0);
  sets.push(ds("0-0:C.5.0", (clockNotSet ? ModuleStatus.clockNotSet : 0).toString(16).padStart(4, "0").toUpperCase()));
  if (read.disconnect) sets.push(ds("0-0:96.3.10", read.disconnect.outputState ? "1" : "0"));
  if (read.powerFailures !== undefined) sets.push(ds("0-0:C.7.0", String(read.powerFailures)));
  for (const [name, r] of read.registers) {
    const a = registerAddress(name.split(".").map(Number));
    if (a) sets.push(ds(a, displayed(r.value.text), r.value.unit));
  }
  return { identification: identificationOf(address), dataSets: sets };
}

/** What stands for an identification message: DLMS has none; the address says who answered. */
export function identificationOf(address: string): Identification {
  return { text: `DLMS ${address}`, manufacturer: "DLM", baudChar: "5", enhanced: "2", model: address, mode: "E", baud: 9600, reactionMs: 0 };
}

/** ReadingStatus of a profile entry from its AMR profile status (IDIS/DSMR bits). */
function readingStatusOf(profileStatus: number): number {
  let s = 0;
  if (profileStatus & ProfileStatus.powerDown) s |= ReadingStatus.powerFailure;
  if (profileStatus & ProfileStatus.clockAdjusted) s |= ReadingStatus.clockAdjusted;
  if (profileStatus & ProfileStatus.clockInvalid) s |= ReadingStatus.meterClockInvalid;
  if (profileStatus & ProfileStatus.recoveredValue) s |= ReadingStatus.estimated;
  if (profileStatus & (ProfileStatus.dataNotValid | ProfileStatus.criticalError)) s |= ReadingStatus.implausible;
  return s;
}

/**
 * The readings of profile entries `from` … `to` − 1 taken after `afterS`: one per register column, at
 * the entry's time, with its status. Each column's register code and exponent are worked out once.
 */
export function profileReadings(p: ProfileResult, meter: number, afterS: number, from = 0, to = p.rows.length): Reading[] {
  const columns: Array<{ index: number; register: number; exponent: number; scaler: ScalerUnit }> = [];
  p.columns.forEach((c, index) => {
    const su = p.scalers[index];
    const unit = su && UNIT_TEXT[su.unit];
    if ((c.classId !== ClassId.register && c.classId !== ClassId.extendedRegister) || !su || unit === undefined || !registerAddress(c.ln)) return;
    const exponent = unitExponent(c.ln[2]!, c.ln[3]!, unit);
    if (exponent !== undefined) columns.push({ index, register: registerCode(c.ln[2]!, c.ln[3]!, c.ln[4]!), exponent, scaler: su });
  });
  const out: Reading[] = [];
  for (let i = from; i < to; i++) {
    const row = p.rows[i]!;
    if (row.timeS <= afterS) continue;
    const status = readingStatusOf(statusOf(row, p.columns));
    for (const c of columns) {
      const v = scaledValue(row.values[c.index], c.scaler);
      const value = v === undefined ? undefined : scaledInteger(v.text, c.exponent);
      if (value !== undefined) out.push({ meter, register: c.register, time: row.timeS, value, status });
    }
  }
  return out;
}
