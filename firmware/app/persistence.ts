/**
 * The concentrator's critical state on the state journal (firmware/store, StateLayout):
 * - topology: one record per module (identity, place, meters) and the number counters, written
 *   together whenever a number is handed out, so no module or meter number is ever reused;
 * - latches: one record per consumer whose latch differs from the default (connected, default mode,
 *   no load limiter);
 * - module log marks: per module, the last entry of its own event log already taken;
 * - the uplink's two message counters, as high-water marks (never lower after a cut).
 *
 * Record formats (all integers little-endian; strings are an 8-bit length then ASCII):
 *
 *   module   number u16 · flags u8 (bit 0 displaced) · path str ≤ 8 · address str ≤ 32 · serial str ≤ 32 ·
 *            meters u8 · per meter: channel u8 · meter u16 · serial str ≤ 32          (≤ 224 bytes)
 *   counters nextModule u32 · nextMeter u32
 *   log mark module u16 · time u32 · code u8 · detail u16
 *   latch    consumer u16 · state u8 · mode u8 ·
 *            [limiter: normal u32 · emergency u32 · minOverMs u32 · minUnderMs u32 · groups u8 · group u16 …]
 *                                                                                    (4, or 21 to 29 bytes)
 */
import type { ControlMode, ControlState } from "../latch/disconnect-control.js";
import type { LatchPersistence, LatchRecord } from "../latch/latch-manager.js";
import { isValidLoadLimit, LOAD_LIMIT_BOUNDS, type LoadLimit } from "../model/load-limit.js";
import type { ModuleLogEntry } from "../bus/local-module.js";
import type { LogMarkStore } from "../poll/module-log.js";
import type { PersistedModule, TopologyCounters, TopologySnapshot } from "../poll/topology.js";
import { asciiBytes, asciiString, ByteReader, ByteWriter, isPrintableAscii } from "../store/bytes.js";
import { HighWaterMark } from "../store/counter.js";
import { CorruptStateError, InvalidRecordError } from "../store/errors.js";
import type { StateJournal } from "../store/state-journal.js";
import { StateLayout } from "../store/state-layout.js";
import type { CounterStore } from "../uplink/ports.js";
import { SlotTable } from "./slot-table.js";

const MODULE_RECORD_MAX = 224;
const STR_MAX = 32;

function putString(w: ByteWriter, s: string, max: number): void {
  if (s.length > max || !isPrintableAscii(s)) throw new InvalidRecordError("invalid text");
  const b = asciiBytes(s);
  w.u8(b.length);
  w.raw(b);
}

function getString(r: ByteReader): string {
  return asciiString(r.raw(r.u8()));
}

export function encodeModule(m: PersistedModule): Uint8Array {
  const buf = new Uint8Array(512);
  const w = new ByteWriter(buf);
  w.u16(m.number);
  w.u8(m.displaced ? 1 : 0);
  putString(w, m.path, 8);
  putString(w, m.address, STR_MAX);
  putString(w, m.serial, STR_MAX);
  w.u8(m.meters.length);
  for (const x of m.meters) {
    w.u8(x.channel);
    w.u16(x.meter);
    putString(w, x.serial, STR_MAX);
  }
  if (w.pos > MODULE_RECORD_MAX) throw new InvalidRecordError("module record too large");
  return buf.slice(0, w.pos);
}

export function decodeModule(bytes: Uint8Array): PersistedModule | undefined {
  const r = new ByteReader(bytes);
  const number = r.u16();
  const flags = r.u8();
  const path = getString(r);
  const address = getString(r);
  const serial = getString(r);
  const n = r.u8();
  const meters: PersistedModule["meters"] = [];
  for (let i = 0; i < n && !r.error; i++) meters.push({ channel: r.u8(), meter: r.u16(), serial: getString(r) });
  if (r.error || r.remaining !== 0 || number === 0) return undefined;
  return { number, serial, path, address, displaced: (flags & 1) !== 0, meters };
}

function encodeCounters(c: TopologyCounters): Uint8Array {
  const b = new Uint8Array(8);
  const w = new ByteWriter(b);
  w.u32(c.nextModule);
  w.u32(c.nextMeter);
  return b;
}

/** The topology's modules and counters. */
export class TopologyPersistence {
  readonly #journal: StateJournal;
  readonly #table: SlotTable<PersistedModule>;
  readonly #loaded: PersistedModule[] = [];
  readonly #countersKey = StateLayout.topology.base;

  constructor(journal: StateJournal) {
    this.#journal = journal;
    this.#table = new SlotTable(
      journal,
      StateLayout.modules.base,
      StateLayout.modules.count,
      (bytes) => {
        const m = decodeModule(bytes);
        return m && { id: m.number, value: m };
      },
      (m) => this.#loaded.push(m),
    );
  }

  /** Module records that could not be read (corrupt): the modules are learnt again by discovery. */
  get unreadable(): number {
    return this.#table.unreadable.length;
  }

  load(): TopologySnapshot {
    let counters: TopologyCounters = { nextModule: 1, nextMeter: 1 };
    try {
      const b = this.#journal.get(this.#countersKey);
      if (b && b.length === 8) {
        const r = new ByteReader(b);
        counters = { nextModule: r.u32(), nextMeter: r.u32() };
      }
    } catch (e) {
      if (!(e instanceof CorruptStateError)) throw e;
    }
    // Topology.restore also raises the counters above every number found in a module record.
    return { ...counters, modules: this.#loaded.slice() };
  }

  /** Persists a module with the counters (one atomic record). Throws StoreFullError when the table is full. */
  save(module: PersistedModule, counters: TopologyCounters): void {
    this.#table.write(module.number, encodeModule(module), [[this.#countersKey, encodeCounters(counters)]]);
  }
}

