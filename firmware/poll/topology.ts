/**
 * The concentrator's topology table: which local modules it reaches, on which path (an RS485 bus or a
 * bridge) and at which address, which meters are behind each, and how healthy each module is.
 *
 * Identity rules (the ENERGSys MC/ML product document: "Auto-detection of topology"):
 * - A module is known by its serial (0-0:C.1.0). It gets a module number when first seen, kept for life.
 * - The same serial at another path or address is the module *moved*; another serial at a known
 *   path and address is the module *replaced* (the new one gets its own number and takes over the place).
 * - A meter is known by its serial (1-b:C.1.0) and gets a meter number when first seen. Readings are keyed
 *   by meter number, so a meter keeps its history when its module is replaced or moved. A meter is behind
 *   one module at a time: the module that last read it (after a replacement, the new one), which is where
 *   its consumer's latch is enforced.
 * - A module that stops answering is *missing* after `missingAfter` consecutive failed transactions; it
 *   stays in the table (its latch and history depend on it) and is polled with back-off.
 *
 * The table is small and bounded (`maxModules`, `maxMeters`). What must survive a reboot is each
 * module's identity, place and meters, and the number counters: `persistent(number)` and `counters()`
 * give them; `takeChanged()` names the modules whose persistent record changed since it was last
 * called (the caller persists them before acting on what changed).
 */

export type ModuleState = "present" | "missing";

export interface ModuleEntry {
  readonly number: number;
  serial: string;
  /** Path id: "bus0", "bus1", or a bridge route id. */
  path: string;
  address: string;
  /** Meter numbers by OBIS channel. */
  meters: Map<number, number>;
  state: ModuleState;
  /** Consecutive failed transactions (not persisted). */
  failures: number;
  /** Monotonic ms of the last successful transaction, -1 when none since boot (not persisted). */
  lastOkMs: number;
}

export type TopologyChange =
  | { kind: "new"; module: number }
  | { kind: "replaced"; module: number; previous: number }
  | { kind: "moved"; module: number; fromPath: string; fromAddress: string }
  | { kind: "meterNew"; module: number; meter: number }
  /** A known meter is now read through another module (its module was replaced, or it was rewired). */
  | { kind: "meterMoved"; module: number; meter: number; from: number }
  /** `failures`: the consecutive failed transactions that made it missing … */
  | { kind: "missing"; module: number; failures: number }
  /** … and, when it answers again, all of them ("no answer from 94", counted). */
  | { kind: "restored"; module: number; failures: number };

/** What is kept of one module across reboots (health is not: it is learnt again). */
export interface PersistedModule {
  number: number;
  serial: string;
  path: string;
  address: string;
  /** Displaced from its place by another module (replaced), or moved away. */
  displaced: boolean;
  meters: Array<{ channel: number; meter: number; serial: string }>;
}

/** The number counters: persisted with every module that takes a new number, so none is reused. */
export interface TopologyCounters {
  nextModule: number;
  nextMeter: number;
}

export interface TopologySnapshot extends TopologyCounters {
  modules: PersistedModule[];
}

export interface TopologyOptions {
  /** Consecutive failures that make a module missing. Default 3. */
  missingAfter?: number;
  maxModules?: number;
  maxMeters?: number;
}

export class TopologyFullError extends RangeError {
  constructor(what: string) {
    super(`${what} table full`);
    this.name = "TopologyFullError";
  }
}

export class Topology {
  readonly #modules = new Map<number, ModuleEntry>();
  readonly #bySerial = new Map<string, number>();
  readonly #byPlace = new Map<string, number>();
  readonly #meterBySerial = new Map<string, number>();
  /** The module each meter is behind now. */
  readonly #moduleOfMeter = new Map<number, number>();
  /** Modules whose persistent record changed since `takeChanged`. */
  readonly #changed = new Set<number>();
  readonly #missingAfter: number;
  readonly #maxModules: number;
  readonly #maxMeters: number;
  #nextModule = 1;
  #nextMeter = 1;

  constructor(options: TopologyOptions = {}, snapshot?: TopologySnapshot) {
    this.#missingAfter = options.missingAfter ?? 3;
    this.#maxModules = options.maxModules ?? 1024;
    this.#maxMeters = options.maxMeters ?? 4096;
    if (snapshot) this.#restore(snapshot);
  }

