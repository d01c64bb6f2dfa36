/**
 * The newest records of some classes of the record log, acknowledged or not (`events`, `log`,
 * `readings`, `module`), read back newest first with a bounded cost per step: one step reads a part
 * of a sector (RecordLog.recent) or looks at one record, never more, so a listing takes one step per
 * turn however large the log. Classes are merged by sequence number (the log's numbers are global).
 */
import type { RecentResume, RecordLog } from "../store/log.js";
import type { RecordClass, StoredRecord } from "../store/record-codec.js";

interface ClassReader {
  readonly cls: RecordClass;
  /** Records read but not yet looked at, newest last. */
  readonly buffer: StoredRecord[];
  /** Sequence number to read below next; 0 when no older sector is left. */
  before: number;
  /** Where the reading of a sector goes on: its records are looked at only once it is read to its end. */
  resume: RecentResume | undefined;
}

export class LogTail<T> {
  readonly #log: RecordLog;
  readonly #readers: ClassReader[];
  readonly #want: number;
  readonly #pick: (record: StoredRecord) => readonly T[];
  readonly #maxSectors: number;
  /** Collected, newest first. */
  readonly #items: T[] = [];
  #sectors = 0;
  #done = false;

  /**
   * `pick` returns the items of one record in the order they were written (none: it is not wanted);
   * at most `want` items are kept and at most `maxSectors` sectors read.
   */
  constructor(log: RecordLog, classes: readonly RecordClass[], want: number, pick: (record: StoredRecord) => readonly T[], maxSectors = Infinity) {
    this.#log = log;
    this.#readers = classes.map((cls) => ({ cls, buffer: [], before: log.nextSeq, resume: undefined }));
    this.#want = want;
    this.#pick = pick;
    this.#maxSectors = maxSectors;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Sectors read so far. */
  get sectors(): number {
    return this.#sectors;
  }

  /** Whether the reading stopped at `maxSectors` with older records left unread. */
  get truncated(): boolean {
    return this.#done && this.#items.length < this.#want && this.#readers.some((r) => r.before > 0 || r.buffer.length > 0 || r.resume !== undefined);
  }

  /** What was collected, oldest first. */
  items(): T[] {
    return this.#items.slice().reverse();
  }

  /** One part of a sector read or one record looked at; returns `done`. */
  step(): boolean {
    if (this.#done) return true;
    if (this.#items.length >= this.#want) return (this.#done = true);
    const empty = this.#readers.find((r) => r.resume || (r.buffer.length === 0 && r.before > 0));
    if (empty) {
      if (!empty.resume) {
        if (this.#sectors >= this.#maxSectors) return (this.#done = true);
        this.#sectors++;
      }
      const { records, next, resume } = this.#log.recent(empty.cls, empty.before, empty.resume);
      for (const r of records) empty.buffer.push(r);
      empty.before = next;
      empty.resume = resume;
      return false;
    }
    let newest: ClassReader | undefined;
    for (const r of this.#readers) {
      const head = r.buffer[r.buffer.length - 1];
      if (head && (!newest || head.seq > newest.buffer[newest.buffer.length - 1]!.seq)) newest = r;
    }
    if (!newest) return (this.#done = true);
    const picked = this.#pick(newest.buffer.pop()!);
    for (let i = picked.length - 1; i >= 0 && this.#items.length < this.#want; i--) this.#items.push(picked[i]!);
    return false;
  }
}
