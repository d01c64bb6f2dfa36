/**
 * The OTA tables' rows (migrations 001 for SQLite, 004 for PostgreSQL: the same columns) as the
 * campaign records of ota-campaign.ts, and back: one mapping for both stores.
 */
import type { CampaignRecord, CampaignUnit } from "./ota-campaign.js";

export interface CampaignRow {
  id: number;
  package: string;
  name: string;
  window_from: number | null;
  window_to: number | null;
  created_ms: number;
  state: CampaignRecord["state"];
}

export interface UnitRow {
  campaign: number;
  concentrator: number;
  state: CampaignUnit["state"];
  attempts: number;
  bytes: number;
  reason: string | null;
  command: number | null;
  offered_ms: number;
  updated_ms: number;
  version_before: string;
  version_after: string;
  download_start_s: number;
  download_end_s: number;
}

export function campaignOfRow(r: CampaignRow): CampaignRecord {
  return {
    id: r.id,
    packageId: r.package,
    name: r.name,
    window: r.window_from === null || r.window_to === null ? null : { fromMin: r.window_from, toMin: r.window_to },
    createdMs: r.created_ms,
    state: r.state,
  };
}

/** A campaign's columns in table order after its id: package, name, window_from, window_to, created_ms, state. */
export function campaignColumns(c: Omit<CampaignRecord, "id">): [string, string, number | null, number | null, number, string] {
  return [c.packageId, c.name, c.window?.fromMin ?? null, c.window?.toMin ?? null, c.createdMs, c.state];
}

export function unitOfRow(r: UnitRow): CampaignUnit {
  return {
    campaign: r.campaign,
    concentrator: r.concentrator,
    state: r.state,
    attempts: r.attempts,
    bytes: r.bytes,
    reason: r.reason,
    commandId: r.command,
    offeredMs: r.offered_ms,
    updatedMs: r.updated_ms,
    versionBefore: r.version_before,
    versionAfter: r.version_after,
    downloadStartS: r.download_start_s,
    downloadEndS: r.download_end_s,
  };
}

/** A unit's 13 columns in table order. */
export function unitColumns(u: CampaignUnit): Array<string | number | null> {
  return [u.campaign, u.concentrator, u.state, u.attempts, u.bytes, u.reason, u.commandId, u.offeredMs, u.updatedMs, u.versionBefore, u.versionAfter, u.downloadStartS, u.downloadEndS];
}
