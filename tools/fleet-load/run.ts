/**
 * The fleet load generator's run (tools/fleet-load.ts is its command line; the benchmark and the
 * tests call it too): the head-end (`headend serve --workers N`: a supervisor, its workers and its
 * standby; or the SQLite service), N simulated concentrators
 * (concentrator.ts) draining their backlog at once through the broker, faults at chosen seconds,
 * then a check of what the database holds against what was sent.
 *
 * Without --db/--broker it starts its own throw-away PostgreSQL cluster (tools/net/postgres.ts) and
 * Mosquitto, and removes them at the end; the database and broker faults need those.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IMPORT_TOTAL, type Reading } from "../../firmware/model/records.js";
import { deviceKeyPath, provision, readDeviceKeys } from "../headend/keyfiles.js";
import { isPostgres, PostgresHeadendStore } from "../headend/postgres-store.js";
import { SqliteHeadendStore } from "../headend/sqlite-store.js";
import { startPostgres, type Postgres } from "../net/postgres.js";
import { startMosquitto, type Broker } from "../net/servers.js";
import { FleetConcentrator } from "./concentrator.js";
import { cpuSecondsOfTree } from "./cpu.js";

export interface FleetOptions {
  concentrators: number;
  metersPer: number;
  /** Hours of 15-minute readings in each concentrator's backlog. */
  hours: number;
  workers: number;
  /** postgres://..., a SQLite file, or undefined: a throw-away PostgreSQL cluster (`sqlite`: a SQLite file here). */
  db?: string;
  sqlite?: boolean;
  /** Undefined: a throw-away Mosquitto. */
  broker?: string;
  /** MQTT connections per PostgreSQL worker. Default 4. */
  lanes?: number;
  killWorkerAtS?: number;
  restartDbAtS?: number;
  /** The broker stops one second into the run for this long (its sessions and queues lost). */
  outageS?: number;
  /** Readings per message. Default 1024. */
  perMessage?: number;
  /** Messages outstanding per concentrator. Default 4. */
  window?: number;
  ackTimeoutMs?: number;
  /** Envelopes already accepted that each concentrator sends again at the end. Default 2. */
  replaysPer?: number;
  /** Gives up waiting for the drain after this long. Default 600. */
  timeoutS?: number;
  progress?: (line: string) => void;
}

export interface FleetReport {
  database: "postgres" | "sqlite";
  concentrators: number;
  readingsSent: number;
  readingsStored: number;
  lost: number;
  /** Stored readings beyond one per (concentrator, meter, register, time), or with a value not sent. */
  duplicates: number;
  replaysSent: number;
  replaysAccepted: number;
  /** Readings sent over the time from the first publication to the last acknowledgement. */
  readingsPerSecond: number;
  p99AckMs: number;
  workers: number;
  workerKills: number;
  dbRestarts: number;
  brokerOutages: number;
  /** Readings that reached the database again after they were stored (resends; counted, changed nothing). */
  duplicateDeliveries: number;
  resentReadings: number;
  drained: boolean;
  elapsedS: number;
  /**
   * CPU seconds (Linux /proc) over the run: this process (the concentrators, and the checks), the
   * head-end's processes alive at the end (supervisor, workers, standby), the generator's own PostgreSQL (its server and living connections; 0
   * with --db).
   */
  cpuS: { generator: number; workers: number; postgres: number };
}

const CLI = fileURLToPath(new URL("../headend/cli.js", import.meta.url));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

/** What a worker prints once connected and subscribed (cli.ts serveWorker): its pid and client id prefix. */
const WORKER_READY = /^head-end worker (\d+) \((\S*?)(?:-w(\d+))?\)/;

/**
 * A head-end process (`headend serve ARGS`): the SQLite service, one worker, or a supervisor of
 * `--workers N` (its workers print to its standard output). Ready once it printed its first line,
 * or, for a supervisor, once each of its `workers` workers announced itself.
 */
