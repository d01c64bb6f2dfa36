/**
 * The head-end's side of OTA (docs/ota.md "Campaigns"): packages kept by id, campaigns that offer one
 * package to a list of concentrators, and the parts of a package served on request. Every campaign
 * and unit state is in the head-end's store (HeadendStore), written in the transaction of the message
 * that changed it, so a head-end that restarts goes on where it was.
 *
 * A unit of a campaign:
 *
 *   pending ─offer─▶ offered ─otaDownload─▶ downloading ─otaVerified─▶ verified ─otaSwitched─▶ switched
 *      ▲               │ no answer (offerTimeoutMs): offered again, up to maxAttempts, then failed        │
 *      │               ▼                                                                               ▼
 *      └── retryable rollback or refusal (power lost, not booted, restarted, busy)       confirmed | rolled-back | rejected
 *
 * Events may arrive out of order (alarms are drained first): a unit's state only moves forward
 * within an attempt, and a final state ends it. A concentrator is in at most one active campaign.
 *
 * Pure ECMAScript: it runs in the head-end service and in the simulated head-end (XS too).
 */
import { EventType, type MeterEvent } from "../../firmware/model/records.js";
import { OtaReason, PackageKind, packageIdHex, reasonName, unpackVersion } from "../../firmware/ota/format.js";
import { encodeFrame, FrameObject, Refusal, TABLE_FRAME_BYTES } from "../../firmware/ota/frames.js";
import type { CommandRequest, OtaRequestMessage, SwitchWindow, UplinkMessage } from "../../firmware/uplink/messages.js";
import { publishPacketBytes } from "../../firmware/uplink/mqtt/encode.js";
import { topicsOf } from "../../firmware/uplink/topics.js";
import { splitPackage, type PackageParts } from "../ota/package.js";
import type { Outgoing } from "./core.js";

export type UnitState = "pending" | "offered" | "downloading" | "verified" | "switched" | "confirmed" | "rolled-back" | "rejected" | "failed";

/** States that end a unit's part in its campaign. */
export const FINAL: ReadonlySet<UnitState> = new Set(["confirmed", "rolled-back", "rejected", "failed"]);
const RANK: Record<UnitState, number> = { pending: 0, offered: 1, downloading: 2, verified: 3, switched: 4, confirmed: 5, "rolled-back": 5, rejected: 5, failed: 5 };
/** Outcomes after which the same package is offered again (nothing was wrong with it). */
const RETRYABLE = new Set<number>([OtaReason.powerLost, OtaReason.notBooted, OtaReason.restarted, OtaReason.busy]);

export interface CampaignRecord {
  id: number;
  /** The package's id, 12 hexadecimal digits. */
  packageId: string;
  name: string;
  window: SwitchWindow | null;
  createdMs: number;
  state: "active" | "done";
}

export interface CampaignUnit {
  campaign: number;
  concentrator: number;
  state: UnitState;
  attempts: number;
  /** Image bytes in the unit's slot, as last reported. */
  bytes: number;
  /** Why it was refused or rolled back (OtaReason name), or why the head-end gave up. */
  reason: string | null;
  /** The last offer's command id. */
  commandId: number | null;
  /** When the last offer went out, and when the unit last changed, ms (head-end clock). */
  offeredMs: number;
  updatedMs: number;
  /** Versions before and after, as the unit reported them ("" when unknown). */
  versionBefore: string;
  versionAfter: string;
  /** The unit's own times (s since 1970) of its first download event and its verified event. */
  downloadStartS: number;
  downloadEndS: number;
}

/** What the campaigns need of the head-end's store (part of HeadendStore). */
export interface OtaStore {
  /** Keeps a package under its id; the same id again changes nothing. */
  putPackage(id: string, bytes: Uint8Array, addedAtMs: number): void;
  package(id: string): Uint8Array | undefined;
  addCampaign(c: Omit<CampaignRecord, "id">): number;
  campaigns(): CampaignRecord[];
  setCampaignState(id: number, state: CampaignRecord["state"]): void;
  campaignUnits(campaign: number): CampaignUnit[];
  /** Inserts or replaces the unit (campaign, concentrator). */
  putCampaignUnit(u: CampaignUnit): void;
  /**
   * The running version a concentrator last reported (its status's `ota.version`, packed), from the
   * database: any worker or tool may create the campaign or make the offer, not the one that took the status.
   */
  reportedVersion(concentrator: number): number | undefined;
}

export interface OtaCampaignsOptions {
  store: OtaStore;
  /** Head-end clock, ms since 1970. */
  now: () => number;
  /** An offer without any answer is made again after this, ms. Default 10 min. */
  offerTimeoutMs?: number;
  /** A download with no progress report for this long is offered again (it resumes), ms. Default 30 min. */
  stallMs?: number;
  /** Offers per unit before the head-end gives up. Default 5. */
  maxAttempts?: number;
  /** Chunks served per request at most. Default 8. */
  maxChunksPerRequest?: number;
  topicPrefix?: string;
}

