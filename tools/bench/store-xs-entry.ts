/**
 * Evaluated inside XS (xsnap) by store-xs.ts: one store operation per command, so the XS meter of a
 * crank is the cost of that operation. A 4 MiB log and a 64 KiB state partition, as on the device.
 *
 * The partitions are a flash double whose calls cost what native calls cost in XS (typed-array
 * set/fill/slice): on the device `flash.write` is native code, while SimNorFlash programs byte by byte
 * in JS (≈ 55 units per byte), which would be charged to the store. `set` is a faithful program here:
 * the store only programs erased bytes, or bytes it already ANDed with what is there (docs/storage.md).
 *
 * Commands (JSON): {op:"noop"} | {op:"gc"} | {op:"open"} | {op:"release"} | {op:"append", meters, intervals} | {op:"event"} |
 * {op:"drain", records} | {op:"ack"} | {op:"ackLater"} | {op:"maintain"} | {op:"put"} | {op:"counter"} | {op:"fill", batches} |
 * {op:"journalChurn", puts} | {op:"reboot"} (the log opened again, as after a reset: its slot index empty, the drained records kept) |
 * {op:"recent", restart} (a call of the events' read-back, newest first: from the newest record when `restart`, else on from the last call)
 */
import type { FlashPartition } from "../../hal/flash.js";
import { EventType, type Reading } from "../../firmware/model/records.js";
import { RecordLog, type LogCursor, type RecentResume } from "../../firmware/store/log.js";
import { RecordClass, type StoredRecord } from "../../firmware/store/record-codec.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { MonotonicCounter } from "../../firmware/store/counter.js";
import { STATE_KEY_COUNT, StateLayout } from "../../firmware/store/state-layout.js";
import { serveJsonCommands } from "../xs/json-commands.js";

class NativeCostFlash implements FlashPartition {
  readonly blockSize = 4096;
  readonly byteLength: number;
  readonly #data: Uint8Array;
  readonly counters = { reads: 0, bytesRead: 0 };

  constructor(byteLength: number) {
    this.byteLength = byteLength;
    this.#data = new Uint8Array(byteLength).fill(0xff);
  }

  read(offset: number, byteLength: number): Uint8Array {
    this.counters.reads++;
    this.counters.bytesRead += byteLength;
    return this.#data.slice(offset, offset + byteLength);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#data.set(bytes, offset);
  }

  eraseBlock(index: number): void {
    this.#data.fill(0xff, index * this.blockSize, (index + 1) * this.blockSize);
  }
}

const logFlash = new NativeCostFlash(4 << 20);
const stateFlash = new NativeCostFlash(64 << 10);
let log: RecordLog | undefined;
let journal: StateJournal | undefined;
let counter: MonotonicCounter | undefined;
let cursor: LogCursor | undefined;
let last: StoredRecord[] = [];
let back: { before: number; resume?: RecentResume } = { before: 0 };
let k = 0;

function batch(meters: number, intervals: number): Reading[] {
  const rs: Reading[] = [];
  for (let m = 0; m < meters; m++) {
    for (let i = 0; i < intervals; i++) rs.push({ meter: m, register: 0x010800, time: 1_767_225_600 + (k + i) * 900, value: 3_000_000 + m * 977 + (k + i) * (60 + (m % 13) * 25), status: 0 });
  }
  k += intervals;
  return rs;
}

/** xsnap's meter: sets the meter to `index` and returns the units counted since it was last set. */
declare function resetMeter(limit: number, index: number): number;

type Command =
  | { op: "noop" | "gc" | "open" | "release" | "event" | "ack" | "ackLater" | "maintain" | "put" | "counter" | "reboot" }
  | { op: "append"; meters: number; intervals: number }
  | { op: "drain"; records: number }
  | { op: "fill"; batches: number }
  | { op: "journalChurn"; puts: number }
  | { op: "recent"; restart: boolean };

function execute(c: Command): unknown {
  switch (c.op) {
    case "noop":
      return {};
    case "gc":
      // xsnap's global gc(): the heap count after it is what stays live.
      (globalThis as { gc?: () => void }).gc?.();
      return {};
    case "release":
      log = undefined;
      journal = undefined;
      counter = undefined;
      cursor = undefined;
      last = [];
      return {};
    case "open":
      log = RecordLog.open(logFlash);
      journal = StateJournal.open(stateFlash, { keyCount: STATE_KEY_COUNT });
      counter = new MonotonicCounter(journal, StateLayout.counters.base);
      cursor = log.cursor();
      return { reads: logFlash.counters.reads, bytesRead: logFlash.counters.bytesRead, memoryBytes: log.memoryBytes + journal.memoryBytes };
    case "reboot":
      log = RecordLog.open(logFlash);
      cursor = log.cursor();
      return {};
    case "append":
      return { records: log!.appendReadings(batch(c.meters, c.intervals)).length };
    case "fill":
      for (let i = 0; i < c.batches; i++) {
        log!.appendReadings(batch(256, 1));
        while (log!.maintain());
      }
      return {};
    case "event":
      return { seq: log!.appendEvent({ type: EventType.door, subject: k % 1024, time: 1_767_225_600 + k, alarm: false, detail: k }) };
    case "drain":
      last = cursor!.next(c.records);
      return { records: last.length };
    case "ack":
      return { released: log!.acknowledge(last.map((r) => ({ first: r.seq, count: 1 }))) };
    case "ackLater":
      log!.acknowledgeLater(last.map((r) => ({ first: r.seq, count: 1 })));
      return {};
    case "maintain":
      return { did: log!.maintain() };
    case "put":
      journal!.put(StateLayout.latches.base + (k++ % 1024), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      return {};
    case "counter":
      return { value: counter!.next() };
    case "recent": {
      const part = log!.recent(RecordClass.event, c.restart ? log!.nextSeq : back.before, c.restart ? undefined : back.resume);
      back = { before: part.next, resume: part.resume };
      return { records: part.records.length, more: part.next > 0 || part.resume !== undefined };
    }
    case "journalChurn": {
      // Latch puts, each followed by the journal's maintenance steps: the largest step's units.
      let max = 0;
      for (let i = 0; i < c.puts; i++) {
        journal!.put(StateLayout.latches.base + (k++ % 1024), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
        for (;;) {
          const before = resetMeter(0, 0);
          const did = journal!.maintain();
          const units = resetMeter(0, 0);
          resetMeter(0, before + units);
          if (!did) break;
          max = Math.max(max, units);
        }
      }
      return { max, collections: journal!.stats.collections };
    }
  }
}

serveJsonCommands(execute);