export class WorkerProcess {
  readonly #args: string[];
  readonly #workers: number;
  child: ChildProcess | undefined;
  /** A supervisor's workers by slot: the pid that last announced itself. */
  readonly #slots = new Map<number, number>();
  #announced: () => void = () => undefined;
  constructor(args: string[], o: { workers?: number } = {}) {
    this.#args = args;
    this.#workers = o.workers ?? 1;
  }
  async start(): Promise<void> {
    const child = (this.child = spawn(process.execPath, [CLI, ...this.#args], { stdio: ["ignore", "pipe", "pipe"] }));
    let err = "";
    child.stderr!.on("data", (d: Buffer) => { err = (err + d.toString()).slice(-2000); if (process.env.FLEET_DEBUG) process.stderr.write(d); });
    let partial = "";
    const ready = new Promise<void>((resolve, reject) => {
      // Its log (a line per message) is read only for the workers' announcements, and must not fill the pipe.
      child.stdout!.on("data", (d: Buffer) => {
        const text = partial + d.toString();
        const all = text.split("\n");
        partial = all.pop()!;
        for (const line of all) {
          const m = WORKER_READY.exec(line);
          if (m?.[3] !== undefined) {
            this.#slots.set(Number(m[3]), Number(m[1]));
            this.#announced();
          }
          if (this.#workers === 1 || this.#slots.size >= this.#workers) resolve();
        }
      });
      child.once("exit", (code) => reject(new Error(`head-end exited (${code}): ${err}`)));
    });
    await ready;
  }
  /**
   * Kills worker `slot` with SIGKILL; resolves when the worker started again (by its supervisor, or
   * here at once for a lone worker, as the supervisor would) is connected.
   */
  async killWorker(slot: number): Promise<void> {
    if (this.#workers === 1 && this.#slots.size === 0) {
      await this.kill("SIGKILL");
      return this.start();
    }
    const pid = this.#slots.get(slot);
    if (pid === undefined) throw new Error(`no worker ${slot}`);
    const back = new Promise<void>((resolve) => {
      this.#announced = () => {
        if (this.#slots.get(slot) !== pid) resolve();
      };
    });
    process.kill(pid, "SIGKILL");
    await back;
  }
  async kill(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(signal);
    await exited;
  }
}

/** The backlog of one concentrator: `hours` of 15-minute 1.8.0 readings of each meter, ending now. */
function backlog(metersPer: number, hours: number, endS: number, id: number): Reading[] {
  const out: Reading[] = [];
  const intervals = hours * 4;
  for (let k = intervals - 1; k >= 0; k--) {
    for (let m = 1; m <= metersPer; m++) out.push({ meter: m, register: IMPORT_TOTAL, time: endS - 900 * k, value: (id % 1000) * 1_000_000 + m * 1000 + (intervals - k), status: 0 });
  }
  return out;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runFleet(o: FleetOptions): Promise<FleetReport> {
  const say = o.progress ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), "fleet-"));
  const sqlite = o.sqlite === true || (o.db !== undefined && !isPostgres(o.db));
  if (sqlite && o.workers !== 1) throw new RangeError("SQLite takes one head-end process: --workers 1");
  // Concentrator ids of this run, apart from earlier runs' on the same database.
  const base = (Math.floor(Date.now() / 1000) % 400_000) * 10_000 + 1;
  const ids = Array.from({ length: o.concentrators }, (_, i) => base + i);
  const keys = join(dir, "keys");
  provision(keys, ids);
  let broker: Broker | undefined;
  let postgres: Postgres | undefined;
  let head: WorkerProcess | undefined;
  const fleet: FleetConcentrator[] = [];
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  try {
    if (!o.broker) broker = await startMosquitto(dir);
    const brokerUrl = o.broker ?? broker!.url;
    if (!o.db && !sqlite) postgres = await startPostgres(dir);
    const db = o.db ?? (sqlite ? join(dir, "headend.sqlite") : postgres!.url);
    if ((o.restartDbAtS !== undefined && !postgres) || (o.outageS !== undefined && !broker)) throw new RangeError("--restart-db-at and --outage-s need the generator's own database and broker (no --db, no --broker)");
    // PostgreSQL: the workers under their supervisor (`serve --workers N`), which starts a killed one again.
    const args = sqlite ? ["serve", "--keys", keys, "--db", db, "--broker", brokerUrl] : ["serve", "--keys", keys, "--db", db, "--broker", brokerUrl, "--workers", String(o.workers), "--lanes", String(o.lanes ?? 4), "--group", `fleet-${base}`, "--client-id", `fleet-${base}`];
    const h = (head = new WorkerProcess(args, { workers: sqlite ? 1 : o.workers }));
    await h.start();
    say(`fleet: ${o.workers} worker(s) on ${sqlite ? "SQLite" : "PostgreSQL"}, broker ${brokerUrl}, ${o.concentrators} concentrators × ${o.metersPer} meters × ${o.hours} h`);

    const endS = Math.floor(Date.now() / 1000 / 900) * 900;
    for (const id of ids) {
      fleet.push(
        new FleetConcentrator({
          keys: readDeviceKeys(deviceKeyPath(keys, id)),
          broker: brokerUrl,
          readings: backlog(o.metersPer, o.hours, endS, id),
          perMessage: o.perMessage ?? 1024,
          window: o.window ?? 4,
          ackTimeoutMs: o.ackTimeoutMs ?? 10_000,
        }),
      );
    }
    const readingsSent = fleet.length * o.metersPer * o.hours * 4;
    let workerKills = 0;
    let dbRestarts = 0;
    let brokerOutages = 0;
    const faults: Array<Promise<void>> = [];
    const at = (s: number | undefined, what: string, fn: () => Promise<void>) => {
      if (s === undefined) return;
      const run = () => fn().then(() => say(`fleet: ${what} at ${s} s, done`), (e: Error) => say(`fleet: ${what} failed: ${e.message}`));
      timers.push(setTimeout(() => faults.push(run()), s * 1000));
    };
    at(o.killWorkerAtS, "worker 0 killed (SIGKILL) and started again by its supervisor", async () => {
      workerKills++;
      await h.killWorker(0);
    });
    at(o.restartDbAtS, "PostgreSQL restarted", async () => {
      dbRestarts++;
      await postgres!.restart("fast");
    });
    at(o.outageS === undefined ? undefined : 1, `broker down for ${o.outageS} s`, async () => {
      brokerOutages++;
      await broker!.restart((o.outageS ?? 0) * 1000);
    });

    const started = Date.now();
    const cpuStart = process.cpuUsage();
    const workersCpuStart = cpuSecondsOfTree(h.child?.pid);
    const postgresCpuStart = cpuSecondsOfTree(postgres?.pid());
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    const drained = await Promise.race([Promise.all(fleet.map((c) => c.run())).then(() => true), new Promise<false>((r) => (giveUp = setTimeout(() => r(false), (o.timeoutS ?? 600) * 1000)))]);
    clearTimeout(giveUp);
    for (const t of timers) clearTimeout(t);
    await Promise.all(faults); // a worker started again, the database or the broker back
    const firstPublish = Math.min(...fleet.map((c) => c.firstPublishMs));
    const lastAck = Math.max(...fleet.map((c) => c.lastAckMs));
    const ingestS = Math.max(0.001, (lastAck - firstPublish) / 1000);
    say(`fleet: ${drained ? "drained" : "NOT drained"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // True replays: envelopes already accepted, sent again once everything is quiet. Each one the
    // head-end took would be answered with an acknowledgement.
    await pause(1000);
    const acksBefore = fleet.reduce((n, c) => n + c.acks, 0);
    const replaysSent = fleet.reduce((n, c) => n + c.replay(o.replaysPer ?? 2), 0);
    await pause(2000);
    const replaysAccepted = fleet.reduce((n, c) => n + c.acks, 0) - acksBefore;

    const cpu = process.cpuUsage(cpuStart);
    const cpuS = {
      generator: round1((cpu.user + cpu.system) / 1e6),
      workers: round1(cpuSecondsOfTree(h.child?.pid) - workersCpuStart),
      postgres: round1(cpuSecondsOfTree(postgres?.pid()) - postgresCpuStart),
    };
    const held = await holdings(db, sqlite, base, base + ids.length - 1);
    const expected = new Map(fleet.map((c, i) => [c.id, backlogSum(o.metersPer, o.hours, endS, ids[i]!)]));
    let lost = 0;
    let duplicates = held.duplicates;
    for (const [id, want] of expected) {
      const got = held.byConcentrator.get(id) ?? { n: 0, sum: 0 };
      lost += Math.max(0, want.n - got.n);
      duplicates += Math.max(0, got.n - want.n);
      if (got.n === want.n && got.sum !== want.sum) duplicates += 1; // a value stored that was not sent
    }
    const ackMs = fleet.flatMap((c) => c.ackMs);
    return {
      database: sqlite ? "sqlite" : "postgres",
      concentrators: fleet.length,
      readingsSent,
      readingsStored: [...held.byConcentrator.values()].reduce((n, x) => n + x.n, 0),
      lost,
      duplicates,
      replaysSent,
      replaysAccepted,
      readingsPerSecond: Math.round(readingsSent / ingestS),
      p99AckMs: percentile(ackMs, 99),
      workers: o.workers,
      workerKills,
      dbRestarts,
      brokerOutages,
      duplicateDeliveries: held.duplicateDeliveries,
      resentReadings: fleet.reduce((n, c) => n + c.resentReadings, 0),
      drained,
      elapsedS: round1(ingestS),
      cpuS,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.all(fleet.map((c) => c.close()));
    await head?.kill("SIGTERM");
    await broker?.stop();
    await postgres?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The count and sum of values of one concentrator's backlog (what the database must hold). */
function backlogSum(metersPer: number, hours: number, endS: number, id: number): { n: number; sum: number } {
  const r = backlog(metersPer, hours, endS, id);
  return { n: r.length, sum: r.reduce((s, x) => s + x.value, 0) };
}

/** What the database holds for concentrators first..last: per concentrator, readings and their sum. */
async function holdings(db: string, sqlite: boolean, first: number, last: number) {
  const byConcentrator = new Map<number, { n: number; sum: number }>();
  type Row = { concentrator: number; n: number; sum: number };
  const perConcentrator = "SELECT concentrator, COUNT(*) AS n, SUM(value) AS sum FROM reading WHERE concentrator BETWEEN $1 AND $2 GROUP BY concentrator";
  const distinct = "SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT concentrator, meter, register, time FROM reading WHERE concentrator BETWEEN $1 AND $2) d) AS n FROM reading WHERE concentrator BETWEEN $1 AND $2";
  const again = "SELECT COALESCE(SUM(readings), 0) AS n FROM duplicate WHERE concentrator BETWEEN $1 AND $2";
  let rows: Row[];
  let duplicates: number;
  let duplicateDeliveries: number;
  if (sqlite) {
    const store = new SqliteHeadendStore(db);
    try {
      const q = (sql: string) => store.db.prepare(sql.replace(/\$1/g, "@first").replace(/\$2/g, "@last"));
      rows = q(perConcentrator).all({ first, last }) as Row[];
      duplicates = (q(distinct).get({ first, last }) as { n: number }).n;
      duplicateDeliveries = (q(again).get({ first, last }) as { n: number }).n;
    } finally {
      store.close();
    }
  } else {
    const store = await PostgresHeadendStore.open(db, { connections: 1 });
    try {
      rows = (await store.pool.query(perConcentrator, [first, last])).rows.map((r: Row) => ({ concentrator: r.concentrator, n: Number(r.n), sum: Number(r.sum) }));
      duplicates = Number((await store.pool.query(distinct, [first, last])).rows[0].n);
      duplicateDeliveries = Number((await store.pool.query(again, [first, last])).rows[0].n);
    } finally {
      await store.close();
    }
  }
  for (const r of rows) byConcentrator.set(r.concentrator, { n: r.n, sum: r.sum });
  return { byConcentrator, duplicates, duplicateDeliveries };
}
