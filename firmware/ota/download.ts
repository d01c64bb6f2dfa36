/**
 * Fetches one package over the uplink and writes its image into the inactive slot, checking every
 * part against the signed head (docs/ota.md "Transfer" and "Verification rules"):
 *
 *   head ──▶ table ──▶ chunk 0 … n−1 ──▶ check of the whole slot ──▶ done
 *   (only when resuming: the head must hash to the digest kept in the update record)
 *
 * - The concentrator pulls: it asks for a few chunks at a time (`windowChunks`), the head-end sends
 *   them on the `ota` topic, and a chunk is asked for again when it does not come within
 *   `requestTimeoutMs`, or fails its check (at most `maxRefetch` times, then the update is refused).
 *   With the window small, acknowledgements and commands on the same connection wait behind at most
 *   that many chunks, and alarms (uplink) never wait behind them.
 * - Each chunk takes several turns: copied (the frame's turn), inflated (one turn), hashed
 *   `hashBytesPerTurn` at a time, its sector erased (one turn: ≈ 45 ms on the device), then programmed
 *   with the progress persisted (one turn). The progress is the prefix of chunks written, in the state
 *   journal: a reboot resumes at the first chunk not written, rewriting its sector.
 * - The check reads the slot back and hashes each chunk and the whole image; a chunk found bad in
 *   flash is fetched and written again, then the check starts over.
 */
import type { MonotonicClock, TimerId, Timers } from "../../hal/clock.js";
import type { FirmwareSlots } from "../../hal/firmware-slots.js";
import type { CryptoService, Inflater, Sha256 } from "../../hal/system.js";
import type { OtaRequestMessage } from "../uplink/messages.js";
import { CHUNK_HASH_BYTES, ChunkTable, OtaReason, parseHead, PackageKind, SIGNED_BYTES, type PackageHead } from "./format.js";
import { decodeFrame, FrameObject, Refusal, samePackage, TABLE_FRAME_BYTES } from "./frames.js";
import type { OtaState, UpdateRecord } from "./state.js";

export interface DownloadOptions {
  /** Chunks asked for at once. Default 2: the link stays busy over a ~1 s GPRS round trip. */
  windowChunks?: number;
  /** A part not received within this is asked for again, ms. Default 60,000. */
  requestTimeoutMs?: number;
  /** Re-fetches of one part that fails its check before the update is refused. Default 3. */
  maxRefetch?: number;
  /**
   * Bytes hashed per turn. Default 512: ≈ 120 k XS units with a SHA-256 in plain ECMAScript, so no
   * turn exceeds the 150 k budget even where SHA-256 is not native (it is on the device).
   */
  hashBytesPerTurn?: number;
}

export interface DownloadCounters {
  framesReceived: number;
  /** Frames for another package, a part not asked for, or garbled. */
  framesDropped: number;
  requests: number;
  timeouts: number;
  refetches: number;
  /** Turns of its own it ran (inflating, hashing, erasing, programming, checking). */
  steps: number;
}

export interface DownloadHost {
  readonly timers: Timers;
  readonly clock: MonotonicClock;
  readonly crypto: CryptoService;
  readonly inflater: Inflater;
  readonly slots: FirmwareSlots;
  readonly state: OtaState;
  /** Sends a request (sealed, on the uplink); false when the link is down (`linkUp` comes later). */
  send(request: OtaRequestMessage): boolean;
  /** The head, re-fetched on a resume: undefined to go on, or the reason to stop (policy rules). */
  headFetched(head: PackageHead): OtaReason | undefined;
  /** This concentrator's id: an image package's unit list must name it. */
  readonly unitId: number;
  /** A key-rotation package's table (the new key set), checked against the head: undefined to go on, or the reason to stop. */
  keysFetched(table: Uint8Array): OtaReason | undefined;
  /** Bytes of image now in the slot. */
  progress(bytes: number): void;
  /** Every chunk written and the whole slot checked. */
  complete(): void;
  failed(reason: OtaReason): void;
}

type Step = "head" | "table" | "chunks" | "check" | "done";

interface Request {
  object: number;
  first: number;
  count: number;
}

