/**
 * The state journal: small critical values (disconnect latches, counters, configuration, topology,
 * OTA state) under integer keys, on their own raw partition (docs/storage.md, "State journal").
 *
 * Exactly old or new: a write appends a new record (one program) and never touches the one it
 * replaces, so a cut at any point leaves either the whole new record (its CRC holds) or the old one.
 * `putAll` writes several keys in one record: all of them change, or none. The newest sequence
 * number of a key wins at recovery.
 *
 * Garbage collection copies the live entries of the oldest sector, with their sequence numbers, into
 * the newest, then erases it: a cut in between leaves two identical copies, never none. It runs in
 * maintenance turns when fewer than 3 sectors are spare, in steps that keep each turn short: the
 * first ones note the sector's records with live entries, KEYS_PER_STEP keys each, the next ones
 * copy up to COPIES_PER_STEP of them (a record that a put made stale meanwhile is skipped), the last erases
 * (a whole collection in one turn was 0.48 M XS units in the 60-minute site, docs/memory.md). A put
 * collects inline only when maintenance could not keep up (`stats.inlineMaintenance`), the whole
 * collection at once. The newest record of every key is always live, so the highest sequence
 * number survives every collection.
 *
 * Recovery reads the whole partition (64 KiB on the device) once; the newest sector then takes
 * records again after its last valid one (and any torn tail), so a cut costs no sector. RAM: 3 bytes
 * per key (where its newest record is, 16-bit on a partition of up to 64 KiB, and its length; 5 on a
 * larger one) plus 5 per sector, and 4 bytes per key during
 * recovery.
 */
import type { Timers } from "../../hal/clock.js";
import type { FlashPartition } from "../../hal/flash.js";
import { ByteReader, ByteWriter, getU16, getU32 } from "./bytes.js";
import { crc32 } from "./crc32.js";
import { CorruptStateError, InvalidKeyError, InvalidRecordError, StoreFullError, StoreIoError } from "./errors.js";
import { FRAME_HEADER_BYTES, FRAME_OVERHEAD, missingSlots, resumeOffset, sealFrame, walkFrames, type FrameView } from "./frame.js";
import { HEADERS_BYTES, parseHeaders, STATE_MAGIC } from "./sector-format.js";
import { SectorPool, SectorState } from "./sector-pool.js";

export interface StateJournalOptions {
  /** Keys are 0 … keyCount-1. Default 2048. Costs 3 bytes of RAM per key (5 on a partition over 64 KiB). */
  keyCount?: number;
  /** Timers for maintenance turns; without them the owner calls `maintain()`. */
  timers?: Timers;
  /** Delay from the write that left work to the maintenance turn, ms. Default 10. */
  maintenanceDelayMs?: number;
  /**
   * Called when records are found unreadable (CRC) at recovery or on a read, with the sector and how
   * many records. A key whose newest record was there reads its previous value: owners of critical
   * values (latches) should re-assert them from a safe default.
   */
  onCorruption?: (sector: number, records: number) => void;
}

export interface StateJournalStats {
  puts: number;
  erases: number;
  /** Sectors collected (live entries copied, then erased), and the entries copied. */
  collections: number;
  copies: number;
  inlineMaintenance: number;
  /** Records found unreadable (CRC) between readable ones, at recovery. */
  corruptRecords: number;
  badSectors: number;
}

/** Longest value of one key. */
export const MAX_VALUE_BYTES = 224;
/**
 * Largest record payload: bounds the space a sector can waste at its end (see `capacity`). A
 * configuration change (an audit entry ≤ 177 B and a value ≤ 64 B, config.ts) fits in one record.
 */
