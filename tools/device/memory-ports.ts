/**
 * In-memory stand-ins for the store's queue and the persistent counters (firmware/uplink/ports.ts):
 * for the simulated concentrator on real brokers, the tests and the benchmarks. Pure ECMAScript.
 */
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import type { CommandResult } from "../../firmware/uplink/messages.js";
import type { CounterStore, RecordKind, UplinkQueue, UplinkRecord } from "../../firmware/uplink/ports.js";

interface Entry {
  record: UplinkRecord;
  acked: boolean;
}

/** The store's queue: records by kind in seq order; acknowledged ones are skipped, then compacted. */
export class MemoryQueue implements UplinkQueue {
  #seq = 0;
  readonly #byKind: Record<RecordKind, Entry[]> = { alarm: [], result: [], event: [], billing: [], reading: [] };
  readonly #bySeq = new Map<number, Entry>();
  /** Every acknowledge call, in order (for assertions). */
  readonly acknowledgements: number[][] = [];
  ackedCount = 0;

  get lastSeq(): number {
    return this.#seq;
  }

  addReading(reading: Reading): number {
    return this.#add({ kind: "reading", seq: ++this.#seq, reading });
  }

  addEvent(event: MeterEvent): number {
    return this.#add({ kind: event.alarm ? "alarm" : "event", seq: ++this.#seq, event });
  }

  appendResult(result: CommandResult): number {
    return this.#add({ kind: "result", seq: ++this.#seq, result });
  }

  /** Unacknowledged records of every kind. */
  get unacknowledged(): number {
    return this.#bySeq.size;
  }

  isAcknowledged(seq: number): boolean {
    return seq <= this.#seq && !this.#bySeq.has(seq);
  }

  pending(kind: RecordKind, afterSeq: number, max: number): UplinkRecord[] {
    const list = this.#byKind[kind];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.record.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const out: UplinkRecord[] = [];
    for (let i = lo; i < list.length && out.length < max; i++) if (!list[i]!.acked) out.push(list[i]!.record);
    return out;
  }

  acknowledge(seqs: readonly number[]): void {
    this.acknowledgements.push([...seqs]);
    const touched = new Set<RecordKind>();
    for (const s of seqs) {
      const e = this.#bySeq.get(s);
      if (!e) continue;
      e.acked = true;
      this.ackedCount++;
      this.#bySeq.delete(s);
      touched.add(e.record.kind);
    }
    for (const k of touched) {
      const list = this.#byKind[k];
      let i = 0;
      while (i < list.length && list[i]!.acked) i++;
      if (i > 0) list.splice(0, i);
    }
  }

  #add(record: UplinkRecord): number {
    const e = { record, acked: false };
    this.#byKind[record.kind].push(e);
    this.#bySeq.set(record.seq, e);
    return record.seq;
  }
}

/** Persistent counters as plain fields, with a write log (to check what was persisted before acting). */
export class MemoryCounters implements CounterStore {
  sendReserve = 0;
  lastAccepted = 0;
  writes = 0;
  loadSendReserve(): number {
    return this.sendReserve;
  }
  saveSendReserve(v: number): void {
    this.writes++;
    this.sendReserve = v;
  }
  loadLastAccepted(): number {
    return this.lastAccepted;
  }
  saveLastAccepted(v: number): void {
    this.writes++;
    this.lastAccepted = v;
  }
}

