/**
 * The sectors of one partition and what the store knows of each: the bookkeeping the log and the
 * state journal share. Per sector it keeps one state byte and the sequence number the sector was
 * opened at (5 bytes of RAM per sector); everything else about a sector is on flash.
 *
 * - A sector is written only after an erase in the current boot that read back as all 0xFF: an
 *   interrupted erase can leave a sector that looks erased in places, so nothing found erased at
 *   boot is trusted (one extra erase per boot, at most one per sector).
 * - Every program is read back. A sector whose erase or program does not read back is bad: it is
 *   never written again in this boot and is reported through `onBad`; the caller retries elsewhere.
 * - New sectors are taken round-robin from where the last one was taken, so erases go evenly
 *   around the partition.
 */
import type { FlashPartition } from "../../hal/flash.js";
import { isErased, sameBytes } from "./bytes.js";
import { encodeHeaders, HEADERS_BYTES, parseHeaders, type SectorHeader } from "./sector-format.js";

export const SectorState = Object.freeze({
  /** Holds nothing the store reads; must be erased before use. */
  dirty: 0,
  /** Erased and verified in this boot: can take a header. */
  ready: 1,
  /** Has a valid header: holds records. */
  live: 2,
  /** Failed an erase or program read-back in this boot. */
  bad: 3,
} as const);
export type SectorState = (typeof SectorState)[keyof typeof SectorState];

export type BadSectorReason = "erase" | "program";

export class SectorPool {
  readonly flash: FlashPartition;
  readonly magic: number;
  readonly count: number;
  readonly size: number;
  readonly state: Uint8Array;
  readonly firstSeq: Uint32Array;
  /** Called when a sector turns out bad (at most once per sector per boot). */
  onBad: (sector: number, reason: BadSectorReason) => void = () => undefined;
  #eraseCounts = new Map<number, number>();
  #eraseEstimate = 0;
  #nextAlloc = 0;
  #ready = 0;
  #dirty = 0;
  #bad = 0;

  constructor(flash: FlashPartition, magic: number) {
    this.flash = flash;
    this.magic = magic;
    this.size = flash.blockSize;
    this.count = flash.byteLength / flash.blockSize;
    this.state = new Uint8Array(this.count);
    this.firstSeq = new Uint32Array(this.count);
    this.#dirty = this.count;
  }

  /** Sectors that hold nothing (dirty or ready): what can be opened without reclaiming anything. */
  get spare(): number {
    return this.#ready + this.#dirty;
  }

  get ready(): number {
    return this.#ready;
  }

  get dirty(): number {
    return this.#dirty;
  }

  /** Sectors found bad in this boot. */
  get bad(): number {
    return this.#bad;
  }

  setState(sector: number, s: SectorState): void {
    const old = this.state[sector]!;
    if (old === SectorState.ready) this.#ready--;
    if (old === SectorState.dirty) this.#dirty--;
    if (old === SectorState.bad) this.#bad--;
    if (s === SectorState.ready) this.#ready++;
    if (s === SectorState.dirty) this.#dirty++;
    if (s === SectorState.bad) this.#bad++;
    this.state[sector] = s;
  }

  /** Records a header seen at boot (its erase count feeds the estimate for sectors without one). */
  noteHeader(sector: number, h: SectorHeader): void {
    this.setState(sector, SectorState.live);
    this.firstSeq[sector] = h.firstSeq;
    if (h.eraseCount > this.#eraseEstimate) this.#eraseEstimate = h.eraseCount;
  }

  readHeader(sector: number): SectorHeader | undefined {
    return parseHeaders(this.flash.read(sector * this.size, HEADERS_BYTES), this.magic)?.header;
  }

  /** Erases `sector` and checks it reads back erased: ready, or bad. One erase (~45 ms). */
  erase(sector: number): boolean {
    const before = this.state[sector] === SectorState.live ? this.readHeader(sector)?.eraseCount : undefined;
    const erases = (before ?? this.#eraseEstimate) + 1;
    this.flash.eraseBlock(sector);
    if (!isErased(this.flash.read(sector * this.size, this.size))) {
      this.#markBad(sector, "erase");
      return false;
    }
    this.#eraseCounts.set(sector, erases);
    this.setState(sector, SectorState.ready);
    return true;
  }

  /**
   * The sector to erase ahead, or -1: the first dirty sector in allocation order unless `readyTarget`
   * ready sectors come before it. Allocation then goes round the whole partition in order, never
   * around a dirty sector (which would never be used, and never worn).
   */
  eraseAhead(readyTarget: number): number {
    let ready = 0;
    for (let k = 0; k < this.count; k++) {
      const i = (this.#nextAlloc + k) % this.count;
      const st = this.state[i];
      if (st === SectorState.dirty) return i;
      if (st === SectorState.ready && ++ready >= readyTarget) return -1;
    }
    return -1;
  }

  /**
   * Opens a ready sector for `cls` at `firstSeq`: writes and verifies its headers. Returns the sector,
   * or -1 when no ready sector is left (each one that fails is marked bad and the next is tried).
   */
  open(cls: number, firstSeq: number): number {
    for (let k = 0; k < this.count; k++) {
      const i = (this.#nextAlloc + k) % this.count;
      if (this.state[i] !== SectorState.ready) continue;
      const eraseCount = this.#eraseCounts.get(i) ?? this.#eraseEstimate;
      const bytes = encodeHeaders(this.magic, { cls, firstSeq, eraseCount });
      if (!this.program(i * this.size, bytes)) {
        this.#markBad(i, "program");
        continue;
      }
      this.#eraseCounts.delete(i);
      this.#nextAlloc = (i + 1) % this.count;
      this.setState(i, SectorState.live);
      this.firstSeq[i] = firstSeq;
      return i;
    }
    return -1;
  }

  /** Programs `bytes` at `offset` and reads them back; false when they did not land. */
  program(offset: number, bytes: Uint8Array): boolean {
    this.flash.write(offset, bytes);
    return sameBytes(this.flash.read(offset, bytes.length), bytes);
  }

  /** Marks a sector bad after a failed program of a record in it (the caller retries elsewhere). */
  markBad(sector: number): void {
    this.#markBad(sector, "program");
  }

  #markBad(sector: number, reason: BadSectorReason): void {
    this.#eraseCounts.delete(sector);
    this.setState(sector, SectorState.bad);
    this.onBad(sector, reason);
  }
}
