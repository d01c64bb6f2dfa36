/**
 * The head-end's database on SQLite (better-sqlite3 12). Writes are idempotent: readings are keyed by
 * (concentrator, meter, register, time), events by (concentrator, seq), a command keeps its first
 * result; so a message delivered twice changes nothing (readings that arrive again are counted). Transactions are IMMEDIATE, so the service
 * and a CLI process sharing the file never interleave a counter's read and write. The schema is the
 * numbered migrations (migrations.ts), applied when the store opens.
 */
import Database from "better-sqlite3";
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import type { CommandRequest, CommandResult, StatusMessage } from "../../firmware/uplink/messages.js";
import type { CounterStore } from "../../firmware/uplink/ports.js";
import type { HeadendStore, Rejection } from "./core.js";
import { MIGRATION_TABLE, migrationsFor } from "./migrations.js";
import type { CampaignRecord, CampaignUnit, OtaStore } from "./ota-campaign.js";
import { campaignColumns, campaignOfRow, type CampaignRow, unitColumns, unitOfRow, type UnitRow } from "./ota-rows.js";


/** Rejections of messages whose concentrator is unknown are filed under this id. */
export const UNKNOWN_CONCENTRATOR = -1;

export interface Gap {
  meter: number;
  register: number;
  /** Last time present before the gap, and first time after it, s since 1970. */
  after: number;
  before: number;
  missing: number;
}

export class SqliteHeadendStore implements HeadendStore, OtaStore {
  readonly db: Database.Database;
  readonly #s;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL"); // an acknowledgement promises durability
    this.db.pragma("busy_timeout = 5000");
    this.#migrate();
    const p = (sql: string) => this.db.prepare(sql);
    this.#s = {
      channelInit: p("INSERT OR IGNORE INTO channel (concentrator) VALUES (?)"),
      reserve: p("SELECT send_reserve AS v FROM channel WHERE concentrator = ?"),
      setReserve: p("UPDATE channel SET send_reserve = ? WHERE concentrator = ?"),
      accepted: p("SELECT last_accepted AS v FROM channel WHERE concentrator = ?"),
      setAccepted: p("UPDATE channel SET last_accepted = ? WHERE concentrator = ?"),
      below: p("SELECT accepted_below AS v FROM channel WHERE concentrator = ?"),
      setBelow: p("UPDATE channel SET accepted_below = ? WHERE concentrator = ?"),
      reading: p("INSERT OR IGNORE INTO reading VALUES (?, ?, ?, ?, ?, ?, ?)"),
      duplicate: p("INSERT INTO duplicate VALUES (?, ?) ON CONFLICT (concentrator) DO UPDATE SET readings = readings + excluded.readings"),
      event: p("INSERT OR IGNORE INTO event VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      result: p("UPDATE command SET result_code = ?, result_detail = ?, result_ms = ? WHERE id = ? AND concentrator = ? AND result_code IS NULL"),
      status: p("INSERT OR REPLACE INTO status VALUES (?, ?, ?, ?, ?)"),
      reportedVersion: p(`SELECT json_extract(counters, '$."ota.version"') AS v FROM status WHERE concentrator = ?`),
      command: p("INSERT INTO command (concentrator, op, args, issued_ms) VALUES (?, ?, ?, ?)"),
      reject: p("INSERT INTO rejection VALUES (?, ?, 1) ON CONFLICT (concentrator, reason) DO UPDATE SET count = count + 1"),
      putPackage: p("INSERT OR IGNORE INTO ota_package VALUES (?, ?, ?)"),
      package: p("SELECT bytes FROM ota_package WHERE id = ?"),
      addCampaign: p("INSERT INTO ota_campaign (package, name, window_from, window_to, created_ms, state) VALUES (?, ?, ?, ?, ?, ?)"),
      campaigns: p("SELECT id, package, name, window_from, window_to, created_ms, state FROM ota_campaign ORDER BY id"),
      campaignState: p("UPDATE ota_campaign SET state = ? WHERE id = ?"),
      units: p("SELECT * FROM ota_unit WHERE campaign = ? ORDER BY concentrator"),
      putUnit: p("INSERT OR REPLACE INTO ota_unit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
    };
  }

