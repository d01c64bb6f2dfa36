/**
 * The head-end's database on PostgreSQL (the `pg` client), for a fleet: several workers on one or
 * many machines share it. Same keys and idempotency rules as the SQLite store (sqlite-store.ts).
 *
 * The protocol core (core.ts) is synchronous; the database is not. So each message is handled as a
 * unit of work (`unit`): BEGIN and lock the concentrator's channel row (SELECT ... FOR UPDATE: its
 * send and receive counters and its replay window); run the core against that row and a buffer of
 * writes (this class's HeadendStore methods stage into the unit); write the buffer (readings as one
 * multi-row insert from arrays) and the advanced counters; COMMIT. Only then does the caller
 * acknowledge. Two workers with messages of one concentrator take the lock in turn, so the replay
 * window is checked and advanced atomically; messages of different concentrators run in parallel.
 *
 * OTA campaigns (ota-campaign.ts, the OtaStore methods): a message's unit also reads its
 * concentrator's units in active campaigns (after the lock, and only while a campaign is active;
 * they change only under that lock), so the core follows the campaign as on SQLite. Creating a campaign, the rounds
 * of offers and progress run as a campaign unit (`campaignUnit`), one at a time across workers,
 * locking the channel rows of the concentrators it may offer to.
 *
 * Readings are partitioned by month of their time (declarative partitioning): `ensurePartitions`
 * makes the months around now ahead of time; a reading outside them goes to `reading_default`.
 * An old month leaves with `ALTER TABLE reading DETACH PARTITION reading_yYYYYmMM` (docs/headend.md).
 */
import pg from "pg";
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import type { CommandRequest, CommandResult, StatusMessage } from "../../firmware/uplink/messages.js";
import type { CounterStore } from "../../firmware/uplink/ports.js";
import type { SeqSet } from "../../firmware/uplink/seq-set.js";
import type { HeadendStore, Rejection } from "./core.js";
import { MIGRATION_TABLE, migrationsFor } from "./migrations.js";
import { type CampaignRecord, type CampaignUnit, FINAL, type OtaCampaigns, type OtaStore } from "./ota-campaign.js";
import { campaignColumns, campaignOfRow, type CampaignRow, unitColumns, unitOfRow, type UnitRow } from "./ota-rows.js";
import { UNKNOWN_CONCENTRATOR, type Gap } from "./sqlite-store.js";

/** `--db postgres` alone: the connection comes from PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD. */
export const PG_FROM_ENVIRONMENT = "postgres";

/** Whether a `--db` value names a PostgreSQL database rather than a SQLite file. */
export function isPostgres(db: string): boolean {
  return db === PG_FROM_ENVIRONMENT || /^postgres(ql)?:\/\//.test(db);
}

/** Advisory lock taken by whoever migrates or makes partitions, so workers starting together take turns. */
const SCHEMA_LOCK = 0x6d63_3137;
/** Advisory lock of campaign units: workers' offer rounds and a campaign being created take turns. */
const OTA_LOCK = 0x6d63_4f54;

/** A channel row's columns as selected. */
interface ChannelColumns {
  send_reserve: number;
  last_accepted: number;
  accepted_below: number;
  recent_acks: string;
}

function channelOf(row: ChannelColumns): ChannelRow {
  return { sendReserve: row.send_reserve, lastAccepted: row.last_accepted, acceptedBelow: row.accepted_below, recentAcks: JSON.parse(row.recent_acks) as SeqSet[] };
}

/** One channel row as locked by a unit. */
interface ChannelRow {
  sendReserve: number;
  lastAccepted: number;
  acceptedBelow: number;
  recentAcks: SeqSet[];
}

/**
 * A unit's view of the OTA campaigns (OtaStore), read when it starts, written before COMMIT. A
 * message's unit sees the active campaigns its concentrator is in and its units of them (the only
 * rows its message can change, and only under its channel row's lock); a campaign unit
 * (`campaignUnit`) sees them all.
 */
