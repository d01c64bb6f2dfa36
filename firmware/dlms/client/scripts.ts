/**
 * The requests the concentrator makes of a DLMS meter, as scripts for one association (types.ts):
 *
 * - `ReadScript`: one GET-with-list for the identity, clock, power failures, the disconnect control and
 *   every register asked for (value, scaler_unit, and capture time for extended and demand registers);
 *   then, when asked, a profile by range (capture objects, period, the captured registers' scalers,
 *   then the buffer between two times, in data blocks when long) and event logs by range.
 * - `SequenceScript`: fixed requests in order (a SET and its read-back, an ACTION …), their results kept.
 *
 * Everything the meter refuses item by item (a DataAccessResult) is reported in the result, not a failure.
 */
import { integerOf, type Data } from "../axdr/data.js";
import type { AttributeRequest, GetResult } from "../apdu/xdlms.js";
import { Attr, captureObjectsOf, ClassId, dateTimeOf, disconnectStateOf, scaledValue, scalerUnitOf, type CaptureObject, type DisconnectState, type ScaledValue } from "../cosem/classes.js";
import type { CosemDateTime } from "../cosem/date-time.js";
import { formatLogicalName, Obis, type LogicalName } from "../cosem/obis.js";
import { byRange, profileRows, type ProfileRow } from "../cosem/profile.js";
import type { Request, Result, Script } from "./types.js";

/** A register to read: its logical name and class (3 register, 4 extended register, 5 demand register). */
export interface RegisterSpec {
  readonly ln: LogicalName;
  readonly classId: 3 | 4 | 5;
}

export interface RegisterValue {
  readonly value: ScaledValue;
  /** Capture time of an extended register, or of a demand register's last average. */
  readonly captureS?: number;
}

/** A profile read by range: the profile, from and to (UTC s), and the meter's deviation for the request. */
export interface RangeRead {
  readonly ln: LogicalName;
  readonly fromS: number;
  readonly toS: number;
  readonly deviation: number;
}

export interface ProfileResult {
  readonly ln: LogicalName;
  readonly columns: readonly CaptureObject[];
  /** Scaler and unit of each column that is a register (undefined for the others). */
  readonly scalers: ReadonlyArray<{ scaler: number; unit: number } | undefined>;
  readonly rows: readonly ProfileRow[];
  readonly skipped: number;
}

export interface MeterRead {
  serial: string | undefined;
  clock: CosemDateTime | undefined;
  powerFailures: number | undefined;
  disconnect: DisconnectState | undefined;
  registers: Map<string, RegisterValue>;
  profiles: ProfileResult[];
  /** Items the meter refused, by "class/obis/attribute": the DataAccessResult. */
  refused: Map<string, number>;
}

const IDENTITY: AttributeRequest[] = [
  { classId: ClassId.data, ln: Obis.serialNumber, index: Attr.value },
  { classId: ClassId.clock, ln: Obis.clock, index: Attr.time },
  { classId: ClassId.data, ln: Obis.powerFailures, index: Attr.value },
  { classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index: Attr.outputState },
  { classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index: Attr.controlState },
  { classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index: Attr.controlMode },
];

/** The attributes each register class is read by: value, scaler_unit, capture time. */
function registerRefs(r: RegisterSpec): AttributeRequest[] {
  const ref = (index: number): AttributeRequest => ({ classId: r.classId, ln: r.ln, index });
  if (r.classId === 3) return [ref(Attr.value), ref(Attr.scalerUnit)];
  if (r.classId === 4) return [ref(Attr.value), ref(Attr.scalerUnit), ref(Attr.extendedCaptureTime)];
  return [ref(Attr.demandLastAverage), ref(Attr.demandScalerUnit), ref(Attr.demandCaptureTime)];
}

function key(r: AttributeRequest): string {
  return `${r.classId}/${formatLogicalName(r.ln)}/${r.index}`;
}

export interface ReadPlan {
  /** Read the identity, clock, power failures and disconnect control (default true). */
  identity?: boolean;
  registers: readonly RegisterSpec[];
  ranges?: readonly RangeRead[];
  /** Attributes per GET-with-list. Default 16. */
  listSize?: number;
}

export class ReadScript implements Script<MeterRead> {
  readonly #plan: ReadPlan;
  readonly #read: MeterRead = { serial: undefined, clock: undefined, powerFailures: undefined, disconnect: undefined, registers: new Map(), profiles: [], refused: new Map() };
  /** The GET-with-list batches still to send, and what each asked for. */
  readonly #batches: AttributeRequest[][] = [];
  #asked: AttributeRequest[] = [];
  readonly #got = new Map<string, Data>();
  #range = 0;
  #profileStep: "header" | "scalers" | "buffer" = "header";
  #columns: CaptureObject[] = [];
  #period = 0;
  #scalers: Array<{ scaler: number; unit: number } | undefined> = [];

  constructor(plan: ReadPlan) {
    this.#plan = plan;
    const refs = [...(plan.identity === false ? [] : IDENTITY), ...plan.registers.flatMap(registerRefs)];
    const size = plan.listSize ?? 16;
    for (let i = 0; i < refs.length; i += size) this.#batches.push(refs.slice(i, i + size));
  }

