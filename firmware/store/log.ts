/**
 * The record log: an append-only ring of sequence-numbered, CRC-protected records over one raw flash
 * partition (docs/storage.md), kept until the head-end acknowledges them.
 *
 * - `append*` returns once its records are programmed and read back: from then on they survive any
 *   power cut. The sequence number is the key (unique, increasing, not contiguous); times are
 *   attributes, so a wall clock that jumps back loses nothing.
 * - Each record class fills sectors of its own. The drain (`cursor`) walks alarms, then events, then
 *   billing, then profile readings, each by sequence; `acknowledge` releases records by sequence
 *   number, in any order. A released record is never returned again, also after a reboot.
 * - Room is made ahead, in maintenance turns of its own (one erase each): a sector whose records are
 *   all released is reclaimed; when none is, the oldest sector of the lowest class is evicted, after
 *   an eviction notice (an alarm record) has been written. Erases happen inside an append only when
 *   maintenance could not keep up (`stats.inlineMaintenance`).
 * - Recovery at `open` reads the first 128 bytes of every sector (O(sectors)), plus the sectors that
 *   were still open when power went (one per class): each takes records again after its last valid
 *   one (and after any torn tail), so a cut costs no sector.
 * - Nothing is ever formatted: a sector is erased only when it holds no valid header, or when its
 *   records are all released, or after its eviction was recorded. Corruption is skipped, counted and
 *   reported as a notice record.
 *
 * - The drain reads frame by frame from the position its cursor verified, and the acknowledgement of
 *   drained records reads only the sectors' acknowledgement maps (slot-index.ts); both fall back to
 *   reading a whole sector when it does not read cleanly that way (docs/storage.md, "Turn cost").
 *
 * RAM: 10 bytes per sector (10 KiB for a 4 MiB partition of 1024 sectors) plus a 1 KiB scratch
 * buffer and the 3 KiB slot index; a sector being read (4 KiB) is garbage once the call returns.
 */
import type { Timers } from "../../hal/clock.js";
import type { FlashPartition } from "../../hal/flash.js";
import type { MeterEvent, Reading } from "../model/records.js";
import type { StateRegion } from "./state-journal.js";
import { encodeAudit, type AuditEntry } from "./audit.js";
import { ByteReader, ByteWriter, getU16, getU32, isErased, setU32 } from "./bytes.js";
import { crc32 } from "./crc32.js";
import { CorruptStateError, InvalidRecordError, StoreFullError, StoreIoError } from "./errors.js";
import { FRAME_HEADER_BYTES, FRAME_OVERHEAD, missingSlots, resumeOffset, sealFrame, walkFrames, type FrameView } from "./frame.js";
import { encodeReadings, checkReading } from "./readings-codec.js";
import { frozen } from "../model/frozen.js";
import {
  CLASS_COUNT,
  CorruptionReason,
  RecordClass,
  RecordKind,
  MAX_KIND,
  checkEvent,
  encodeCorruption,
  encodeEvent,
  encodeEviction,
  checkResult,
  encodeResult,
  type StoredResult,
  type CorruptionNotice,
  type EvictionNotice,
  type StoredRecord,
} from "./record-codec.js";
import {
  ACK_MAP_AT,
  ACK_MAP_BYTES,
  ackedCount,
  ackProgram,
  encodeSummary,
  isAcked,
  LOG_MAGIC,
  LOG_RECORDS_AT,
  MAX_SLOTS,
  parseHeaders,
  parseSummary,
  SUMMARY_AT,
  SUMMARY_BYTES,
} from "./sector-format.js";
import { SectorPool, SectorState } from "./sector-pool.js";
import { SlotIndex } from "./slot-index.js";

export interface RecordLogOptions {
  /**
   * Timers for maintenance turns (erase-ahead, reclaim, eviction), each run in a turn of its own and
   * doing at most one erase. Without timers the owner calls `maintain()` when it has slack.
   */
  timers?: Timers;
  /** Delay from the operation that left work to the maintenance turn, ms. Default 10. */
  maintenanceDelayMs?: number;
  /**
   * Sectors kept holding nothing, all but two of them erased ahead; at least 3, at most a quarter of
   * the partition. Default 6 (4 on partitions under 24 sectors). Room is made when fewer are left:
   * raising it evicts a little earlier (4 KiB per sector) but lets more sectors fill in one turn
   * without an erase inside the append (each class's head may roll in the same turn).
   */
  spareSectors?: number;
  /**
   * State-journal keys (StateLayout.retiredLogSectors) where the acknowledgement map of a sector
   * that no longer takes programs is kept: a worn sector can never be erased, so its releases must
   * outlive it elsewhere. Without it (or when its keys are used up) such releases last until the
   * next boot, and those records are sent again then.
   */
  retired?: StateRegion;
}

/**
 * @internal A drain position in a class: the sector opened at `firstSeq`, the slot to read next
 * there and the offset of its frame (verified up to there by the cursor's earlier reads).
 */
export interface DrainPosition {
  firstSeq: number;
  slot: number;
  offset: number;
  /** The sector opened at `firstSeq` when the position was taken (-1: none), checked before use. */
  sector: number;
}

/** Sequence numbers, as runs: [first, first + count). The uplink's SeqRun has this shape. */
export interface SeqRun {
  readonly first: number;
  readonly count: number;
}

/** The frames of a sector: where they end, the slots used, the last sequence number. */
interface FrameLimits {
  end: number;
  count: number;
  lastSeq: number;
}

/**
 * The release of one acknowledgement, step by step (`RecordLog.#ackStep`): its runs, how many numbers
 * they name and how many of those were found so far, where it is (-entries..-1: the slot index's
 * entries; 0..count: the sector table), the sector its scan found, the sectors it released through
 * the index (not scanned again), and how many records it released.
 */
interface AckPass {
  runs: Array<[number, number]>;
  named: number;
  found: number;
  at: number;
  /** A sector the table scan found holding numbers named, released by the next steps (-1: none), its first sequence number, */
  sector: number;
  sectorFirst: number;
  /** and the slot and offset of its next frame to check (slot -1: it is read whole instead, see #releaseFound). */
  slot: number;
  offset: number;
  readonly indexed: number[];
  released: number;
}

/** Where a read-back by `RecordLog.recent` stopped in a sector: its number and first sequence number, the slot and offset of its next frame. */
export interface RecentResume {
  readonly sector: number;
  readonly firstSeq: number;
  slot: number;
  offset: number;
}

export interface LogStats {
  /** Records written (readings records, events, audit entries, notices). */
  records: number;
  /** Maintenance steps that ran inside an append because no spare sector was ready. */
  inlineMaintenance: number;
  /** Sectors erased (all kinds). */
  erases: number;
  /** Sectors evicted with unacknowledged records, and those records. */
  evictions: number;
  evictedRecords: number;
  /** Records found unreadable (CRC) below a sector's count, and bad sectors, this boot. */
  corruptRecords: number;
  badSectors: number;
  /** Releases of records in worn sectors kept in RAM only (no `retired` key left): sent again after a reboot. */
  unrecordedReleases: number;
  /** Notices that could not be queued (more than 32 pending). */
  droppedNotices: number;
  /** Acknowledged runs not queued for release (more than MAX_QUEUED_ACK_RUNS waiting): sent again after a rewind. */
  droppedAckRuns: number;
}

export interface LogUsage {
  sectors: number;
  /** Sectors holding records, per class. */
  live: number[];
  /** Unacknowledged records, per class. */
  unacknowledged: number[];
  spare: number;
  ready: number;
  bad: number;
}

/**
 * Sequence numbers skipped at every boot: what the open sector of each class could have held (256
 * records each). Even if a newest sector became unreadable, no number it used is handed out again.
 */
