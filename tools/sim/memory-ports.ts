/**
 * In-memory stand-ins for what the uplink needs from the concentrator (firmware/uplink/ports.ts): the
 * store's queue, the persistent counters, and command handlers that record their calls. For the
 * uplink rig (uplink-site.ts), the tests and the benchmarks. Pure ECMAScript (XS too).
 */
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import type { LoadLimit } from "../../firmware/model/load-limit.js";
import { ResultCode, type CommandResult, type ConfigChange } from "../../firmware/uplink/messages.js";
import type { CommandHandlers, CommandOutcome, CounterStore, RecordKind, UplinkQueue, UplinkRecord } from "../../firmware/uplink/ports.js";

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

export type HandlerCall =
  | { op: "read"; meters: readonly number[]; registers: readonly number[]; persistedCounter: number }
  | { op: "disconnect" | "reconnect"; meter: number; persistedCounter: number }
  | { op: "configure"; changes: readonly ConfigChange[]; commandId: number; persistedCounter: number }
  | { op: "time"; epochMs: number; persistedCounter: number }
  | { op: "mode"; meter: number; mode: number; persistedCounter: number }
  | { op: "limit"; meter: number; limit: LoadLimit | undefined; persistedCounter: number };

/**
 * Handlers that record each call (with the receive counter persisted at that moment) and answer at
 * once: meters above `meterCount` are rejected, reads return one reading per meter.
 */
export class RecordingHandlers implements CommandHandlers {
  readonly calls: HandlerCall[] = [];
  constructor(
    readonly counters: MemoryCounters,
    readonly meterCount = 100,
  ) {}
  #known(meter: number): boolean {
    return meter >= 1 && meter <= this.meterCount;
  }
  read(meters: readonly number[], registers: readonly number[], done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "read", meters, registers, persistedCounter: this.counters.lastAccepted });
    if (!meters.every((m) => this.#known(m))) return done({ code: ResultCode.rejected, detail: "unknown meter" });
    done({ code: ResultCode.ok, readings: meters.map((m) => ({ meter: m, register: 0x010800, time: 1_767_225_600, value: m * 1000, status: 0 })) });
  }
  disconnect(meter: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "disconnect", meter, persistedCounter: this.counters.lastAccepted });
    done({ code: this.#known(meter) ? ResultCode.ok : ResultCode.rejected });
  }
  reconnect(meter: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "reconnect", meter, persistedCounter: this.counters.lastAccepted });
    done({ code: this.#known(meter) ? ResultCode.ok : ResultCode.rejected });
  }
  configure(changes: readonly ConfigChange[], commandId: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "configure", changes, commandId, persistedCounter: this.counters.lastAccepted });
    done({ code: ResultCode.ok });
  }
  setTime(epochMs: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "time", epochMs, persistedCounter: this.counters.lastAccepted });
    done({ code: ResultCode.ok, detail: 0 });
  }
  setMode(meter: number, mode: number, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "mode", meter, mode, persistedCounter: this.counters.lastAccepted });
    done({ code: this.#known(meter) ? ResultCode.ok : ResultCode.rejected });
  }
  setLimit(meter: number, limit: LoadLimit | undefined, done: (o: CommandOutcome) => void): void {
    this.calls.push({ op: "limit", meter, limit, persistedCounter: this.counters.lastAccepted });
    done({ code: this.#known(meter) ? ResultCode.ok : ResultCode.rejected });
  }
}