class OtaView {
  readonly concentrator: number | undefined;
  campaigns: CampaignRecord[];
  units: Map<string, CampaignUnit>;
  readonly campaignIds: number[];
  dirtyUnits = new Set<string>();
  dirtyCampaigns = new Set<number>();
  newCampaigns = new Set<number>();
  newPackages: Array<{ id: string; bytes: Uint8Array; addedAtMs: number }> = [];
  /** The running versions the concentrators in view last reported (their stored statuses). */
  readonly versions: ReadonlyMap<number, number>;

  constructor(concentrator: number | undefined, campaigns: CampaignRecord[], units: CampaignUnit[], campaignIds: number[], versions: ReadonlyMap<number, number>) {
    this.concentrator = concentrator;
    this.versions = versions;
    this.campaigns = campaigns;
    this.units = new Map(units.map((u) => [unitKey(u.campaign, u.concentrator), u]));
    this.campaignIds = campaignIds;
  }

  mark(): () => void {
    const was = { campaigns: this.campaigns.slice(), units: new Map(this.units), ids: this.campaignIds.slice(), dirtyUnits: new Set(this.dirtyUnits), dirtyCampaigns: new Set(this.dirtyCampaigns), newCampaigns: new Set(this.newCampaigns), packages: this.newPackages.length };
    return () => {
      this.campaigns = was.campaigns;
      this.units = was.units;
      this.campaignIds.splice(0, this.campaignIds.length, ...was.ids);
      this.dirtyUnits = was.dirtyUnits;
      this.dirtyCampaigns = was.dirtyCampaigns;
      this.newCampaigns = was.newCampaigns;
      this.newPackages.length = was.packages;
    };
  }
}

const unitKey = (campaign: number, concentrator: number) => `${campaign}/${concentrator}`;

/** The writes of one unit of work, staged while the core runs, written before COMMIT. */
class Unit {
  /** The channel rows this unit locked, by concentrator. */
  readonly channels: Map<number, ChannelRow>;
  readonly commandIds: number[];
  readonly ota: OtaView | undefined;
  readings: Array<{ concentrator: number; r: Reading; receivedAtMs: number }> = [];
  events: Array<{ concentrator: number; seq: number; e: MeterEvent; receivedAtMs: number }> = [];
  results: Array<{ concentrator: number; result: CommandResult; receivedAtMs: number }> = [];
  statuses: Array<{ concentrator: number; m: StatusMessage; receivedAtMs: number }> = [];
  commands: Array<{ id: number; concentrator: number; command: CommandRequest; issuedAtMs: number }> = [];
  rejections: Array<{ concentrator: number; reason: Rejection }> = [];

  constructor(channels: Map<number, ChannelRow>, commandIds: number[], ota: OtaView | undefined) {
    this.channels = channels;
    this.commandIds = commandIds;
    this.ota = ota;
  }

  /** What a failed `transaction` must undo: the lengths of the buffers, the counters, the OTA view. */
  mark(): () => void {
    const lengths = [this.readings.length, this.events.length, this.results.length, this.statuses.length, this.commands.length, this.rejections.length] as const;
    const channels = [...this.channels].map(([id, row]) => [id, { ...row, recentAcks: row.recentAcks.slice() }] as const);
    const ids = this.commandIds.slice();
    const ota = this.ota?.mark();
    return () => {
      this.readings.length = lengths[0];
      this.events.length = lengths[1];
      this.results.length = lengths[2];
      this.statuses.length = lengths[3];
      this.commands.length = lengths[4];
      this.rejections.length = lengths[5];
      for (const [id, row] of channels) Object.assign(this.channels.get(id)!, row);
      this.commandIds.splice(0, this.commandIds.length, ...ids);
      ota?.();
    };
  }
}

export interface UnitOptions {
  /** Command ids to reserve for `addCommand` inside the unit. Default 0. */
  commandIds?: number;
}

