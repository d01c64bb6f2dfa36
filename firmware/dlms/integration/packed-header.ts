/**
 * A profile's header (its capture objects, period and the registers' scalers) kept between reads as
 * one Int32Array instead of objects: the integration keeps every DLMS meter's profile and log headers
 * so that a routine read asks only for the buffers, and as objects a header of ten columns is some
 * 150 slots in XS, packed 7 slots and 4 B + 28 B a column of a chunk (docs/memory.md).
 *
 * Layout: the period, then per column its class id, attribute, data index, scaler (NO_SCALER when the
 * column is not a register), unit, and its logical name's six bytes in two numbers (bytes 0-3, 4-5).
 */
import type { CaptureObject } from "../cosem/classes.js";
import type { ProfileHeader } from "../client/scripts.js";

const PER_COLUMN = 7;
/** A column without a scaler (scalers are -128 to 127). */
const NO_SCALER = 0x7fff_ffff;

export function packHeader(h: ProfileHeader): Int32Array {
  const p = new Int32Array(1 + h.columns.length * PER_COLUMN);
  p[0] = h.period;
  h.columns.forEach((c, i) => {
    const at = 1 + i * PER_COLUMN, s = h.scalers[i], ln = c.ln;
    p[at] = c.classId;
    p[at + 1] = c.attribute;
    p[at + 2] = c.dataIndex;
    p[at + 3] = s ? s.scaler : NO_SCALER;
    p[at + 4] = s ? s.unit : 0;
    p[at + 5] = (ln[0]! << 24) | (ln[1]! << 16) | (ln[2]! << 8) | ln[3]!;
    p[at + 6] = (ln[4]! << 8) | ln[5]!;
  });
  return p;
}

/** The capture period of a packed header, s. */
export function headerPeriod(p: Int32Array): number {
  return p[0]!;
}

export function unpackHeader(p: Int32Array): ProfileHeader {
  const columns: CaptureObject[] = [];
  const scalers: Array<{ scaler: number; unit: number } | undefined> = [];
  for (let at = 1; at + PER_COLUMN <= p.length; at += PER_COLUMN) {
    const a = p[at + 5]!, b = p[at + 6]!;
    const ln = Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff, (b >>> 8) & 0xff, b & 0xff);
    columns.push({ classId: p[at]!, ln, attribute: p[at + 1]!, dataIndex: p[at + 2]! });
    scalers.push(p[at + 3] === NO_SCALER ? undefined : { scaler: p[at + 3]!, unit: p[at + 4]! });
  }
  return { columns, period: p[0]!, scalers };
}
