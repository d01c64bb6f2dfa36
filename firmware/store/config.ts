/**
 * Configuration with an audit trail, on the state journal.
 *
 * Every attempted change, applied or refused, gets an audit entry (time, source, name, old value, new
 * value, result). The entry and the new value are written in one journal record, so after any cut
 * either both are there or neither: no change without its entry, no entry claiming a change that did
 * not happen. The journal keeps the last `audit.count − 1` entries; each is also copied into the log
 * (class event) for the head-end, at least once: the copy is marked done in the journal after it is
 * written, and copies not marked are written again at the next start.
 */
import type { WallClock } from "../../hal/clock.js";
import { decodeAudit, encodeAudit, ChangeResult, type AuditEntry, type ChangeSource } from "./audit.js";
import { asciiBytes, asciiString, ByteReader, ByteWriter, isPrintableAscii } from "./bytes.js";
import { CorruptStateError, InvalidKeyError } from "./errors.js";
import type { RecordLog } from "./log.js";
import type { StateJournal, StateRegion } from "./state-journal.js";
import { StateLayout } from "./state-layout.js";
import { AUDIT_ACTOR_MAX, AUDIT_NAME_MAX, AUDIT_VALUE_MAX } from "./audit.js";

interface ParameterBase {
  /** Index in the configuration key range; never reuse one for another parameter. */
  key: number;
  /** Sources allowed to change it; all when omitted. */
  writableBy?: readonly ChangeSource[];
}
export type ConfigParameter =
  | (ParameterBase & { type: "int"; default: number; min: number; max: number; /** When given, the only values accepted. */ allowed?: readonly number[] })
  | (ParameterBase & { type: "text"; default: string; /** ≤ 64 */ maxLength: number });
export type ConfigSchema = Readonly<Record<string, ConfigParameter>>;

export interface ConfigStoreOptions {
  journal: StateJournal;
  schema: ConfigSchema;
  wallClock: WallClock;
  /** Where each audit entry is copied for the head-end. Optional (tests, tools). */
  log?: RecordLog;
  /** Key ranges; default StateLayout.config and StateLayout.audit. */
  values?: { base: number; count: number };
  audit?: { base: number; count: number };
}

export type ConfigValue = number | string;

export class ConfigStore {
  readonly #journal: StateJournal;
  readonly #schema: ConfigSchema;
  readonly #clock: WallClock;
  readonly #log: RecordLog | undefined;
  readonly #values: StateRegion;
  readonly #audit: StateRegion;
  readonly #entries: number;
  #lastAudit = 0;

