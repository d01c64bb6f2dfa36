/**
 * A HeadendStore in memory: for the simulation and the XS scenarios (pure ECMAScript). Same
 * idempotency rules as the SQLite store: readings keyed by (meter, register, time), events and
 * results by sequence number.
 */
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import type { CommandRequest, CommandResult, StatusMessage } from "../../firmware/uplink/messages.js";
import type { CounterStore } from "../../firmware/uplink/ports.js";
import type { HeadendStore, Rejection } from "./core.js";
import type { CampaignRecord, CampaignUnit, OtaStore } from "./ota-campaign.js";

export interface StoredCommand {
  id: number;
  concentrator: number;
  command: CommandRequest;
  issuedAtMs: number;
  result?: CommandResult;
}

export class MemoryHeadendStore implements HeadendStore, OtaStore {
  readonly readings = new Map<string, Reading>();
  readonly events = new Map<number, MeterEvent>();
  readonly commands: StoredCommand[] = [];
  readonly statuses: StatusMessage[] = [];
  readonly rejections: Record<string, number> = {};
  /** Duplicates that arrived and changed nothing (readings, events, results). */
  duplicates = 0;
  readonly packages = new Map<string, Uint8Array>();
  readonly #campaigns: CampaignRecord[] = [];
  readonly #units = new Map<string, CampaignUnit>();
  readonly #versions = new Map<number, number>();
  readonly #readingCounts = new Map<number, { stored: number; duplicates: number }>();
  readonly #counters = new Map<number, { send: number; accepted: number; below: number }>();

  transaction<T>(fn: () => T): T {
    return fn(); // single-threaded; nothing else can interleave
  }

  counters(concentrator: number): CounterStore {
    let c = this.#counters.get(concentrator);
    if (!c) this.#counters.set(concentrator, (c = { send: 0, accepted: 0, below: 0 }));
    const v = c;
    return {
      loadSendReserve: () => v.send,
      saveSendReserve: (x) => void (v.send = x),
      loadLastAccepted: () => v.accepted,
      saveLastAccepted: (x) => void (v.accepted = x),
      loadAcceptedBelow: () => v.below,
      saveAcceptedBelow: (x) => void (v.below = x),
    };
  }

  putReadings(concentrator: number, readings: readonly Reading[]): void {
    let n = this.#readingCounts.get(concentrator);
    if (!n) this.#readingCounts.set(concentrator, (n = { stored: 0, duplicates: 0 }));
    for (const r of readings) {
      const key = `${concentrator}/${r.meter}/${r.register}/${r.time}`;
      if (this.readings.has(key)) {
        this.duplicates++;
        n.duplicates++;
      } else {
        this.readings.set(key, r);
        n.stored++;
      }
    }
  }

  /** Every reading stored for a concentrator. */
  readingsOf(concentrator: number): Reading[] {
    const prefix = `${concentrator}/`;
    return [...this.readings].filter(([key]) => key.startsWith(prefix)).map(([, r]) => r);
  }

  /** Readings stored for a concentrator. */
  readingCount(concentrator: number): number {
    return this.#readingCounts.get(concentrator)?.stored ?? 0;
  }

  /** Readings of a concentrator that arrived again after they were stored. */
  duplicateReadings(concentrator: number): number {
    return this.#readingCounts.get(concentrator)?.duplicates ?? 0;
  }

  putEvents(_concentrator: number, events: ReadonlyArray<{ seq: number; event: MeterEvent }>): void {
    for (const e of events) {
      if (this.events.has(e.seq)) this.duplicates++;
      else this.events.set(e.seq, e.event);
    }
  }

  putResult(_concentrator: number, _seq: number, result: CommandResult): void {
    const c = this.commands.find((x) => x.id === result.commandId);
    if (!c || c.result) this.duplicates++;
    else c.result = result;
  }

  putStatus(concentrator: number, status: StatusMessage): void {
    this.statuses.push(status);
    const v = status.counters["ota.version"];
    if (v !== undefined) this.#versions.set(concentrator, v);
  }

  addCommand(concentrator: number, command: CommandRequest, issuedAtMs: number): number {
    const id = this.commands.length + 1;
    this.commands.push({ id, concentrator, command, issuedAtMs });
    return id;
  }

  countRejection(_concentrator: number | undefined, reason: Rejection): void {
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
  }

  putPackage(id: string, bytes: Uint8Array, _addedAtMs?: number): void {
    if (!this.packages.has(id)) this.packages.set(id, bytes.slice());
  }

  package(id: string): Uint8Array | undefined {
    return this.packages.get(id);
  }

  addCampaign(c: Omit<CampaignRecord, "id">): number {
    const id = this.#campaigns.length + 1;
    this.#campaigns.push({ ...c, id });
    return id;
  }

  campaigns(): CampaignRecord[] {
    return this.#campaigns.map((c) => ({ ...c }));
  }

  setCampaignState(id: number, state: CampaignRecord["state"]): void {
    const c = this.#campaigns.find((x) => x.id === id);
    if (c) c.state = state;
  }

  campaignUnits(campaign: number): CampaignUnit[] {
    return [...this.#units.values()].filter((u) => u.campaign === campaign).map((u) => ({ ...u }));
  }

  putCampaignUnit(u: CampaignUnit): void {
    this.#units.set(`${u.campaign}/${u.concentrator}`, { ...u });
  }

  reportedVersion(concentrator: number): number | undefined {
    return this.#versions.get(concentrator);
  }
}
