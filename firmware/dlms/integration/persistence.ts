/**
 * What the concentrator keeps of each DLMS meter across power cuts (state journal ranges dlmsMeters
 * and dlmsCounters, firmware/store/state-layout.ts):
 *
 *   meter record   id u32 (bus << 16 | physical) · profile mark u32 · logs u8 · per log: mark u32
 *   counters       the client's invocation counter: a MonotonicCounter (reserved ahead in blocks, two
 *                  keys: a cut skips values, never repeats one, so no GCM nonce is ever used twice);
 *                  the meter's highest accepted: a HighWaterMark (written before the answer is used)
 *
 * A meter's record takes the first free key of dlmsMeters the first time it is needed, and keeps it
 * for life (records are never freed: a reused slot would hand a meter another's counters); its
 * counters sit at the keys of the same index in dlmsCounters. 64 DLMS meters per concentrator.
 */
import { SlotTable } from "../../app/slot-table.js";
import { ByteReader, ByteWriter } from "../../store/bytes.js";
import { HighWaterMark, MonotonicCounter } from "../../store/counter.js";
import type { StateJournal } from "../../store/state-journal.js";
import { StateLayout } from "../../store/state-layout.js";
import type { InvocationCounters } from "../client/types.js";

export interface MeterMarks {
  /** UTC seconds of the last profile entry stored; 0 when none yet. */
  profileS: number;
  /** UTC seconds of the last entry taken from each configured event log, in order. */
  logS: number[];
}

/** The id of a meter's record: its bus and physical address. */
export function meterId(bus: number, physical: number): number {
  return bus * 0x10000 + physical;
}

function encode(id: number, m: MeterMarks): Uint8Array {
  const w = new ByteWriter(new Uint8Array(64));
  w.u32(id);
  w.u32(m.profileS);
  w.u8(m.logS.length);
  for (const s of m.logS) w.u32(s);
  return w.bytes.slice(0, w.pos);
}

function decode(bytes: Uint8Array): { id: number; value: { id: number; marks: MeterMarks } } | undefined {
  const r = new ByteReader(bytes);
  const id = r.u32();
  const profileS = r.u32();
  const n = r.u8();
  const logS: number[] = [];
  for (let i = 0; i < n && !r.error; i++) logS.push(r.u32());
  if (r.error || r.remaining !== 0) return undefined;
  return { id, value: { id, marks: { profileS, logS } } };
}

class JournalCounters implements InvocationCounters {
  readonly #client: MonotonicCounter;
  readonly #server: HighWaterMark;
  constructor(journal: StateJournal, key: number) {
    this.#client = new MonotonicCounter(journal, key, { block: 32 });
    // A meter takes only counters above the last it accepted, which starts at 0.
    this.#client.advanceTo(1);
    this.#server = new HighWaterMark(journal, key + 2);
  }
  next(): number {
    return this.#client.next();
  }
  acceptServer(ic: number): boolean {
    return this.#server.accept(ic);
  }
  /** The meter has seen our counter up to `seen`: continue above it. */
  advanceTo(seen: number): void {
    this.#client.advanceTo(seen + 1);
  }
}

export class DlmsState {
  readonly #journal: StateJournal;
  readonly #table: SlotTable<{ id: number; marks: MeterMarks }>;
  /**
   * Each meter's marks and counters by its record's key index (the table maps a meter's id to it), in
   * arrays: two Maps by id cost 3 slots an entry each (docs/memory.md).
   */
  readonly #marks: Array<MeterMarks | undefined> = [];
  readonly #counters: Array<JournalCounters | undefined> = [];

  constructor(journal: StateJournal) {
    this.#journal = journal;
    const r = StateLayout.dlmsMeters;
    const loaded: Array<{ id: number; marks: MeterMarks }> = [];
    this.#table = new SlotTable(journal, r.base, r.count, decode, (v) => loaded.push(v));
    for (const v of loaded) this.#marks[this.#table.slot(v.id)!] = v.marks;
  }

  /** Records that could not be read back (corrupt), never reused. */
  get unreadable(): number {
    return this.#table.unreadable.length;
  }

  marks(id: number): MeterMarks {
    const slot = this.#table.slot(id);
    return (slot === undefined ? undefined : this.#marks[slot]) ?? { profileS: 0, logS: [] };
  }

  /** Persists a meter's marks (durable when it returns). Throws StoreFullError beyond 64 meters. */
  setMarks(id: number, marks: MeterMarks): void {
    this.#table.write(id, encode(id, marks));
    this.#marks[this.#table.slot(id)!] = { profileS: marks.profileS, logS: [...marks.logS] };
  }

  /** The meter's invocation counters; its record is created first when it has none. */
  counters(id: number): JournalCounters {
    if (this.#table.slot(id) === undefined) this.setMarks(id, this.marks(id));
    const slot = this.#table.slot(id)!;
    return (this.#counters[slot] ??= new JournalCounters(this.#journal, StateLayout.dlmsCounters.base + 4 * slot));
  }
}