export class Download {
  readonly counters: DownloadCounters = { framesReceived: 0, framesDropped: 0, requests: 0, timeouts: 0, refetches: 0, steps: 0 };
  readonly #host: DownloadHost;
  readonly #record: UpdateRecord;
  readonly #window: number;
  readonly #timeoutMs: number;
  readonly #maxRefetch: number;
  readonly #slice: number;
  #head: PackageHead | undefined;
  #table: ChunkTable | undefined;
  #step: Step;
  #tableBytes: Uint8Array | undefined;
  #tablePieces: Uint8Array | undefined;
  /** The next chunk to write (chunks below it are in the slot). */
  #next: number;
  /** Chunks asked for, up to (exclusive). */
  #asked = 0;
  /** Chunks that arrived while the one before them was being processed. */
  readonly #queued = new Map<number, Uint8Array>();
  /** A part is being processed (inflated, hashed, written, or the slot checked). */
  #busy = false;
  #attempts = 0;
  /** The object of the last request: frames of another object are not expected. */
  #expecting: number = FrameObject.head;
  #lastRequest: Request | undefined;
  #timer: TimerId | undefined;
  #job: TimerId | undefined;
  #stopped = false;
  /** The chunk the check found bad in flash, being fetched again; and how many so far. */
  #repairing: number | undefined;
  #repairs = 0;