/** Latch records: only consumers whose latch differs from the default take a key. */
export class LatchStore implements LatchPersistence {
  readonly #table: SlotTable<LatchRecord>;
  readonly #loaded: LatchRecord[] = [];
  readonly #isDefault: (r: LatchRecord) => boolean;

  constructor(journal: StateJournal, isDefault: (r: LatchRecord) => boolean) {
    this.#isDefault = isDefault;
    this.#table = new SlotTable(
      journal,
      StateLayout.latches.base,
      StateLayout.latches.count,
      (bytes) => {
        const rec = decodeLatch(bytes);
        return rec ? { id: rec.consumer, value: rec } : undefined;
      },
      (rec) => this.#loaded.push(rec),
    );
  }

  load(): LatchRecord[] {
    return this.#loaded.slice();
  }

  save(record: LatchRecord): void {
    if (this.#isDefault(record)) return this.#table.remove(record.consumer);
    this.#table.write(record.consumer, encodeLatch(record));
  }
}

const LATCH_BASE_BYTES = 4;
const LIMITER_BASE_BYTES = 17;

function encodeLatch(record: LatchRecord): Uint8Array {
  const l = record.limiter;
  const w = new ByteWriter(new Uint8Array(LATCH_BASE_BYTES + (l ? LIMITER_BASE_BYTES + 2 * l.emergencyGroups.length : 0)));
  w.u16(record.consumer);
  w.u8(record.state);
  w.u8(record.mode);
  if (l) {
    if (!isValidLoadLimit(l)) throw new InvalidRecordError("invalid limiter");
    w.u32(l.thresholdNormal);
    w.u32(l.thresholdEmergency);
    w.u32(l.minOverMs);
    w.u32(l.minUnderMs);
    w.u8(l.emergencyGroups.length);
    for (const g of l.emergencyGroups) w.u16(g);
  }
  return w.bytes;
}

function decodeLatch(bytes: Uint8Array): LatchRecord | undefined {
  if (bytes.length !== LATCH_BASE_BYTES && bytes.length < LATCH_BASE_BYTES + LIMITER_BASE_BYTES) return undefined;
  const r = new ByteReader(bytes);
  const rec: LatchRecord = { consumer: r.u16(), state: r.u8() as ControlState, mode: r.u8() as ControlMode };
  if (!(rec.consumer > 0 && rec.state <= 2 && rec.mode <= 6)) return undefined;
  if (r.remaining === 0) return rec;
  const thresholdNormal = r.u32();
  const thresholdEmergency = r.u32();
  const minOverMs = r.u32();
  const minUnderMs = r.u32();
  const count = r.u8();
  if (count > LOAD_LIMIT_BOUNDS.maxGroups || r.remaining !== 2 * count) return undefined;
  const emergencyGroups: number[] = [];
  for (let i = 0; i < count; i++) emergencyGroups.push(r.u16());
  const limiter: LoadLimit = { thresholdNormal, thresholdEmergency, minOverMs, minUnderMs, emergencyGroups };
  rec.limiter = limiter;
  return rec;
}

const LOG_MARK_BYTES = 9;

/** Module log marks, one key per module that has one; kept in RAM as well for the reader. */
export class ModuleLogMarks implements LogMarkStore {
  readonly #table: SlotTable<{ module: number; entry: ModuleLogEntry }>;
  readonly #marks = new Map<number, ModuleLogEntry>();

  constructor(journal: StateJournal) {
    this.#table = new SlotTable(
      journal,
      StateLayout.moduleLogMarks.base,
      StateLayout.moduleLogMarks.count,
      (bytes) => {
        if (bytes.length !== LOG_MARK_BYTES) return undefined;
        const r = new ByteReader(bytes);
        const module = r.u16();
        const entry = { time: r.u32(), code: r.u8(), detail: r.u16() };
        return module > 0 ? { id: module, value: { module, entry } } : undefined;
      },
      (v) => this.#marks.set(v.module, v.entry),
    );
  }

  get(module: number): ModuleLogEntry | undefined {
    return this.#marks.get(module);
  }

  set(module: number, entry: ModuleLogEntry): void {
    this.#marks.set(module, entry);
    // A module clock outside 1970-2106 gives a mark this boot only: the next boot reads from its boot time.
    if (!(entry.time >= 0 && entry.time <= 0xffffffff)) return;
    const w = new ByteWriter(new Uint8Array(LOG_MARK_BYTES));
    w.u16(module);
    w.u32(entry.time);
    w.u8(entry.code);
    w.u16(entry.detail);
    this.#table.write(module, w.bytes);
  }
}

/** The uplink envelope's counters (StateLayout.counters keys 0-1 out, 2-3 in). */
export class UplinkCounters implements CounterStore {
  readonly #out: HighWaterMark;
  readonly #in: HighWaterMark;

  constructor(journal: StateJournal) {
    this.#out = new HighWaterMark(journal, StateLayout.counters.base);
    this.#in = new HighWaterMark(journal, StateLayout.counters.base + 2);
  }

  loadSendReserve(): number {
    return Math.max(0, this.#out.value);
  }
  saveSendReserve(v: number): void {
    this.#out.accept(v);
  }
  loadLastAccepted(): number {
    return Math.max(0, this.#in.value);
  }
  saveLastAccepted(v: number): void {
    this.#in.accept(v);
  }
}
