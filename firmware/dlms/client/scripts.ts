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
import { frozen } from "../../model/frozen.js";
import { headerPeriod, packHeader, unpackHeader } from "../integration/packed-header.js";

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

/** What a profile's buffer holds (read once per meter and kept: it changes only when the meter is reprogrammed). */
export interface ProfileHeader {
  readonly columns: readonly CaptureObject[];
  /** Capture period, s (0 when the profile is not periodic). */
  readonly period: number;
  /** Scaler and unit of each column that is a register (undefined for the others). */
  readonly scalers: ReadonlyArray<{ scaler: number; unit: number } | undefined>;
}

/** A profile read by range: the profile, from and to (UTC s), the meter's deviation for the request, and its header when known (packed, integration/packed-header.ts). */
export interface RangeRead {
  readonly ln: LogicalName;
  readonly fromS: number;
  readonly toS: number;
  readonly deviation: number;
  readonly header?: Int32Array;
}

export interface ProfileResult extends ProfileHeader {
  readonly ln: LogicalName;
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

/** A range expected to hold at most this many entries is read together with the other short ones. */
const SHORT_RANGE_ENTRIES = 8;

const IDENTITY: AttributeRequest[] = frozen([
  { classId: ClassId.data, ln: Obis.serialNumber, index: Attr.value },
  { classId: ClassId.clock, ln: Obis.clock, index: Attr.time },
  { classId: ClassId.data, ln: Obis.powerFailures, index: Attr.value },
  { classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index: Attr.outputState },
  { classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index: Attr.controlState },
  { classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index: Attr.controlMode },
]);

/** The attributes each register class is read by, in order: value, scaler_unit, then the capture time if it has one. */
const REGISTER_ATTRS = frozen([Attr.value, Attr.scalerUnit]);
const EXTENDED_REGISTER_ATTRS = frozen([Attr.value, Attr.scalerUnit, Attr.extendedCaptureTime]);
const DEMAND_REGISTER_ATTRS = frozen([Attr.demandLastAverage, Attr.demandScalerUnit, Attr.demandCaptureTime]);

function attributesOf(r: RegisterSpec): readonly number[] {
  return r.classId === 3 ? REGISTER_ATTRS : r.classId === 4 ? EXTENDED_REGISTER_ATTRS : DEMAND_REGISTER_ATTRS;
}

function key(r: AttributeRequest): string {
  return `${r.classId}/${formatLogicalName(r.ln)}/${r.index}`;
}

export interface ReadPlan {
  /** Read the identity, clock, power failures and disconnect control (default true). */
  identity?: boolean;
  registers: readonly RegisterSpec[];
  ranges?: readonly RangeRead[];
  /** Attributes per GET-with-list. Default 32. */
  listSize?: number;
}

/**
 * What the script holds between requests is numbers and the answers it still needs: the attributes of
 * the registers' GET-with-list are worked out by their index when a batch is sent (not kept as a
 * list of requests), their answers kept by that index only until the registers are finished (not a
 * Map keyed by text, which is 3 slots an entry and a string, and was kept for the whole association
 * before), and the profiles' headers packed (docs/memory.md).
 */
export class ReadScript implements Script<MeterRead> {
  readonly #plan: ReadPlan;
  readonly #read: MeterRead = { serial: undefined, clock: undefined, powerFailures: undefined, disconnect: undefined, registers: new Map(), profiles: [], refused: new Map() };
  /** The attributes of the identity and the registers (by index: `#ref`), the next one to ask, and the first of the batch in flight (-1: none). */
  readonly #refCount: number;
  #nextRef = 0;
  #asked = -1;
  /** The answers by attribute index, until the registers are finished. */
  #got: Array<Data | undefined> = [];
  #range = 0;
  #profileStep: "header" | "scalers" = "header";
  #columns: CaptureObject[] = [];
  #period = 0;
  /** Each range's header, known or read, packed. */
  readonly #headers: Array<Int32Array | undefined> = [];
  /** The buffer requests still to make (ranges by index), once every header is known. */
  #buffers: number[][] | undefined;
  /** The range of each buffer in the request in flight. */
  #bufferOf: number[] = [];

  constructor(plan: ReadPlan) {
    this.#plan = plan;
    let n = this.identityCount();
    for (const r of plan.registers) n += attributesOf(r).length;
    this.#refCount = n;
  }

