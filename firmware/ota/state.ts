/**
 * What the OTA module keeps across reboots, in the state journal's `ota` range (16 keys). Both images
 * of an update read these records (the old one writes the update, the new one its trial, the old one
 * again its rollback), so their layout is part of the update format: a new firmware must read format 1.
 *
 *   base + 0  update   format u8 (1) · phase u8 · reason u8 · kind u8 · package id (6) · signed-part
 *                      SHA-256 (32) · sequence u32 · security counter u32 · version u32 · previous
 *                      version u32 · image length u32 · window from u16 · window to u16   (66 bytes)
 *   base + 1  outcome  outcome u8 · reason u8 · package id (6) · version u32                (12 bytes)
 *   base + 2  security counter, a HighWaterMark (keys base + 2 and base + 3)
 *   base + 4  sequence floor, a HighWaterMark (keys base + 4 and base + 5)
 *   base + 6  key set (format.ts encodeKeySet), once rotated; absent: the key set pinned in the build
 *   base + 7  progress: chunks written, a contiguous prefix (varint), rewritten after every chunk
 *
 * Integers little-endian; versions packed (format.ts packVersion). Each record is one journal value,
 * so it is old or new after any cut (firmware/store/state-journal.ts).
 */
import { ByteReader, ByteWriter } from "../store/bytes.js";
import { HighWaterMark } from "../store/counter.js";
import type { StateJournal } from "../store/state-journal.js";
import { decodeKeySet, encodeKeySet, type KeySet } from "./format.js";
import { frozen } from "../model/frozen.js";

export const UPDATE_FORMAT = 1;

/** Where an update is. Stored: the numbers are part of the update format. */
export const Phase = frozen({
  idle: 0,
  /** The head was accepted: the table and the chunks are fetched and written, then the slot checked. */
  downloading: 1,
  /** The slot is checked; waiting for the switch window. */
  verified: 3,
  /** The boot choice is being written, or the restart into the new image is under way. */
  switching: 4,
  /** The new image runs on trial (its self-test). */
  testing: 5,
  /** The trial failed; the new image asked for the rollback (`reason`). */
  failed: 6,
} as const);
export type Phase = (typeof Phase)[keyof typeof Phase];
const PHASES: readonly number[] = frozen(Object.values(Phase));

export const Outcome = frozen({
  confirmed: 1,
  rolledBack: 2,
  rejected: 3,
} as const);
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** An image without a window switches at once. */
export const ANY_TIME = 0xffff;

export interface UpdateRecord {
  phase: Phase;
  reason: number;
  kind: number;
  /** The first 6 bytes of the signed part's SHA-256. */
  packageId: Uint8Array;
  signedSha256: Uint8Array;
  sequence: number;
  securityCounter: number;
  version: number;
  previousVersion: number;
  imageLength: number;
  /** Local minutes of the day when the switch may happen, [from, to); ANY_TIME for both: any time. */
  windowFromMin: number;
  windowToMin: number;
}

export interface OutcomeRecord {
  outcome: Outcome;
  reason: number;
  packageId: Uint8Array;
  version: number;
}

const UPDATE_BYTES = 66;
const OUTCOME_BYTES = 12;

export function encodeUpdate(u: UpdateRecord): Uint8Array {
  const w = new ByteWriter(new Uint8Array(UPDATE_BYTES));
  w.u8(UPDATE_FORMAT);
  w.u8(u.phase);
  w.u8(u.reason);
  w.u8(u.kind);
  w.raw(u.packageId);
  w.raw(u.signedSha256);
  w.u32(u.sequence);
  w.u32(u.securityCounter);
  w.u32(u.version);
  w.u32(u.previousVersion);
  w.u32(u.imageLength);
  w.u16(u.windowFromMin);
  w.u16(u.windowToMin);
  return w.bytes;
}