export interface CampaignProgress {
  campaign: CampaignRecord;
  units: CampaignUnit[];
  /** Units in a final state. */
  finished: number;
  done: boolean;
}

export class OtaCampaigns {
  readonly #o: OtaCampaignsOptions;
  /** Parsed packages (the store keeps the bytes). */
  readonly #parts = new Map<string, PackageParts>();
  /** Bytes of the MQTT PUBLISH packets that carried frames to each concentrator (as the broker sends them at QoS 0). */
  readonly frameBytes = new Map<number, number>();

  constructor(o: OtaCampaignsOptions) {
    this.#o = o;
  }

  /**
   * Starts a campaign of `packageBytes` to `concentrators`; returns its id. Throws RangeError when a
   * concentrator is in another active campaign, or the package does not parse.
   */
  create(packageBytes: Uint8Array, concentrators: readonly number[], o: { name?: string; window?: SwitchWindow } = {}): number {
    const parts = splitPackage(packageBytes);
    const id = packageIdHex(parts.digest);
    const busy = new Set<number>();
    for (const c of this.#o.store.campaigns()) if (c.state === "active") for (const u of this.#o.store.campaignUnits(c.id)) if (!FINAL.has(u.state)) busy.add(u.concentrator);
    for (const n of concentrators) if (busy.has(n)) throw new RangeError(`concentrator ${n} is in another active campaign`);
    const now = this.#o.now();
    this.#o.store.putPackage(id, packageBytes, now);
    this.#parts.set(id, parts);
    const campaign = this.#o.store.addCampaign({ packageId: id, name: o.name ?? `${parts.head.kind === PackageKind.keys ? "keys" : parts.head.version} #${parts.head.sequence}`, window: o.window ?? null, createdMs: now, state: "active" });
    for (const concentrator of concentrators) {
      this.#o.store.putCampaignUnit({ campaign, concentrator, state: "pending", attempts: 0, bytes: 0, reason: null, commandId: null, offeredMs: 0, updatedMs: now, versionBefore: this.#versionOf(concentrator), versionAfter: "", downloadStartS: 0, downloadEndS: 0 });
    }
    return campaign;
  }

  /**
   * Offers due now: new units, offers without answer, stalled downloads, retryable outcomes. Each
   * offer is sent by `offer` (the head-end's command path), which returns the command id (undefined:
   * not sent now). Call it regularly (every minute) and after a restart.
   */
  tick(offer: (concentrator: number, request: CommandRequest) => number | undefined): void {
    const now = this.#o.now();
    const s = this.#o.store;
    for (const c of s.campaigns()) {
      if (c.state !== "active") continue;
      const parts = this.#package(c.packageId);
      let open = 0;
      for (const u of s.campaignUnits(c.id)) {
        if (FINAL.has(u.state)) continue;
        open++;
        const quiet = now - Math.max(u.offeredMs, u.updatedMs);
        const due = u.state === "pending" || (u.state === "offered" && quiet >= (this.#o.offerTimeoutMs ?? 600_000)) || (u.state === "downloading" && quiet >= (this.#o.stallMs ?? 1_800_000));
        if (!due || !parts) continue;
        if (u.attempts >= (this.#o.maxAttempts ?? 5)) {
          s.putCampaignUnit({ ...u, state: "failed", reason: "no answer", updatedMs: now });
          continue;
        }
        const commandId = offer(u.concentrator, { op: "update", head: parts.headBytes, window: c.window });
        if (commandId === undefined) continue;
        const next: CampaignUnit = { ...u, attempts: u.attempts + 1, commandId, offeredMs: now, updatedMs: now };
        if (u.state === "pending") next.state = "offered";
        if (!next.versionBefore) next.versionBefore = this.#versionOf(u.concentrator);
        s.putCampaignUnit(next);
      }
      if (open === 0) s.setCampaignState(c.id, "done");
    }
  }

  /** The frames answering a request: published on the concentrator's `ota` topic, QoS 0. */
  request(concentrator: number, m: OtaRequestMessage): Outgoing[] {
    const id = packageIdHex(m.packageId);
    const parts = this.#package(id);
    const topic = topicsOf(concentrator, this.#o.topicPrefix).ota;
    const frame = (object: FrameObject, index: number, data: Uint8Array): Outgoing => {
      const payload = encodeFrame({ object, packageId: m.packageId, index, data });
      this.frameBytes.set(concentrator, (this.frameBytes.get(concentrator) ?? 0) + publishPacketBytes(topic, payload.length, 0));
      return { topic, payload, qos: 0 };
    };
    if (!parts) return [frame(FrameObject.refused, Refusal.unknownPackage, new Uint8Array(0))];
    const out: Outgoing[] = [];
    if (m.object === FrameObject.head) out.push(frame(FrameObject.head, 0, parts.headBytes));
    else if (m.object === FrameObject.table) {
      const end = Math.min(parts.table.length, m.first + m.count);
      if (parts.table.length < parts.head.tableLength) return [frame(FrameObject.refused, Refusal.beyondEnd, new Uint8Array(0))];
      for (let at = m.first - (m.first % TABLE_FRAME_BYTES); at < end; at += TABLE_FRAME_BYTES) out.push(frame(FrameObject.table, at, parts.table.subarray(at, Math.min(parts.table.length, at + TABLE_FRAME_BYTES))));
    } else if (m.object === FrameObject.chunk && parts.chunks) {
      const t = parts.chunks;
      const last = Math.min(t.chunkCount, m.first + Math.min(m.count, this.#o.maxChunksPerRequest ?? 8));
      for (let k = m.first; k < last; k++) {
        const from = t.offset(k);
        const to = from + t.storedLength(k);
        // A truncated package: what it lacks is refused, and the unit gives up (reason truncated).
        if (to > parts.payload.length) return [...out, frame(FrameObject.refused, Refusal.beyondEnd, new Uint8Array(0))];
        out.push(frame(FrameObject.chunk, k, parts.payload.subarray(from, to)));
      }
    } else out.push(frame(FrameObject.refused, Refusal.beyondEnd, new Uint8Array(0)));
    return out;
  }

  /** A message the head-end stored from a concentrator: OTA events move its units. */
  observe(concentrator: number, m: UplinkMessage): void {
    if (m.kind !== "events") return;
    for (const { event } of m.events) if (event.type >= EventType.otaDownload && event.type <= EventType.otaRejected) this.#event(concentrator, event);
  }

  /** Every campaign with its units (the CLI's table, the site report). */
  progress(): CampaignProgress[] {
    return this.#o.store.campaigns().map((campaign) => {
      const units = this.#o.store.campaignUnits(campaign.id);
      const finished = units.filter((u) => FINAL.has(u.state)).length;
      return { campaign, units, finished, done: finished === units.length };
    });
  }

  #package(id: string): PackageParts | undefined {
    let p = this.#parts.get(id);
    if (p) return p;
    const bytes = this.#o.store.package(id);
    if (!bytes) return undefined;
    p = splitPackage(bytes);
    this.#parts.set(id, p);
    return p;
  }

  #versionOf(concentrator: number): string {
    const v = this.#o.store.reportedVersion(concentrator);
    return v === undefined ? "" : unpackVersion(v);
  }

  /** The unit of `concentrator` in an active campaign, and that campaign, if any. */
  #unit(concentrator: number): { campaign: CampaignRecord; unit: CampaignUnit } | undefined {
    for (const campaign of this.#o.store.campaigns()) {
      if (campaign.state !== "active") continue;
      const unit = this.#o.store.campaignUnits(campaign.id).find((x) => x.concentrator === concentrator && !FINAL.has(x.state));
      if (unit) return { campaign, unit };
    }
    return undefined;
  }

  #event(concentrator: number, e: MeterEvent): void {
    const found = this.#unit(concentrator);
    if (!found || found.unit.state === "pending") return;
    const u = found.unit;
    const now = this.#o.now();
    const next: CampaignUnit = { ...u, updatedMs: now };
    const move = (state: UnitState) => {
      if (RANK[state] >= RANK[next.state]) next.state = state;
    };
    switch (e.type) {
      case EventType.otaDownload:
        move("downloading");
        next.bytes = Math.max(next.bytes, e.detail);
        if (e.detail === 0 || !next.downloadStartS) next.downloadStartS = e.time;
        break;
      case EventType.otaVerified:
        move("verified");
        next.bytes = e.detail;
        next.downloadEndS = e.time;
        break;
      case EventType.otaSwitched:
        move("switched");
        break;
      case EventType.otaConfirmed:
        next.state = "confirmed";
        next.versionAfter = this.#package(found.campaign.packageId)?.head.kind === PackageKind.keys ? `key set ${e.detail}` : unpackVersion(e.detail);
        break;
      case EventType.otaRolledBack:
      case EventType.otaRejected: {
        next.reason = reasonName(e.detail);
        next.state = e.type === EventType.otaRolledBack ? "rolled-back" : "rejected";
        if (RETRYABLE.has(e.detail)) next.state = "pending";
        break;
      }
    }
    this.#o.store.putCampaignUnit(next);
  }
}

