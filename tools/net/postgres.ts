/**
 * A throw-away PostgreSQL cluster for tests and benchmarks: `initdb` in a directory of its own,
 * `pg_ctl start` on a free loopback port with its unix socket in that directory, stopped and
 * removed at the end. Debian's binaries (package postgresql) are in /usr/lib/postgresql/<version>/bin,
 * the newest version is taken. initdb refuses to run as root, so as root the cluster belongs to the
 * `postgres` user the package creates (or `nobody`) and every server command runs as that user.
 */
import { execFile, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./servers.js";

const DEBIAN_ROOT = "/usr/lib/postgresql";

/** The directory of the newest PostgreSQL server binaries installed, or undefined. */
export function postgresBinaries(): string | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(DEBIAN_ROOT, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(DEBIAN_ROOT, versions[0], "bin");
}

export interface Postgres {
  /** postgres://headend@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /** The server's main process (postmaster), while it runs. */
  pid(): number | undefined;
  /** Stops the server (`fast`: clients are disconnected, `immediate`: as a crash) and starts it again. */
  restart(mode?: "fast" | "immediate"): Promise<void>;
  stop(): Promise<void>;
  /** Stops the server and removes its directory. */
  remove(): Promise<void>;
}

/** Who runs the server: this user, or an unprivileged one when this is root. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
    if (r.status !== 0) continue;
    const gid = Number(spawnSync("id", ["-g", name], { encoding: "utf8" }).stdout.trim());
    return { name, uid: Number(r.stdout.trim()), gid };
  }
  throw new Error("running as root and there is no postgres or nobody user to run PostgreSQL as");
}

/** Starts a cluster in `dir/pg` (made here). Throws when PostgreSQL is not installed. */
export async function startPostgres(dir: string, o: { fsync?: boolean } = {}): Promise<Postgres> {
  const bin = postgresBinaries();
  if (!bin) throw new Error("PostgreSQL is not installed: apt-get install postgresql");
  const data = join(dir, "pg");
  mkdirSync(data, { recursive: true });
  const user = serverUser();
  if (user) {
    chownSync(dir, user.uid, user.gid); // the socket and the log live in dir
    chownSync(data, user.uid, user.gid);
  }
  const run = async (tool: string, args: string[]) => {
    const argv = user ? ["runuser", "-u", user.name, "--", join(bin, tool), ...args] : [join(bin, tool), ...args];
    await promisify(execFile)(argv[0]!, argv.slice(1), { cwd: dir }); // not blocking: the callers go on while it starts
  };
  await run("initdb", ["-D", data, "-U", "headend", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C"]);
  const port = await freePort();
  const settings = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c max_connections=200", `-c fsync=${o.fsync === false ? "off" : "on"}`];
  const start = async () => run("pg_ctl", ["start", "-w", "-t", "30", "-D", data, "-l", join(dir, "postgres.log"), "-o", settings.join(" ")]);
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    if (existsSync(join(data, "postmaster.pid"))) await run("pg_ctl", ["stop", "-w", "-t", "30", "-m", mode, "-D", data]);
  };
  await start();
  return {
    url: `postgres://headend@127.0.0.1:${port}/postgres`,
    port,
    pid: () => (existsSync(join(data, "postmaster.pid")) ? Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]) : undefined),
    restart: async (mode = "fast") => (await stop(mode), await start()),
    stop: () => stop(),
    remove: async () => {
      await stop("immediate");
      rmSync(data, { recursive: true, force: true });
    },
  };
}