export function decodeUpdate(b: Uint8Array | undefined): UpdateRecord | undefined {
  if (!b || b.length !== UPDATE_BYTES || b[0] !== UPDATE_FORMAT) return undefined;
  const r = new ByteReader(b, 1);
  const u: UpdateRecord = {
    phase: r.u8() as Phase,
    reason: r.u8(),
    kind: r.u8(),
    packageId: r.raw(6),
    signedSha256: r.raw(32),
    sequence: r.u32(),
    securityCounter: r.u32(),
    version: r.u32(),
    previousVersion: r.u32(),
    imageLength: r.u32(),
    windowFromMin: r.u16(),
    windowToMin: r.u16(),
  };
  return r.error || !PHASES.includes(u.phase) ? undefined : u;
}

/** The OTA records on the journal, read once at boot and written through. */
export class OtaState {
  readonly #journal: StateJournal;
  readonly #base: number;
  readonly securityCounter: HighWaterMark;
  readonly sequenceFloor: HighWaterMark;
  #update: UpdateRecord | undefined;
  #outcome: OutcomeRecord | undefined;
  #progress: number;
  #keySet: KeySet | undefined;

  constructor(journal: StateJournal, base: number) {
    this.#journal = journal;
    this.#base = base;
    this.securityCounter = new HighWaterMark(journal, base + 2);
    this.sequenceFloor = new HighWaterMark(journal, base + 4);
    this.#update = decodeUpdate(journal.get(base));
    this.#outcome = decodeOutcome(journal.get(base + 1));
    const keys = journal.get(base + 6);
    this.#keySet = keys ? decodeKeySet(keys) : undefined;
    const p = journal.get(base + 7);
    const r = p ? new ByteReader(p) : undefined;
    const n = r ? r.varint() : 0;
    this.#progress = r && !r.error ? n : 0;
  }

  get update(): UpdateRecord | undefined {
    return this.#update;
  }

  get outcome(): OutcomeRecord | undefined {
    return this.#outcome;
  }

  /** Chunks of the update in progress written to the slot (a prefix). */
  get progress(): number {
    return this.#progress;
  }

  /** The key set installed by a rotation, if any. */
  get keySet(): KeySet | undefined {
    return this.#keySet;
  }

  /** Writes the update record (undefined: no update in progress) and, with it, its progress. */
  setUpdate(u: UpdateRecord | undefined, progress = this.#progress): void {
    const entries: Array<[number, Uint8Array]> = [[this.#base, u ? encodeUpdate(u) : new Uint8Array(0)]];
    if (progress !== this.#progress) entries.push([this.#base + 7, varint(progress)]);
    this.#journal.putAll(entries);
    this.#update = u;
    this.#progress = progress;
  }

  setProgress(chunks: number): void {
    this.#journal.put(this.#base + 7, varint(chunks));
    this.#progress = chunks;
  }

  /** Ends the update: the outcome recorded and the update record cleared, in one write. */
  finish(o: OutcomeRecord): void {
    this.#journal.putAll([
      [this.#base, new Uint8Array(0)],
      [this.#base + 1, encodeOutcome(o)],
      [this.#base + 7, varint(0)],
    ]);
    this.#update = undefined;
    this.#outcome = o;
    this.#progress = 0;
  }

  setKeySet(k: KeySet): void {
    this.#journal.put(this.#base + 6, encodeKeySet(k));
    this.#keySet = k;
  }
}

function varint(n: number): Uint8Array {
  const w = new ByteWriter(new Uint8Array(8));
  w.varint(n);
  return w.bytes.slice(0, w.pos);
}

function encodeOutcome(o: OutcomeRecord): Uint8Array {
  const w = new ByteWriter(new Uint8Array(OUTCOME_BYTES));
  w.u8(o.outcome);
  w.u8(o.reason);
  w.raw(o.packageId);
  w.u32(o.version);
  return w.bytes;
}

function decodeOutcome(b: Uint8Array | undefined): OutcomeRecord | undefined {
  if (!b || b.length !== OUTCOME_BYTES) return undefined;
  const r = new ByteReader(b);
  const o: OutcomeRecord = { outcome: r.u8() as Outcome, reason: r.u8(), packageId: r.raw(6), version: r.u32() };
  return o.outcome >= Outcome.confirmed && o.outcome <= Outcome.rejected ? o : undefined;
}
