/**
 * A simulated NOR flash partition with the failure behaviour power-loss-safe storage must survive.
 *
 * - Erase sets a whole sector to 0xFF; program ANDs new bytes into old ones (bits only go 1 → 0).
 * - Per-sector erase counters (wear), operation counters, and the time the operations would have held
 *   the bus on a W25Q-class part (`busyMs`; the calls themselves are instantaneous in virtual time).
 * - `cutAtOperation(n)`: the n-th program/erase operation from now is interrupted by a power cut. It
 *   leaves torn data the way real flash does: a program lands partly (a prefix, with the byte at the
 *   boundary half programmed), an erase lands partly (a prefix of the sector erased, the rest with
 *   random bits set). Then the circuit loses power and the call throws PowerLossError.
 * - `markBad(sector)`: a worn-out sector; erase leaves random data and programs change nothing.
 */
import type { FlashPartition } from "../flash.js";
import { PowerLossError, type PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";

export interface NorFlashOptions {
  /** Partition size in bytes (a multiple of `blockSize`). */
  byteLength: number;
  /** Erase-sector size in bytes. Default 4096. */
  blockSize?: number;
  /** Operations counted across the partitions of one part (a board), to cut at the n-th of any of them. */
  shared?: SharedFlashOperations;
}

/** Program and erase operations of several partitions of one part, and the one a power cut interrupts. */
export interface SharedFlashOperations {
  operations: number;
  /** The operation (a value of `operations`) interrupted by a power cut; 0: none. */
  cutAt: number;
}

/** Typical W25Q64JV timings (datasheet §9.6): sector erase 45 ms, page program 0.4 ms per 256 B. */
const ERASE_MS = 45;
const PROGRAM_MS_PER_PAGE = 0.4;
const PAGE_BYTES = 256;

export interface FlashCounters {
  reads: number;
  bytesRead: number;
  programs: number;
  bytesProgrammed: number;
  erases: number;
  /** Programs and erases: the operations a power cut can interrupt. */
  operations: number;
  busyMs: number;
}

export class SimNorFlash implements FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  readonly #domain: PowerDomain;
  readonly #prng: Prng;
  readonly #data: Uint8Array;
  readonly wear: Uint32Array;
  readonly counters: FlashCounters = { reads: 0, bytesRead: 0, programs: 0, bytesProgrammed: 0, erases: 0, operations: 0, busyMs: 0 };
  readonly #bad = new Set<number>();
  readonly #shared: SharedFlashOperations | undefined;
  #cutCountdown = 0;

  constructor(domain: PowerDomain, prng: Prng, options: NorFlashOptions) {
    const blockSize = options.blockSize ?? 4096;
    if (!(blockSize > 0 && options.byteLength > 0 && options.byteLength % blockSize === 0)) throw new RangeError("invalid geometry");
    this.#domain = domain;
    this.#prng = prng;
    this.byteLength = options.byteLength;
    this.blockSize = blockSize;
    this.#data = new Uint8Array(options.byteLength).fill(0xff);
    this.wear = new Uint32Array(options.byteLength / blockSize);
    this.#shared = options.shared;
  }

  read(offset: number, byteLength: number): Uint8Array {
    this.#domain.check();
    this.#checkRange(offset, byteLength);
    this.counters.reads++;
    this.counters.bytesRead += byteLength;
    return this.#data.slice(offset, offset + byteLength);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#domain.check();
    this.#checkRange(offset, bytes.length);
    this.counters.programs++;
    this.counters.operations++;
    this.counters.busyMs += Math.ceil(bytes.length / PAGE_BYTES) * PROGRAM_MS_PER_PAGE;
    const sector = Math.floor(offset / this.blockSize);
    const lastSector = Math.floor((offset + Math.max(bytes.length, 1) - 1) / this.blockSize);
    const torn = this.#interrupted();
    let n = bytes.length;
    if (torn) n = this.#prng.int(bytes.length + 1);
    const data = this.#data;
    if (this.#bad.size === 0) {
      // The common case, one loop without the per-byte sector test (this part's cost in XS counts in the firmware's turns).
      for (let i = 0; i < n; i++) data[offset + i]! &= bytes[i]!;
    } else {
      for (let i = 0; i < n; i++) {
        const s = Math.floor((offset + i) / this.blockSize);
        if (this.#bad.has(s)) continue;
        data[offset + i]! &= bytes[i]!;
      }
    }
    if (torn) {
      if (n < bytes.length && !this.#bad.has(sector) && !this.#bad.has(lastSector)) {
        // The cell being programmed when power failed holds only some of its zeros.
        this.#data[offset + n]! &= bytes[n]! | this.#prng.int(256);
      }
      this.counters.bytesProgrammed += n;
      this.#powerCut();
    }
    this.counters.bytesProgrammed += bytes.length;
  }

  eraseBlock(index: number): void {
    this.#domain.check();
    if (!(Number.isInteger(index) && index >= 0 && index < this.wear.length)) throw new RangeError("invalid sector");
    this.counters.erases++;
    this.counters.operations++;
    this.counters.busyMs += ERASE_MS;
    this.wear[index]!++;
    const base = index * this.blockSize;
    if (this.#bad.has(index)) {
      for (let i = 0; i < this.blockSize; i++) this.#data[base + i] = this.#prng.int(256);
      if (this.#interrupted()) this.#powerCut();
      return;
    }
    if (this.#interrupted()) {
      const k = this.#prng.int(this.blockSize + 1);
      this.#data.fill(0xff, base, base + k);
      for (let i = k; i < this.blockSize; i++) this.#data[base + i]! |= this.#prng.int(256);
      this.#powerCut();
    }
    this.#data.fill(0xff, base, base + this.blockSize);
  }

  // ---- fault injection (simulation side) ----

  /** Interrupts the n-th program/erase operation from now (n ≥ 1) with a power cut; 0 disarms. */
  cutAtOperation(n: number): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError("invalid count");
    this.#cutCountdown = n;
  }

  /** Operations left before the armed cut, 0 when none is armed. */
  get cutArmedIn(): number {
    return this.#cutCountdown;
  }

  markBad(sector: number): void {
    this.#bad.add(sector);
  }

  /** Inverts bits at `offset` (bit rot, a stray write): `mask` bits are flipped. */
  corrupt(offset: number, mask: number): void {
    this.#checkRange(offset, 1);
    this.#data[offset]! ^= mask & 0xff;
  }

  /** A copy of the whole partition, for inspection or to keep across runs (`load`). */
  snapshot(): Uint8Array {
    return this.#data.slice();
  }

  /** Replaces the whole content with an image taken by `snapshot` (a part that kept its data). */
  load(image: Uint8Array): void {
    if (image.length !== this.byteLength) throw new RangeError("invalid image");
    this.#data.set(image);
  }

  // ---- internals ----

  #interrupted(): boolean {
    const shared = this.#shared;
    if (shared && ++shared.operations === shared.cutAt) return true;
    if (this.#cutCountdown === 0) return false;
    return --this.#cutCountdown === 0;
  }

  #powerCut(): never {
    this.#domain.powerOff("power-cut");
    throw new PowerLossError();
  }

  #checkRange(offset: number, byteLength: number): void {
    if (!(Number.isInteger(offset) && Number.isInteger(byteLength) && offset >= 0 && byteLength >= 0 && offset + byteLength <= this.byteLength)) {
      throw new RangeError("invalid offset");
    }
  }
}
