/**
 * `headend serve --workers N` on PostgreSQL: N worker processes, one per slot, and one more started
 * ahead as a standby (Node up, modules loaded, nothing connected). Worker i's lanes have the client
 * ids `<base>-w<i>-<lane>`; when it dies the standby takes slot i at once under the same ids (so the
 * broker hands it what the dead one's sessions held, worker.ts) and a new standby starts. A slot
 * whose worker dies again within CRASH_LOOP_MS of taking it waits, from 100 ms doubling to 5 s, so
 * a worker that cannot start does not spin. Workers end when their supervisor does.
 *
 * Protocol with a child (Node IPC): it sends STANDBY_READY once loaded; the supervisor sends it
 * `{ clientId }`, its slot; it then runs as `serve --workers 1 --client-id <clientId>`.
 */
import { type ChildProcess, spawn } from "node:child_process";

export const STANDBY_READY = "standby ready";
export interface SlotAssignment {
  clientId: string;
}

const CRASH_LOOP_MS = 10_000;
const CRASH_BACKOFF_FIRST_MS = 100;
const CRASH_BACKOFF_MAX_MS = 5_000;

export interface SupervisorOptions {
  workers: number;
  /** The command line of a standby (Node options and script included, with `--standby`). */
  standbyArgs: string[];
  clientIdBase: string;
  log: (line: string) => void;
}

interface Standby {
  child: ChildProcess;
  ready: Promise<void>;
}

export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #children = new Set<ChildProcess>();
  #standby: Standby | undefined;
  #stopping = false;

  constructor(o: SupervisorOptions) {
    this.#o = o;
    for (let i = 0; i < o.workers; i++) this.#fill(i, undefined);
  }

  stop(): void {
    this.#stopping = true;
    for (const c of this.#children) c.kill("SIGTERM");
  }

  #spawn(): Standby {
    const child = spawn(process.execPath, this.#o.standbyArgs, { stdio: ["inherit", "inherit", "inherit", "ipc"] });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    const ready = new Promise<void>((resolve) => child.on("message", (m) => m === STANDBY_READY && resolve()));
    return { child, ready };
  }

  /** The standby, or a new process when there is none; a new standby is started behind it. */
  #take(): Standby {
    const s = this.#standby ?? this.#spawn();
    this.#standby = undefined;
    if (!this.#stopping) this.#keepStandby();
    return s;
  }

  #keepStandby(): void {
    const s = (this.#standby = this.#spawn());
    s.child.once("exit", () => {
      if (this.#standby !== s || this.#stopping) return;
      this.#standby = undefined; // died before it was needed: another in a while
      setTimeout(() => this.#stopping || this.#standby || this.#keepStandby(), CRASH_BACKOFF_MAX_MS);
    });
  }

  /** Puts a worker in slot `i`; `wait` is the last crash-loop delay (undefined: not in a loop). */
  #fill(i: number, wait: number | undefined): void {
    const { child, ready } = this.#take();
    const startedMs = Date.now();
    void ready.then(() => child.send({ clientId: `${this.#o.clientIdBase}-w${i}` } satisfies SlotAssignment));
    child.once("exit", (code, signal) => {
      if (this.#stopping) return;
      const loop = wait !== undefined && Date.now() - startedMs < CRASH_LOOP_MS;
      const next = loop ? Math.min(CRASH_BACKOFF_MAX_MS, Math.max(CRASH_BACKOFF_FIRST_MS, wait * 2)) : 0;
      this.#o.log(`worker ${i} ended (${signal ?? code}); ${next ? `its slot is filled again in ${next} ms` : "the standby takes its slot"}`);
      setTimeout(() => this.#fill(i, next), next);
    });
  }
}
