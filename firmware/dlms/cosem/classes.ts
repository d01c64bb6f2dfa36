/**
 * The interface classes the concentrator uses (IEC 62056-6-2 §4.3-4.5, the DLMS UA Blue Book): their
 * class ids, attribute and method indices, and readers that turn an attribute's Data into values of
 * this firmware. A reader returns undefined when the Data does not have the class's shape.
 */
import { booleanOf, bytesOf, integerOf, integerText, itemsOf, Tag, type Data } from "../axdr/data.js";
import { decodeDateTime, type CosemDateTime } from "./date-time.js";
import { scaledText, UNIT_TEXT } from "./units.js";
import { frozen } from "../../model/frozen.js";

export const ClassId = frozen({
  data: 1,
  register: 3,
  extendedRegister: 4,
  demandRegister: 5,
  profileGeneric: 7,
  clock: 8,
  associationLn: 15,
  disconnectControl: 70,
  limiter: 71,
} as const);

/** Attribute indices by class (attribute 1 is always the logical name). */
export const Attr = frozen({
  value: 2,
  /** IC 3, 4: scaler_unit. */
  scalerUnit: 3,
  /** IC 4: status, capture_time. */
  extendedStatus: 4,
  extendedCaptureTime: 5,
  /** IC 5: current_average_value 2, last_average_value 3, scaler_unit 4, status 5, capture_time 6, start_time_current 7, period 8. */
  demandLastAverage: 3,
  demandScalerUnit: 4,
  demandCaptureTime: 6,
  demandPeriod: 8,
  /** IC 7. */
  buffer: 2,
  captureObjects: 3,
  capturePeriod: 4,
  entriesInUse: 7,
  /** IC 8. */
  time: 2,
  timeZone: 3,
  clockStatus: 4,
  /** IC 70. */
  outputState: 2,
  controlState: 3,
  controlMode: 4,
  /** IC 71. */
  monitoredValue: 2,
  thresholdActive: 3,
  thresholdNormal: 4,
  thresholdEmergency: 5,
  minOverThresholdDuration: 6,
  minUnderThresholdDuration: 7,
  emergencyProfile: 8,
  emergencyProfileGroupIds: 9,
  emergencyProfileActive: 10,
} as const);

export const Method = frozen({
  /** IC 70. */
  remoteDisconnect: 1,
  remoteReconnect: 2,
  /** IC 15: reply_to_HLS_authentication. */
  replyToHlsAuthentication: 1,
} as const);

export interface ScalerUnit {
  readonly scaler: number;
  readonly unit: number;
}

/** scaler_unit: structure { scaler integer, unit enum }. */
export function scalerUnitOf(d: Data | undefined): ScalerUnit | undefined {
  const items = itemsOf(d);
  const scaler = integerOf(items?.[0]);
  const unit = integerOf(items?.[1]);
  if (!items || items.length !== 2 || scaler === undefined || unit === undefined || scaler < -128 || scaler > 127) return undefined;
  return { scaler, unit };
}

/** A register value with its scaler and unit as exact decimal text and the unit's D0 name ("Wh", "V"…). */
export interface ScaledValue {
  readonly text: string;
  readonly unit: string | undefined;
}

/**
 * The value × 10^scaler, exact: integers (64-bit included) are scaled on their decimal digits; a float
 * (a meter that sends one) keeps the float's shortest decimal form, scaled the same way.
 */
export function scaledValue(value: Data | undefined, su: ScalerUnit | undefined): ScaledValue | undefined {
  if (!value || !su) return undefined;
  let digits = integerText(value);
  let scaler = su.scaler;
  if (digits === undefined && (value.tag === Tag.float32 || value.tag === Tag.float64) && Number.isFinite(value.value)) {
    const [mantissa, exponent] = value.value.toExponential().split("e") as [string, string];
    const [whole, fraction = ""] = mantissa.split(".");
    digits = (whole ?? "0") + fraction;
    scaler += Number(exponent) - fraction.length;
  }
  if (digits === undefined) return undefined;
  return { text: scaledText(digits, scaler), unit: UNIT_TEXT[su.unit] };
}

/** An octet-string date-time (as attributes carry them), or undefined. */
export function dateTimeOf(d: Data | undefined): CosemDateTime | undefined {
  const b = d && (d.tag === Tag.octetString || d.tag === Tag.dateTime) ? d.bytes : undefined;
  return b ? decodeDateTime(b) : undefined;
}

/** Disconnect control (IC 70) attributes 2-4. */
export interface DisconnectState {
  readonly outputState: boolean;
  readonly controlState: number;
  readonly controlMode: number;
}

export function disconnectStateOf(output: Data | undefined, state: Data | undefined, mode: Data | undefined): DisconnectState | undefined {
  const o = booleanOf(output);
  const s = integerOf(state);
  const m = integerOf(mode);
  if (o === undefined || s === undefined || m === undefined || s > 2 || m > 6) return undefined;
  return { outputState: o, controlState: s, controlMode: m };
}

/** A capture object of a profile (IC 7 attribute 3): which attribute each column holds. */
export interface CaptureObject {
  readonly classId: number;
  readonly ln: Uint8Array;
  readonly attribute: number;
  readonly dataIndex: number;
}

export function captureObjectsOf(d: Data | undefined): CaptureObject[] | undefined {
  const list = itemsOf(d);
  if (!list) return undefined;
  const out: CaptureObject[] = [];
  for (const item of list) {
    const f = itemsOf(item);
    const classId = integerOf(f?.[0]);
    const ln = bytesOf(f?.[1]);
    const attribute = integerOf(f?.[2]);
    const dataIndex = integerOf(f?.[3]);
    if (!f || f.length !== 4 || classId === undefined || !ln || ln.length !== 6 || attribute === undefined || dataIndex === undefined) return undefined;
    out.push({ classId, ln, attribute, dataIndex });
  }
  return out;
}