/** A connection failure (the server restarting, the network) rather than a refusal of the data. */
export function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string") return e instanceof Error && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e.message);
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "40001" || code === "40P01" || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NOTFOUND)$/.test(code) || code === "53300";
}

export class PostgresHeadendStore implements HeadendStore, OtaStore {
  readonly pool: pg.Pool;
  /** The unit whose core is running now (the core is synchronous, so at most one at a time). */
  #current: Unit | undefined;
  /** OTA packages by id, as committed (a package never changes under its id). */
  readonly #packages = new Map<string, Uint8Array>();

  private constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Connects (a pool of `connections`), applies the migrations and makes the partitions around now. */
  static async open(db: string, o: { connections?: number; now?: number; applicationName?: string } = {}): Promise<PostgresHeadendStore> {
    const int8 = (text: string) => Number(text); // counters and ids stay below 2^53
    const pool = new pg.Pool({
      ...(db === PG_FROM_ENVIRONMENT ? {} : { connectionString: db }),
      max: o.connections ?? 8,
      // pg_stat_activity names the worker (its client id) a connection belongs to.
      ...(o.applicationName ? { application_name: o.applicationName } : {}),
      connectionTimeoutMillis: 5_000,
      types: { getTypeParser: ((oid: number, format?: "text" | "binary") => (oid === 20 ? int8 : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
    });
    pool.on("error", () => undefined); // an idle connection lost (server restart): the next query connects again
    const store = new PostgresHeadendStore(pool);
    try {
      await store.migrate();
      await store.ensurePartitions(o.now ?? Date.now());
    } catch (e) {
      await pool.end();
      throw e;
    }
    return store;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Applies the migrations the database has not had yet, each in one transaction, one worker at a time. */
  async migrate(): Promise<void> {
    for (const m of migrationsFor("postgres")) {
      await this.#inTransaction(async (c) => {
        await c.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
        await c.query(MIGRATION_TABLE);
        if ((await c.query("SELECT 1 FROM schema_migration WHERE version = $1", [m.version])).rowCount) return;
        await c.query(m.sql);
        await c.query("INSERT INTO schema_migration VALUES ($1, $2, $3)", [m.version, m.name, Date.now()]);
      });
    }
  }

  async migrations(): Promise<Array<{ version: number; name: string }>> {
    return (await this.pool.query("SELECT version, name FROM schema_migration ORDER BY version")).rows;
  }

  /**
   * Makes the monthly partitions of `reading` from `monthsBack` months before `nowMs` to
   * `monthsAhead` after it (those already there are left alone). Returns the names made.
   */
  async ensurePartitions(nowMs: number, monthsBack = 1, monthsAhead = 2): Promise<string[]> {
    const made: string[] = [];
    const now = new Date(nowMs);
    await this.#inTransaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
      for (let k = -monthsBack; k <= monthsAhead; k++) {
        const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 1);
        const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k + 1, 1);
        const d = new Date(from);
        const name = `reading_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
        if ((await c.query("SELECT 1 FROM pg_class WHERE relname = $1", [name])).rowCount) continue;
        // Readings of that month that went to the default partition move into the new one (attaching
        // it fails while the default holds any). Identifiers and bounds are made from numbers here.
        const range = `FROM (${from / 1000}) TO (${to / 1000})`;
        await c.query(`CREATE TABLE ${name} (LIKE reading INCLUDING ALL)`);
        await c.query(`WITH moved AS (DELETE FROM reading_default WHERE time >= ${from / 1000} AND time < ${to / 1000} RETURNING *) INSERT INTO ${name} SELECT * FROM moved`);
        await c.query(`ALTER TABLE reading ATTACH PARTITION ${name} FOR VALUES ${range}`);
        made.push(name);
      }
    });
    return made;
  }

  async #inTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    // The server may end the connection between two queries (a restart): pg then emits "error" on
    // the client, which the pool listens to only while the client is idle.
    const lost = (e: Error) => (broken = e);
    c.on("error", lost);
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      return out;
    } catch (e) {
      await c.query("ROLLBACK").catch((rollback: Error) => (broken = rollback));
      throw e;
    } finally {
      c.off("error", lost);
      c.release(broken);
    }
  }

  /**
   * One unit of work: locks the concentrator's channel row (undefined: none, for messages that name
   * no known concentrator), runs `fn` (the core) against it synchronously, writes what it staged,
   * commits. Throws, having committed nothing, when the database fails; `isTransient` tells whether
   * trying again later may succeed.
   */
  async unit<T>(concentrator: number | undefined, fn: () => T, o: UnitOptions = {}): Promise<T> {
    return this.#inTransaction(async (c) => {
      const channels = new Map<number, ChannelRow>();
      let ota: OtaView | undefined;
      if (concentrator !== undefined) {
        // The channel row, locked, and whether any campaign is active (usually not: then no more is read).
        type Row = ChannelColumns & { campaigns: boolean };
        const lock = () =>
          c.query<Row>(
            `SELECT send_reserve, last_accepted, accepted_below, recent_acks, EXISTS (SELECT 1 FROM ota_campaign WHERE state = 'active') AS campaigns
             FROM channel WHERE concentrator = $1 FOR UPDATE`,
            [concentrator],
          );
        let rows = (await lock()).rows;
        if (rows.length === 0) {
          await c.query("INSERT INTO channel (concentrator) VALUES ($1) ON CONFLICT DO NOTHING", [concentrator]);
          rows = (await lock()).rows;
        }
        const row = rows[0]!;
        channels.set(concentrator, channelOf(row));
        // Its units are read by a statement of their own, after the lock: one that waited for the lock
        // would otherwise see them as they were when it started, before the round that held the lock
        // changed them. A campaign made active while this one waited cannot concern its message yet
        // (the concentrator has had no offer of it).
        const units = row.campaigns
          ? (await c.query<{ u: UnitRow; c: CampaignRow }>("SELECT to_json(u) AS u, to_json(k) AS c FROM ota_unit u JOIN ota_campaign k ON k.id = u.campaign WHERE u.concentrator = $1 AND k.state = 'active'", [concentrator])).rows
          : [];
        const campaigns = new Map(units.map((x) => [x.c.id, campaignOfRow(x.c)]));
        await this.#loadPackages(c, [...campaigns.values()]);
        // No versions: only a campaign unit's work (creating, offering) asks for them.
        ota = new OtaView(concentrator, [...campaigns.values()], units.map((x) => unitOfRow(x.u)), [], new Map());
      }
      const unit = new Unit(channels, await this.#reserve(c, "command", o.commandIds ?? 0), ota);
      return this.#run(c, unit, fn);
    });
  }

  /**
   * A unit over every OTA campaign (creating one, the offers due, progress): one at a time across
   * workers (an advisory lock). With `offers`, it also locks the channel rows of every concentrator
   * with an open unit in an active campaign (in concentrator order, as no message's unit locks more
   * than one) and reserves a command id for each, so `fn` may seal offers to them.
   */
  async campaignUnit<T>(fn: () => T, o: { offers?: boolean; campaignIds?: number } = {}): Promise<T> {
    let view: OtaView | undefined;
    const out = await this.#inTransaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [OTA_LOCK]);
      const channels = new Map<number, ChannelRow>();
      if (o.offers) {
        const open = `SELECT DISTINCT u.concentrator FROM ota_unit u JOIN ota_campaign k ON k.id = u.campaign WHERE k.state = 'active' AND u.state <> ALL($1)`;
        const final = [...FINAL];
        await c.query(`INSERT INTO channel (concentrator) ${open} ON CONFLICT DO NOTHING`, [final]);
        const rows = (await c.query<ChannelColumns & { concentrator: number }>(`SELECT concentrator, send_reserve, last_accepted, accepted_below, recent_acks FROM channel WHERE concentrator IN (${open}) ORDER BY concentrator FOR UPDATE`, [final])).rows;
        for (const row of rows) channels.set(row.concentrator, channelOf(row));
      }
      // Read after the locks: no message's unit can change these concentrators' units now.
      const campaigns = (await c.query<CampaignRow>("SELECT * FROM ota_campaign ORDER BY id")).rows.map(campaignOfRow);
      const units = (await c.query<UnitRow>("SELECT * FROM ota_unit ORDER BY campaign, concentrator")).rows.map(unitOfRow);
      await this.#loadPackages(c, campaigns);
      view = new OtaView(undefined, campaigns, units, await this.#reserve(c, "ota_campaign", o.campaignIds ?? 0), await this.#versions(c));
      return this.#run(c, new Unit(channels, await this.#reserve(c, "command", channels.size), view), fn);
    });
    for (const p of view?.newPackages ?? []) this.#packages.set(p.id, p.bytes); // committed
    return out;
  }

  /** The running versions reported in the stored statuses. */
  async #versions(c: pg.PoolClient): Promise<Map<number, number>> {
    const q = `SELECT concentrator, (counters::jsonb ->> 'ota.version')::bigint AS v FROM status WHERE counters::jsonb ? 'ota.version'`;
    return new Map((await c.query<{ concentrator: string; v: string }>(q)).rows.map((r) => [Number(r.concentrator), Number(r.v)]));
  }

  /** Creates a campaign through `ota` in a campaign unit of its own, with the one campaign id it needs reserved. */
  createCampaign(ota: OtaCampaigns, ...args: Parameters<OtaCampaigns["create"]>): Promise<number> {
    return this.campaignUnit(() => ota.create(...args), { campaignIds: 1 });
  }

  /** Runs the core against a unit (synchronously, so one unit at a time), then writes what it staged. */
  async #run<T>(c: pg.PoolClient, unit: Unit, fn: () => T): Promise<T> {
    this.#current = unit;
    let out: T;
    try {
      out = fn();
    } finally {
      this.#current = undefined;
    }
    await this.#write(c, unit);
    return out;
  }

  /** `n` ids of a table's serial column, reserved now (unused ones are skipped, as sequences do). */
  async #reserve(c: pg.PoolClient, table: "command" | "ota_campaign", n: number): Promise<number[]> {
    if (n === 0) return [];
    return (await c.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('${table}', 'id')) AS id FROM generate_series(1, $1)`, [n])).rows.map((r) => r.id);
  }

  /**
   * Packages of these campaigns not in this process's cache (a package never changes under its id).
   * A message's unit has those of its concentrator's active campaigns: a request for another package
   * is answered "unknown package", as no active campaign offered it to that concentrator.
   */
  async #loadPackages(c: pg.PoolClient, campaigns: CampaignRecord[]): Promise<void> {
    const missing = [...new Set(campaigns.map((x) => x.packageId))].filter((id) => !this.#packages.has(id));
    if (missing.length === 0) return;
    for (const r of (await c.query<{ id: string; bytes: Buffer }>("SELECT id, bytes FROM ota_package WHERE id = ANY($1)", [missing])).rows) this.#packages.set(r.id, new Uint8Array(r.bytes));
  }

  /** Writes a unit's staged rows and counters (inside its transaction). */
  async #write(c: pg.PoolClient, u: Unit): Promise<void> {
    for (const [concentrator, ch] of u.channels) {
      await c.query("UPDATE channel SET send_reserve = $2, last_accepted = $3, accepted_below = $4, recent_acks = $5 WHERE concentrator = $1", [concentrator, ch.sendReserve, ch.lastAccepted, ch.acceptedBelow, JSON.stringify(ch.recentAcks)]);
    }
    if (u.readings.length > 0) {
      const col = <K extends keyof Reading>(k: K) => u.readings.map((x) => x.r[k]);
      const inserted = await c.query(
        `INSERT INTO reading SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bigint[], $5::bigint[], $6::int[], $7::bigint[])
         ON CONFLICT DO NOTHING`,
        [u.readings.map((x) => x.concentrator), col("meter"), col("register"), col("time"), col("value"), col("status"), u.readings.map((x) => x.receivedAtMs)],
      );
      const again = u.readings.length - (inserted.rowCount ?? 0);
      if (again > 0) {
        await c.query("INSERT INTO duplicate VALUES ($1, $2) ON CONFLICT (concentrator) DO UPDATE SET readings = duplicate.readings + excluded.readings", [u.readings[0]!.concentrator, again]);
      }
    }
    for (const e of u.events) {
      await c.query("INSERT INTO event VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING", [e.concentrator, e.seq, e.e.type, e.e.subject, e.e.time, e.e.detail, e.e.alarm ? 1 : 0, e.receivedAtMs]);
    }
    for (const x of u.commands) {
      const { op, ...args } = x.command;
      await c.query("INSERT INTO command (id, concentrator, op, args, issued_ms) VALUES ($1, $2, $3, $4, $5)", [x.id, x.concentrator, op, JSON.stringify(args), x.issuedAtMs]);
    }
    for (const x of u.results) {
      const r = x.result;
      const detail = r.readings ? JSON.stringify(r.readings) : r.detail === undefined ? null : JSON.stringify(r.detail);
      await c.query("UPDATE command SET result_code = $1, result_detail = $2, result_ms = $3 WHERE id = $4 AND concentrator = $5 AND result_code IS NULL", [r.code, detail, x.receivedAtMs, r.commandId, x.concentrator]);
    }
    for (const s of u.statuses) {
      await c.query(
        `INSERT INTO status VALUES ($1, $2, $3, $4, $5) ON CONFLICT (concentrator)
         DO UPDATE SET time = excluded.time, uptime_s = excluded.uptime_s, counters = excluded.counters, received_ms = excluded.received_ms`,
        [s.concentrator, s.m.time, s.m.uptimeS, JSON.stringify(s.m.counters), s.receivedAtMs],
      );
    }
    for (const r of u.rejections) {
      await c.query("INSERT INTO rejection VALUES ($1, $2, 1) ON CONFLICT (concentrator, reason) DO UPDATE SET count = rejection.count + 1", [r.concentrator, r.reason]);
    }
    if (u.ota) await this.#writeOta(c, u.ota);
  }

  /** The OTA rows a unit changed: packages, then campaigns, then units (the foreign keys' order). */
  async #writeOta(c: pg.PoolClient, v: OtaView): Promise<void> {
    for (const p of v.newPackages) await c.query("INSERT INTO ota_package VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [p.id, Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength), p.addedAtMs]);
    for (const x of v.campaigns) {
      if (v.newCampaigns.has(x.id)) await c.query("INSERT INTO ota_campaign VALUES ($1, $2, $3, $4, $5, $6, $7)", [x.id, ...campaignColumns(x)]);
      else if (v.dirtyCampaigns.has(x.id)) await c.query("UPDATE ota_campaign SET state = $2 WHERE id = $1", [x.id, x.state]);
    }
    for (const key of v.dirtyUnits) {
      await c.query(
        `INSERT INTO ota_unit VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (campaign, concentrator) DO UPDATE SET
           state = excluded.state, attempts = excluded.attempts, bytes = excluded.bytes, reason = excluded.reason, command = excluded.command,
           offered_ms = excluded.offered_ms, updated_ms = excluded.updated_ms, version_before = excluded.version_before, version_after = excluded.version_after,
           download_start_s = excluded.download_start_s, download_end_s = excluded.download_end_s`,
        unitColumns(v.units.get(key)!),
      );
    }
  }

  /** The channel row of the concentrator the current unit locked. */
  #locked(concentrator: number): ChannelRow {
    const row = this.#unit().channels.get(concentrator);
    if (!row) throw new Error(`concentrator ${concentrator} is not locked by this unit`);
    return row;
  }

  #ota(): OtaView {
    const v = this.#unit().ota;
    if (!v) throw new Error("this unit has no OTA view (a message's unit with its concentrator, or campaignUnit)");
    return v;
  }

  #unit(): Unit {
    if (!this.#current) throw new Error("the PostgreSQL store is written inside unit() only");
    return this.#current;
  }

  // --- HeadendStore: what the core calls, staged into the current unit ------------------------------

  transaction<T>(fn: () => T): T {
    const undo = this.#unit().mark();
    try {
      return fn();
    } catch (e) {
      undo();
      throw e;
    }
  }

  counters(concentrator: number): CounterStore {
    // The core keeps this for the channel's life; each call finds the row of the unit running then.
    const row = () => this.#locked(concentrator);
    return {
      loadSendReserve: () => row().sendReserve,
      saveSendReserve: (v) => void (row().sendReserve = v),
      loadLastAccepted: () => row().lastAccepted,
      saveLastAccepted: (v) => void (row().lastAccepted = v),
      loadAcceptedBelow: () => row().acceptedBelow,
      saveAcceptedBelow: (v) => void (row().acceptedBelow = v),
    };
  }

  recentAcks(concentrator: number): SeqSet[] {
    return this.#locked(concentrator).recentAcks;
  }

  saveRecentAcks(concentrator: number, acks: SeqSet[]): void {
    this.#locked(concentrator).recentAcks = acks;
  }

  putReadings(concentrator: number, readings: readonly Reading[], receivedAtMs: number): void {
    const u = this.#unit();
    for (const r of readings) u.readings.push({ concentrator, r, receivedAtMs });
  }

  putEvents(concentrator: number, events: ReadonlyArray<{ seq: number; event: MeterEvent }>, receivedAtMs: number): void {
    const u = this.#unit();
    for (const { seq, event } of events) u.events.push({ concentrator, seq, e: event, receivedAtMs });
  }

  putResult(concentrator: number, _seq: number, result: CommandResult, receivedAtMs: number): void {
    this.#unit().results.push({ concentrator, result, receivedAtMs });
  }

  putStatus(concentrator: number, m: StatusMessage, receivedAtMs: number): void {
    this.#unit().statuses.push({ concentrator, m, receivedAtMs });
  }

  addCommand(concentrator: number, command: CommandRequest, issuedAtMs: number): number {
    const u = this.#unit();
    const id = u.commandIds.shift();
    if (id === undefined) throw new Error("no command id reserved for this unit (unit option commandIds)");
    u.commands.push({ id, concentrator, command, issuedAtMs });
    return id;
  }

  countRejection(concentrator: number | undefined, reason: Rejection): void {
    this.#unit().rejections.push({ concentrator: concentrator ?? UNKNOWN_CONCENTRATOR, reason });
  }

  // --- OtaStore: the current unit's view ---------------------------------------------------------------

  putPackage(id: string, bytes: Uint8Array, addedAtMs: number): void {
    if (!this.package(id)) this.#ota().newPackages.push({ id, bytes: bytes.slice(), addedAtMs });
  }

  package(id: string): Uint8Array | undefined {
    return this.#packages.get(id) ?? this.#current?.ota?.newPackages.find((p) => p.id === id)?.bytes;
  }

  addCampaign(c: Omit<CampaignRecord, "id">): number {
    const v = this.#ota();
    const id = v.campaignIds.shift();
    if (id === undefined) throw new Error("no campaign id reserved for this unit (campaignUnit option campaignIds)");
    v.campaigns = [...v.campaigns, { ...c, id }];
    v.newCampaigns.add(id);
    return id;
  }

  campaigns(): CampaignRecord[] {
    return this.#ota().campaigns.map((c) => ({ ...c }));
  }

  setCampaignState(id: number, state: CampaignRecord["state"]): void {
    const v = this.#ota();
    v.campaigns = v.campaigns.map((c) => (c.id === id ? { ...c, state } : c));
    v.dirtyCampaigns.add(id);
  }

  campaignUnits(campaign: number): CampaignUnit[] {
    return [...this.#ota().units.values()].filter((u) => u.campaign === campaign).map((u) => ({ ...u }));
  }

  putCampaignUnit(u: CampaignUnit): void {
    const v = this.#ota();
    if (v.concentrator !== undefined && u.concentrator !== v.concentrator) throw new Error(`concentrator ${u.concentrator}'s unit changed in concentrator ${v.concentrator}'s unit of work`);
    const key = unitKey(u.campaign, u.concentrator);
    v.units = new Map(v.units).set(key, { ...u });
    v.dirtyUnits.add(key);
  }

  reportedVersion(concentrator: number): number | undefined {
    // A status staged in this unit is newer than the stored one.
    const staged = this.#unit().statuses.filter((x) => x.concentrator === concentrator).at(-1)?.m.counters["ota.version"];
    return staged ?? this.#ota().versions.get(concentrator);
  }

  // --- reports (the same answers as the SQLite store's) ----------------------------------------------

  async latest(concentrator: number): Promise<Reading[]> {
    const q = `SELECT DISTINCT ON (meter, register) meter, register, time, value, status FROM reading WHERE concentrator = $1 ORDER BY meter, register, time DESC`;
    return (await this.pool.query(q, [concentrator])).rows;
  }

  async gaps(concentrator: number, stepS = 900): Promise<Gap[]> {
    const q = `SELECT meter, register, prev AS after, time AS before, (time - prev) / $1 - 1 AS missing FROM (
                 SELECT meter, register, time, LAG(time) OVER (PARTITION BY meter, register ORDER BY time) AS prev
                 FROM reading WHERE concentrator = $2) s
               WHERE prev IS NOT NULL AND time - prev > $1 ORDER BY meter, register, after`;
    return (await this.pool.query(q, [stepS, concentrator])).rows;
  }

  async alarms(concentrator: number, limit = 100): Promise<Array<MeterEvent & { seq: number }>> {
    const q = "SELECT seq, type, subject, time, detail FROM event WHERE concentrator = $1 AND alarm = 1 ORDER BY time DESC, seq DESC LIMIT $2";
    return (await this.pool.query(q, [concentrator, limit])).rows.map((e) => ({ ...e, alarm: true }));
  }

  async commands(concentrator: number, limit = 100): Promise<Array<{ id: number; op: string; args: string; issued_ms: number; result_code: number | null; result_detail: string | null }>> {
    const q = "SELECT id, op, args, issued_ms, result_code, result_detail FROM command WHERE concentrator = $1 ORDER BY id DESC LIMIT $2";
    return (await this.pool.query(q, [concentrator, limit])).rows;
  }

  async rejections(): Promise<Array<{ concentrator: number; reason: string; count: number }>> {
    return (await this.pool.query("SELECT concentrator, reason, count FROM rejection ORDER BY concentrator, reason")).rows;
  }

  async readings(concentrator: number): Promise<Reading[]> {
    return (await this.pool.query("SELECT meter, register, time, value, status FROM reading WHERE concentrator = $1", [concentrator])).rows;
  }

  async duplicateReadings(concentrator: number): Promise<number> {
    return (await this.pool.query("SELECT readings FROM duplicate WHERE concentrator = $1", [concentrator])).rows[0]?.readings ?? 0;
  }

  async readingCount(concentrator: number): Promise<number> {
    return Number((await this.pool.query("SELECT COUNT(*) AS n FROM reading WHERE concentrator = $1", [concentrator])).rows[0].n);
  }
}