  /** Applies the migrations this database has not had yet (each in one transaction). */
  #migrate(): void {
    this.db.exec(MIGRATION_TABLE);
    const applied = this.db.prepare("SELECT 1 FROM schema_migration WHERE version = ?");
    for (const m of migrationsFor("sqlite")) {
      this.db
        .transaction(() => {
          if (applied.get(m.version)) return; // also when another process sharing the file applied it first
          this.db.exec(m.sql);
          this.db.prepare("INSERT INTO schema_migration VALUES (?, ?, ?)").run(m.version, m.name, Date.now());
        })
        .immediate();
    }
  }

  /** The migrations applied to this database, in order. */
  migrations(): Array<{ version: number; name: string }> {
    return this.db.prepare("SELECT version, name FROM schema_migration ORDER BY version").all() as never;
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  counters(concentrator: number): CounterStore {
    const s = this.#s;
    s.channelInit.run(concentrator);
    const get = (st: Database.Statement) => (st.get(concentrator) as { v: number }).v;
    return {
      loadSendReserve: () => get(s.reserve),
      saveSendReserve: (v) => void s.setReserve.run(v, concentrator),
      loadLastAccepted: () => get(s.accepted),
      saveLastAccepted: (v) => void s.setAccepted.run(v, concentrator),
      loadAcceptedBelow: () => get(s.below),
      saveAcceptedBelow: (v) => void s.setBelow.run(v, concentrator),
    };
  }

  putReadings(concentrator: number, readings: readonly Reading[], receivedAtMs: number): void {
    let again = 0;
    for (const r of readings) if (this.#s.reading.run(concentrator, r.meter, r.register, r.time, r.value, r.status, receivedAtMs).changes === 0) again++;
    if (again > 0) this.#s.duplicate.run(concentrator, again);
  }

  putEvents(concentrator: number, events: ReadonlyArray<{ seq: number; event: MeterEvent }>, receivedAtMs: number): void {
    for (const { seq, event: e } of events) this.#s.event.run(concentrator, seq, e.type, e.subject, e.time, e.detail, e.alarm ? 1 : 0, receivedAtMs);
  }

  putResult(concentrator: number, _seq: number, result: CommandResult, receivedAtMs: number): void {
    const detail = result.readings ? JSON.stringify(result.readings) : result.detail === undefined ? null : JSON.stringify(result.detail);
    this.#s.result.run(result.code, detail, receivedAtMs, result.commandId, concentrator);
  }

  putStatus(concentrator: number, m: StatusMessage, receivedAtMs: number): void {
    this.#s.status.run(concentrator, m.time, m.uptimeS, JSON.stringify(m.counters), receivedAtMs);
  }

  addCommand(concentrator: number, command: CommandRequest, issuedAtMs: number): number {
    const { op, ...args } = command;
    return Number(this.#s.command.run(concentrator, op, JSON.stringify(args), issuedAtMs).lastInsertRowid);
  }

  countRejection(concentrator: number | undefined, reason: Rejection): void {
    this.#s.reject.run(concentrator ?? UNKNOWN_CONCENTRATOR, reason);
  }

  // --- OTA (tools/headend/ota-campaign.ts) ------------------------------------------------------------

  putPackage(id: string, bytes: Uint8Array, addedAtMs: number): void {
    this.#s.putPackage.run(id, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), addedAtMs);
  }

  package(id: string): Uint8Array | undefined {
    const row = this.#s.package.get(id) as { bytes: Buffer } | undefined;
    return row ? new Uint8Array(row.bytes) : undefined;
  }

  addCampaign(c: Omit<CampaignRecord, "id">): number {
    return Number(this.#s.addCampaign.run(...campaignColumns(c)).lastInsertRowid);
  }

  campaigns(): CampaignRecord[] {
    return (this.#s.campaigns.all() as CampaignRow[]).map(campaignOfRow);
  }

  setCampaignState(id: number, state: CampaignRecord["state"]): void {
    this.#s.campaignState.run(state, id);
  }

  campaignUnits(campaign: number): CampaignUnit[] {
    return (this.#s.units.all(campaign) as UnitRow[]).map(unitOfRow);
  }

  putCampaignUnit(u: CampaignUnit): void {
    this.#s.putUnit.run(...unitColumns(u));
  }

  reportedVersion(concentrator: number): number | undefined {
    const row = this.#s.reportedVersion.get(concentrator) as { v: number | null } | undefined;
    return row?.v ?? undefined;
  }

  // --- reports ---------------------------------------------------------------------------------------

  /** The newest reading of every (meter, register) of a concentrator. */
  latest(concentrator: number): Reading[] {
    return this.db
      .prepare(
        `SELECT meter, register, MAX(time) AS time, value, status FROM reading WHERE concentrator = ?
         GROUP BY meter, register ORDER BY meter, register`,
      )
      .all(concentrator) as Reading[];
  }

  /** Holes in each series longer than `stepS` (a 15-minute load profile: 900). */
  gaps(concentrator: number, stepS = 900): Gap[] {
    return this.db
      .prepare(
        `SELECT meter, register, prev AS after, time AS before, (time - prev) / ? - 1 AS missing FROM (
           SELECT meter, register, time, LAG(time) OVER (PARTITION BY meter, register ORDER BY time) AS prev
           FROM reading WHERE concentrator = ?)
         WHERE prev IS NOT NULL AND time - prev > ? ORDER BY meter, register, after`,
      )
      .all(stepS, concentrator, stepS) as Gap[];
  }

  alarms(concentrator: number, limit = 100): Array<MeterEvent & { seq: number }> {
    return (
      this.db
        .prepare("SELECT seq, type, subject, time, detail, alarm FROM event WHERE concentrator = ? AND alarm = 1 ORDER BY time DESC, seq DESC LIMIT ?")
        .all(concentrator, limit) as Array<Omit<MeterEvent, "alarm"> & { seq: number }>
    ).map((e) => ({ ...e, alarm: true }));
  }

  commands(concentrator: number, limit = 100): Array<{ id: number; op: string; args: string; issued_ms: number; result_code: number | null; result_detail: string | null }> {
    return this.db.prepare("SELECT id, op, args, issued_ms, result_code, result_detail FROM command WHERE concentrator = ? ORDER BY id DESC LIMIT ?").all(concentrator, limit) as never;
  }

  /** Rejected messages by reason (UNKNOWN_CONCENTRATOR for those naming no known concentrator). */
  rejections(): Array<{ concentrator: number; reason: string; count: number }> {
    return this.db.prepare("SELECT concentrator, reason, count FROM rejection ORDER BY concentrator, reason").all() as never;
  }

  /** Every reading stored for a concentrator. */
  readings(concentrator: number): Reading[] {
    return this.db.prepare("SELECT meter, register, time, value, status FROM reading WHERE concentrator = ?").all(concentrator) as Reading[];
  }

  /** Readings of a concentrator that arrived again after they were stored (and changed nothing). */
  duplicateReadings(concentrator: number): number {
    return (this.db.prepare("SELECT readings FROM duplicate WHERE concentrator = ?").get(concentrator) as { readings: number } | undefined)?.readings ?? 0;
  }

  readingCount(concentrator: number): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM reading WHERE concentrator = ?").get(concentrator) as { n: number }).n;
  }
}