  get modules(): Iterable<ModuleEntry> {
    return this.#modules.values();
  }

  get size(): number {
    return this.#modules.size;
  }

  module(number: number): ModuleEntry | undefined {
    return this.#modules.get(number);
  }

  at(path: string, address: string): ModuleEntry | undefined {
    const n = this.#byPlace.get(place(path, address));
    return n === undefined ? undefined : this.#modules.get(n);
  }

  /** The module a meter is behind now, and its channel. */
  meterLocation(meter: number): { module: ModuleEntry; channel: number } | undefined {
    const m = this.#modules.get(this.#moduleOfMeter.get(meter) ?? -1);
    if (!m) return undefined;
    for (const [channel, n] of m.meters) if (n === meter) return { module: m, channel };
    return undefined;
  }

  /** The number of the meter with serial `serial` while it is behind a module, else undefined. */
  meterNumber(serial: string): number | undefined {
    const n = this.#meterBySerial.get(serial);
    return n !== undefined && this.#moduleOfMeter.has(n) ? n : undefined;
  }

  /** Modules whose persistent record (`persistent`) changed since the last call, and forgets them. */
  takeChanged(): number[] {
    const out = [...this.#changed];
    this.#changed.clear();
    return out;
  }

  /**
   * A module answered at `path`/`address` with `serial` and these meters (channel → meter serial).
   * Updates the table and returns what changed. Throws TopologyFullError when a new module or meter
   * does not fit (the caller reports it; the table is unchanged).
   */
  observe(path: string, address: string, serial: string, meters: ReadonlyMap<number, string>, nowMs: number): TopologyChange[] {
    const changes: TopologyChange[] = [];
    const key = place(path, address);
    const occupant = this.#byPlace.get(key);
    let number = this.#bySerial.get(serial);
    const newMeters = [...meters.values()].filter((s) => !this.#meterBySerial.has(s)).length;
    if (number === undefined && this.#modules.size >= this.#maxModules) throw new TopologyFullError("module");
    if (this.#meterBySerial.size + newMeters > this.#maxMeters) throw new TopologyFullError("meter");

    if (number === undefined) {
      number = this.#nextModule++;
      const entry: ModuleEntry = { number, serial, path, address, meters: new Map(), state: "present", failures: 0, lastOkMs: nowMs };
      this.#modules.set(number, entry);
      this.#bySerial.set(serial, number);
      changes.push(occupant !== undefined ? { kind: "replaced", module: number, previous: occupant } : { kind: "new", module: number });
    } else {
      const entry = this.#modules.get(number)!;
      if (entry.path !== path || entry.address !== address) {
        changes.push({ kind: "moved", module: number, fromPath: entry.path, fromAddress: entry.address });
        const from = place(entry.path, entry.address);
        if (this.#byPlace.get(from) === number) this.#byPlace.delete(from);
        entry.path = path;
        entry.address = address;
      } else if (occupant !== undefined && occupant !== number) {
        changes.push({ kind: "replaced", module: number, previous: occupant });
      }
    }
    // The module takes its place: new, moved, replacing another, or back in a place left empty.
    if (occupant !== number) this.#changed.add(number);
    if (occupant !== undefined && occupant !== number) {
      // The previous occupant is no longer here; it stays known (by serial) until it shows up elsewhere.
      const prev = this.#modules.get(occupant);
      if (prev) prev.state = "missing";
      this.#changed.add(occupant);
    }
    this.#byPlace.set(key, number);

    const entry = this.#modules.get(number)!;
    const channels = new Map<number, number>();
    for (const [channel, meterSerial] of meters) {
      let meter = this.#meterBySerial.get(meterSerial);
      if (meter === undefined) {
        meter = this.#nextMeter++;
        this.#meterBySerial.set(meterSerial, meter);
        changes.push({ kind: "meterNew", module: number, meter });
      } else {
        const from = this.#moduleOfMeter.get(meter);
        if (from !== undefined && from !== number) {
          this.#release(from, meter);
          changes.push({ kind: "meterMoved", module: number, meter, from });
        }
      }
      channels.set(channel, meter);
    }
    if (!sameMeters(entry.meters, channels)) {
      for (const meter of entry.meters.values()) if (this.#moduleOfMeter.get(meter) === number) this.#moduleOfMeter.delete(meter);
      for (const meter of channels.values()) this.#moduleOfMeter.set(meter, number);
      this.#changed.add(number);
    }
    entry.meters = channels;
    const failures = entry.failures;
    entry.failures = 0;
    entry.lastOkMs = nowMs;
    if (entry.state === "missing") {
      entry.state = "present";
      changes.push({ kind: "restored", module: number, failures });
    }
    return changes;
  }

  /** A transaction with the module succeeded without a new identity (e.g. a programming session). */
  succeeded(number: number, nowMs: number): TopologyChange[] {
    const e = this.#modules.get(number);
    if (!e) return [];
    const failures = e.failures;
    e.failures = 0;
    e.lastOkMs = nowMs;
    if (e.state !== "missing") return [];
    e.state = "present";
    return [{ kind: "restored", module: number, failures }];
  }

  /** A transaction with the module failed. Returns the change when it just became missing. */
  failed(number: number): TopologyChange[] {
    const e = this.#modules.get(number);
    if (!e) return [];
    e.failures++;
    if (e.state === "present" && e.failures >= this.#missingAfter) {
      e.state = "missing";
      return [{ kind: "missing", module: number, failures: e.failures }];
    }
    return [];
  }

  /** The number counters now. */
  counters(): TopologyCounters {
    return { nextModule: this.#nextModule, nextMeter: this.#nextMeter };
  }

  /** What to persist of a module. */
  persistent(number: number): PersistedModule | undefined {
    const m = this.#modules.get(number);
    if (!m) return undefined;
    const serialOf = new Map<number, string>();
    for (const [serial, n] of this.#meterBySerial) serialOf.set(n, serial);
    return {
      number: m.number,
      serial: m.serial,
      path: m.path,
      address: m.address,
      displaced: this.#byPlace.get(place(m.path, m.address)) !== m.number,
      meters: [...m.meters].map(([channel, meter]) => ({ channel, meter, serial: serialOf.get(meter) ?? "" })),
    };
  }

  /** Everything to persist. */
  snapshot(): TopologySnapshot {
    return { ...this.counters(), modules: [...this.#modules.keys()].map((n) => this.persistent(n)!) };
  }

  /** `meter` is no longer behind module `number`. */
  #release(number: number, meter: number): void {
    const m = this.#modules.get(number);
    if (!m) return;
    for (const [channel, n] of m.meters) if (n === meter) m.meters.delete(channel);
    this.#moduleOfMeter.delete(meter);
    this.#changed.add(number);
  }

  #restore(s: TopologySnapshot): void {
    this.#nextModule = s.nextModule;
    this.#nextMeter = s.nextMeter;
    for (const m of s.modules) {
      const entry: ModuleEntry = {
        number: m.number,
        serial: m.serial,
        path: m.path,
        address: m.address,
        meters: new Map(m.meters.map((x) => [x.channel, x.meter] as [number, number])),
        state: m.displaced ? "missing" : "present",
        failures: 0,
        lastOkMs: -1,
      };
      this.#modules.set(m.number, entry);
      this.#bySerial.set(m.serial, m.number);
      for (const x of m.meters) if (x.serial) this.#meterBySerial.set(x.serial, x.meter);
      if (!m.displaced) this.#byPlace.set(place(m.path, m.address), m.number);
      this.#nextModule = Math.max(this.#nextModule, m.number + 1);
      for (const x of m.meters) this.#nextMeter = Math.max(this.#nextMeter, x.meter + 1);
    }
    // Records written before a cut may list a meter twice (the new module's record is written before the
    // old one's): the module in its place wins, then the newer one; the next readout settles it anyway.
    const rank = (n: number) => (this.#byPlace.get(place(this.#modules.get(n)!.path, this.#modules.get(n)!.address)) === n ? 1 << 30 : 0) + n;
    for (const m of [...this.#modules.values()].sort((a, b) => rank(a.number) - rank(b.number))) {
      for (const meter of m.meters.values()) {
        const from = this.#moduleOfMeter.get(meter);
        if (from !== undefined) this.#release(from, meter);
        this.#moduleOfMeter.set(meter, m.number);
      }
    }
    this.#changed.clear();
  }
}

function place(path: string, address: string): string {
  return `${path}/${address.replace(/^0+/, "")}`;
}

function sameMeters(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [channel, meter] of a) if (b.get(channel) !== meter) return false;
  return true;
}
