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

import { KEY_LIMIT } from "../model/keyed-rows.js";
import { StringIndex } from "../model/string-index.js";

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

/** No module (module numbers start at 1). */
const NO_MODULE = 0;

export class Topology {
  /**
   * The entries by module number (numbers are given from 1 up and never taken back): array elements,
   * not a Map's entries (XS: 3 slots an entry; an element is 16 B of a chunk; docs/memory.md).
   */
  readonly #modules: Array<ModuleEntry | undefined> = [];
  #size = 0;
  /** Module numbers by serial and by place, meter numbers by serial: sorted lists, not Maps (docs/memory.md). */
  readonly #bySerial = new StringIndex();
  readonly #byPlace = new StringIndex();
  readonly #meterBySerial = new StringIndex();
  /** The module each meter is behind now (NO_MODULE), by meter number: 2 B a meter, no slot. */
  #moduleOfMeter = new Uint16Array(64);
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

  /** The modules in the order of their numbers (those known when asked). */
  get modules(): Iterable<ModuleEntry> {
    return known(this.#modules);
  }

  get size(): number {
    return this.#size;
  }

  module(number: number): ModuleEntry | undefined {
    return Number.isInteger(number) && number > 0 ? this.#modules[number] : undefined;
  }

  at(path: string, address: string): ModuleEntry | undefined {
    const n = this.#byPlace.get(place(path, address));
    return n === undefined ? undefined : this.#modules[n];
  }

  /** The module a meter is behind now, and its channel. */
  meterLocation(meter: number): { module: ModuleEntry; channel: number } | undefined {
    const m = this.module(this.#moduleOf(meter));
    if (!m) return undefined;
    for (const [channel, n] of m.meters) if (n === meter) return { module: m, channel };
    return undefined;
  }

  /** The number of the meter with serial `serial` while it is behind a module, else undefined. */
  meterNumber(serial: string): number | undefined {
    const n = this.#meterBySerial.get(serial);
    return n !== undefined && this.#moduleOf(n) !== NO_MODULE ? n : undefined;
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
    if (number === undefined && (this.#size >= this.#maxModules || this.#nextModule >= KEY_LIMIT)) throw new TopologyFullError("module");
    if (this.#meterBySerial.size + newMeters > this.#maxMeters || this.#nextMeter + newMeters > KEY_LIMIT) throw new TopologyFullError("meter");

    if (number === undefined) {
      number = this.#nextModule++;
      const entry: ModuleEntry = { number, serial, path, address, meters: new Map(), state: "present", failures: 0, lastOkMs: nowMs };
      this.#put(entry);
      this.#bySerial.set(serial, number);
      changes.push(occupant !== undefined ? { kind: "replaced", module: number, previous: occupant } : { kind: "new", module: number });
    } else {
      const entry = this.#modules[number]!;
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
      const prev = this.#modules[occupant];
      if (prev) prev.state = "missing";
      this.#changed.add(occupant);
    }
    this.#byPlace.set(key, number);

    const entry = this.#modules[number]!;
    const channels = new Map<number, number>();
    for (const [channel, meterSerial] of meters) {
      let meter = this.#meterBySerial.get(meterSerial);
      if (meter === undefined) {
        meter = this.#nextMeter++;
        this.#meterBySerial.set(meterSerial, meter);
        changes.push({ kind: "meterNew", module: number, meter });
      } else {
        const from = this.#moduleOf(meter);
        if (from !== NO_MODULE && from !== number) {
          this.#release(from, meter);
          changes.push({ kind: "meterMoved", module: number, meter, from });
        }
      }
      channels.set(channel, meter);
    }
    if (!sameMeters(entry.meters, channels)) {
      for (const meter of entry.meters.values()) if (this.#moduleOf(meter) === number) this.#setModuleOf(meter, NO_MODULE);
      for (const meter of channels.values()) this.#setModuleOf(meter, number);
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
    const e = this.module(number);
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
    const e = this.module(number);
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
    const m = this.module(number);
    if (!m) return undefined;
    return {
      number: m.number,
      serial: m.serial,
      path: m.path,
      address: m.address,
      displaced: this.#byPlace.get(place(m.path, m.address)) !== m.number,
      meters: [...m.meters].map(([channel, meter]) => ({ channel, meter, serial: this.#meterBySerial.keyOf(meter) ?? "" })),
    };
  }

  /** Everything to persist. */
  snapshot(): TopologySnapshot {
    return { ...this.counters(), modules: known(this.#modules).map((m) => this.persistent(m.number)!) };
  }

  /** `meter` is no longer behind module `number`. */
  #release(number: number, meter: number): void {
    const m = this.module(number);
    if (!m) return;
    for (const [channel, n] of m.meters) if (n === meter) m.meters.delete(channel);
    this.#setModuleOf(meter, NO_MODULE);
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
      this.#put(entry);
      this.#bySerial.set(m.serial, m.number);
      for (const x of m.meters) if (x.serial) this.#meterBySerial.set(x.serial, x.meter);
      if (!m.displaced) this.#byPlace.set(place(m.path, m.address), m.number);
      this.#nextModule = Math.max(this.#nextModule, m.number + 1);
      for (const x of m.meters) this.#nextMeter = Math.max(this.#nextMeter, x.meter + 1);
    }
    // Records written before a cut may list a meter twice (the new module's record is written before the
    // old one's): the module in its place wins, then the newer one; the next readout settles it anyway.
    const rank = (m: ModuleEntry) => (this.#byPlace.get(place(m.path, m.address)) === m.number ? 1 << 30 : 0) + m.number;
    for (const m of known(this.#modules).sort((a, b) => rank(a) - rank(b))) {
      for (const meter of m.meters.values()) {
        const from = this.#moduleOf(meter);
        if (from !== NO_MODULE) this.#release(from, meter);
        this.#setModuleOf(meter, m.number);
      }
    }
    this.#changed.clear();
  }

  #put(entry: ModuleEntry): void {
    if (this.#modules[entry.number] === undefined) this.#size++;
    // Elements up to the number exist (holes of numbers never given stay undefined), so the array
    // stays a plain list rather than a sparse one.
    while (this.#modules.length < entry.number) this.#modules.push(undefined);
    this.#modules[entry.number] = entry;
  }

  #moduleOf(meter: number): number {
    return this.#moduleOfMeter[meter] ?? NO_MODULE;
  }

  #setModuleOf(meter: number, module: number): void {
    if (meter >= this.#moduleOfMeter.length) {
      // Grown by need (meter numbers are given from 1 up): the next power of two above the number.
      let n = this.#moduleOfMeter.length;
      while (n <= meter) n *= 2;
      const grown = new Uint16Array(n);
      grown.set(this.#moduleOfMeter);
      this.#moduleOfMeter = grown;
    }
    this.#moduleOfMeter[meter] = module;
  }
}

/**
 * The entries of a list by number, skipping the numbers no module has: a copy, as a list (a generator
 * function's prototype is an object the device cannot keep in flash, device.md).
 */
function known(list: ReadonlyArray<ModuleEntry | undefined>): ModuleEntry[] {
  return list.filter((m): m is ModuleEntry => m !== undefined);
}

function place(path: string, address: string): string {
  return `${path}/${address.replace(/^0+/, "")}`;
}

function sameMeters(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [channel, meter] of a) if (b.get(channel) !== meter) return false;
  return true;
}
