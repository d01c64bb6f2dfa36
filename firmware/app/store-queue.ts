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
 * They stay buffered as the log's bytes (a reading decoded is an object of ~10 slots, and an uplink
 * record around it 4 more, against one or two bytes stored): `pending` decodes only what it hands out.
 *
 * A read of the log checks the CRC of a whole sector (≈ 0.1 M XS units for 4 KiB), so `pending` reads
 * at most once per call, and a call that read answers "later" (undefined): the drain asks again in
 * its next turn, and no turn holds more than one read. A kind whose class has nothing newer than what
 * was read (RecordLog.newestSeq) is answered from the buffer without reading.
 */
import { CONCENTRATOR, EventType, type MeterEvent } from "../model/records.js";
import type { RecordLog, LogCursor, SeqRun } from "../store/log.js";
import { decodeRecord, RecordClass, type DecodedRecord, type StoredRecord } from "../store/record-codec.js";
import type { CommandResult } from "../uplink/messages.js";
import type { RecordKind, UplinkQueue, UplinkRecord } from "../uplink/ports.js";

const CLASS_OF: Record<RecordKind, RecordClass> = Object.freeze({
  alarm: RecordClass.alarm,
  result: RecordClass.event,
  event: RecordClass.event,
  billing: RecordClass.billing,
  reading: RecordClass.profile,
});

/** Records and payload bytes taken from the log per read at most (a read decodes them all once, to count them). */
const READ_RECORDS = 8;
const READ_BYTES = 384;

interface KindState {
  cursor: LogCursor;
  /** Records read, of this kind, not yet known to be sent; `items[i]`: the uplink records `buffer[i]` gives. */
  buffer: StoredRecord[];
  items: number[];
  lastAfter: number;
  /** Everything of the class up to this sequence number has been read (-1: nothing yet). */
  readTo: number;
}

export class StoreQueue implements UplinkQueue {
  readonly #log: RecordLog;
  readonly #state = new Map<RecordKind, KindState>();
  readonly counters = { undecodable: 0 };

  constructor(log: RecordLog) {
    this.#log = log;
  }

  pending(kind: RecordKind, afterSeq: number, max: number): UplinkRecord[] | undefined {
    const st = this.#stateOf(kind);
    if (afterSeq < st.lastAfter) {
      st.cursor.rewind();
      st.buffer = [];
      st.items = [];
      st.readTo = -1;
    }
    st.lastAfter = afterSeq;
    let sent = 0;
    while (sent < st.buffer.length && st.buffer[sent]!.seq <= afterSeq) sent++;
    if (sent > 0) {
      st.buffer.splice(0, sent);
      st.items.splice(0, sent);
    }
    let buffered = 0;
    for (const n of st.items) buffered += n;
    if (buffered < max) {
      const newest = this.#log.newestSeq(CLASS_OF[kind]);
      if (newest > st.readTo) {
        if (this.#fill(kind, st, afterSeq) === 0) st.readTo = newest;
        return undefined;
      }
    }
    // Whole records only: the readings of one record never go in two messages.
    const out: UplinkRecord[] = [];
    for (let i = 0; i < st.buffer.length && out.length < max; i++) {
      const d = decodeRecord(st.buffer[i]!);
      if (d.kind !== "undecodable") for (const r of uplinkRecords(kind, d)) out.push(r);
    }
    return out;
  }

  acknowledge(seqs: readonly number[]): void {
    this.#log.acknowledgeLater(runsOf(seqs));
  }

  appendResult(result: CommandResult): number {
    const detail = typeof result.detail === "number" ? Math.trunc(result.detail) : result.detail;
    return this.#log.appendResult(detail === undefined ? { commandId: result.commandId, code: result.code } : { commandId: result.commandId, code: result.code, detail });
  }

  #stateOf(kind: RecordKind): KindState {
    let st = this.#state.get(kind);
    if (!st) this.#state.set(kind, (st = { cursor: this.#log.cursor([CLASS_OF[kind]]), buffer: [], items: [], lastAfter: 0, readTo: -1 }));
    return st;
  }

  /** One read of the log into the kind's buffer (its records of this kind, as read); returns the records read. */
  #fill(kind: RecordKind, st: KindState, afterSeq: number): number {
    const batch = st.cursor.next(READ_RECORDS, READ_BYTES);
    for (const rec of batch) {
      if (rec.seq <= afterSeq) continue;
      const d = decodeRecord(rec);
      if (d.kind === "undecodable") {
        this.counters.undecodable++;
        continue;
      }
      const n = uplinkCount(kind, d);
      if (n === 0) continue;
      st.buffer.push(rec);
      st.items.push(n);
    }
    return batch.length;
  }
}

/** How many uplink records a stored record gives for `kind`: a readings record's without making one object per reading. */
function uplinkCount(kind: RecordKind, d: Exclude<DecodedRecord, { kind: "undecodable" }>): number {
  if (d.kind === "readings") return kind === "billing" || kind === "reading" ? d.readings.length : 0;
  return uplinkRecords(kind, d).length;
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
