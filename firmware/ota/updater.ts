/**
 * Over-the-air updates of the concentrator (docs/ota.md): takes an offer from the head-end, judges
 * the package's head (verify.ts), downloads it into the inactive slot (download.ts), switches in the
 * window the offer allows, and — in the new image — proves it with a self-test before confirming it;
 * otherwise the previous image runs again. Every step is an OTA event for the head-end.
 *
 *   idle ─offer─▶ verifying ─ok─▶ downloading ─▶ checking ─▶ waiting ─window─▶ switching ─restart─┐
 *     ▲              └─refused──▶ idle (rejected)   └─fails─▶ idle (rejected)                       │
 *     │                                                                                           ▼
 *     └──── confirmed ◀─self-test passes── testing (the new image, pending-verify) ◀─────────────┘
 *     └──── rolled back ◀─self-test fails, watchdog, crash, power cut (the previous image) ◀─────┘
 *
 * What survives a reboot is in the state journal (state.ts): a download resumes at its first chunk
 * not written; a switch is followed up by whichever image boots. The security counter and the
 * sequence floor move forward only once the new image has confirmed itself.
 */
import type { MonotonicClock, TimerId, Timers, WallClock } from "../../hal/clock.js";
import type { FirmwareSlots, SlotState } from "../../hal/firmware-slots.js";
import type { CryptoService, Inflater, ResetReason } from "../../hal/system.js";
import { EventType } from "../model/records.js";
import type { StateJournal } from "../store/state-journal.js";
import { StateLayout } from "../store/state-layout.js";
import type { OtaRequestMessage, SwitchWindow } from "../uplink/messages.js";
import { Download, type DownloadCounters, type DownloadOptions } from "./download.js";
import { decodeKeySet, isImageFailure, type KeySet, OtaReason, PackageKind, packageIdOf, packVersion, parseHead, reasonName, SIGNED_BYTES, unpackVersion, type PackageHead } from "./format.js";
import { samePackage } from "./frames.js";
import { ANY_TIME, Outcome, OtaState, Phase, type UpdateRecord } from "./state.js";
import { checkSignatures, keyIds, policyReason } from "./verify.js";

/** What the self-test asks of the rest of the concentrator (docs/ota.md "Self-test"). */
export interface SelfTestProbes {
  /** The store recovered at boot (log and journal open, nothing failed since). */
  storeRecovered(): boolean;
  /** A module answered on an RS485 bus since boot, or no module is known (nothing to ask). */
  busAnswered(): boolean;
  /** The head-end acknowledged something this boot sent. */
  headendAcknowledged(): boolean;
}

export interface OtaUpdaterOptions extends DownloadOptions {
  concentratorId: number;
  /** This hardware's id, as packages name it (format.ts HeadFields.hardwareId). */
  hardwareId: string;
  /** The release key set pinned in the build: what signs packages until a rotation replaces it. */
  releaseKeys: KeySet;
  slots: FirmwareSlots;
  crypto: CryptoService;
  inflater: Inflater;
  journal: StateJournal;
  timers: Timers;
  clock: MonotonicClock;
  wallClock: WallClock;
  resetReason: ResetReason;
  /** Restarts the board (into the image just selected). */
  restart(): void;
  /** Seals and sends a request on the uplink; false when the link is down. */
  send(request: OtaRequestMessage): boolean;
  /** Raises an OTA event (EventType.ota*) for the head-end. */
  raise(type: EventType, detail: number): void;
  probes: SelfTestProbes;
  /** The site's offset from UTC, minutes: switch windows are local. */
  utcOffsetMin(): number;
  /** How long the new image has to pass its self-test, ms. Default 20 min. */
  selfTestTimeoutMs?: number;
  /** How often the self-test looks, ms. Default 5 s. */
  selfTestPollMs?: number;
}

export type OtaStateName = "idle" | "verifying" | "downloading" | "checking" | "waiting" | "switching" | "testing";