  next(previous: Result | undefined): Request | undefined {
    if (previous?.kind === "get") {
      if (this.#asked.length) this.#take(previous.results);
      else this.#takeProfile(previous.results);
    }
    const batch = this.#batches.shift();
    if (batch) {
      this.#asked = batch;
      return { kind: "get", refs: batch };
    }
    if (this.#asked.length) this.#finishRegisters();
    return this.#nextRange();
  }

  result(): MeterRead {
    return this.#read;
  }

  /** Keeps each answer by what it was asked for; a refusal is noted. */
  #take(results: readonly GetResult[]): void {
    this.#asked.forEach((ref, i) => {
      const r = results[i];
      if (r?.ok) this.#got.set(key(ref), r.data);
      else if (r) this.#read.refused.set(key(ref), r.result);
    });
  }

  #finishRegisters(): void {
    const g = (classId: number, ln: LogicalName, index: number) => this.#got.get(`${classId}/${formatLogicalName(ln)}/${index}`);
    const read = this.#read;
    const serial = g(ClassId.data, Obis.serialNumber, Attr.value);
    read.serial = serial && "bytes" in serial ? String.fromCharCode(...serial.bytes) : undefined;
    read.clock = dateTimeOf(g(ClassId.clock, Obis.clock, Attr.time));
    read.powerFailures = integerOf(g(ClassId.data, Obis.powerFailures, Attr.value));
    const dc = (i: number) => g(ClassId.disconnectControl, Obis.disconnectControl, i);
    read.disconnect = disconnectStateOf(dc(Attr.outputState), dc(Attr.controlState), dc(Attr.controlMode));
    for (const r of this.#plan.registers) {
      const [valueRef, suRef, timeRef] = registerRefs(r);
      const value = scaledValue(this.#got.get(key(valueRef!)), scalerUnitOf(this.#got.get(key(suRef!))));
      if (!value) continue;
      const captureS = timeRef ? dateTimeOf(this.#got.get(key(timeRef)))?.epochS : undefined;
      read.registers.set(formatLogicalName(r.ln), captureS === undefined ? { value } : { value, captureS });
    }
    this.#asked = [];
  }

  // ---- profiles by range: header (capture objects and period), the registers' scalers, the buffer ----

  #nextRange(): Request | undefined {
    const range = this.#plan.ranges?.[this.#range];
    if (!range) return undefined;
    const ref = (index: number, access?: AttributeRequest["access"]): AttributeRequest => ({ classId: ClassId.profileGeneric, ln: range.ln, index, ...(access ? { access } : {}) });
    if (this.#profileStep === "header") return { kind: "get", refs: [ref(Attr.captureObjects), ref(Attr.capturePeriod)] };
    if (this.#profileStep === "scalers") {
      const registers = this.#columns.filter((c) => c.classId === ClassId.register || c.classId === ClassId.extendedRegister);
      if (registers.length) return { kind: "get", refs: registers.map((c) => ({ classId: c.classId, ln: c.ln, index: Attr.scalerUnit })) };
      this.#profileStep = "buffer";
    }
    return { kind: "get", refs: [ref(Attr.buffer, byRange(range.fromS, range.toS, range.deviation))] };
  }

  #takeProfile(results: readonly GetResult[]): void {
    const range = this.#plan.ranges![this.#range]!;
    if (this.#profileStep === "header") {
      const columns = results[0]?.ok ? captureObjectsOf(results[0].data) : undefined;
      if (!columns) return this.#skipRange(results[0]);
      this.#columns = columns;
      this.#period = (results[1]?.ok ? integerOf(results[1].data) : undefined) ?? 0;
      this.#profileStep = "scalers";
      return;
    }
    if (this.#profileStep === "scalers") {
      let k = 0;
      this.#scalers = this.#columns.map((c) => {
        if (c.classId !== ClassId.register && c.classId !== ClassId.extendedRegister) return undefined;
        const r = results[k++];
        return r?.ok ? scalerUnitOf(r.data) : undefined;
      });
      this.#profileStep = "buffer";
      return;
    }
    const buffer = results[0];
    if (!buffer?.ok) return this.#skipRange(buffer);
    const { rows, skipped } = profileRows(buffer.data, this.#columns, this.#period);
    this.#read.profiles.push({ ln: range.ln, columns: this.#columns, scalers: this.#scalers, rows, skipped });
    this.#nextProfile();
  }

  #skipRange(r: GetResult | undefined): void {
    const range = this.#plan.ranges![this.#range]!;
    this.#read.refused.set(`${ClassId.profileGeneric}/${formatLogicalName(range.ln)}/${Attr.buffer}`, r && !r.ok ? r.result : 250);
    this.#nextProfile();
  }

  #nextProfile(): void {
    this.#range++;
    this.#profileStep = "header";
    this.#columns = [];
    this.#scalers = [];
  }
}

/** Fixed requests in order; `result()` is every answer. */
export class SequenceScript implements Script<Result[]> {
  readonly #requests: readonly Request[];
  readonly #results: Result[] = [];

  constructor(requests: readonly Request[]) {
    this.#requests = requests;
  }

  next(previous: Result | undefined): Request | undefined {
    if (previous) this.#results.push(previous);
    return this.#requests[this.#results.length];
  }

  result(): Result[] {
    return this.#results;
  }
}