  constructor(options: ConfigStoreOptions) {
    this.#journal = options.journal;
    this.#schema = options.schema;
    this.#clock = options.wallClock;
    this.#log = options.log;
    const v = options.values ?? StateLayout.config;
    const a = options.audit ?? StateLayout.audit;
    this.#values = options.journal.region(v.base, v.count);
    this.#audit = options.journal.region(a.base, a.count);
    this.#entries = a.count - 1;
    const keys = new Set<number>();
    for (const [name, p] of Object.entries(options.schema)) {
      if (!(Number.isInteger(p.key) && p.key >= 0 && p.key < v.count) || keys.has(p.key)) throw new RangeError(`invalid key of ${name}`);
      keys.add(p.key);
      if (problem(p, p.default) !== undefined) throw new RangeError(`invalid default of ${name}`);
    }
    // The forwarded mark also bounds the numbers used, in case the newest entry no longer reads.
    this.#lastAudit = this.#forwardedUpTo();
    for (let i = 0; i < this.#entries; i++) {
      const e = this.#entry(i);
      if (e && e.number > this.#lastAudit) this.#lastAudit = e.number;
    }
    this.#forward();
  }

  /** The value in force (the default until changed; also when its record no longer reads). */
  get(name: string): ConfigValue {
    const p = this.#param(name);
    if (!p) throw new InvalidKeyError("unknown parameter");
    let stored: Uint8Array | undefined;
    try {
      stored = this.#values.get(p.key);
    } catch (e) {
      if (!(e instanceof CorruptStateError)) throw e;
    }
    if (!stored) return p.default;
    if (p.type === "text") return asciiString(stored);
    const r = new ByteReader(stored);
    const n = r.svarint();
    return r.error ? p.default : n;
  }

  /**
   * Attempts a change and returns its audit entry (durable when this returns). `value` may be text
   * for an int parameter (as typed on the console). A refused change changes nothing but is audited.
   */
  set(name: string, value: ConfigValue, source: ChangeSource, actor?: string): AuditEntry {
    const p = this.#param(name);
    const parsed = p?.type === "int" && typeof value === "string" && /^-?\d{1,16}$/.test(value) ? Number(value) : value;
    let result: ChangeResult = ChangeResult.applied;
    if (!p) result = ChangeResult.unknown;
    else if (p.writableBy && !p.writableBy.includes(source)) result = ChangeResult.denied;
    else if (problem(p, parsed) !== undefined) result = ChangeResult.invalid;
    const writes: Array<readonly [number, Uint8Array]> = [];
    if (p && result === ChangeResult.applied) writes.push([this.#values.key(p.key), encodeValue(p, parsed)]);
    return this.#audited(name, p ? String(this.get(name)) : "", String(value), source, result, writes, actor);
  }

  /**
   * Audits an action that is not a parameter change (a latch, the wall clock) in the same trail:
   * numbered, kept in the journal and copied to the log. Durable when it returns.
   */
  record(name: string, oldValue: string, newValue: string, source: ChangeSource, result: ChangeResult, actor?: string): AuditEntry {
    return this.#audited(name, oldValue, newValue, source, result, [], actor);
  }

  #audited(name: string, oldValue: string, newValue: string, source: ChangeSource, result: ChangeResult, writes: Array<readonly [number, Uint8Array]>, actor: string | undefined): AuditEntry {
    const now = this.#clock.now();
    const entry: AuditEntry = {
      number: this.#lastAudit + 1,
      time: Math.max(0, Math.floor(now / 1000)),
      timeValid: this.#clock.valid,
      source,
      name: name.slice(0, AUDIT_NAME_MAX),
      oldValue: oldValue.slice(0, AUDIT_VALUE_MAX),
      newValue: newValue.slice(0, AUDIT_VALUE_MAX),
      result,
    };
    if (actor !== undefined) entry.actor = actor.slice(0, AUDIT_ACTOR_MAX);
    this.#journal.putAll([[this.#audit.key(this.#slot(entry.number)), encodeEntry(entry)], ...writes]);
    this.#lastAudit = entry.number;
    this.#forward();
    return entry;
  }

  /** The audit entries still kept, oldest first. */
  history(): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (let n = Math.max(1, this.#lastAudit - this.#entries + 1); n <= this.#lastAudit; n++) {
      const e = this.#entry(this.#slot(n));
      if (e && e.number === n) out.push(e);
    }
    return out;
  }

  #param(name: string): ConfigParameter | undefined {
    return Object.prototype.hasOwnProperty.call(this.#schema, name) ? this.#schema[name] : undefined;
  }

  #slot(number: number): number {
    return number % this.#entries;
  }

  #entry(slot: number): AuditEntry | undefined {
    let b: Uint8Array | undefined;
    try {
      b = this.#audit.get(slot);
    } catch (e) {
      if (!(e instanceof CorruptStateError)) throw e;
    }
    return b ? decodeAudit(new ByteReader(b)) : undefined;
  }

  /** The number of the last entry copied into the log (0 when none, or when the mark no longer reads). */
  #forwardedUpTo(): number {
    let mark: Uint8Array | undefined;
    try {
      mark = this.#audit.get(this.#entries);
    } catch (e) {
      if (!(e instanceof CorruptStateError)) throw e;
    }
    return mark ? new ByteReader(mark).varint() : 0;
  }

  /**
   * Copies the entries not yet copied into the log, then marks them done (at least once). Reads only
   * those (usually the one just written): every read of the journal checks a CRC.
   */
  #forward(): void {
    if (!this.#log) return;
    const done = this.#forwardedUpTo();
    if (done >= this.#lastAudit) return;
    for (let n = Math.max(done + 1, this.#lastAudit - this.#entries + 1); n <= this.#lastAudit; n++) {
      const e = this.#entry(this.#slot(n));
      if (e && e.number === n) this.#log.appendAudit(e);
    }
    const w = new ByteWriter(new Uint8Array(8));
    w.varint(this.#lastAudit);
    this.#audit.put(this.#entries, w.bytes.slice(0, w.pos));
  }
}

/** Why `value` is not acceptable for `p`, or undefined. */
function problem(p: ConfigParameter, value: unknown): string | undefined {
  if (p.type === "int") {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) return "not an integer";
    if (value < p.min || value > p.max) return "out of range";
    if (p.allowed && !p.allowed.includes(value)) return "not an allowed value";
    return undefined;
  }
  if (typeof value !== "string" || !isPrintableAscii(value)) return "not printable text";
  if (value.length > Math.min(p.maxLength, AUDIT_VALUE_MAX)) return "too long";
  return undefined;
}

function encodeValue(p: ConfigParameter, value: ConfigValue): Uint8Array {
  if (p.type === "text") return asciiBytes(String(value));
  const w = new ByteWriter(new Uint8Array(8));
  w.svarint(value as number);
  return w.bytes.slice(0, w.pos);
}

function encodeEntry(e: AuditEntry): Uint8Array {
  const w = new ByteWriter(new Uint8Array(256));
  encodeAudit(e, w);
  return w.bytes.slice(0, w.pos);
}