const MAX_PAYLOAD_BYTES = 256;
const MAX_ENTRIES = 8;
const ENTRY_OVERHEAD = 3;
/** Records per sector: the frame's tag numbers them 0 … 255 (a gap is a record that no longer reads). */
const MAX_SLOTS = 256;
const KIND_PUT = 1;
const SPARE_TARGET = 3;
const READY_TARGET = 2;
/** Records a maintenance turn copies at most while collecting a sector (about 2,500 XS units each). */
const COPIES_PER_STEP = 12;
/** Keys a maintenance step looks at while it notes the records of a sector to collect (#noteKeys). */
const KEYS_PER_STEP = 1024;
/** Sequence numbers skipped at each boot: more than the open sector could have held. */
const BOOT_SEQ_SKIP = 1024;

export class StateJournal {
  readonly #pool: SectorPool;
  readonly #size: number;
  readonly keyCount: number;
  /**
   * Partition offset of the record holding each key's newest value; 0 = never written. 16-bit on a
   * partition of 64 KiB or less (the device's), which halves the largest of the journal's arrays.
   */
  readonly #loc: Uint16Array | Uint32Array;
  readonly #len: Uint8Array;
  readonly #scratch = new Uint8Array(FRAME_OVERHEAD + MAX_PAYLOAD_BYTES);
  readonly #timers: Timers | undefined;
  readonly #delayMs: number;
  readonly #onCorruption: (sector: number, records: number) => void;
  #head = -1;
  #headEnd = 0;
  #headSlots = 0;
  #nextSeq = 1;
  #liveBytes = 0;
  #maintenanceArmed = false;
  /**
   * The collection in progress: the sector, the offsets of its records with live entries and the
   * bytes each takes, the next to copy, and the bytes still to copy (reserved in the head).
   */
  #collecting: Collection | undefined;
  /** The collection being planned in maintenance steps, before it starts (see `#noteKeys`). */
  #noting: Noting | undefined;
  readonly stats: StateJournalStats = { puts: 0, erases: 0, collections: 0, copies: 0, inlineMaintenance: 0, corruptRecords: 0, badSectors: 0 };

  private constructor(flash: FlashPartition, options: StateJournalOptions) {
    const keyCount = options.keyCount ?? 2048;
    if (!(Number.isInteger(keyCount) && keyCount > 0 && keyCount <= 0x10000)) throw new RangeError("invalid keyCount");
    if (!(flash.blockSize >= 1024 && flash.blockSize <= 32768)) throw new RangeError("invalid sector size");
    if (!(flash.byteLength / flash.blockSize >= 6)) throw new RangeError("too few sectors");
    this.#pool = new SectorPool(flash, STATE_MAGIC);
    this.#size = flash.blockSize;
    this.keyCount = keyCount;
    this.#loc = flash.byteLength <= 0x1_0000 ? new Uint16Array(keyCount) : new Uint32Array(keyCount);
    this.#len = new Uint8Array(keyCount);
    this.#timers = options.timers;
    this.#delayMs = options.maintenanceDelayMs ?? 10;
    this.#onCorruption = options.onCorruption ?? (() => undefined);
    this.#pool.onBad = () => this.stats.badSectors++;
  }

  /** Recovers the journal: every key's newest value. Never erases. */
  static open(flash: FlashPartition, options: StateJournalOptions = {}): StateJournal {
    const j = new StateJournal(flash, options);
    j.#recover();
    // A collection the reboot cut short is noted again before any put can take its room.
    const tail = j.#pool.spare < SPARE_TARGET ? j.#oldest() : -1;
    if (tail >= 0) j.#startCollection(tail, false);
    j.#schedule();
    return j;
  }

