/**
 * Real servers for end-to-end runs on this host: an MQTT broker (Mosquitto, started with its own
 * configuration and no persistence, or aedes embedded in this process) on a loopback port, and the
 * reference head-end service as a child process that can be killed like a crashing server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Aedes } from "aedes";

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function listening(port: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), resolve(true)));
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Broker {
  readonly kind: "aedes" | "mosquitto";
  readonly url: string;
  readonly port: number;
  /** Stops and starts it again on the same port (after `downMs`): without persistence, every session and queue is lost. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Mosquitto with its own configuration in `dir`: 127.0.0.1 only, anonymous, no persistence. */
export async function startMosquitto(dir: string, port?: number): Promise<Broker> {
  const p = port ?? (await freePort());
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, `listener ${p} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  // Debian installs it in /usr/sbin, which is not on every PATH (.ci/run installs the package).
  const bin = existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
  let child: ChildProcess;
  const start = async () => {
    child = spawn(bin, ["-c", conf], { stdio: "ignore" });
    const failed = new Promise<never>((_, reject) => child.once("error", (e) => reject(new Error(`cannot start mosquitto (${e.message}): apt-get install mosquitto`))));
    await Promise.race([listening(p), failed]);
  };
  const stop = () => exit(child, "SIGTERM");
  await start();
  return { kind: "mosquitto", url: `mqtt://127.0.0.1:${p}`, port: p, restart: async (downMs = 0) => (await stop(), await pause(downMs), await start()), stop };
}

/** An aedes broker in this process (in memory: a restart loses everything, as Mosquitto's does). */
export async function startAedes(port?: number): Promise<Broker> {
  const p = port ?? (await freePort());
  let aedes: Aedes;
  let server: Server;
  const start = async () => {
    aedes = await Aedes.createBroker();
    server = createServer(aedes.handle);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, "127.0.0.1", () => resolve());
    });
  };
  const stop = async () => {
    await new Promise<void>((r) => aedes.close(() => r())); // closes the clients' connections too
    await new Promise<void>((r) => server.close(() => r()));
  };
  await start();
  return { kind: "aedes", url: `mqtt://127.0.0.1:${p}`, port: p, restart: async (downMs = 0) => (await stop(), await pause(downMs), await start()), stop };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function exit(p: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill(signal);
  await exited;
}

/**
 * The head-end service (`headend serve`) in a child process on a broker and a SQLite file. `crash()`
 * kills it with SIGKILL: no goodbye to the broker, nothing flushed but what SQLite committed.
 */
export class HeadendProcess {
  readonly #args: string[];
  #child: ChildProcess | undefined;

  constructor(o: { keys: string; db: string; broker: string }) {
    const cli = fileURLToPath(new URL("../headend/cli.js", import.meta.url));
    this.#args = [cli, "serve", "--keys", o.keys, "--db", o.db, "--broker", o.broker];
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  start(): void {
    if (this.#child) return;
    const child = (this.#child = spawn(process.execPath, this.#args, { stdio: ["ignore", "ignore", "inherit"] }));
    child.once("exit", () => {
      if (this.#child === child) this.#child = undefined;
    });
  }

  async crash(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) await exit(child, "SIGKILL");
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) await exit(child, "SIGTERM");
  }
}