const BOOT_SEQ_SKIP = MAX_SLOTS * CLASS_COUNT;
const MAX_PENDING_NOTICES = 32;
/** A `retired` key's value: class, first sequence number, acknowledgement map. */
const RETIRED_BYTES = 1 + 4 + ACK_MAP_BYTES;
/** Events (< 30 B), audit entries (≤ 212 B, audit.ts) and notices fit. */
const SMALL_PAYLOAD_MAX = 256;
/** Largest notice payload: a class byte and four varints of at most 5 bytes (sequence numbers < 2^32). */
const NOTICE_FRAME_MAX = FRAME_OVERHEAD + 1 + 4 * 5;
/**
 * Sectors of the table a release step passes over at most (up to 310 XS units each when the runs
 * span the whole log), besides the one sector it releases (a whole-sector read and check: about
 * 65,000 units for 4 KiB of readings): a step stays near 100,000 units (`npm run bench -- --only store`).
 */
const ACK_SCAN_SLICE = 64;
/**
 * Frame bytes a step checks at most when it reads a sector frame by frame (a release step learning a
 * sector for the slot index, a read-back by `recent`): a quarter of a 4 KiB sector.
 */
const CHECK_BYTES_PER_STEP = 1024;
/** Runs waiting for release in maintenance steps, all queued acknowledgements together (RAM bound). */
const MAX_QUEUED_ACK_RUNS = 128;
/** Eviction order: lowest priority first. */
const EVICTION_ORDER: readonly RecordClass[] = Object.freeze([RecordClass.profile, RecordClass.billing, RecordClass.event, RecordClass.alarm]);
/** `RecordLog.#lastRel` of a sector whose last sequence number is this much past its first one or more. */
const LAST_BEYOND = 0xffff;
/** Where each number of a class's LogCursor position is, and how many there are. */
const POSITION = frozen({ firstSeq: 0, slot: 1, offset: 2, sector: 3, fields: 4 });
/** Drain order: alarms first. */
const ALL_CLASSES: readonly RecordClass[] = Object.freeze([RecordClass.alarm, RecordClass.event, RecordClass.billing, RecordClass.profile]);
/**
 * Largest readings payload: bounds the scratch buffer (RAM) and one program (4 pages, ≈ 1.6 ms on a
 * W25Q-class part). A batch larger than this takes several records; each costs 12 bytes of frame.
 */
const MAX_READINGS_PAYLOAD = 1024;
/** Worst-case bytes of a readings group per value (8 B value + 8 B time difference + 3 B status). */
const GROUP_BYTES_PER_VALUE = 19;
/** Worst-case bytes of a readings payload besides its values (base time, control, register, count, times). */
const GROUP_FIXED_BYTES = 40;

export class RecordLog {
  readonly #pool: SectorPool;
  readonly #size: number;
  readonly #cls: Uint8Array;
  /**
   * Per sector: its last record's sequence number less its first one (0 when it holds none), 16-bit:
   * LAST_BEYOND when the span is that or more (a sector of a rare class open for weeks), and then
   * read from its summary when needed (`#lastSeqOf`). The heads' are in `#headLast`.
   */
  readonly #lastRel: Uint16Array;
  readonly #unacked: Uint16Array;
  /** Per class: the sector taking records (-1: none yet this boot), where the next frame goes, its slot. */
  readonly #head = new Int32Array(CLASS_COUNT).fill(-1);
  readonly #headEnd = new Uint16Array(CLASS_COUNT);
  readonly #headSlots = new Uint16Array(CLASS_COUNT);
  /** Per class: the sequence number of the last record of its head (its first one while it holds none). */
  readonly #headLast = new Float64Array(CLASS_COUNT);
  /**
   * Per class: the highest first sequence number of a sector opened this boot or found at recovery,
   * a bound a drain position beyond which there is no sector to look for.
   */
  readonly #newestFirst = new Float64Array(CLASS_COUNT);
  /** sector × 4 + reason of what was reported this boot (corruption is rare: this stays small). */
  readonly #reported = new Set<number>();
  readonly #scratch: Uint8Array;
  readonly #maxGroupValues: number;
  readonly #spareTarget: number;
  /** Spare sectors kept erased: the spare ones but two, so that any head can roll without an erase. */
  readonly #readyTarget: number;
  readonly #timers: Timers | undefined;
  readonly #delayMs: number;
  #pending: CorruptionNotice[] = [];
  readonly #retired: StateRegion | undefined;
  /** Acknowledgement maps of worn sectors, kept outside them (see `retired`), by sector. */
  readonly #ackOverride = new Map<number, Uint8Array>();
  /** Sequence numbers per slot of the sectors drained last, for acknowledging without a sector read. */
  readonly #index = new SlotIndex();
  /** Acknowledgements being released in maintenance steps (`acknowledgeLater`), oldest first. */
  readonly #acks: AckPass[] = [];
  #maintenanceArmed = false;
  #nextSeq = 1;
  readonly stats: LogStats = { records: 0, inlineMaintenance: 0, erases: 0, evictions: 0, evictedRecords: 0, corruptRecords: 0, badSectors: 0, unrecordedReleases: 0, droppedNotices: 0, droppedAckRuns: 0 };

  private constructor(flash: FlashPartition, options: RecordLogOptions) {
    const sectors = flash.byteLength / flash.blockSize;
    if (!(flash.blockSize >= 1024 && flash.blockSize <= 32768)) throw new RangeError("invalid sector size");
    if (!(sectors >= 12)) throw new RangeError("too few sectors");
    const spare = options.spareSectors ?? (sectors >= 24 ? 6 : 3);
    if (!(Number.isInteger(spare) && spare >= 3 && spare <= sectors / 4)) throw new RangeError("invalid spareSectors");
    this.#pool = new SectorPool(flash, LOG_MAGIC);
    this.#size = flash.blockSize;
    this.#cls = new Uint8Array(sectors);
    this.#lastRel = new Uint16Array(sectors);
    this.#unacked = new Uint16Array(sectors);
    this.#scratch = new Uint8Array(FRAME_OVERHEAD + MAX_READINGS_PAYLOAD);
    const payloadMax = Math.min(MAX_READINGS_PAYLOAD, this.#size - LOG_RECORDS_AT - FRAME_OVERHEAD);
    this.#maxGroupValues = Math.min(64, Math.floor((payloadMax - GROUP_FIXED_BYTES) / GROUP_BYTES_PER_VALUE));
    this.#spareTarget = spare;
    this.#readyTarget = spare - 2;
    this.#timers = options.timers;
    this.#delayMs = options.maintenanceDelayMs ?? 10;
    this.#retired = options.retired;
    this.#pool.onBad = (sector) => {
      this.stats.badSectors++;
      this.#report({ reason: CorruptionReason.badSector, sector, firstSeq: 0, records: 0 });
    };
  }

  /**
   * Recovers the log from `flash`: finds every sector in use from its header, closes the sectors that
   * were open when power went, and continues after the highest sequence number found. Never erases.
   */
  static open(flash: FlashPartition, options: RecordLogOptions = {}): RecordLog {
    const log = new RecordLog(flash, options);
    log.#recover();
    log.#schedule();
    return log;
  }

  /** The sequence number the next record will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /**
   * A bound at or above the sequence number of the newest record of `cls`, without flash access: a
   * cursor that has read everything up to it need not read again until it grows.
   */
  newestSeq(cls: RecordClass): number {
    const s = this.#head[cls]!;
    return s >= 0 ? this.#headLast[cls]! : this.#nextSeq - 1;
  }