  /**
   * Bytes of live values the journal accepts: what still fits when every sector but the spare ones,
   * the head and the bad ones is full and each wastes up to one largest record at its end. A write
   * beyond it throws StoreFullError, so garbage collection can always make room.
   */
  get capacity(): number {
    return Math.max(0, this.#pool.count - this.#pool.bad - SPARE_TARGET - 1) * (this.#size - HEADERS_BYTES - FRAME_OVERHEAD - MAX_PAYLOAD_BYTES);
  }

  /** Bytes of RAM in the journal's long-lived typed arrays (key index, per-sector table, scratch buffer). */
  get memoryBytes(): number {
    return this.#loc.byteLength + this.#len.byteLength + this.#pool.state.byteLength + this.#pool.firstSeq.byteLength + this.#scratch.byteLength;
  }

  /** Bytes the live values would take if each were copied alone. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /** The newest value of `key`, or undefined if it was never written. Throws CorruptStateError if its record no longer reads. */
  get(key: number): Uint8Array | undefined {
    this.#checkKey(key);
    const loc = this.#loc[key]!;
    if (loc === 0) return undefined;
    const sectorEnd = (Math.floor(loc / this.#size) + 1) * this.#size;
    const b = this.#pool.flash.read(loc, Math.min(FRAME_OVERHEAD + MAX_PAYLOAD_BYTES, sectorEnd - loc));
    const length = getU16(b, 0);
    if (FRAME_OVERHEAD + length > b.length || crc32(b, 0, FRAME_HEADER_BYTES + length) !== getU32(b, FRAME_HEADER_BYTES + length)) {
      this.stats.corruptRecords++;
      this.#onCorruption(Math.floor(loc / this.#size), 1);
      throw new CorruptStateError("corrupt value");
    }
    let found: Uint8Array | undefined;
    forEachEntry(b, FRAME_HEADER_BYTES, length, (k, at, len) => {
      if (k === key) found = b.slice(at, at + len);
    });
    return found;
  }

  put(key: number, value: Uint8Array): void {
    this.putAll([[key, value]]);
  }

  /**
   * Writes several keys in one record: after a cut, either all of them have their new values or none
   * does. At most 8 keys and 256 bytes of entries (3 bytes per key plus its value).
   */
  putAll(entries: ReadonlyArray<readonly [number, Uint8Array]>): void {
    if (entries.length === 0 || entries.length > MAX_ENTRIES) throw new InvalidKeyError("invalid entry count");
    let payload = 1;
    let live = this.#liveBytes;
    for (let i = 0; i < entries.length; i++) {
      const [key, value] = entries[i]!;
      this.#checkKey(key);
      for (let k = 0; k < i; k++) if (entries[k]![0] === key) throw new InvalidKeyError("duplicate key");
      if (!(value instanceof Uint8Array) || value.length > MAX_VALUE_BYTES) throw new InvalidRecordError("invalid value");
      payload += ENTRY_OVERHEAD + value.length;
      live += entryCost(value.length) - (this.#loc[key] ? entryCost(this.#len[key]!) : 0);
    }
    if (payload > MAX_PAYLOAD_BYTES) throw new InvalidRecordError("record too large");
    if (live > this.capacity) throw new StoreFullError("state full");
    if (this.#room() - this.#reserved() < payload) this.#roll(payload);
    this.#encode(entries);
    const at = this.#writeFrame(this.#nextSeq, payload, false);
    this.#nextSeq++;
    this.#index(entries, at);
    this.stats.puts++;
    this.#schedule();
  }

  /** A view of keys [base, base + count) for one owner (latches, configuration …). */
  region(base: number, count: number): StateRegion {
    if (!(Number.isInteger(base) && Number.isInteger(count) && base >= 0 && count > 0 && base + count <= this.keyCount)) throw new InvalidKeyError("invalid region");
    return new StateRegion(this, base, count);
  }

  /**
   * One maintenance step, at most one erase: erases a sector ahead, or takes a step of collecting the
   * oldest sector when fewer than 3 are spare (see the module's comment). Returns true when it did
   * something.
   */
  maintain(): boolean {
    const p = this.#pool;
    if (p.ready === 0 && p.dirty > 0) return this.#erase(p.eraseAhead(1));
    if (this.#collecting) return this.#collectStep(this.#collecting);
    const noting = this.#noting;
    if (noting) {
      if (!this.#noteKeys(noting, KEYS_PER_STEP)) return true;
      this.#noting = undefined;
      return this.#plan(noting, true);
    }
    if (p.spare < SPARE_TARGET) {
      const tail = this.#oldest();
      if (tail < 0) return false;
      this.#noting = { sector: tail, payloads: new Map(), key: 0 };
      return true;
    }
    const ahead = p.eraseAhead(READY_TARGET);
    return ahead >= 0 && this.#erase(ahead);
  }

  /** A maintenance step as a put needs it inline: a collection it starts or goes on with is finished. */
  #maintainInline(): boolean {
    if (!this.maintain()) return false;
    const noting = this.#noting;
    if (noting) {
      this.#noting = undefined;
      this.#noteKeys(noting, this.keyCount);
      if (!this.#plan(noting, true)) return false;
    }
    while (this.#collecting) if (!this.#collectStep(this.#collecting)) return false;
    return true;
  }

  // ---- writing ----

  #checkKey(key: number): void {
    if (!(Number.isInteger(key) && key >= 0 && key < this.keyCount)) throw new InvalidKeyError("invalid key");
  }

  #room(): number {
    return this.#head < 0 || this.#headSlots >= MAX_SLOTS ? 0 : this.#size - this.#headEnd - FRAME_OVERHEAD;
  }

  /** Puts a record's payload in the scratch buffer: [count u8] then key u16, length u8, value. */
  #encode(entries: ReadonlyArray<readonly [number, Uint8Array]>): void {
    const w = new ByteWriter(this.#scratch, FRAME_HEADER_BYTES);
    w.u8(entries.length);
    for (const [key, value] of entries) {
      w.u16(key);
      w.u8(value.length);
      w.raw(value);
    }
  }

  /**
   * Head room a put must leave to the collection in progress. A put that took it would leave the
   * copies needing another sector, and with the last spare one gone the journal could never collect
   * again.
   */
  #reserved(): number {
    const c = this.#collecting;
    if (!c) return 0;
    return this.#headSlots + c.frames.length - c.next >= MAX_SLOTS ? this.#size : c.bytes;
  }

  /**
   * Writes the frame whose payload is in the scratch buffer to the head, read back; returns its
   * partition offset. When the program fails, tries again in a new head: a copy in one of its own
   * (a collection is in progress), a put in one `#roll` makes room in.
   */
  #writeFrame(seq: number, payloadLength: number, copy: boolean): number {
    for (let attempt = 0; attempt < 3; attempt++) {
      const length = sealFrame(this.#scratch, 0, payloadLength, this.#headSlots, KIND_PUT, seq);
      const at = this.#head * this.#size + this.#headEnd;
      if (this.#pool.program(at, this.#scratch.subarray(0, length))) {
        this.#headEnd += length;
        this.#headSlots++;
        return at;
      }
      this.stats.badSectors++;
      // Kept aside: the roll may collect garbage through the scratch buffer.
      const payload = this.#scratch.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + payloadLength);
      if (copy) {
        if (!this.#openHead()) throw new StoreFullError("state full");
      } else {
        this.#leaveHead();
        this.#roll(payloadLength);
      }
      this.#scratch.set(payload, FRAME_HEADER_BYTES);
    }
    throw new StoreIoError("program failed");
  }

  #index(entries: ReadonlyArray<readonly [number, Uint8Array]>, at: number): void {
    for (const [key, value] of entries) {
      if (this.#loc[key]) this.#liveBytes -= entryCost(this.#len[key]!);
      this.#loc[key] = at;
      this.#len[key] = value.length;
      this.#liveBytes += entryCost(value.length);
    }
  }

  /**
   * Makes room in the head for a put of `payload` bytes: finishes the collection in progress (its
   * copies go into the room reserved for them), then opens a new head while 3 sectors stay spare,
   * or collects inline until one of them does. The head stays in use while collecting, so copies
   * fill what room it has left rather than a sector of their own; when a collection leaves room for
   * the payload, the head takes it.
   */
  #roll(payload: number): void {
    for (let steps = 0; ; steps++) {
      if (!this.#collecting && this.#pool.ready > 0 && this.#pool.spare >= SPARE_TARGET) {
        if (this.#openHead()) return;
        continue;
      }
      if (steps > 2 * this.#pool.count || !this.#maintainInline()) throw new StoreFullError("state full");
      this.stats.inlineMaintenance++;
      if (this.#room() >= payload) return;
    }
  }

  /** Leaves the head for a ready sector; false when none could be opened. */
  #openHead(): boolean {
    this.#leaveHead();
    const s = this.#pool.open(0xff, this.#nextSeq);
    if (s < 0) return false;
    this.#head = s;
    this.#headEnd = HEADERS_BYTES;
    this.#headSlots = 0;
    return true;
  }

  /** Writes no more to the head; a head that never took a record holds nothing and is reclaimed. */
  #leaveHead(): void {
    if (this.#head >= 0 && this.#headSlots === 0) this.#pool.setState(this.#head, SectorState.dirty);
    this.#head = -1;
  }

  // ---- garbage collection ----

  /** The live sector with the lowest first sequence number that is not the head, or -1. */
  #oldest(): number {
    let best = -1;
    const first = this.#pool.firstSeq;
    for (let s = 0; s < this.#pool.count; s++) {
      if (this.#pool.state[s] !== SectorState.live || s === this.#head) continue;
      if (best < 0 || first[s]! < first[best]!) best = s;
    }
    return best;
  }

  /** Starts collecting `sector` at once (at open: see `#plan`). */
  #startCollection(sector: number, mayOpen: boolean): boolean {
    const noting: Noting = { sector, payloads: new Map(), key: 0 };
    this.#noteKeys(noting, this.keyCount);
    return this.#plan(noting, mayOpen);
  }

  /**
   * Notes the records of the sector to collect that hold live entries, from the keys' locations (no
   * read of the sector: walking and checking its 4 KiB was most of a 0.26 M-unit turn), for the next
   * `keys` keys: a maintenance step looks at KEYS_PER_STEP of them (all 3,400 at once were a
   * 140,000-unit turn in the 123-minute site, docs/memory.md). A put between two steps never writes
   * into that sector (it is not the head), and a record it makes stale is skipped when copied.
   * Returns whether every key was looked at.
   */
  #noteKeys(noting: Noting, keys: number): boolean {
    const base = noting.sector * this.#size;
    const { payloads } = noting;
    const loc = this.#loc;
    const end = Math.min(this.keyCount, noting.key + keys);
    for (let key = noting.key; key < end; key++) {
      const at = loc[key]!;
      if (at === 0 || at < base || at >= base + this.#size) continue; // 0: no record
      payloads.set(at, (payloads.get(at) ?? 1) + ENTRY_OVERHEAD + this.#len[key]!);
    }
    noting.key = end;
    return end === this.keyCount;
  }

  /**
   * Starts the collection noted: the copies go into the head when they fit there, otherwise into a
   * ready sector opened for them: the live records of one sector always fit a whole one, so this
   * needs no second spare, and the erase at the end gives the spare back. Their bytes are reserved in
   * the head from now on (`#reserved`), so after a cut in the middle of the copy the newest sector is
   * taken again and still has room for the rest. False when there is no room for the copy, or
   * (`mayOpen` false) it would need a new sector.
   */
  #plan(noting: Noting, mayOpen: boolean): boolean {
    const base = noting.sector * this.#size;
    const { payloads } = noting;
    const frames = [...payloads.keys()].sort((x, y) => x - y);
    const sizes = frames.map((at) => FRAME_OVERHEAD + payloads.get(at)!);
    const bytes = sizes.reduce((sum, n) => sum + n, 0);
    const fits = this.#head >= 0 && this.#headSlots + frames.length <= MAX_SLOTS && this.#headEnd + bytes <= this.#size;
    if (!fits && !(mayOpen && this.#pool.ready > 0 && this.#openHead())) return false;
    this.#collecting = { sector: noting.sector, frames: frames.map((at) => at - base), sizes, next: 0, bytes };
    return true;
  }

  /**
   * Copies the next records of the collection into the head, each with its own sequence number and
   * the entries still live in it (read again: a put may have replaced some since); erases the sector
   * once they are all copied. False when there is no room for a copy (the reservation keeps it).
   */
  #collectStep(c: Collection): boolean {
    const base = c.sector * this.#size;
    // A put left the head (a program failed in it): the copies go on in a new one, where they all fit.
    if (this.#head < 0 && !(this.#pool.ready > 0 && this.#openHead())) return false;
    for (let n = 0; n < COPIES_PER_STEP && c.next < c.frames.length; n++) {
      const at = c.frames[c.next]!;
      const length = getU16(this.#pool.flash.read(base + at, FRAME_HEADER_BYTES), 0);
      const frame = this.#pool.flash.read(base + at, FRAME_OVERHEAD + length);
      const live: Array<readonly [number, Uint8Array]> = [];
      let payload = 1;
      // A record that no longer reads is not copied, as one a walk of the sector would not find.
      if (crc32(frame, 0, FRAME_HEADER_BYTES + length) === getU32(frame, FRAME_HEADER_BYTES + length)) {
        forEachEntry(frame, FRAME_HEADER_BYTES, length, (key, valueAt, len) => {
          if (key < this.keyCount && this.#loc[key] === base + at) {
            live.push([key, frame.slice(valueAt, valueAt + len)]);
            payload += ENTRY_OVERHEAD + len;
          }
        });
      }
      if (live.length > 0) {
        if (this.#room() < payload) return false;
        this.#encode(live);
        this.#index(live, this.#writeFrame(getU32(frame, 4), payload, true));
        this.stats.copies += live.length;
      }
      c.bytes -= c.sizes[c.next]!;
      c.next++;
    }
    if (c.next < c.frames.length) return true;
    this.#collecting = undefined;
    this.stats.collections++;
    return this.#erase(c.sector);
  }

  #erase(sector: number): boolean {
    this.stats.erases++;
    this.#pool.erase(sector);
    return true;
  }

  #schedule(): void {
    if (!this.#timers || this.#maintenanceArmed) return;
    const p = this.#pool;
    if (!(p.spare < SPARE_TARGET || p.eraseAhead(READY_TARGET) >= 0)) return;
    this.#maintenanceArmed = true;
    this.#timers.set(() => {
      this.#maintenanceArmed = false;
      if (this.maintain()) this.#schedule();
    }, this.#delayMs);
  }

  // ---- recovery ----

  #recover(): void {
    const p = this.#pool;
    const seen = new Uint32Array(this.keyCount);
    let maxSeq = -1;
    let newest = -1;
    for (let s = 0; s < p.count; s++) {
      const base = s * this.#size;
      const bytes = p.flash.read(base, this.#size);
      const parsed = parseHeaders(bytes, STATE_MAGIC);
      if (!parsed) continue;
      p.noteHeader(s, parsed.header);
      const first = parsed.header.firstSeq;
      const frames: FrameView[] = [];
      walkFrames(bytes, HEADERS_BYTES, this.#size, journalFramePlausible, (f) => {
        frames.push(f);
        maxSeq = Math.max(maxSeq, f.seq);
        forEachEntry(bytes, f.payloadAt, f.payloadLength, (key, _at, len) => {
          if (key >= this.keyCount) return;
          // Newest sequence number wins; of two copies of one record, the one in the newer sector.
          const was = seen[key]!;
          const wasFirst = this.#loc[key] ? p.firstSeq[Math.floor(this.#loc[key]! / this.#size)]! : 0;
          if (f.seq + 1 > was || (f.seq + 1 === was && first > wasFirst)) {
            seen[key] = f.seq + 1;
            this.#loc[key] = base + f.at;
            this.#len[key] = len;
          }
        });
      });
      const last = frames[frames.length - 1];
      const missing = last ? missingSlots(frames, last.tag + 1) : 0;
      if (missing > 0) {
        this.stats.corruptRecords += missing;
        this.#onCorruption(s, missing);
      }
      if (newest < 0 || first > p.firstSeq[newest]!) newest = s;
    }
    for (let k = 0; k < this.keyCount; k++) if (this.#loc[k]) this.#liveBytes += entryCost(this.#len[k]!);
    this.#nextSeq = maxSeq < 0 ? 1 : maxSeq + 1 + BOOT_SEQ_SKIP;
    for (let s = 0; s < p.count; s++) if (p.state[s] === SectorState.live && s !== newest && !this.#holdsAny(s)) p.setState(s, SectorState.dirty);
    if (newest >= 0) this.#resume(newest);
  }

  /** Takes records again in the newest sector, after its last valid record and any torn tail. */
  #resume(s: number): void {
    const bytes = this.#pool.flash.read(s * this.#size, this.#size);
    let slots = 0;
    const walk = walkFrames(bytes, HEADERS_BYTES, this.#size, journalFramePlausible, (f) => (slots = f.tag + 1));
    const at = resumeOffset(bytes, walk.end, this.#size);
    if (slots >= MAX_SLOTS || at + FRAME_OVERHEAD >= this.#size) return;
    this.#head = s;
    this.#headEnd = at;
    this.#headSlots = slots;
  }

  /** Whether any key's newest value is in sector `s` (otherwise it holds nothing and can be erased). */
  #holdsAny(s: number): boolean {
    const lo = s * this.#size;
    const hi = lo + this.#size;
    for (let k = 0; k < this.keyCount; k++) if (this.#loc[k]! >= lo && this.#loc[k]! < hi) return true;
    return false;
  }
}

/** Keys [base, base + length) of a journal, addressed 0 … length-1. */
export class StateRegion {
  readonly #journal: StateJournal;
  readonly base: number;
  readonly length: number;

  constructor(journal: StateJournal, base: number, length: number) {
    this.#journal = journal;
    this.base = base;
    this.length = length;
  }

  get(index: number): Uint8Array | undefined {
    return this.#journal.get(this.#key(index));
  }

  put(index: number, value: Uint8Array): void {
    this.#journal.put(this.#key(index), value);
  }

  /** The journal key of `index` (for putAll across regions). */
  key(index: number): number {
    return this.#key(index);
  }

  #key(index: number): number {
    if (!(Number.isInteger(index) && index >= 0 && index < this.length)) throw new InvalidKeyError("invalid key");
    return this.base + index;
  }
}

/** A collection being planned: the sector, the bytes each of its records with live entries takes copied (by offset), the next key to look at. */
interface Noting {
  readonly sector: number;
  readonly payloads: Map<number, number>;
  key: number;
}

interface Collection {
  sector: number;
  /** Offsets in the sector of its records with live entries, and the bytes each takes copied. */
  frames: number[];
  sizes: number[];
  next: number;
  /** Bytes of the records not yet copied. */
  bytes: number;
}

/** What an entry would cost if garbage collection copied it alone. */
function entryCost(valueLength: number): number {
  return FRAME_OVERHEAD + ENTRY_OVERHEAD + valueLength;
}

/** Frames of a journal sector: slots strictly increase (copies keep old sequence numbers, so those may not). */
function journalFramePlausible(tag: number, kind: number, _seq: number, previous: FrameView | undefined): boolean {
  return kind === KIND_PUT && (!previous || tag > previous.tag);
}

/** Visits the entries of a put record ([count u8] then key u16, length u8, value): key, value offset, value length. */
function forEachEntry(b: Uint8Array, at: number, length: number, visit: (key: number, valueAt: number, valueLength: number) => void): void {
  const r = new ByteReader(b, at, at + length);
  const entries = r.u8();
  for (let i = 0; i < entries; i++) {
    const key = r.u16();
    const len = r.u8();
    const valueAt = r.pos;
    r.skip(len);
    if (r.error) return;
    visit(key, valueAt, len);
  }
}