/** Plain data for the console's `ota` and `version` commands. */
export interface OtaStatus {
  state: OtaStateName;
  runningVersion: string;
  runningSlot: string;
  runningSlotState: SlotState;
  /** The version being installed, if any. */
  targetVersion: string | undefined;
  bytesDone: number;
  bytesTotal: number;
  lastOutcome: "confirmed" | "rolled-back" | "rejected" | undefined;
  lastReason: string | undefined;
  lastVersion: string | undefined;
  securityCounter: number;
  sequenceFloor: number;
  keySetVersion: number;
}

export interface OtaCounters {
  offers: number;
  rejected: number;
  confirmed: number;
  rolledBack: number;
}

type Done = (outcome: { code: number; detail?: string }) => void;
/** firmware/uplink/messages.ts ResultCode: ok, rejected. */
const OK = 0;
const REJECTED = 1;
/** Download events at every tenth of the image. */
const PROGRESS_STEPS = 10;
const WINDOW_CHECK_MS = 60_000;

export class OtaUpdater {
  readonly counters: OtaCounters = { offers: 0, rejected: 0, confirmed: 0, rolledBack: 0 };
  readonly #o: OtaUpdaterOptions;
  readonly #state: OtaState;
  #keys: KeySet;
  #keyIds: Uint8Array[];
  #verifying = false;
  #download: Download | undefined;
  #downloadCounters: DownloadCounters | undefined;
  /** The update in progress, as persisted. */
  #update: UpdateRecord | undefined;
  #reported = 0;
  #timer: TimerId | undefined;
  /** The trial of the running image, when it runs one. */
  #trial: { record: UpdateRecord | undefined; deadline: number } | undefined;
  /** A key-rotation package's key set, checked, installed once the download completes. */
  #nextKeys: KeySet | undefined;

  constructor(o: OtaUpdaterOptions) {
    this.#o = o;
    this.#state = new OtaState(o.journal, StateLayout.ota.base);
    this.#keys = this.#state.keySet ?? o.releaseKeys;
    this.#keyIds = keyIds(this.#keys.keys, o.crypto);
    this.#update = this.#state.update;
  }