  /**
   * Appends readings in as few records as fit (one record per sector they reach), each durable when
   * written; returns their sequence numbers. `cls` is profile (default) or billing. Throws
   * InvalidRecordError before writing anything if a reading is out of range (readings-codec.ts).
   */
  appendReadings(readings: readonly Reading[], cls: typeof RecordClass.profile | typeof RecordClass.billing = RecordClass.profile): number[] {
    if (cls !== RecordClass.profile && cls !== RecordClass.billing) throw new InvalidRecordError("invalid class");
    if (readings.length === 0) return [];
    for (const r of readings) checkReading(r);
    const seqs: number[] = [];
    let i = 0;
    while (i < readings.length) {
      let fresh = false;
      for (;;) {
        const limit = this.#room(cls);
        const w = new ByteWriter(this.#scratch, FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + limit);
        const next = limit > 0 ? encodeReadings(readings, i, w, this.#maxGroupValues) : i;
        if (next > i) {
          seqs.push(this.#writeFrame(cls, RecordKind.readings, w.pos - FRAME_HEADER_BYTES, false));
          i = next;
          break;
        }
        // Defensive: a group is bounded to fit an empty sector (#maxGroupValues), so this cannot repeat.
        if (fresh) throw new StoreIoError("group too large");
        this.#roll(cls, false);
        fresh = true;
      }
    }
    this.#schedule();
    return seqs;
  }

  /** Appends an event (an alarm if `event.alarm`); returns its sequence number once it is durable. */
  appendEvent(event: MeterEvent): number {
    checkEvent(event);
    const cls = event.alarm ? RecordClass.alarm : RecordClass.event;
    const seq = this.#appendSmall(cls, RecordKind.event, (w) => encodeEvent(event, w), false);
    this.#schedule();
    return seq;
  }

  /** Appends an audit entry (class event); returns its sequence number once it is durable. */
  appendAudit(entry: AuditEntry): number {
    const seq = this.#appendSmall(RecordClass.event, RecordKind.audit, (w) => encodeAudit(entry, w), false);
    this.#schedule();
    return seq;
  }

  /** Appends a head-end command's result (class event, so it drains before readings). */
  appendResult(result: StoredResult): number {
    checkResult(result);
    const seq = this.#appendSmall(RecordClass.event, RecordKind.result, (w) => encodeResult(result, w), false);
    this.#schedule();
    return seq;
  }

  /**
   * Releases the records with these sequence numbers (any order, any mix of classes; numbers that are
   * unknown or already released are ignored). Durable when it returns. Returns how many records were
   * newly released. Its cost grows with the sectors the numbers are in, up to the whole sector table:
   * a turn with a bound on its length uses `acknowledgeLater`, which does the same work in steps.
   */
  acknowledge(runs: readonly SeqRun[]): number {
    const pass = this.#ackPass(runs);
    if (!pass) return 0;
    while (this.#ackStep(pass));
    this.#schedule();
    return pass.released;
  }

  /**
   * Queues the release of these records, done in maintenance turns of bounded cost (at most one sector
   * released, or one slice of the sector table passed over, per step; see `acknowledge`). Until then
   * cursors skip them. The queue lives in RAM: what a reset finds unreleased is sent again and
   * acknowledged again (the head-end stores idempotently). Runs beyond MAX_QUEUED_ACK_RUNS are dropped
   * and counted, with the same outcome.
   */
  acknowledgeLater(runs: readonly SeqRun[]): void {
    const pass = this.#ackPass(runs);
    if (!pass) return;
    let queued = 0;
    for (const p of this.#acks) queued += p.runs.length;
    const room = MAX_QUEUED_ACK_RUNS - queued;
    if (pass.runs.length > room) {
      this.stats.droppedAckRuns += pass.runs.length - Math.max(0, room);
      if (room <= 0) return;
      pass.runs.length = room;
      pass.named = namedIn(pass.runs);
    }
    this.#acks.push(pass);
    this.#schedule();
  }

  /** A release pass over `runs`, starting with the sectors of the slot index; undefined when they name nothing. */
  #ackPass(runs: readonly SeqRun[]): AckPass | undefined {
    const sorted = normalizeRuns(runs);
    if (sorted.length === 0) return undefined;
    return { runs: sorted, named: namedIn(sorted), found: 0, at: -this.#index.entries, sector: -1, sectorFirst: 0, slot: 0, offset: 0, indexed: [], released: 0 };
  }

  /** Whether a queued acknowledgement names `seq` (a cursor skips it). */
  #ackQueued(seq: number): boolean {
    for (const p of this.#acks) if (contains(p.runs, seq)) return true;
    return false;
  }

  /**
   * One step of `pass`: the next sector of the slot index that holds numbers it names, released
   * through the index (a read of its first 128 bytes); once the index is done, unless it held every
   * number named (the usual case: the head-end acknowledging what the drain just sent; a number is
   * in one sector only), the sector table from where the last step stopped, up to the next sector
   * holding numbers named or ACK_SCAN_SLICE sectors on; and the sector found, released in a step of
   * its own (through the index if it knows it, else by reading it whole). Returns whether the pass
   * goes on.
   */
  #ackStep(pass: AckPass): boolean {
    const { state, firstSeq, count } = this.#pool;
    const entries = this.#index.entries;
    const sorted = pass.runs;
    while (pass.at < 0) {
      const e = entries + pass.at++;
      const s = this.#index.sectorOf(e);
      if (s < 0 || state[s] !== SectorState.live || firstSeq[s] !== this.#index.firstSeqOf(e)) continue;
      if (!overlaps(sorted, firstSeq[s]!, this.#lastSeqOf(s))) continue;
      const r = this.#releaseIndexed(s, sorted);
      if (!r) continue;
      pass.indexed.push(s);
      pass.found += r.found;
      pass.released += r.released;
      return pass.found < pass.named;
    }
    if (pass.found >= pass.named) return false;
    // The table is scanned with its arrays in locals and the runs' bounds first: this loop visits
    // every sector of the partition (1024 for 4 MiB) over a pass.
    const lo = sorted[0]![0];
    const hi = sorted[sorted.length - 1]![1];
    const lastRel = this.#lastRel;
    const unacked = this.#unacked;
    const found = pass.sector;
    if (found >= 0) {
      if (state[found] !== SectorState.live || firstSeq[found] !== pass.sectorFirst) pass.sector = -1;
      else if (this.#releaseFound(pass)) return true;
      return pass.at < count;
    }
    // A step either passes over a slice of the table or releases the sector it found, not both.
    const end = Math.min(count, pass.at + ACK_SCAN_SLICE);
    while (pass.at < end) {
      const s = pass.at++;
      const rel = lastRel[s]!;
      if (firstSeq[s]! > hi || (rel < LAST_BEYOND && firstSeq[s]! + rel < lo) || state[s] !== SectorState.live || unacked[s] === 0) continue;
      if (!overlaps(sorted, firstSeq[s]!, this.#lastSeqOf(s)) || pass.indexed.includes(s)) continue;
      pass.sector = s;
      pass.sectorFirst = firstSeq[s]!;
      pass.slot = 0;
      pass.offset = LOG_RECORDS_AT;
      return true;
    }
    return pass.at < count;
  }

  /**
   * A step of the release of the sector the pass's scan found: through the slot index once it knows
   * the sector; until then the sector's frames are checked in order, CHECK_BYTES_PER_STEP per step, and noted
   * in the index (as the drain's cursor does), so that no step reads and checks a whole sector of
   * small records; a sector that does not read cleanly that way is read whole, in a step of its own.
   * Returns whether the sector needs another step.
   */
  #releaseFound(pass: AckPass): boolean {
    const s = pass.sector;
    const indexed = this.#releaseIndexed(s, pass.runs);
    if (indexed) {
      pass.released += indexed.released;
      pass.sector = -1;
      return false;
    }
    if (pass.slot >= 0) {
      const more = this.#learn(s, pass);
      if (more) return true;
      // Learnt (the next step releases through the index), or not readable in order (read whole now).
      pass.slot = -1;
      if (more === false) return true;
    }
    pass.released += this.#releaseRead(s, pass.runs);
    pass.sector = -1;
    return false;
  }

  /**
   * Checks the frames of sector `s` from the pass's slot and offset and notes them in the slot index,
   * CHECK_BYTES_PER_STEP per call (true: more to do; false: the sector's last frame checked);
   * undefined when a frame does not read cleanly in order.
   */
  #learn(s: number, pass: AckPass): boolean | undefined {
    const first = pass.sectorFirst;
    return this.#checkFrames(s, first, pass, (seq) => {
      this.#index.note(s, first, pass.slot, seq);
      return true;
    });
  }

  /**
   * Checks the frames of live sector `s` (opened at `firstSeq`) in order from `at`'s slot and
   * offset, advancing `at` past each one and handing it to `each` first (its number, kind, bytes as
   * read from the header on, and payload length; false stops there, before `at` moves past it), until
   * CHECK_BYTES_PER_STEP are checked (true: frames are left), the sector's last frame or a stop
   * (false), or a frame that does not read cleanly in order (undefined, `at` left at it).
   */
  #checkFrames(s: number, firstSeq: number, at: { slot: number; offset: number }, each: (seq: number, kind: number, frame: Uint8Array, length: number) => boolean): boolean | undefined {
    const base = s * this.#size;
    const top = this.#pool.flash.read(base, LOG_RECORDS_AT);
    const limits = this.#limits(s, top);
    if (!limits) return undefined;
    for (let checked = 0; at.slot < limits.count; ) {
      if (checked >= CHECK_BYTES_PER_STEP) return true;
      const h = this.#headerAt(base, at.offset, at.slot, firstSeq, limits);
      const length = h ? getU16(h, 0) : 0;
      const frame = h && this.#frameAt(base, at.offset, length);
      if (!frame) return undefined;
      if (!each(getU32(frame, 4), frame[3]!, frame, length)) return false;
      at.slot++;
      at.offset += FRAME_OVERHEAD + length;
      checked += FRAME_OVERHEAD + length;
    }
    return false;
  }

  /**
   * Releases the records of sector `s` named by `sorted` through the slot index: reads only the
   * sector's first 128 bytes (its acknowledgement map), and not even those when nothing of the sector
   * is left to release. Returns how many records of the sector `sorted` names (`found`, released
   * before or now) and how many it released; undefined when the index does not know every record of
   * the sector that `sorted` may name.
   */
  #releaseIndexed(s: number, sorted: ReadonlyArray<readonly [number, number]>): { found: number; released: number } | undefined {
    const first = this.#pool.firstSeq[s]!;
    const e = this.#index.find(s, first);
    if (e < 0) return undefined;
    const known = this.#index.known(e);
    const learnt = known > 0 ? this.#index.seqAt(e, known - 1) : first - 1;
    const lastSeq = this.#lastSeqOf(s);
    if (learnt < lastSeq && overlaps(sorted, learnt + 1, lastSeq)) return undefined;
    const named: number[] = [];
    let r = firstEndingFrom(sorted, first);
    for (let k = 0; k < known && r < sorted.length; k++) {
      const seq = this.#index.seqAt(e, k);
      if (seq === 0) continue;
      while (r < sorted.length && sorted[r]![1] < seq) r++;
      if (r < sorted.length && sorted[r]![0] <= seq) named.push(k);
    }
    if (named.length === 0 || this.#unacked[s] === 0) return { found: named.length, released: 0 };
    const top = this.#pool.flash.read(s * this.#size, LOG_RECORDS_AT);
    this.#applyOverride(s, top);
    return { found: named.length, released: this.#release(s, top, named.filter((k) => !isAcked(top, k))) };
  }

  /** Releases the records of sector `s` named by `sorted` by reading and checking the whole sector. */
  #releaseRead(s: number, sorted: ReadonlyArray<readonly [number, number]>): number {
    const read = this.#readSector(s);
    this.#index.noteSector(s, this.#pool.firstSeq[s]!, read.frames);
    const slots: number[] = [];
    // Frames and runs both by sequence number: one walk over the two.
    let r = firstEndingFrom(sorted, this.#pool.firstSeq[s]!);
    for (const f of read.frames) {
      while (r < sorted.length && sorted[r]![1] < f.seq) r++;
      if (r === sorted.length) break;
      if (sorted[r]![0] <= f.seq && !isAcked(read.bytes, f.tag)) slots.push(f.tag);
    }
    return this.#release(s, read.bytes, slots);
  }

  /**
   * Programs the acknowledgement of `slots` in sector `s`, whose bytes as read (at least its first
   * 128, the map included) are `bytes`; returns how many were released.
   */
  #release(s: number, bytes: Uint8Array, slots: readonly number[]): number {
    if (slots.length === 0) return 0;
    const p = ackProgram(slots);
    // What the map will read once programmed (bits only clear), so the read-back check holds.
    for (let i = 0; i < p.bytes.length; i++) p.bytes[i]! &= bytes[ACK_MAP_AT + p.first + i]!;
    if (!this.#pool.program(s * this.#size + ACK_MAP_AT + p.first, p.bytes)) {
      bytes.set(p.bytes, ACK_MAP_AT + p.first);
      this.#retire(s, bytes.slice(ACK_MAP_AT, ACK_MAP_AT + ACK_MAP_BYTES));
    }
    this.#unacked[s] = Math.max(0, this.#unacked[s]! - slots.length);
    return slots.length;
  }

  /**
   * Reading back, newest first, acknowledged or not (the console's tails, the boot's profile
   * catch-up): the records of class `cls` numbered below `beforeSeq` in the newest sector that holds
   * any, oldest first, and where to go on (`next`: the `beforeSeq` of the call for the sector before
   * it; 0 when there is none). A call checks at most CHECK_BYTES_PER_STEP of the sector's frames
   * (besides a scan of the sector table): while frames are left, it returns `resume`, and the next
   * call, given it, returns the sector's next records (`next` is then `beforeSeq` again). A sector
   * that does not read cleanly frame by frame is read and checked whole, in a call of its own; one
   * evicted meanwhile ends with what was read. A caller bounds its turn by calling once per turn.
   */
  recent(cls: RecordClass, beforeSeq: number, resume?: RecentResume): { records: StoredRecord[]; next: number; resume?: RecentResume } {
    const first = this.#pool.firstSeq;
    let r = resume;
    if (!r) {
      let s = -1;
      for (let k = 0; k < this.#pool.count; k++) {
        if (this.#pool.state[k] !== SectorState.live || this.#cls[k] !== cls || first[k]! >= beforeSeq) continue;
        if (s < 0 || first[k]! > first[s]!) s = k;
      }
      if (s < 0) return { records: [], next: 0 };
      r = { sector: s, firstSeq: first[s]!, slot: 0, offset: LOG_RECORDS_AT };
    } else if (this.#pool.state[r.sector] !== SectorState.live || first[r.sector] !== r.firstSeq) {
      return { records: [], next: r.firstSeq };
    }
    const records: StoredRecord[] = [];
    const more = this.#checkFrames(r.sector, r.firstSeq, r, (seq, kind, frame, length) => {
      if (seq >= beforeSeq) return false;
      records.push({ seq, cls, kind: kind as StoredRecord["kind"], payload: frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length) });
      return true;
    });
    // A sector that does not read cleanly in order is read whole in a call of its own (not after a
    // scan of the table or frames checked in this one): the next call finds the same frame at once.
    if (more || (more === undefined && (records.length > 0 || !resume))) return { records, next: beforeSeq, resume: r };
    if (more === undefined) {
      const read = this.#readSector(r.sector);
      // Views of the sector read, not copies: the records of one sector live as long as its bytes.
      for (const f of read.frames) {
        if (f.tag >= r.slot && f.seq < beforeSeq) records.push({ seq: f.seq, cls, kind: f.kind as StoredRecord["kind"], payload: read.bytes.subarray(f.payloadAt, f.payloadAt + f.payloadLength) });
      }
    }
    return { records, next: r.firstSeq };
  }

  /** A drain cursor over the unacknowledged records of `classes` (default all), in drain order (see LogCursor). */
  cursor(classes?: readonly RecordClass[]): LogCursor {
    return new LogCursor(this, classes);
  }

  /**
   * One maintenance step: at most one erase (≈ 45 ms), plus small programs. Writes pending notices,
   * takes a step of the oldest queued acknowledgement (`acknowledgeLater`), erases a sector ahead,
   * reclaims a released sector or evicts one when spare sectors run short: in that order, so that
   * nothing acknowledged is evicted as unacknowledged.
   * Returns true when it did something (call again until false to finish all work).
   */
  maintain(): boolean {
    if (this.#pending.length > 0 && this.#canWriteNotice()) {
      while (this.#pending.length > 0 && this.#canWriteNotice()) {
        const n = this.#pending.shift()!;
        this.#appendSmall(RecordClass.alarm, RecordKind.corruption, (w) => encodeCorruption(n, w), true);
      }
      return true;
    }
    const pass = this.#acks[0];
    if (pass) {
      if (!this.#ackStep(pass)) this.#acks.shift();
      return true;
    }
    return this.#step();
  }

  /** Bytes of RAM in the log's long-lived typed arrays (per-sector table, heads, scratch buffer). */
  get memoryBytes(): number {
    const p = this.#pool;
    return p.state.byteLength + p.firstSeq.byteLength + this.#index.memoryBytes + this.#cls.byteLength + this.#lastRel.byteLength + this.#unacked.byteLength + this.#scratch.byteLength + 4 * 4 * CLASS_COUNT;
  }

  /** Where the log stands: sectors and unacknowledged records per class. */
  usage(): LogUsage {
    const u: LogUsage = { sectors: this.#pool.count, live: [0, 0, 0, 0], unacknowledged: [0, 0, 0, 0], spare: this.#pool.spare, ready: this.#pool.ready, bad: this.#pool.bad };
    for (let s = 0; s < this.#pool.count; s++) {
      if (this.#pool.state[s] !== SectorState.live) continue;
      const c = this.#cls[s]!;
      u.live[c]!++;
      u.unacknowledged[c]! += this.#unacked[s]!;
    }
    return u;
  }

  // ---- used by LogCursor ----

  /**
   * @internal The unacknowledged records of class `cls` from position `at` on, at most `max` records
   * or `maxBytes` payload bytes (at least one record). Returns them and the position after the last
   * one returned. Reads a sector's first 128 bytes and then frame by frame from where the position
   * points, checking each frame's CRC; a sector that does not read cleanly that way (corruption, a
   * gap left by a torn write before a reboot, no summary) is read and checked whole instead.
   */
  drainFrom(cls: RecordClass, at: DrainPosition, max: number, maxBytes: number, out: StoredRecord[]): DrainPosition {
    let firstSeq = at.firstSeq;
    let slot = at.slot;
    let offset = at.offset;
    const used = { bytes: 0 };
    for (;;) {
      const s = this.#sectorAt(cls, firstSeq, at.sector);
      // No sector of the class opened at or after `firstSeq`: any later one opens at nextSeq or after.
      if (s < 0) return { firstSeq: Math.max(firstSeq, this.#nextSeq), slot: 0, offset: LOG_RECORDS_AT, sector: -1 };
      const sFirst = this.#pool.firstSeq[s]!;
      const same = sFirst === firstSeq;
      const isHead = this.#head[cls] === s;
      if (this.#unacked[s]! > 0) {
        const from: DrainPosition = { firstSeq: sFirst, slot: same ? slot : 0, offset: same ? offset : LOG_RECORDS_AT, sector: s };
        let stop = this.#drainFrames(s, cls, from, max, maxBytes, out, used);
        if (stop === undefined) stop = this.#drainRead(s, cls, from.slot, max, maxBytes, out, used);
        if (stop) return stop;
      }
      // A head can still take records: stay on it. A closed sector is done: move past it.
      if (isHead) return { firstSeq: sFirst, slot: this.#headSlots[cls]!, offset: this.#headEnd[cls]!, sector: s };
      firstSeq = sFirst + 1;
      slot = 0;
      offset = LOG_RECORDS_AT;
    }
  }

  /**
   * The live sector of class `cls` with the lowest first sequence number ≥ `firstSeq`: `known` when
   * it is still the sector opened at `firstSeq` (no scan of the sector table), else found by a scan
   * unless no sector of the class was opened at or after `firstSeq`.
   */
  #sectorAt(cls: RecordClass, firstSeq: number, known: number): number {
    const p = this.#pool;
    if (known >= 0 && p.state[known] === SectorState.live && this.#cls[known] === cls && p.firstSeq[known] === firstSeq) return known;
    if (firstSeq > this.#newestFirst[cls]!) return -1;
    return this.#nextOfClass(cls, firstSeq);
  }

  /**
   * The drain of sector `s` frame by frame from `from` (whose slot is the next to read there):
   * where it stopped (a batch full), null when the sector is done, undefined when it did not read
   * cleanly (`from` then holds the slot and offset it got to).
   */
  #drainFrames(s: number, cls: RecordClass, from: DrainPosition, max: number, maxBytes: number, out: StoredRecord[], used: { bytes: number }): DrainPosition | null | undefined {
    const base = s * this.#size;
    const top = this.#pool.flash.read(base, LOG_RECORDS_AT);
    this.#applyOverride(s, top);
    const limits = this.#limits(s, top);
    if (!limits) return undefined;
    while (from.slot < limits.count) {
      const pos = from.offset;
      const h = this.#headerAt(base, pos, from.slot, from.firstSeq, limits);
      if (!h) return undefined;
      const length = getU16(h, 0);
      const seq = getU32(h, 4);
      const acked = isAcked(top, from.slot) || this.#ackQueued(seq);
      if (!acked && (out.length >= max || (out.length > 0 && used.bytes + length > maxBytes))) return from;
      const frame = this.#frameAt(base, pos, length);
      if (!frame) return undefined;
      this.#index.note(s, from.firstSeq, from.slot, seq);
      if (!acked) {
        out.push({ seq, cls, kind: h[3] as StoredRecord["kind"], payload: frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length) });
        used.bytes += length;
      }
      from.slot++;
      from.offset = pos + FRAME_OVERHEAD + length;
    }
    return null;
  }

  /**
   * Where the frames of live sector `s` end, the slots it used and its last sequence number: a head's
   * from RAM, a closed sector's from its summary in `top` (its first 128 bytes as read); undefined
   * when that does not read (the sector is then read whole).
   */
  #limits(s: number, top: Uint8Array): FrameLimits | undefined {
    const c = this.#cls[s]!;
    if (this.#head[c] === s) return { end: this.#headEnd[c]!, count: this.#headSlots[c]!, lastSeq: this.#headLast[c]! };
    return parseSummary(top) ?? undefined;
  }

  /**
   * The 8-byte header of the frame of `slot` at `pos` in the sector at `base` (opened at `firstSeq`),
   * when it is that slot's, of a known kind, numbered within the sector and inside its written part;
   * else undefined. Its CRC is not checked yet (#frameAt does).
   */
  #headerAt(base: number, pos: number, slot: number, firstSeq: number, limits: FrameLimits): Uint8Array | undefined {
    if (pos + FRAME_OVERHEAD > limits.end) return undefined;
    const h = this.#pool.flash.read(base + pos, FRAME_HEADER_BYTES);
    const length = getU16(h, 0);
    const seq = getU32(h, 4);
    const kind = h[3]!;
    if (h[2] !== slot || pos + FRAME_OVERHEAD + length > limits.end || kind < 1 || kind > MAX_KIND || seq < firstSeq || seq > limits.lastSeq) return undefined;
    return h;
  }

  /** The frame at `pos` in the sector at `base` with a payload of `length` bytes, when its CRC checks. */
  #frameAt(base: number, pos: number, length: number): Uint8Array | undefined {
    const frame = this.#pool.flash.read(base + pos, FRAME_OVERHEAD + length);
    return crc32(frame, 0, FRAME_HEADER_BYTES + length) === getU32(frame, FRAME_HEADER_BYTES + length) ? frame : undefined;
  }

  /** The drain of sector `s` from slot `from` on, reading and checking the whole sector (see #drainFrames). */
  #drainRead(s: number, cls: RecordClass, from: number, max: number, maxBytes: number, out: StoredRecord[], used: { bytes: number }): DrainPosition | null {
    const read = this.#readSector(s);
    const sFirst = this.#pool.firstSeq[s]!;
    this.#index.noteSector(s, sFirst, read.frames);
    for (const f of read.frames) {
      if (f.tag < from || isAcked(read.bytes, f.tag) || this.#ackQueued(f.seq)) continue;
      if (out.length >= max || (out.length > 0 && used.bytes + f.payloadLength > maxBytes)) return { firstSeq: sFirst, slot: f.tag, offset: f.at, sector: s };
      out.push({ seq: f.seq, cls, kind: f.kind as StoredRecord["kind"], payload: read.bytes.slice(f.payloadAt, f.payloadAt + f.payloadLength) });
      used.bytes += f.payloadLength;
    }
    return null;
  }

  // ---- appending ----

  /** Payload bytes the head of `cls` can still take in one frame (0 when it has no head or no slot). */
  #room(cls: RecordClass): number {
    const s = this.#head[cls]!;
    if (s < 0 || this.#headSlots[cls]! >= MAX_SLOTS) return 0;
    return Math.max(0, Math.min(MAX_READINGS_PAYLOAD, this.#size - this.#headEnd[cls]! - FRAME_OVERHEAD));
  }

  /** Appends a record of at most SMALL_PAYLOAD_MAX bytes (events, audit entries, notices). */
  #appendSmall(cls: RecordClass, kind: RecordKind, encode: (w: ByteWriter) => void, notice: boolean): number {
    // Encoded aside: a roll may write a notice through the scratch buffer.
    const w = new ByteWriter(new Uint8Array(SMALL_PAYLOAD_MAX));
    encode(w);
    if (w.overflow) throw new InvalidRecordError("record too large");
    if (this.#room(cls) < w.pos) this.#roll(cls, notice);
    this.#scratch.set(w.bytes.subarray(0, w.pos), FRAME_HEADER_BYTES);
    return this.#writeFrame(cls, kind, w.pos, notice);
  }

  /**
   * Writes the frame whose payload is in the scratch buffer to the head of `cls` (which has room),
   * and reads it back. A sector that does not take the program is left (its earlier records stay
   * readable) and the frame goes to a new sector; it takes its sequence number then, since the roll
   * may have written a notice.
   */
  #writeFrame(cls: RecordClass, kind: RecordKind, payloadLength: number, notice: boolean): number {
    for (let attempt = 0; attempt < 3; attempt++) {
      const seq = this.#nextSeq;
      const s = this.#head[cls]!;
      const length = sealFrame(this.#scratch, 0, payloadLength, this.#headSlots[cls]!, kind, seq);
      if (this.#pool.program(s * this.#size + this.#headEnd[cls]!, this.#scratch.subarray(0, length))) {
        this.#headEnd[cls]! += length;
        this.#headSlots[cls]!++;
        this.#headLast[cls] = seq;
        this.#noteLast(s, seq);
        this.#unacked[s]!++;
        this.#nextSeq = seq + 1;
        this.stats.records++;
        return seq;
      }
      this.stats.badSectors++;
      // The number is not used again: the sector left may have been opened at it (its header good,
      // no record in it) and reads as live after a reboot; a new sector opened at the same number
      // would tie with it, and the drain, which goes from sector to sector by first sequence number,
      // would pass over one of them (found by the worn-sector power-cut campaign).
      this.#nextSeq = seq + 1;
      this.#report({ reason: CorruptionReason.badSector, sector: s, firstSeq: this.#pool.firstSeq[s]!, records: 0 });
      // The frame is built again after the roll: the roll may have written a notice through the scratch.
      const payload = this.#scratch.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + payloadLength);
      this.#roll(cls, notice);
      this.#scratch.set(payload, FRAME_HEADER_BYTES);
    }
    throw new StoreIoError("program failed");
  }

  /**
   * Closes the head of `cls` (its summary: count, end, last sequence number) and opens a new one.
   * A normal roll leaves at least 2 spare sectors, so that an eviction can always open a sector for
   * its notice, even when an erase turns out to fail on a worn sector; a notice may take the last
   * erased sector (the alarm sector it opens then has room for the next notices, also after a
   * reboot, since open sectors are taken again). Runs maintenance inline when that is not yet so.
   */
  #roll(cls: RecordClass, notice: boolean): void {
    const old = this.#head[cls]!;
    if (old >= 0) {
      this.#head[cls] = -1;
      if (this.#headSlots[cls]! > 0) {
        const summary = encodeSummary({ count: this.#headSlots[cls]!, end: this.#headEnd[cls]!, lastSeq: this.#headLast[cls]! });
        this.#pool.program(old * this.#size + SUMMARY_AT, summary);
      } else {
        this.#pool.setState(old, SectorState.dirty);
      }
    }
    const need = notice ? 1 : 3;
    for (let steps = 0; ; steps++) {
      if (this.#head[cls]! >= 0) break; // opened meanwhile by a notice written during an eviction
      if (this.#pool.ready > 0 && this.#pool.spare >= need) {
        const s = this.#pool.open(cls, this.#nextSeq);
        if (s >= 0) {
          this.#openHead(cls, s);
          break;
        }
        continue; // every ready sector turned out bad: make more ready
      }
      if (steps > 2 * this.#pool.count || !this.#step()) throw new StoreFullError("log full");
      this.stats.inlineMaintenance++;
    }
  }

  #openHead(cls: RecordClass, s: number): void {
    this.#head[cls] = s;
    this.#newestFirst[cls] = Math.max(this.#newestFirst[cls]!, this.#pool.firstSeq[s]!);
    this.#headEnd[cls] = LOG_RECORDS_AT;
    this.#headSlots[cls] = 0;
    this.#cls[s] = cls;
    this.#headLast[cls] = this.#nextSeq;
    this.#noteLast(s, this.#nextSeq);
    this.#unacked[s] = 0;
  }

  /** Notes `seq` as the last sequence number of sector `s` (see `#lastRel`). */
  #noteLast(s: number, seq: number): void {
    this.#lastRel[s] = Math.max(0, Math.min(seq - this.#pool.firstSeq[s]!, LAST_BEYOND));
  }

  /**
   * The sequence number of the last record of live sector `s` (its first one when it holds none):
   * from RAM, or the head's, or else its summary; a sector whose summary does not read (its program
   * failed) is read whole.
   */
  #lastSeqOf(s: number): number {
    const first = this.#pool.firstSeq[s]!;
    const rel = this.#lastRel[s]!;
    if (rel < LAST_BEYOND) return first + rel;
    const c = this.#cls[s]!;
    if (this.#head[c] === s) return this.#headLast[c]!;
    const summary = parseSummary(this.#pool.flash.read(s * this.#size, LOG_RECORDS_AT));
    if (summary) return summary.lastSeq;
    const frames = this.#readSector(s).frames;
    return frames.length > 0 ? frames[frames.length - 1]!.seq : first;
  }

  // ---- maintenance ----

  #schedule(): void {
    if (!this.#timers || this.#maintenanceArmed || !this.#workPending()) return;
    this.#maintenanceArmed = true;
    this.#timers.set(() => {
      this.#maintenanceArmed = false;
      if (this.maintain()) this.#schedule();
    }, this.#delayMs);
  }

  #workPending(): boolean {
    const p = this.#pool;
    return this.#pending.length > 0 || this.#acks.length > 0 || p.spare < this.#spareTarget || p.eraseAhead(this.#readyTarget) >= 0;
  }

  #step(): boolean {
    const p = this.#pool;
    if (p.ready === 0 && p.dirty > 0) return this.#eraseDirty(1);
    if (p.spare < this.#spareTarget) {
      const newest = this.#newestPerClass();
      const released = this.#victim(newest, -1);
      if (released >= 0) return this.#eraseLive(released);
      for (const c of EVICTION_ORDER) {
        const v = this.#victim(newest, c);
        if (v < 0) continue;
        // A cut between the notice and the erase leaves the notice last in the newest alarm sector:
        // the eviction is then finished without a second notice.
        if (!this.#evictionRecorded(v, newest[RecordClass.alarm]!)) {
          if (!this.#canWriteNotice()) return false;
          const n: EvictionNotice = { evictedClass: c, sector: v, firstSeq: p.firstSeq[v]!, lastSeq: this.#lastSeqOf(v), records: this.#unacked[v]! };
          this.#appendSmall(RecordClass.alarm, RecordKind.eviction, (w) => encodeEviction(n, w), true);
          this.stats.evictions++;
          this.stats.evictedRecords += n.records;
        }
        return this.#eraseLive(v);
      }
    }
    return this.#eraseDirty(this.#readyTarget);
  }

  /** Erases the next dirty sector in allocation order unless `readyTarget` ready ones come first. */
  #eraseDirty(readyTarget: number): boolean {
    const s = this.#pool.eraseAhead(readyTarget);
    if (s < 0) return false;
    this.stats.erases++;
    this.#index.forget(s);
    this.#pool.erase(s);
    return true;
  }

  #eraseLive(s: number): boolean {
    this.#unacked[s] = 0;
    this.stats.erases++;
    this.#index.forget(s);
    this.#pool.erase(s);
    return true;
  }

  /** A notice fits the alarm head, or an erased sector can be opened for it. */
  #canWriteNotice(): boolean {
    return this.#room(RecordClass.alarm) >= NOTICE_FRAME_MAX - FRAME_OVERHEAD || this.#pool.ready > 0;
  }

  /** Whether the newest alarm sector ends with the eviction notice of sector `v` (as it is now). */
  #evictionRecorded(v: number, newestAlarm: number): boolean {
    if (newestAlarm < 0) return false;
    const read = this.#readSector(newestAlarm);
    const last = read.frames[read.frames.length - 1];
    if (!last || last.kind !== RecordKind.eviction) return false;
    const r = new ByteReader(read.bytes, last.payloadAt, last.payloadAt + last.payloadLength);
    const c = r.u8();
    return !r.error && c === this.#cls[v] && r.varint() === v && r.varint() === this.#pool.firstSeq[v];
  }

  /** The live sector with the highest first sequence number, per class (-1 when none). */
  #newestPerClass(): Int32Array {
    const newest = new Int32Array(CLASS_COUNT).fill(-1);
    const first = this.#pool.firstSeq;
    for (let s = 0; s < this.#pool.count; s++) {
      if (this.#pool.state[s] !== SectorState.live) continue;
      const c = this.#cls[s]!;
      const n = newest[c]!;
      if (n < 0 || first[s]! > first[n]!) newest[c] = s;
    }
    return newest;
  }

  /**
   * The oldest sector that may go: of class `cls` (eviction), or of any class with every record
   * released (cls = -1). Never a head, never the newest sector of its class: the newest sectors hold
   * the highest sequence numbers, which recovery continues from.
   */
  #victim(newest: Int32Array, cls: number): number {
    let best = -1;
    const first = this.#pool.firstSeq;
    for (let s = 0; s < this.#pool.count; s++) {
      if (this.#pool.state[s] !== SectorState.live) continue;
      const c = this.#cls[s]!;
      if (newest[c] === s || this.#head[c] === s) continue;
      if (cls < 0 ? this.#unacked[s] !== 0 : c !== cls) continue;
      if (best < 0 || first[s]! < first[best]!) best = s;
    }
    return best;
  }

  // ---- reading ----

  /** The live sector of class `cls` with the lowest first sequence number ≥ `firstSeq`, or -1. */
  #nextOfClass(cls: RecordClass, firstSeq: number): number {
    let best = -1;
    const { state, firstSeq: first, count } = this.#pool;
    const classes = this.#cls;
    for (let s = 0; s < count; s++) {
      if (first[s]! < firstSeq || state[s] !== SectorState.live || classes[s] !== cls) continue;
      if (best < 0 || first[s]! < first[best]!) best = s;
    }
    return best;
  }

  /**
   * Reads a live sector and its valid frames. Slots below the sector's count that do not read are
   * corruption: counted, reported once per boot, and no longer waited for.
   */
  #readSector(s: number): { bytes: Uint8Array; frames: FrameView[] } {
    const bytes = this.#pool.flash.read(s * this.#size, this.#size);
    this.#applyOverride(s, bytes);
    const c = this.#cls[s]!;
    const head = this.#head[c] === s;
    const summary = head ? undefined : parseSummary(bytes);
    const end = head ? this.#headEnd[c]! : (summary?.end ?? this.#size);
    const frames: FrameView[] = [];
    walkFrames(bytes, LOG_RECORDS_AT, end, logFramePlausible(this.#pool.firstSeq[s]!), (f) => frames.push(f));
    const count = head ? this.#headSlots[c]! : Math.max(summary?.count ?? 0, frames.length ? frames[frames.length - 1]!.tag + 1 : 0);
    if (missingSlots(frames, count) > 0) this.#reportMissing(s, bytes, frames, count);
    return { bytes, frames };
  }

  /** Counts and reports (once per boot) the records of sector `s` that no longer read. */
  #reportMissing(s: number, bytes: Uint8Array, frames: readonly FrameView[], count: number): void {
    if (this.#reported.has(s * 4 + CorruptionReason.corruptRecords)) return;
    let lost = 0;
    let k = 0;
    for (let slot = 0; slot < count; slot++) {
      if (frames[k]?.tag === slot) k++;
      else if (!isAcked(bytes, slot)) lost++;
    }
    const missing = missingSlots(frames, count);
    this.stats.corruptRecords += missing;
    // Lost records can never be acknowledged: stop waiting for them (they are reported instead).
    this.#unacked[s] = Math.max(0, this.#unacked[s]! - lost);
    this.#report({ reason: CorruptionReason.corruptRecords, sector: s, firstSeq: this.#pool.firstSeq[s]!, records: missing });
  }

  // ---- worn sectors: acknowledgement maps kept in the state journal ----

  /** ANDs the kept acknowledgement map of a worn sector into its bytes as read. */
  #applyOverride(s: number, bytes: Uint8Array): void {
    const o = this.#ackOverride.get(s);
    if (o) for (let i = 0; i < ACK_MAP_BYTES; i++) bytes[ACK_MAP_AT + i]! &= o[i]!;
  }

  /**
   * Keeps the acknowledgement map of sector `s`, which no longer takes programs, in the `retired`
   * keys: [class u8][first sequence u32][map 64 B]. The key already used for this sector, else a free
   * one (never written, or naming no sector in use).
   */
  #retire(s: number, map: Uint8Array): void {
    this.#ackOverride.set(s, map);
    const r = this.#retired;
    let key = -1;
    for (let k = 0; r && k < r.length; k++) {
      const v = readKept(r, k);
      const names = v && v.length === RETIRED_BYTES ? this.#sectorNamed(v[0]!, getU32(v, 1)) : -1;
      if (names === s) {
        key = k;
        break;
      }
      if (key < 0 && names < 0) key = k;
    }
    if (!r || key < 0) {
      this.stats.unrecordedReleases++;
      return;
    }
    const v = new Uint8Array(RETIRED_BYTES);
    v[0] = this.#cls[s]!;
    setU32(v, 1, this.#pool.firstSeq[s]!);
    v.set(map, 5);
    r.put(key, v);
  }

  /** The live sector of class `cls` opened at `firstSeq`, or -1. */
  #sectorNamed(cls: number, firstSeq: number): number {
    for (let s = 0; s < this.#pool.count; s++) {
      if (this.#pool.state[s] === SectorState.live && this.#cls[s] === cls && this.#pool.firstSeq[s] === firstSeq) return s;
    }
    return -1;
  }

  /** The maps kept for worn sectors, by "class/first sequence". */
  #retiredMaps(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (let k = 0; this.#retired && k < this.#retired.length; k++) {
      const v = readKept(this.#retired, k);
      if (v && v.length === RETIRED_BYTES) out.set(`${v[0]}/${getU32(v, 1)}`, v.slice(5));
    }
    return out;
  }

  #report(n: CorruptionNotice): void {
    const key = n.sector * 4 + n.reason;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    if (this.#pending.length >= MAX_PENDING_NOTICES) {
      this.stats.droppedNotices++;
      return;
    }
    this.#pending.push(n);
  }

  // ---- recovery ----

  #recover(): void {
    const p = this.#pool;
    const unsummarised: number[] = [];
    const retired = this.#retiredMaps();
    let maxSeq = -1;
    for (let s = 0; s < p.count; s++) {
      const top = p.flash.read(s * this.#size, LOG_RECORDS_AT);
      const parsed = parseHeaders(top, LOG_MAGIC);
      if (!parsed || parsed.header.cls >= CLASS_COUNT) continue;
      p.noteHeader(s, parsed.header);
      this.#cls[s] = parsed.header.cls;
      this.#newestFirst[parsed.header.cls] = Math.max(this.#newestFirst[parsed.header.cls]!, parsed.header.firstSeq);
      const map = retired.get(`${parsed.header.cls}/${parsed.header.firstSeq}`);
      if (map) this.#ackOverride.set(s, map);
      this.#applyOverride(s, top);
      const summary = parseSummary(top);
      if (summary) {
        this.#noteLast(s, summary.lastSeq);
        this.#unacked[s] = summary.count - ackedCount(top, summary.count);
        maxSeq = Math.max(maxSeq, summary.lastSeq);
      } else {
        unsummarised.push(s);
      }
      if (parsed.copies === 1) this.#report({ reason: CorruptionReason.headerCopy, sector: s, firstSeq: parsed.header.firstSeq, records: 0 });
    }
    // Sectors still open when power went: the newest of each class takes records again (after any
    // torn tail); an older one (its summary was not written) is closed now.
    const newest = this.#newestPerClass();
    for (const s of unsummarised) {
      const c = this.#cls[s]!;
      const bytes = p.flash.read(s * this.#size, this.#size);
      this.#applyOverride(s, bytes);
      const frames: FrameView[] = [];
      const walk = walkFrames(bytes, LOG_RECORDS_AT, this.#size, logFramePlausible(p.firstSeq[s]!), (f) => frames.push(f));
      const last = frames[frames.length - 1];
      const count = last ? last.tag + 1 : 0;
      this.#noteLast(s, last ? last.seq : p.firstSeq[s]!);
      this.#unacked[s] = count - ackedCount(bytes, count);
      if (last) maxSeq = Math.max(maxSeq, last.seq);
      const resumeAt = resumeOffset(bytes, walk.end, this.#size);
      // A torn summary means the sector was being closed: close it again (same bytes) rather than
      // resume it, whose later summary could never land on those bits.
      const summaryErased = isErased(bytes, SUMMARY_AT, SUMMARY_AT + SUMMARY_BYTES);
      if (newest[c] === s && summaryErased && count < MAX_SLOTS && resumeAt + FRAME_OVERHEAD < this.#size) {
        this.#head[c] = s;
        this.#headEnd[c] = resumeAt;
        this.#headSlots[c] = count;
        this.#headLast[c] = last ? last.seq : p.firstSeq[s]!;
      } else if (count > 0) {
        p.flash.write(s * this.#size + SUMMARY_AT, encodeSummary({ count, end: walk.end, lastSeq: last!.seq }));
      } else {
        p.setState(s, SectorState.dirty);
      }
      if (missingSlots(frames, count) > 0) this.#reportMissing(s, bytes, frames, count);
    }
    this.#nextSeq = maxSeq < 0 ? 1 : maxSeq + 1 + BOOT_SEQ_SKIP;
  }
}

/**
 * A drain position per class. `next` returns unacknowledged records, alarms first, then events,
 * billing, profile, each class by sequence number; a class is resumed where the last call stopped,
 * and a record appended later to a higher class comes before what is left of lower ones.
 * `rewind` starts over (after a reconnect: everything not yet acknowledged is sent again).
 * Records acknowledged meanwhile are skipped. Several cursors may exist side by side.
 */
export class LogCursor {
  readonly #log: RecordLog;
  readonly #classes: readonly RecordClass[];
  /**
   * The drain position of each class walked (in `classes` order), `POSITION.fields` numbers each: the
   * first sequence number of its sector, the slot, the offset of that slot's frame in its sector (0:
   * none read yet; the next call reads from there), and the sector as a hint (-1: none). One array
   * for all of them: each typed array costs 7 slots in XS.
   */
  readonly #pos: Float64Array;

  /** Walks `classes` in drain order (all of them by default). */
  constructor(log: RecordLog, classes: readonly RecordClass[] = ALL_CLASSES) {
    this.#log = log;
    this.#classes = classes;
    this.#pos = new Float64Array(classes.length * POSITION.fields);
    this.rewind();
  }

  /**
   * At most `maxRecords` records and about `maxBytes` payload bytes (always at least one record when
   * any is waiting). Reads one sector per sector visited.
   */
  next(maxRecords: number, maxBytes = Infinity): StoredRecord[] {
    const out: StoredRecord[] = [];
    let used = 0;
    const p = this.#pos;
    for (let i = 0, k = 0; i < this.#classes.length; i++, k += POSITION.fields) {
      if (out.length >= maxRecords || used >= maxBytes) break;
      const before = out.length;
      const at = { firstSeq: p[k + POSITION.firstSeq]!, slot: p[k + POSITION.slot]!, offset: p[k + POSITION.offset]!, sector: p[k + POSITION.sector]! };
      const pos = this.#log.drainFrom(this.#classes[i]!, at, maxRecords, maxBytes - used, out);
      p[k + POSITION.firstSeq] = pos.firstSeq;
      p[k + POSITION.slot] = pos.slot;
      p[k + POSITION.offset] = pos.offset;
      p[k + POSITION.sector] = pos.sector;
      for (let n = before; n < out.length; n++) used += out[n]!.payload.length;
    }
    return out;
  }

  rewind(): void {
    this.#pos.fill(0);
    for (let k = POSITION.sector; k < this.#pos.length; k += POSITION.fields) this.#pos[k] = -1;
  }
}

/** A `retired` key's value; undefined when unwritten or no longer readable (then it is reused). */
function readKept(r: StateRegion, k: number): Uint8Array | undefined {
  try {
    return r.get(k);
  } catch (e) {
    if (e instanceof CorruptStateError) return undefined;
    throw e;
  }
}

/** Frames of a log sector: slots and sequence numbers strictly increase, kinds are known. */
function logFramePlausible(firstSeq: number) {
  return (tag: number, kind: number, seq: number, previous: FrameView | undefined) =>
    kind >= 1 && kind <= MAX_KIND && seq >= firstSeq && (!previous || (tag > previous.tag && seq > previous.seq));
}

/** Runs as sorted, disjoint [first, last] pairs. */
function normalizeRuns(runs: readonly SeqRun[]): Array<[number, number]> {
  const sorted = runs.filter((r) => r.count > 0).map((r): [number, number] => [r.first, r.first + r.count - 1]).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

/** How many sequence numbers the runs name. */
function namedIn(runs: ReadonlyArray<readonly [number, number]>): number {
  let n = 0;
  for (const r of runs) n += r[1] - r[0] + 1;
  return n;
}

/** Index of the first run ending at or after `seq` (binary search), or runs.length. */
function firstEndingFrom(runs: ReadonlyArray<readonly [number, number]>, seq: number): number {
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid]![1] < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function overlaps(runs: ReadonlyArray<readonly [number, number]>, lo: number, hi: number): boolean {
  const r = runs[firstEndingFrom(runs, lo)];
  return r !== undefined && r[0] <= hi;
}

function contains(runs: ReadonlyArray<readonly [number, number]>, seq: number): boolean {
  return overlaps(runs, seq, seq);
}
