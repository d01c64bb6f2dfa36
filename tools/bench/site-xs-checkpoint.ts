/**
 * Where a long site-xs-run left off, so that a run cut short (the machine shut down, the session
 * over) goes on from there when the same command is run again: a simulated day costs hours of CPU.
 *
 * A checkpoint is taken at a sample (the machine's snapshot is already made for its copy): the
 * snapshot goes to `machine-<run>-<ms>.snap`, then `checkpoint.json` says which snapshot, up to what
 * simulated time, and the cranks and samples so far (and the finished run A's, while B goes on).
 * The JSON is written to a temporary name and renamed, after the snapshot it names is complete, so a
 * cut at any moment leaves the last checkpoint whole; older snapshots are removed after the rename.
 * A checkpoint is only taken up again by the same bundle (its SHA-256) with the same options;
 * anything else is refused with the difference named, never silently mixed into another run.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The options that make a run what it is: a checkpoint must agree on every one. */
export interface RunIdentity {
  seed: string;
  minutes: number;
  modules: number;
  /** Simulated seconds per crank, minutes between samples. */
  stepS: number;
  sampleMin: number;
  /** Run A alone (the firmware with its uplink), not B. */
  onlyA: boolean;
  /** The firmware slots at which a crank is sampled; unset, site-xs-run's default. */
  nearLimitSlots?: number;
}

/** A run's state at a checkpoint: the last crank and the figures gathered up to it. */
export interface RunState<Crank, Sample> {
  firmwareUplink: boolean;
  /** Simulated ms of the last crank run, and of the next sample due. */
  atMs: number;
  nextSampleMs: number;
  meters: number;
  modules: number;
  cranks: Crank[];
  samples: Sample[];
}

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

interface CheckpointFile<Crank, Sample, Finished> {
  version: 1;
  bundleSha256: string;
  identity: RunIdentity;
  /** Run A's result once it finished (B is then the run in progress). */
  finished: Finished | null;
  /** The run in progress and its machine's snapshot; null between A's end and B's first checkpoint. */
  current: RunState<Crank, Sample> | null;
  snapshot: string | null;
}

const FILE = "checkpoint.json";
const IDENTITY_KEYS = ["seed", "minutes", "modules", "stepS", "sampleMin", "onlyA", "nearLimitSlots"] as const;

export class Checkpoints<Crank, Sample, Finished> {
  readonly #dir: string;
  readonly #sha: string;
  readonly #identity: RunIdentity;
  readonly #everyMs: number;
  #saved: CheckpointFile<Crank, Sample, Finished> | undefined;
  #finished: Finished | null = null;
  #nextMs: number;

  /**
   * Checkpoints in `dir` for the run of `bundle` with `identity`, every `everyMin` simulated minutes.
   * Throws CheckpointError when `dir` holds a checkpoint of another bundle or other options.
   */
  constructor(dir: string, bundle: string, identity: RunIdentity, everyMin: number) {
    if (!(everyMin > 0)) throw new CheckpointError(`the checkpoint interval must be above 0 minutes, not ${everyMin}`);
    this.#dir = dir;
    this.#sha = createHash("sha256").update(bundle).digest("hex");
    this.#identity = Object.fromEntries(IDENTITY_KEYS.map((k) => [k, identity[k]])) as unknown as RunIdentity;
    this.#everyMs = everyMin * 60_000;
    this.#nextMs = this.#after(0);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, FILE);
    if (!existsSync(path)) return;
    const saved = JSON.parse(readFileSync(path, "utf8")) as CheckpointFile<Crank, Sample, Finished>;
    if (saved.version !== 1) throw new CheckpointError(`${path}: version ${String(saved.version)}, not 1`);
    if (saved.bundleSha256 !== this.#sha) throw new CheckpointError(`${path} is of another firmware bundle (sha256 ${saved.bundleSha256}, this one ${this.#sha}): remove it to start over`);
    const differ = IDENTITY_KEYS.filter((k) => saved.identity[k] !== identity[k]);
    if (differ.length) throw new CheckpointError(`${path} is of a run with other options (${differ.map((k) => `${k} ${String(saved.identity[k])}, not ${String(identity[k])}`).join("; ")}): remove it to start over`);
    this.#saved = saved;
    this.#finished = saved.finished;
  }

  /** Run A's result, when A had finished at the checkpoint. */
  get finished(): Finished | null {
    return this.#finished;
  }

  /** The state and the machine's snapshot to go on from, for the run with or without the uplink; undefined to start it afresh. */
  resume(firmwareUplink: boolean): { state: RunState<Crank, Sample>; snapshot: Uint8Array } | undefined {
    const s = this.#saved;
    if (!s?.current || !s.snapshot || s.current.firmwareUplink !== firmwareUplink) return undefined;
    this.#nextMs = this.#after(s.current.atMs);
    return { state: s.current, snapshot: readFileSync(join(this.#dir, s.snapshot)) };
  }

  /** Whether a sample at `atMs` is to be a checkpoint. */
  due(atMs: number): boolean {
    return atMs >= this.#nextMs;
  }

  /** Saves `state` with the machine's `snapshot` taken at `state.atMs`. */
  save(state: RunState<Crank, Sample>, snapshot: Uint8Array): void {
    const name = `machine-${state.firmwareUplink ? "a" : "b"}-${state.atMs}.snap`;
    writeDurably(join(this.#dir, name), snapshot);
    this.#write(state, name);
    this.#nextMs = this.#after(state.atMs);
  }

  /** Run A is over: its result goes with every later checkpoint, and B starts afresh. */
  finish(result: Finished): void {
    this.#finished = result;
    this.#write(null, null);
    this.#nextMs = this.#after(0);
  }

  /** The first checkpoint time after `atMs`: the next multiple of the interval. */
  #after(atMs: number): number {
    return (Math.floor(atMs / this.#everyMs) + 1) * this.#everyMs;
  }

  #write(current: RunState<Crank, Sample> | null, snapshot: string | null): void {
    const file: CheckpointFile<Crank, Sample, Finished> = { version: 1, bundleSha256: this.#sha, identity: this.#identity, finished: this.#finished, current, snapshot };
    writeDurably(join(this.#dir, `${FILE}.tmp`), JSON.stringify(file));
    renameSync(join(this.#dir, `${FILE}.tmp`), join(this.#dir, FILE));
    syncDirectory(this.#dir);
    this.#removeSnapshots(snapshot ?? undefined);
    this.#saved = file;
  }

  /** The whole measurement is over: the checkpoint has served. */
  clear(): void {
    rmSync(join(this.#dir, FILE), { force: true });
    this.#removeSnapshots(undefined);
  }

  #removeSnapshots(except: string | undefined): void {
    for (const f of readdirSync(this.#dir)) if (/^machine-[ab]-\d+\.snap$/.test(f) && f !== except) rmSync(join(this.#dir, f));
  }
}

/**
 * Writes `data` to `path` and waits until the host's disk has it: the checkpoint's JSON names the
 * snapshot, so the snapshot is on disk before the JSON is, and the JSON before the rename that
 * makes it the checkpoint. Without this a crash of the host (not only of the run) could leave a
 * checkpoint naming a snapshot the disk never got.
 */
function writeDurably(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename in `dir` durable (Linux: the directory's own fsync). */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