  /** At boot: follows up what the journal says (a download to resume, a switch, a trial, a rollback). */
  start(): void {
    const u = this.#update;
    const slots = this.#o.slots;
    const running = slots.running();
    if (!u) {
      // No record, yet an image on trial (the record was lost): it still has to prove itself.
      if (running.state === "pending-verify") this.#startTrial(undefined);
      return;
    }
    switch (u.phase) {
      case Phase.downloading:
        return this.#resume(u, undefined);
      case Phase.verified:
        return this.#waitForWindow();
      default: {
        const isNew = packVersion(running.version ?? "") === u.version && running.state !== "none";
        if (isNew && u.phase === Phase.failed) return slots.rollback();
        if (isNew && running.state === "valid") return this.#confirmed(u);
        if (isNew) return this.#startTrial(u);
        // The previous image runs: the new one never ran, or ran and was rolled back.
        const ran = u.phase !== Phase.switching || slots.inactive().state === "aborted";
        const reason = u.phase === Phase.failed ? u.reason : ran ? resetReason(this.#o.resetReason) : OtaReason.notBooted;
        this.counters.rolledBack++;
        this.#finish(u, Outcome.rolledBack, reason);
        this.#o.raise(EventType.otaRolledBack, reason);
      }
    }
  }

  /**
   * An offer from the head-end (the `update` command): the package's signed head and the switch
   * window. `done` runs once the head is judged (seconds: its signatures are checked off the main loop).
   */
  offer(headBytes: Uint8Array, window: SwitchWindow | undefined, done: Done): void {
    this.counters.offers++;
    // Judged in a turn of its own: the command's turn has opened its envelope already.
    const bytes = headBytes.slice();
    this.#o.timers.set(() => this.#judgeOffer(bytes, window, done), 0);
  }

  #judgeOffer(headBytes: Uint8Array, window: SwitchWindow | undefined, done: Done): void {
    const head = parseHead(headBytes);
    if (typeof head === "number") return this.#refuse(head, done);
    const digest = this.#digest(head.signed);
    const u = this.#update;
    if (u && samePackage(u.packageId, digest)) {
      // The same package again (the head-end retries): it goes on; the window may change.
      if (u.phase <= Phase.verified) {
        u.windowFromMin = window?.fromMin ?? ANY_TIME;
        u.windowToMin = window?.toMin ?? ANY_TIME;
        this.#state.setUpdate(u);
      }
      this.#download?.linkUp();
      return done({ code: OK, detail: "in progress" });
    }
    if (u || this.#verifying || this.#trial) return this.#refuse(OtaReason.busy, done);
    const last = this.#state.outcome;
    if (last && last.outcome === Outcome.rolledBack && isImageFailure(last.reason) && samePackage(last.packageId, digest)) return this.#refuse(OtaReason.failedBefore, done);
    this.#verifying = true;
    checkSignatures(head, this.#keys, this.#keyIds, this.#o.crypto, this.#o.timers, (bad) => {
      this.#verifying = false;
      const reason = bad ?? policyReason(head, this.#judge(undefined));
      if (reason !== undefined) return this.#refuse(reason, done);
      this.#accept(head, digest, window);
      done({ code: OK, detail: "accepted" });
    });
  }

  /** A frame from the `ota` topic. */
  frame(bytes: Uint8Array): void {
    this.#download?.frame(bytes);
  }

  /** The uplink is connected (again): outstanding requests go out at once. */
  linkUp(): void {
    this.#download?.linkUp();
  }

  status(): OtaStatus {
    const running = this.#o.slots.running();
    const u = this.#update;
    const d = this.#download;
    const last = this.#state.outcome;
    let state: OtaStateName = "idle";
    if (this.#trial) state = "testing";
    else if (this.#verifying) state = "verifying";
    else if (d) state = d.step === "check" ? "checking" : "downloading";
    else if (u?.phase === Phase.verified) state = "waiting";
    else if (u?.phase === Phase.switching) state = "switching";
    const total = u?.imageLength ?? 0;
    return {
      state,
      runningVersion: running.version ?? "",
      runningSlot: running.label,
      runningSlotState: running.state,
      targetVersion: u && u.kind === PackageKind.image ? unpackVersion(u.version) : undefined,
      bytesDone: u?.phase === Phase.verified || u?.phase === Phase.switching ? total : Math.min(total, this.#state.progress * this.#o.slots.blockSize),
      bytesTotal: total,
      lastOutcome: last ? (last.outcome === Outcome.confirmed ? "confirmed" : last.outcome === Outcome.rolledBack ? "rolled-back" : "rejected") : undefined,
      lastReason: last && last.outcome !== Outcome.confirmed ? reasonName(last.reason) : undefined,
      lastVersion: last ? unpackVersion(last.version) : undefined,
      securityCounter: Math.max(0, this.#state.securityCounter.value),
      sequenceFloor: Math.max(0, this.#state.sequenceFloor.value),
      keySetVersion: this.#keys.version,
    };
  }

  /** The download's counters (frames, requests, time-outs, re-fetches), of this boot. */
  get downloadCounters(): DownloadCounters | undefined {
    return this.#download?.counters ?? this.#downloadCounters;
  }

  // ---- offers ----

  #digest(signed: Uint8Array): Uint8Array {
    const h = this.#o.crypto.sha256();
    h.update(signed.subarray(0, SIGNED_BYTES));
    return h.digest();
  }

  #judge(inProgress: number | undefined) {
    const wall = this.#o.wallClock;
    return {
      hardwareId: this.#o.hardwareId,
      nowS: wall.valid ? Math.floor(wall.now() / 1000) : undefined,
      securityCounter: Math.max(0, this.#state.securityCounter.value),
      sequenceFloor: Math.max(0, this.#state.sequenceFloor.value),
      inProgress,
      capacity: this.#o.slots.capacity,
      blockSize: this.#o.slots.blockSize,
      keySetVersion: this.#keys.version,
    };
  }

  #refuse(reason: OtaReason, done: Done): void {
    this.counters.rejected++;
    this.#o.raise(EventType.otaRejected, reason);
    done({ code: REJECTED, detail: reasonName(reason) });
  }

  #accept(head: PackageHead, digest: Uint8Array, window: SwitchWindow | undefined): void {
    const running = this.#o.slots.running();
    const u: UpdateRecord = {
      phase: Phase.downloading,
      reason: 0,
      kind: head.kind,
      packageId: packageIdOf(digest),
      signedSha256: digest,
      sequence: head.sequence,
      securityCounter: head.securityCounter,
      version: Math.max(0, packVersion(head.version)),
      previousVersion: Math.max(0, packVersion(running.version ?? "")),
      imageLength: head.imageLength,
      windowFromMin: window?.fromMin ?? ANY_TIME,
      windowToMin: window?.toMin ?? ANY_TIME,
    };
    this.#state.setUpdate(u, 0);
    this.#update = u;
    this.#o.raise(EventType.otaDownload, 0);
    this.#resume(u, head);
  }

  /** Fetches what the slot lacks: from the head (after a reboot) or from the table (a new offer). */
  #resume(u: UpdateRecord, head: PackageHead | undefined): void {
    this.#reported = Math.floor((this.#state.progress * this.#o.slots.blockSize * PROGRESS_STEPS) / Math.max(1, u.imageLength));
    if (!head && this.#state.progress > 0) this.#o.raise(EventType.otaDownload, Math.min(u.imageLength, this.#state.progress * this.#o.slots.blockSize));
    const o = this.#o;
    const d = new Download(
      {
        timers: o.timers,
        clock: o.clock,
        crypto: o.crypto,
        inflater: o.inflater,
        slots: o.slots,
        state: this.#state,
        unitId: o.concentratorId,
        send: (r) => o.send(r),
        headFetched: (h) => policyReason(h, this.#judge(u.sequence)),
        keysFetched: (table) => this.#checkKeys(table, u.sequence),
        progress: (bytes) => this.#progress(u, bytes),
        complete: () => this.#downloaded(u, d),
        failed: (reason) => {
          this.#endDownload(d);
          this.#finish(u, Outcome.rejected, reason);
          this.counters.rejected++;
          this.#o.raise(EventType.otaRejected, reason);
        },
      },
      u,
      head,
      o,
    );
    this.#download = d;
    d.start();
  }

  #endDownload(d: Download): void {
    this.#downloadCounters = d.counters;
    if (this.#download === d) this.#download = undefined;
  }

  #progress(u: UpdateRecord, bytes: number): void {
    const step = Math.floor((bytes * PROGRESS_STEPS) / Math.max(1, u.imageLength));
    if (step <= this.#reported) return;
    this.#reported = step;
    this.#o.raise(EventType.otaDownload, bytes);
  }

  /** A key-rotation package's table: the next key set, of the version its head names. */
  #checkKeys(table: Uint8Array, version: number): OtaReason | undefined {
    const next = decodeKeySet(table);
    if (!next || next.version !== version) return OtaReason.malformed;
    if (next.version !== this.#keys.version + 1) return OtaReason.replayed;
    this.#nextKeys = next;
    return undefined;
  }

  #downloaded(u: UpdateRecord, d: Download): void {
    this.#endDownload(d);
    const head = d.head!;
    if (u.kind === PackageKind.keys) {
      // The table was checked against the head's SHA-256 and by #checkKeys.
      const next = this.#nextKeys!;
      this.#nextKeys = undefined;
      this.#state.setKeySet(next);
      this.#keys = next;
      this.#keyIds = keyIds(next.keys, this.#o.crypto);
      this.#finish(u, Outcome.confirmed, 0, next.version);
      this.counters.confirmed++;
      this.#o.raise(EventType.otaConfirmed, next.version);
      return;
    }
    // The image's own descriptor must say what the head says.
    if (this.#o.slots.inactive().version !== head.version) {
      this.#finish(u, Outcome.rejected, OtaReason.versionMismatch);
      this.counters.rejected++;
      this.#o.raise(EventType.otaRejected, OtaReason.versionMismatch);
      return;
    }
    u.phase = Phase.verified;
    this.#state.setUpdate(u);
    this.#o.raise(EventType.otaVerified, u.imageLength);
    this.#waitForWindow();
  }

  // ---- the switch ----

  #waitForWindow(): void {
    if (this.#timer !== undefined) this.#o.timers.clear(this.#timer);
    this.#timer = undefined;
    if (this.#inWindow()) return this.#switch();
    this.#timer = this.#o.timers.set(() => {
      this.#timer = undefined;
      this.#waitForWindow();
    }, WINDOW_CHECK_MS);
  }

  /** In the offer's window, by the site's local time; any time without one, or without a wall clock. */
  #inWindow(): boolean {
    const u = this.#update!;
    const wall = this.#o.wallClock;
    if (u.windowFromMin === ANY_TIME || u.windowFromMin === u.windowToMin || !wall.valid) return true;
    const minute = (((Math.floor(wall.now() / 60_000) + this.#o.utcOffsetMin()) % 1440) + 1440) % 1440;
    const { windowFromMin: from, windowToMin: to } = u;
    return from < to ? minute >= from && minute < to : minute >= from || minute < to;
  }

  #switch(): void {
    const u = this.#update!;
    u.phase = Phase.switching;
    this.#state.setUpdate(u);
    try {
      this.#o.slots.select(u.imageLength);
    } catch (e) {
      if (e instanceof Error && e.name === "PowerLossError") throw e;
      this.counters.rejected++;
      this.#finish(u, Outcome.rejected, OtaReason.imageCheck);
      this.#o.raise(EventType.otaRejected, OtaReason.imageCheck);
      return;
    }
    this.#o.raise(EventType.otaSwitched, u.version);
    this.#o.restart();
  }

  // ---- the new image's trial ----

  #startTrial(u: UpdateRecord | undefined): void {
    if (u && u.phase !== Phase.testing) {
      u.phase = Phase.testing;
      this.#state.setUpdate(u);
    }
    this.#trial = { record: u, deadline: this.#o.clock.now() + (this.#o.selfTestTimeoutMs ?? 20 * 60_000) };
    const poll = this.#o.selfTestPollMs ?? 5_000;
    this.#timer = this.#o.timers.set(() => this.#selfTest(), poll, poll);
  }

  #selfTest(): void {
    const t = this.#trial!;
    const p = this.#o.probes;
    const store = p.storeRecovered();
    const bus = p.busAnswered();
    const uplink = p.headendAcknowledged();
    if (store && bus && uplink) return this.#pass(t.record);
    if (store && this.#o.clock.now() < t.deadline) return;
    this.#stopTimer();
    const reason = !store ? OtaReason.selfTestStore : !bus ? OtaReason.selfTestBus : OtaReason.selfTestUplink;
    const u = t.record;
    if (u) {
      u.phase = Phase.failed;
      u.reason = reason;
      this.#state.setUpdate(u);
    }
    this.#o.slots.rollback();
  }

  #pass(u: UpdateRecord | undefined): void {
    this.#stopTimer();
    this.#trial = undefined;
    this.#o.slots.confirm();
    if (u) this.#o.timers.set(() => this.#confirmed(u), 0);
  }

  /**
   * The new image is confirmed: the counters move forward, then (next turn) the update ends. A cut
   * in between is followed up at the next boot (the running image is valid, the record says testing).
   */
  #confirmed(u: UpdateRecord): void {
    this.#state.securityCounter.accept(u.securityCounter);
    this.#state.sequenceFloor.accept(u.sequence);
    this.#o.timers.set(() => {
      this.counters.confirmed++;
      this.#finish(u, Outcome.confirmed, 0);
      this.#o.raise(EventType.otaConfirmed, u.version);
    }, 0);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) this.#o.timers.clear(this.#timer);
    this.#timer = undefined;
  }

  #finish(u: UpdateRecord, outcome: Outcome, reason: number, version = u.version): void {
    this.#state.finish({ outcome, reason, packageId: u.packageId, version });
    this.#update = undefined;
  }
}

/** Why the new image's boot ended before it confirmed itself, from the reset that ended it. */
function resetReason(r: ResetReason): OtaReason {
  switch (r) {
    case "watchdog":
      return OtaReason.watchdog;
    case "panic":
      return OtaReason.crashed;
    case "software":
      return OtaReason.restarted;
    default:
      return OtaReason.powerLost;
  }
}
