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
import { UNKNOWN_CONCENTRATOR, type Gap } from "./sqlite-store.js";

/** `--db postgres` alone: the connection comes from PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD. */
export const PG_FROM_ENVIRONMENT = "postgres";

/** Whether a `--db` value names a PostgreSQL database rather than a SQLite file. */
export function isPostgres(db: string): boolean {
  return db === PG_FROM_ENVIRONMENT || /^postgres(ql)?:\/\//.test(db);
}

/** Advisory lock taken by whoever migrates or makes partitions, so workers starting together take turns. */
const SCHEMA_LOCK = 0x6d63_3137;

/** One channel row as locked by a unit. */
interface ChannelRow {
  sendReserve: number;
  lastAccepted: number;
  acceptedBelow: number;
  recentAcks: SeqSet[];
}

/** The writes of one unit of work, staged while the core runs, written before COMMIT. */
class Unit {
  readonly concentrator: number | undefined;
  readonly channel: ChannelRow | undefined;
  readonly commandIds: number[];
  readings: Array<{ concentrator: number; r: Reading; receivedAtMs: number }> = [];
  events: Array<{ concentrator: number; seq: number; e: MeterEvent; receivedAtMs: number }> = [];
  results: Array<{ concentrator: number; result: CommandResult; receivedAtMs: number }> = [];
  statuses: Array<{ concentrator: number; m: StatusMessage; receivedAtMs: number }> = [];
  commands: Array<{ id: number; concentrator: number; command: CommandRequest; issuedAtMs: number }> = [];
  rejections: Array<{ concentrator: number; reason: Rejection }> = [];

  constructor(concentrator: number | undefined, channel: ChannelRow | undefined, commandIds: number[]) {
    this.concentrator = concentrator;
    this.channel = channel;
    this.commandIds = commandIds;
  }

  /** What a failed `transaction` must undo: the lengths of the buffers and the counters. */
  mark(): () => void {
    const lengths = [this.readings.length, this.events.length, this.results.length, this.statuses.length, this.commands.length, this.rejections.length] as const;
    const channel = this.channel ? { ...this.channel, recentAcks: this.channel.recentAcks.slice() } : undefined;
    const ids = this.commandIds.slice();
    return () => {
      this.readings.length = lengths[0];
      this.events.length = lengths[1];
      this.results.length = lengths[2];
      this.statuses.length = lengths[3];
      this.commands.length = lengths[4];
      this.rejections.length = lengths[5];
      if (channel && this.channel) Object.assign(this.channel, channel);
      this.commandIds.splice(0, this.commandIds.length, ...ids);
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

export class PostgresHeadendStore implements HeadendStore {
  readonly pool: pg.Pool;
  /** The unit whose core is running now (the core is synchronous, so at most one at a time). */
  #current: Unit | undefined;

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
      let channel: ChannelRow | undefined;
      if (concentrator !== undefined) {
        type Row = { send_reserve: number; last_accepted: number; accepted_below: number; recent_acks: string };
        const lock = () => c.query<Row>("SELECT send_reserve, last_accepted, accepted_below, recent_acks FROM channel WHERE concentrator = $1 FOR UPDATE", [concentrator]);
        let rows = (await lock()).rows;
        if (rows.length === 0) {
          await c.query("INSERT INTO channel (concentrator) VALUES ($1) ON CONFLICT DO NOTHING", [concentrator]);
          rows = (await lock()).rows;
        }
        const row = rows[0]!;
        channel = { sendReserve: row.send_reserve, lastAccepted: row.last_accepted, acceptedBelow: row.accepted_below, recentAcks: JSON.parse(row.recent_acks) as SeqSet[] };
      }
      const ids = o.commandIds ? (await c.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('command', 'id')) AS id FROM generate_series(1, $1)", [o.commandIds])).rows.map((r) => r.id) : [];
      const unit = new Unit(concentrator, channel, ids);
      this.#current = unit;
      let out: T;
      try {
        out = fn();
      } finally {
        this.#current = undefined;
      }
      await this.#write(c, unit);
      return out;
    });
  }

  /** Writes a unit's staged rows and counters (inside its transaction). */
  async #write(c: pg.PoolClient, u: Unit): Promise<void> {
    if (u.channel && u.concentrator !== undefined) {
      const ch = u.channel;
      await c.query("UPDATE channel SET send_reserve = $2, last_accepted = $3, accepted_below = $4, recent_acks = $5 WHERE concentrator = $1", [u.concentrator, ch.sendReserve, ch.lastAccepted, ch.acceptedBelow, JSON.stringify(ch.recentAcks)]);
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
  }

  /** The channel row of the concentrator the current unit locked. */
  #locked(concentrator: number): ChannelRow {
    const u = this.#unit();
    if (u.concentrator !== concentrator || !u.channel) throw new Error(`concentrator ${concentrator} is not locked by this unit`);
    return u.channel;
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
