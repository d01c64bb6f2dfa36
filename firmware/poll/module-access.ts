/**
 * Transactions addressed to a module by its number: the topology says on which path and at which
 * address it is now, the configuration gives its password, and the path's timing applies (a bridge
 * is far slower than the bus). Everything that talks to modules goes through here.
 */
import type { Timers } from "../../hal/clock.js";
import type { BusHandle } from "../bus/bus-master.js";
import type { Failure, ReadoutResult, SessionCommand, SessionResult, Timing, Transaction } from "../bus/types.js";
import type { Topology } from "./topology.js";

/** Something that runs D0 transactions to modules: an RS485 bus master, a bridge transport. */
export interface ModulePath {
  enqueue(tx: Transaction): BusHandle;
}

export interface ModuleAccessOptions {
  timers: Timers;
  topology: Topology;
  paths: ReadonlyMap<string, ModulePath>;
  /** P1 password of a module (8 characters). */
  passwordOf(module: number): string;
  /** Timing for transactions on a path. */
  timingOf?(path: string): Partial<Timing> | undefined;
}

const UNKNOWN: Failure = Object.freeze({ code: "closed", detail: "unknown module or path" });

export class ModuleAccess {
  readonly #o: ModuleAccessOptions;

  constructor(options: ModuleAccessOptions) {
    this.#o = options;
  }

  get paths(): ReadonlyMap<string, ModulePath> {
    return this.#o.paths;
  }

  timingOf(path: string): Partial<Timing> | undefined {
    return this.#o.timingOf?.(path);
  }

  /** A mode D readout of the module. `done` runs in a later turn, exactly once. */
  readout(module: number, priority: number, done: (r: ReadoutResult) => void): void {
    const target = this.#target(module);
    if (!target) return this.#fail(done);
    target.path.enqueue({ kind: "readout", address: target.address, priority, ...target.timing, onDone: done });
  }

  /** A programming session with the module. `done` runs in a later turn, exactly once. */
  session(module: number, commands: readonly SessionCommand[], priority: number, done: (r: SessionResult) => void): void {
    const target = this.#target(module);
    if (!target) return this.#fail(done);
    target.path.enqueue({ kind: "session", address: target.address, password: this.#o.passwordOf(module), commands, priority, ...target.timing, onDone: done });
  }

  #target(module: number) {
    const t = this.#o.topology;
    const path = t.has(module) ? this.#o.paths.get(t.pathOf(module)) : undefined;
    if (!path) return undefined;
    const timing = this.#o.timingOf?.(t.pathOf(module));
    return { path, address: t.addressOf(module), timing: timing ? { timing } : {} };
  }

  /** An unknown module fails like a path would: in a later turn. */
  #fail(done: (r: { ok: false; failure: Failure; attempts: number }) => void): void {
    this.#o.timers.set(() => done({ ok: false, failure: UNKNOWN, attempts: 0 }), 0);
  }
}