  next(previous: Result | undefined): Request | undefined {
    if (previous?.kind === "get") {
      if (this.#asked >= 0) this.take(previous.results);
      else this.takeProfile(previous.results);
    }
    if (this.#nextRef < this.#refCount) {
      const from = this.#nextRef;
      const to = Math.min(this.#refCount, from + (this.#plan.listSize ?? 32));
      const refs: AttributeRequest[] = [];
      for (let i = from; i < to; i++) refs.push(this.#ref(i));
      this.#asked = from;
      this.#nextRef = to;
      return { kind: "get", refs };
    }
    if (this.#asked >= 0) this.finishRegisters();
    return this.nextRange();
  }

  result(): MeterRead {
    return this.#read;
  }

  private identityCount(): number {
    return this.#plan.identity === false ? 0 : IDENTITY.length;
  }

  /** Attribute `i` of the registers' GET-with-list: the identity's, then each register's (attributesOf). */
  #ref(i: number): AttributeRequest {
    const identity = this.identityCount();
    if (i < identity) return IDENTITY[i]!;
    let k = i - identity;
    for (const r of this.#plan.registers) {
      const attributes = attributesOf(r);
      if (k < attributes.length) return { classId: r.classId, ln: r.ln, index: attributes[k]! };
      k -= attributes.length;
    }
    throw new RangeError(`attribute ${i}`);
  }

  /** Keeps each answer by the index of what it asked for; a refusal is noted. */
  private take(results: readonly GetResult[]): void {
    const end = Math.min(this.#nextRef, this.#asked + results.length);
    for (let i = this.#asked; i < end; i++) {
      const r = results[i - this.#asked]!;
      if (r.ok) this.#got[i] = r.data;
      else this.#read.refused.set(key(this.#ref(i)), r.result);
    }
  }

  private finishRegisters(): void {
    const got = this.#got;
    const read = this.#read;
    if (this.identityCount()) {
      // The identity's answers in IDENTITY's order: serial, clock, power failures, the disconnect control's output, state, mode.
      const serial = got[0];
      read.serial = serial && "bytes" in serial ? String.fromCharCode(...serial.bytes) : undefined;
      read.clock = dateTimeOf(got[1]);
      read.powerFailures = integerOf(got[2]);
      read.disconnect = disconnectStateOf(got[3], got[4], got[5]);
    }
    let at = this.identityCount();
    for (const r of this.#plan.registers) {
      const n = attributesOf(r).length;
      const value = scaledValue(got[at], scalerUnitOf(got[at + 1]));
      const captureS = n === 3 ? dateTimeOf(got[at + 2])?.epochS : undefined;
      at += n;
      if (!value) continue;
      read.registers.set(formatLogicalName(r.ln), captureS === undefined ? { value } : { value, captureS });
    }
    this.#got = [];
    this.#asked = -1;
  }

  // ---- profiles by range: the headers not known yet (capture objects and period, then the captured
  // registers' scalers), then every buffer between its two times in one request ----

  private nextRange(): Request | undefined {
    const ranges = this.#plan.ranges ?? [];
    while (this.#range < ranges.length && ranges[this.#range]!.header) {
      this.#headers[this.#range] = ranges[this.#range]!.header;
      this.#range++;
    }
    const range = ranges[this.#range];
    if (range) {
      const ref = (index: number): AttributeRequest => ({ classId: ClassId.profileGeneric, ln: range.ln, index });
      if (this.#profileStep === "header") return { kind: "get", refs: [ref(Attr.captureObjects), ref(Attr.capturePeriod)] };
      const registers = this.#columns.filter(isRegister);
      return { kind: "get", refs: registers.map((c) => ({ classId: c.classId, ln: c.ln, index: Attr.scalerUnit })) };
    }
    if (this.#buffers === undefined) this.#buffers = this.bufferRequests(ranges);
    const next = this.#buffers.shift();
    if (!next) return undefined;
    this.#bufferOf = next;
    return { kind: "get", refs: next.map((i) => ({ classId: ClassId.profileGeneric, ln: ranges[i]!.ln, index: Attr.buffer, access: byRange(ranges[i]!.fromS, ranges[i]!.toS, ranges[i]!.deviation) })) };
  }

  /**
   * The buffers to ask for, as requests: the short ranges together in one GET-with-list (a routine
   * read: one round trip), each long one alone, so its answer, in data blocks, is decoded as it
   * arrives (session.ts) rather than all in one turn.
   */
  private bufferRequests(ranges: readonly RangeRead[]): number[][] {
    const short: number[] = [];
    const long: number[][] = [];
    ranges.forEach((r, i) => {
      const h = this.#headers[i];
      if (!h) return;
      const period = headerPeriod(h);
      const entries = period > 0 ? (r.toS - r.fromS) / period : Infinity;
      if (entries <= SHORT_RANGE_ENTRIES) short.push(i);
      else long.push([i]);
    });
    return short.length ? [short, ...long] : long;
  }

  private takeProfile(results: readonly GetResult[]): void {
    const ranges = this.#plan.ranges!;
    if (this.#buffers !== undefined) {
      this.#bufferOf.forEach((i, k) => {
        const r = results[k];
        const range = ranges[i]!;
        if (!r?.ok) return this.refuse(range.ln, r);
        const header = unpackHeader(this.#headers[i]!);
        const { rows, skipped } = profileRows(r.data, header.columns, header.period);
        this.#read.profiles.push({ ln: range.ln, ...header, rows, skipped });
      });
      return;
    }
    const range = ranges[this.#range]!;
    if (this.#profileStep === "header") {
      const columns = results[0]?.ok ? captureObjectsOf(results[0].data) : undefined;
      if (!columns) {
        this.refuse(range.ln, results[0]);
        return this.nextProfile();
      }
      this.#columns = columns;
      this.#period = (results[1]?.ok ? integerOf(results[1].data) : undefined) ?? 0;
      this.#profileStep = "scalers";
      if (columns.some(isRegister)) return;
    }
    let k = 0;
    const scalers = this.#columns.map((c) => {
      if (!isRegister(c)) return undefined;
      const r = results[k++];
      return r?.ok ? scalerUnitOf(r.data) : undefined;
    });
    this.#headers[this.#range] = packHeader({ columns: this.#columns, period: this.#period, scalers });
    this.nextProfile();
  }

  private refuse(ln: LogicalName, r: GetResult | undefined): void {
    this.#read.refused.set(`${ClassId.profileGeneric}/${formatLogicalName(ln)}/${Attr.buffer}`, r && !r.ok ? r.result : 250);
  }

  private nextProfile(): void {
    this.#range++;
    this.#profileStep = "header";
    this.#columns = [];
  }
}

function isRegister(c: CaptureObject): boolean {
  return c.classId === ClassId.register || c.classId === ClassId.extendedRegister;
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