  constructor(host: DownloadHost, record: UpdateRecord, head: PackageHead | undefined, o: DownloadOptions = {}) {
    this.#host = host;
    this.#record = record;
    this.#head = head;
    this.#window = o.windowChunks ?? 2;
    this.#timeoutMs = o.requestTimeoutMs ?? 60_000;
    this.#maxRefetch = o.maxRefetch ?? 3;
    this.#slice = o.hashBytesPerTurn ?? 512;
    if (!(this.#window >= 1 && this.#slice >= 128 && this.#slice % 128 === 0)) throw new RangeError("invalid download options");
    this.#next = host.state.progress;
    this.#step = head ? "table" : "head";
  }

  /** Where it is: "head", "table", "chunks", "check" or "done". */
  get step(): Step {
    return this.#step;
  }

  /** Chunks in the slot. */
  get chunksWritten(): number {
    return this.#next;
  }

  get head(): PackageHead | undefined {
    return this.#head;
  }

  start(): void {
    this.#ask();
  }

  /** Stops for good: no request, no turn, no frame taken after it. */
  stop(): void {
    this.#stopped = true;
    this.#queued.clear();
    if (this.#timer !== undefined) this.#host.timers.clear(this.#timer);
    if (this.#job !== undefined) this.#host.timers.clear(this.#job);
    this.#timer = this.#job = undefined;
  }

  /** The link is up again: frames in flight were lost with the old connection; ask again. */
  linkUp(): void {
    if (this.#stopped || this.#busy) return;
    this.#ask();
  }

  /** A frame from the `ota` topic. */
  frame(bytes: Uint8Array): void {
    const f = decodeFrame(bytes);
    if (this.#stopped || !f || !samePackage(f.packageId, this.#record.packageId)) return void this.counters.framesDropped++;
    if (f.object === FrameObject.refused) {
      // The head-end does not have (all of) the package: nothing to wait for.
      return this.#fail(f.index === Refusal.unknownPackage ? OtaReason.cancelled : OtaReason.truncated);
    }
    if (f.object !== this.#expecting) return void this.counters.framesDropped++;
    if (f.object === FrameObject.chunk) return this.#chunkFrame(f.index, f.data);
    if (this.#busy) return void this.counters.framesDropped++;
    this.counters.framesReceived++;
    if (f.object === FrameObject.head) this.#headFrame(f.data);
    else this.#tableFrame(f.index, f.data);
  }

  // ---- requests ----

  /** Asks for what the current step is missing (all of it: after a timeout, a new link, a start). */
  #ask(): void {
    if (this.#stopped) return;
    switch (this.#step) {
      case "head":
        return this.#send({ object: FrameObject.head, first: 0, count: 1 });
      case "table":
        this.#tableBytes ??= new Uint8Array(this.#head!.tableLength);
        this.#tablePieces ??= new Uint8Array(Math.ceil(this.#head!.tableLength / TABLE_FRAME_BYTES));
        return this.#send({ object: FrameObject.table, first: 0, count: this.#head!.tableLength });
      case "chunks":
        // What arrived is kept; what was asked for and did not is asked for again.
        this.#asked = this.#next;
        while (this.#queued.has(this.#asked)) this.#asked++;
        return this.#topUp();
      case "check":
        if (this.#repairing !== undefined) this.#send({ object: FrameObject.chunk, first: this.#repairing, count: 1 });
        return;
      default:
        return;
    }
  }

  /** Asks for the chunks that fit the window beyond those asked for already. */
  #topUp(): void {
    const end = Math.min(this.#table!.chunkCount, this.#next + this.#window);
    if (this.#asked >= end) return;
    const first = this.#asked;
    this.#asked = end;
    this.#send({ object: FrameObject.chunk, first, count: end - first });
  }

  #send(r: Request): void {
    if (this.#stopped) return;
    this.#expecting = r.object;
    this.#lastRequest = r;
    this.#arm();
    this.counters.requests++;
    this.#host.send({ kind: "otaRequest", packageId: this.#record.packageId, ...r });
  }

  /** (Re)starts the wait for the next frame: nothing within the timeout, and everything missing is asked for again. */
  #arm(): void {
    if (this.#timer !== undefined) this.#host.timers.clear(this.#timer);
    this.#timer = this.#host.timers.set(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      if (this.#busy) return this.#arm();
      this.counters.timeouts++;
      this.#ask();
    }, this.#timeoutMs);
  }

  /** The part in hand failed its check: ask for it again, or give up with `reason`. */
  #refetch(reason: OtaReason): void {
    this.#busy = false;
    if (++this.#attempts > this.#maxRefetch) return this.#fail(reason);
    this.counters.refetches++;
    if (this.#step === "table") {
      this.#tablePieces = undefined;
      this.#tableBytes = undefined;
      return this.#ask();
    }
    if (this.#step === "chunks") {
      this.#queued.delete(this.#next);
      this.#asked = this.#next;
      return this.#topUp();
    }
    if (this.#lastRequest) this.#send(this.#lastRequest);
  }

  #fail(reason: OtaReason): void {
    this.stop();
    this.#host.failed(reason);
  }

  /** Runs `step` in turns of its own until it returns false. */
  #run(step: () => boolean): void {
    this.#job = this.#host.timers.set(() => {
      this.#job = undefined;
      if (this.#stopped) return;
      this.counters.steps++;
      if (step()) this.#run(step);
    }, 0);
  }

  /** Hashes `bytes` `#slice` at a time, one slice per turn, then calls `then` with the digest. */
  #hash(bytes: Uint8Array, then: (digest: Uint8Array) => void): void {
    const h = this.#host.crypto.sha256();
    let at = 0;
    this.#run(() => {
      const end = Math.min(bytes.length, at + this.#slice);
      h.update(bytes.subarray(at, end));
      at = end;
      if (at < bytes.length) return true;
      then(h.digest());
      return false;
    });
  }

  // ---- the head (resume) ----

  #headFrame(data: Uint8Array): void {
    const h = this.#host.crypto.sha256();
    h.update(data.subarray(0, SIGNED_BYTES));
    const head = parseHead(data.slice());
    if (typeof head === "number" || !equal(h.digest(), this.#record.signedSha256)) return this.#refetch(OtaReason.malformed);
    const stop = this.#host.headFetched(head);
    if (stop !== undefined) return this.#fail(stop);
    this.#head = head;
    this.#attempts = 0;
    this.#step = "table";
    this.#ask();
  }

  // ---- the table ----

  #tableFrame(offset: number, data: Uint8Array): void {
    const bytes = this.#tableBytes!;
    const pieces = this.#tablePieces!;
    const piece = offset / TABLE_FRAME_BYTES;
    const expected = Math.min(TABLE_FRAME_BYTES, bytes.length - offset);
    if (!(Number.isInteger(piece) && piece < pieces.length) || data.length !== expected) return void this.counters.framesDropped++;
    bytes.set(data, offset);
    pieces[piece] = 1;
    this.#arm();
    if (!pieces.every((p) => p === 1)) return;
    this.#busy = true;
    this.#hash(bytes, (digest) => {
      if (!equal(digest, this.#head!.tableSha256)) return this.#refetch(OtaReason.corruptChunk);
      this.#busy = false;
      this.#attempts = 0;
      this.#tableBytes = undefined;
      this.#tablePieces = undefined;
      if (this.#head!.kind === PackageKind.keys) {
        const stop = this.#host.keysFetched(bytes);
        return stop === undefined ? this.#finish() : this.#fail(stop);
      }
      const table = ChunkTable.parse(this.#head!, bytes);
      if (typeof table === "number") return this.#fail(table);
      if (!table.names(this.#host.unitId)) return this.#fail(OtaReason.notForUnit);
      this.#table = table;
      // The slot leaves the boot choice before its first erase (a resume repeats it: harmless).
      this.#host.slots.release();
      if (this.#next >= table.chunkCount) return this.#check();
      this.#step = "chunks";
      this.#ask();
    });
  }

  // ---- chunks ----

  #chunkFrame(k: number, data: Uint8Array): void {
    const wanted = this.#step === "check" ? k === this.#repairing : this.#step === "chunks" && k >= this.#next && k < this.#asked;
    if (!wanted || this.#queued.has(k)) return void this.counters.framesDropped++;
    // Kept as it is; taken in a turn of its own (the frame's turn is the modem's and MQTT's).
    this.#queued.set(k, data.slice());
    this.#pump();
  }

  /** Takes the next chunk, if it has arrived and none is being processed. */
  #pump(): void {
    const k = this.#step === "check" ? this.#repairing : this.#next;
    const data = k === undefined || this.#busy ? undefined : this.#queued.get(k);
    if (k === undefined || !data) return;
    this.#queued.delete(k);
    this.#busy = true;
    this.#run(() => {
      this.#take(k, data);
      return false;
    });
  }

  /** Chunk `k`'s stored bytes: inflated if they are DEFLATE (this turn), then hashed, written. */
  #take(k: number, stored: Uint8Array): void {
    this.counters.framesReceived++;
    const table = this.#table!;
    if (stored.length !== table.storedLength(k)) return this.#refetch(OtaReason.length);
    this.#arm();
    if (!table.deflated(k)) return this.#hashChunk(k, stored);
    const plain = new Uint8Array(Math.min(this.#head!.chunkBytes, this.#head!.imageLength - k * this.#head!.chunkBytes));
    let n: number;
    try {
      n = this.#host.inflater.inflateRaw(stored, plain);
    } catch {
      return this.#refetch(OtaReason.corruptChunk);
    }
    if (n !== plain.length) return this.#refetch(OtaReason.length);
    this.#hashChunk(k, plain);
  }

  #hashChunk(k: number, plain: Uint8Array): void {
    this.#hash(plain, (digest) => {
      if (!equal(digest.subarray(0, CHUNK_HASH_BYTES), this.#table!.hash(k))) return this.#refetch(OtaReason.corruptChunk);
      this.#write(k, plain);
    });
  }

  /**
   * Chunk `k` into its sector, a turn each: the erase (≈ 45 ms on the device), the program with the
   * progress persisted, then what follows (the report, the next requests, the next chunk).
   */
  #write(k: number, plain: Uint8Array): void {
    const slots = this.#host.slots;
    let step = 0;
    this.#run(() => {
      switch (step++) {
        case 0:
          slots.eraseBlock(k);
          return true;
        case 1:
          slots.write(k * this.#head!.chunkBytes, plain);
          if (this.#step === "chunks") this.#host.state.setProgress(k + 1);
          return true;
        default:
          this.#written(k);
          return false;
      }
    });
  }

  #written(k: number): void {
    this.#busy = false;
    this.#attempts = 0;
    if (this.#step === "check") {
      this.#repairing = undefined;
      return this.#check();
    }
    const head = this.#head!;
    this.#next = k + 1;
    this.#host.progress(Math.min(head.imageLength, this.#next * head.chunkBytes));
    if (this.#next >= this.#table!.chunkCount) return this.#check();
    this.#topUp();
    this.#pump();
  }

  // ---- the check of the whole slot ----

  /**
   * Reads the slot back chunk by chunk and hashes each chunk and the whole image, `#slice` / 2 bytes
   * per turn (two hashes over the same bytes). A chunk that does not match is fetched again.
   */
  #check(): void {
    this.#step = "check";
    if (this.#timer !== undefined) this.#host.timers.clear(this.#timer);
    this.#timer = undefined;
    const head = this.#head!;
    const table = this.#table!;
    const slice = this.#slice / 2;
    const image = this.#host.crypto.sha256();
    let k = 0;
    let at = 0;
    let chunk: Sha256 = this.#host.crypto.sha256();
    this.#busy = true;
    this.#run(() => {
      const chunkEnd = Math.min(head.imageLength, (k + 1) * head.chunkBytes);
      const end = Math.min(chunkEnd, at + slice);
      const bytes = this.#host.slots.read(at, end - at);
      image.update(bytes);
      chunk.update(bytes);
      at = end;
      if (at < chunkEnd) return true;
      if (!equal(chunk.digest().subarray(0, CHUNK_HASH_BYTES), table.hash(k))) {
        this.#repair(k);
        return false;
      }
      chunk = this.#host.crypto.sha256();
      if (++k < table.chunkCount) return true;
      this.#busy = false;
      if (!equal(image.digest(), head.imageSha256)) this.#fail(OtaReason.imageHash);
      else this.#finish();
      return false;
    });
  }

  /** Chunk `k` is bad in flash: fetch it and write it again, then check again. */
  #repair(k: number): void {
    this.#busy = false;
    if (++this.#repairs > this.#maxRefetch) return this.#fail(OtaReason.corruptChunk);
    this.#repairing = k;
    this.#ask();
  }

  #finish(): void {
    this.#step = "done";
    this.stop();
    this.#host.complete();
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
