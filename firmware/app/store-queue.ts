/**
 * The record log seen from the uplink (firmware/uplink/ports.ts `UplinkQueue`): each uplink kind is
 * one store class, so sequence numbers increase within a kind as the drain expects.
 *
 *   alarm   ← class alarm: alarm events, and the store's eviction and corruption notices as events
 *   result  ← class event, result records
 *   event   ← class event, events and audit entries (an audit entry as a config-change event)
 *   billing ← class billing     reading ← class profile
 *
 * A readings record holds several readings under one sequence number; they are handed out together.
 * Records read from the log but not yet sent stay buffered per kind (the drain may ask again with the
 * same `afterSeq`); a smaller `afterSeq` than before means the drain rewound, and so does the cursor.
 */
import { CONCENTRATOR, EventType, type MeterEvent } from "../model/records.js";
import type { RecordLog, LogCursor, SeqRun } from "../store/log.js";
import { decodeRecord, RecordClass, type DecodedRecord } from "../store/record-codec.js";
import type { CommandResult } from "../uplink/messages.js";
import type { RecordKind, UplinkQueue, UplinkRecord } from "../uplink/ports.js";

const CLASS_OF: Record<RecordKind, RecordClass> = {
  alarm: RecordClass.alarm,
  result: RecordClass.event,
  event: RecordClass.event,
  billing: RecordClass.billing,
  reading: RecordClass.profile,
};

/** Payload bytes read from the log per call at most (a sector is 4 KiB). */
const READ_BYTES = 4096;

interface KindState {
  cursor: LogCursor;
  buffer: UplinkRecord[];
  lastAfter: number;
  /** The log has nothing more for this kind right now. */
  dry: boolean;
}

export class StoreQueue implements UplinkQueue {
  readonly #log: RecordLog;
  readonly #state = new Map<RecordKind, KindState>();
  readonly counters = { undecodable: 0 };

  constructor(log: RecordLog) {
    this.#log = log;
  }

  pending(kind: RecordKind, afterSeq: number, max: number): UplinkRecord[] {
    const st = this.#stateOf(kind);
    if (afterSeq < st.lastAfter) {
      st.cursor.rewind();
      st.buffer = [];
    }
    st.lastAfter = afterSeq;
    st.buffer = st.buffer.filter((r) => r.seq > afterSeq);
    st.dry = false;
    while (st.buffer.length < max && !st.dry) this.#fill(kind, st, afterSeq);
    const out: UplinkRecord[] = [];
    for (const r of st.buffer) {
      // Never split the readings of one record across messages.
      if (out.length >= max && r.seq !== out[out.length - 1]!.seq) break;
      out.push(r);
    }
    return out;
  }

  acknowledge(seqs: readonly number[]): void {
    this.#log.acknowledge(runsOf(seqs));
  }

  appendResult(result: CommandResult): number {
    const detail = typeof result.detail === "number" ? Math.trunc(result.detail) : result.detail;
    return this.#log.appendResult(detail === undefined ? { commandId: result.commandId, code: result.code } : { commandId: result.commandId, code: result.code, detail });
  }

  #stateOf(kind: RecordKind): KindState {
    let st = this.#state.get(kind);
    if (!st) this.#state.set(kind, (st = { cursor: this.#log.cursor([CLASS_OF[kind]]), buffer: [], lastAfter: 0, dry: false }));
    return st;
  }

  #fill(kind: RecordKind, st: KindState, afterSeq: number): void {
    const batch = st.cursor.next(64, READ_BYTES);
    if (batch.length === 0) {
      st.dry = true;
      return;
    }
    for (const rec of batch) {
      if (rec.seq <= afterSeq) continue;
      const d = decodeRecord(rec);
      if (d.kind === "undecodable") this.counters.undecodable++;
      else for (const r of uplinkRecords(kind, d)) st.buffer.push(r);
    }
  }
}

/** The uplink records a stored record gives for `kind` (none when it belongs to the other kind of its class). */
function uplinkRecords(kind: RecordKind, d: Exclude<DecodedRecord, { kind: "undecodable" }>): UplinkRecord[] {
  const seq = d.seq;
  switch (d.kind) {
    case "readings":
      return kind === "billing" || kind === "reading" ? d.readings.map((reading) => ({ kind, seq, reading })) : [];
    case "result":
      return kind === "result" ? [{ kind, seq, result: { commandId: d.result.commandId, code: d.result.code as CommandResult["code"], ...(d.result.detail !== undefined ? { detail: d.result.detail } : {}) } }] : [];
    case "event":
      return kind === "alarm" || kind === "event" ? [{ kind, seq, event: d.event }] : [];
    case "audit":
      return kind === "event" ? [{ kind, seq, event: auditEvent(d.entry.time, d.entry.result) }] : [];
    case "eviction":
      return kind === "alarm" ? [{ kind, seq, event: storeEvent(EventType.storageEviction, d.notice.records) }] : [];
    case "corruption":
      return kind === "alarm" ? [{ kind, seq, event: storeEvent(EventType.storageQuarantine, d.notice.sector) }] : [];
  }
}

function auditEvent(time: number, result: number): MeterEvent {
  return { type: EventType.configChange, subject: CONCENTRATOR, time, alarm: false, detail: result };
}

/** Store notices carry no time of their own: they are stamped 0 and ordered by their sequence number. */
function storeEvent(type: EventType, detail: number): MeterEvent {
  return { type, subject: CONCENTRATOR, time: 0, alarm: true, detail };
}

function runsOf(seqs: readonly number[]): SeqRun[] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const runs: Array<{ first: number; count: number }> = [];
  for (const s of sorted) {
    const last = runs[runs.length - 1];
    if (last && s === last.first + last.count) last.count++;
    else if (!last || s >= last.first + last.count) runs.push({ first: s, count: 1 });
  }
  return runs;
}
