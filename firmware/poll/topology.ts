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

import { withRoom } from "../model/grow.js";
import { KEY_LIMIT } from "../model/keyed-rows.js";
import { PackedStrings } from "../model/packed-strings.js";
import { StringIndex } from "../model/string-index.js";

export type ModuleState = "present" | "missing";

/**
 * One module as the table knows it now: a view made when asked (`module`, `at`, `modules`), reading
 * the table's rows, not a record kept per module. The accessors taking a module number
 * (`pathOf`, `stateOf` …) give the same without making it.
 */
export interface ModuleEntry {
  readonly number: number;
  readonly serial: string;
  /** Path id: "bus0", "bus1", or a bridge route id. */
  readonly path: string;
  readonly address: string;
  /** Meter numbers by OBIS channel (a copy made when read). */
  readonly meters: ReadonlyMap<number, number>;
  readonly state: ModuleState;
  /** Consecutive failed transactions (not persisted). */
  readonly failures: number;
  /** Monotonic ms of the last successful transaction, -1 when none since boot (not persisted). */
  readonly lastOkMs: number;
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

/** No module, no meter (numbers start at 1): also the end of a module's list of meters. */
const NONE = 0;
/**
 * A module's flags: a number some module has; the module is missing; another module holds its place
 * (replaced) or it left it (moved): kept with the place index, so that asking needs no lookup.
 */
const KNOWN = 1;
const MISSING = 2;
const DISPLACED = 4;
/** A meter's channel is its OBIS value group B: one byte. */
const MAX_CHANNEL = 0xff;
const MAX_FAILURES = 0xffff_ffff;

/**
 * The table in rows (docs/memory.md): typed-array columns indexed by module number and by meter number,
 * no object per module (it was 10 slots and a Map of its meters in XS, 2,500 slots for a site of 169
 * modules). A module's meters are a list linked through the meters' rows, in the order they were read.
 * The strings (serials, places, addresses) are packed bytes (StringIndex, PackedStrings).
 */
export class Topology {
  /** Per module number (numbers are given from 1 up and never taken back): KNOWN, MISSING. */
  #flags = new Uint8Array(8);
  /** Where the module's path is in `#paths`. */
  #pathIndex = new Uint16Array(8);
  #failures = new Uint32Array(8);
  #lastOkMs = new Float64Array(8);
  /** The module's first meter (NONE); `#nextOfMeter` links the others. */
  #firstMeter = new Uint16Array(8);
  /** The modules' addresses, each at its module's number ("" where no module has the number). */
  readonly #addresses = new PackedStrings();
  /** The paths modules are on, each once (the buses and the bridge routes: a handful). */
  readonly #paths: string[] = [];
  #size = 0;
  /** Per meter number: the module it is behind now (NONE), its channel there, the module's next meter (NONE). */
  #moduleOfMeter = new Uint16Array(8);
  #channelOfMeter = new Uint8Array(8);
  #nextOfMeter = new Uint16Array(8);
  /** Module numbers by serial and by place, meter numbers by serial: sorted packed keys, not Maps (docs/memory.md). */
  readonly #bySerial = new StringIndex();
  readonly #byPlace = new StringIndex();
  readonly #meterBySerial = new StringIndex();
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

  /**
   * The modules in the order of their numbers (those known when asked), as views made now: for
   * tools and the console. The firmware walks the numbers with `next` instead, copying nothing.
   */
  get modules(): ModuleEntry[] {
    const out: ModuleEntry[] = [];
    for (let n = this.next(NONE); n !== NONE; n = this.next(n)) out.push(new ModuleView(this, n));
    return out;
  }

  /** The first module number above `after` that a module has, 0 when none: `for (let n = t.next(0); n; n = t.next(n))`. */
  next(after: number): number {
    for (let n = Math.max(after + 1, 1); n < this.#nextModule; n++) if (this.has(n)) return n;
    return NONE;
  }

  get size(): number {
    return this.#size;
  }

  /** Whether a module has number `number`. */
  has(number: number): boolean {
    return ((this.#flags[number] ?? 0) & KNOWN) !== 0;
  }

  module(number: number): ModuleEntry | undefined {
    return this.has(number) ? new ModuleView(this, number) : undefined;
  }

  /** The number of the module in place at `path`/`address`, undefined when none. */
  numberAt(path: string, address: string): number | undefined {
    return this.#byPlace.get(place(path, address));
  }

  at(path: string, address: string): ModuleEntry | undefined {
    const n = this.numberAt(path, address);
    return n === undefined ? undefined : this.module(n);
  }

  // What is known of a module, by its number (of a module the table has: see `has`).

  serialOf(number: number): string {
    return this.#bySerial.keyOf(number) ?? "";
  }

  pathOf(number: number): string {
    return this.#paths[this.#pathIndex[number]!] ?? "";
  }

  addressOf(number: number): string {
    return number < this.#addresses.size ? this.#addresses.get(number) : "";
  }

  stateOf(number: number): ModuleState {
    return this.#flags[number]! & MISSING ? "missing" : "present";
  }

  failuresOf(number: number): number {
    return this.#failures[number]!;
  }

  lastOkMsOf(number: number): number {
    return this.#lastOkMs[number]!;
  }

  /** The module's meter numbers by channel: a Map made now. */
  metersOf(number: number): Map<number, number> {
    const out = new Map<number, number>();
    for (let m = this.#firstMeter[number] ?? NONE; m !== NONE; m = this.#nextOfMeter[m]!) out.set(this.#channelOfMeter[m]!, m);
    return out;
  }

  /** Whether the module is the one at its place (not displaced by another, nor moved away). */
  inPlace(number: number): boolean {
    return this.has(number) && !(this.#flags[number]! & DISPLACED);
  }

  /** The number of the module a meter is behind now, undefined when none. */
  moduleOfMeter(meter: number): number | undefined {
    const n = this.#moduleOf(meter);
    return n === NONE ? undefined : n;
  }

  /** The module a meter is behind now, and its channel. */
  meterLocation(meter: number): { module: ModuleEntry; channel: number } | undefined {
    const n = this.#moduleOf(meter);
    return n === NONE ? undefined : { module: new ModuleView(this, n), channel: this.#channelOfMeter[meter]! };
  }

  /** The number of the meter with serial `serial` while it is behind a module, else undefined. */
  meterNumber(serial: string): number | undefined {
    const n = this.#meterBySerial.get(serial);
    return n !== undefined && this.#moduleOf(n) !== NONE ? n : undefined;
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
   * does not fit, a RangeError for a channel that is not a byte (the table is unchanged either way).
   * A meter serial read on two channels is the meter on the first.
   */
  observe(path: string, address: string, serial: string, meters: ReadonlyMap<number, string>, nowMs: number): TopologyChange[] {
    const changes: TopologyChange[] = [];
    const key = place(path, address);
    const occupant = this.#byPlace.get(key);
    let number = this.#bySerial.get(serial);
    let newMeters = 0;
    for (const [channel, meterSerial] of meters) {
      if (!(Number.isInteger(channel) && channel >= 0 && channel <= MAX_CHANNEL)) throw new RangeError(`channel ${channel} out of range`);
      if (!this.#meterBySerial.has(meterSerial)) newMeters++;
    }
    if (number === undefined && (this.#size >= this.#maxModules || this.#nextModule >= KEY_LIMIT)) throw new TopologyFullError("module");
    if (this.#meterBySerial.size + newMeters > this.#maxMeters || this.#nextMeter + newMeters > KEY_LIMIT) throw new TopologyFullError("meter");

    if (number === undefined) {
      number = this.#nextModule++;
      this.#put(number, path, address, KNOWN, nowMs);
      this.#bySerial.set(serial, number);
      changes.push(occupant !== undefined ? { kind: "replaced", module: number, previous: occupant } : { kind: "new", module: number });
    } else if (this.pathOf(number) !== path || (this.#addresses.key(address), this.#addresses.compareKey(number) !== 0)) {
      const fromPath = this.pathOf(number), fromAddress = this.addressOf(number);
      changes.push({ kind: "moved", module: number, fromPath, fromAddress });
      const from = place(fromPath, fromAddress);
      if (this.#byPlace.get(from) === number) this.#byPlace.delete(from);
      this.#pathIndex[number] = this.#pathNumber(path);
      this.#addresses.set(number, address);
    } else if (occupant !== undefined && occupant !== number) {
      changes.push({ kind: "replaced", module: number, previous: occupant });
    }
    // The module takes its place: new, moved, replacing another, or back in a place left empty.
    if (occupant !== number) this.#changed.add(number);
    if (occupant !== undefined && occupant !== number) {
      // The previous occupant is no longer here; it stays known (by serial) until it shows up elsewhere.
      this.#flags[occupant]! |= MISSING | DISPLACED;
      this.#changed.add(occupant);
    }
    this.#byPlace.set(key, number);
    this.#flags[number]! &= ~DISPLACED;

    // The meters read, by channel (each once).
    const channels: number[] = [], read: number[] = [];
    for (const [channel, meterSerial] of meters) {
      let meter = this.#meterBySerial.get(meterSerial);
      if (meter === undefined) {
        meter = this.#nextMeter++;
        this.#meterBySerial.set(meterSerial, meter);
        changes.push({ kind: "meterNew", module: number, meter });
      } else {
        const from = this.#moduleOf(meter);
        if (from !== NONE && from !== number) {
          this.#release(from, meter);
          changes.push({ kind: "meterMoved", module: number, meter, from });
        }
      }
      if (!read.includes(meter)) (channels.push(channel), read.push(meter));
    }
    if (!this.#hasExactly(number, channels, read)) {
      for (let m = this.#firstMeter[number]!; m !== NONE; m = this.#nextOfMeter[m]!) this.#moduleOfMeter[m] = NONE;
      this.#firstMeter[number] = NONE;
      for (let i = 0; i < read.length; i++) this.#link(number, channels[i]!, read[i]!);
      this.#changed.add(number);
    }
    const failures = this.#failures[number]!;
    this.#failures[number] = 0;
    this.#lastOkMs[number] = nowMs;
    if (this.#flags[number]! & MISSING) {
      this.#flags[number]! &= ~MISSING;
      changes.push({ kind: "restored", module: number, failures });
    }
    return changes;
  }

  /** A transaction with the module succeeded without a new identity (e.g. a programming session). */
  succeeded(number: number, nowMs: number): TopologyChange[] {
    if (!this.has(number)) return [];
    const failures = this.#failures[number]!;
    this.#failures[number] = 0;
    this.#lastOkMs[number] = nowMs;
    if (!(this.#flags[number]! & MISSING)) return [];
    this.#flags[number]! &= ~MISSING;
    return [{ kind: "restored", module: number, failures }];
  }

  /** A transaction with the module failed. Returns the change when it just became missing. */
  failed(number: number): TopologyChange[] {
    if (!this.has(number)) return [];
    const failures = (this.#failures[number] = Math.min(this.#failures[number]! + 1, MAX_FAILURES));
    if (!(this.#flags[number]! & MISSING) && failures >= this.#missingAfter) {
      this.#flags[number]! |= MISSING;
      return [{ kind: "missing", module: number, failures }];
    }
    return [];
  }

  /** The number counters now. */
  counters(): TopologyCounters {
    return { nextModule: this.#nextModule, nextMeter: this.#nextMeter };
  }

  /** What to persist of a module. */
  persistent(number: number): PersistedModule | undefined {
    if (!this.has(number)) return undefined;
    const meters: PersistedModule["meters"] = [];
    for (let m = this.#firstMeter[number]!; m !== NONE; m = this.#nextOfMeter[m]!) {
      meters.push({ channel: this.#channelOfMeter[m]!, meter: m, serial: this.#meterBySerial.keyOf(m) ?? "" });
    }
    return { number, serial: this.serialOf(number), path: this.pathOf(number), address: this.addressOf(number), displaced: !this.inPlace(number), meters };
  }

  /** Everything to persist. */
  snapshot(): TopologySnapshot {
    const modules: PersistedModule[] = [];
    for (let n = this.next(NONE); n !== NONE; n = this.next(n)) modules.push(this.persistent(n)!);
    return { ...this.counters(), modules };
  }

  /** Whether the module's meters are exactly these (channel and meter at the same index), in any order. */
  #hasExactly(number: number, channels: readonly number[], meters: readonly number[]): boolean {
    let count = 0;
    for (let m = this.#firstMeter[number]!; m !== NONE; m = this.#nextOfMeter[m]!) count++;
    if (count !== meters.length) return false;
    for (let i = 0; i < meters.length; i++) {
      const m = meters[i]!;
      if (this.#moduleOf(m) !== number || this.#channelOfMeter[m] !== channels[i]) return false;
    }
    return true;
  }

  /** `meter` is behind module `number` now, on `channel`: the last of its meters. */
  #link(number: number, channel: number, meter: number): void {
    this.#moduleOfMeter = withRoom(this.#moduleOfMeter, meter);
    this.#channelOfMeter = withRoom(this.#channelOfMeter, meter);
    this.#nextOfMeter = withRoom(this.#nextOfMeter, meter);
    this.#moduleOfMeter[meter] = number;
    this.#channelOfMeter[meter] = channel;
    this.#nextOfMeter[meter] = NONE;
    let last = this.#firstMeter[number]!;
    if (last === NONE) this.#firstMeter[number] = meter;
    else {
      while (this.#nextOfMeter[last] !== NONE) last = this.#nextOfMeter[last]!;
      this.#nextOfMeter[last] = meter;
    }
  }

  /** `meter` is no longer behind module `number`. */
  #release(number: number, meter: number): void {
    if (this.#firstMeter[number] === meter) this.#firstMeter[number] = this.#nextOfMeter[meter]!;
    else {
      let m = this.#firstMeter[number]!;
      while (m !== NONE && this.#nextOfMeter[m] !== meter) m = this.#nextOfMeter[m]!;
      if (m === NONE) return;
      this.#nextOfMeter[m] = this.#nextOfMeter[meter]!;
    }
    this.#moduleOfMeter[meter] = NONE;
    this.#changed.add(number);
  }

  #restore(s: TopologySnapshot): void {
    this.#nextModule = s.nextModule;
    this.#nextMeter = s.nextMeter;
    for (const m of s.modules) {
      this.#put(m.number, m.path, m.address, m.displaced ? KNOWN | MISSING : KNOWN, -1);
      this.#bySerial.set(m.serial, m.number);
      for (const x of m.meters) if (x.serial) this.#meterBySerial.set(x.serial, x.meter);
      if (!m.displaced) this.#byPlace.set(place(m.path, m.address), m.number);
      this.#nextModule = Math.max(this.#nextModule, m.number + 1);
      for (const x of m.meters) this.#nextMeter = Math.max(this.#nextMeter, x.meter + 1);
    }
    for (const m of s.modules) if (this.#byPlace.get(place(m.path, m.address)) !== m.number) this.#flags[m.number]! |= DISPLACED;
    // Records written before a cut may list a meter twice (the new module's record is written before the
    // old one's): the module in its place wins, then the newer one; the next readout settles it anyway.
    const rank = (m: PersistedModule) => (this.#byPlace.get(place(m.path, m.address)) === m.number ? 1 << 30 : 0) + m.number;
    for (const m of [...s.modules].sort((a, b) => rank(a) - rank(b))) {
      for (const x of m.meters) {
        const from = this.#moduleOf(x.meter);
        if (from === m.number) continue;
        if (from !== NONE) this.#release(from, x.meter);
        this.#link(m.number, x.channel, x.meter);
      }
    }
    this.#changed.clear();
  }

  /** Module `number`'s row, with no meters and no failures. */
  #put(number: number, path: string, address: string, flags: number, lastOkMs: number): void {
    this.#flags = withRoom(this.#flags, number);
    this.#pathIndex = withRoom(this.#pathIndex, number);
    this.#failures = withRoom(this.#failures, number);
    this.#lastOkMs = withRoom(this.#lastOkMs, number);
    this.#firstMeter = withRoom(this.#firstMeter, number);
    if (!this.has(number)) this.#size++;
    this.#flags[number] = flags;
    this.#pathIndex[number] = this.#pathNumber(path);
    this.#failures[number] = 0;
    this.#lastOkMs[number] = lastOkMs;
    this.#firstMeter[number] = NONE;
    const a = this.#addresses;
    while (a.size < number) a.insert(a.size, "");
    if (a.size === number) a.insert(number, address);
    else a.set(number, address);
  }

  /** Where `path` is in the list of paths (added when new). */
  #pathNumber(path: string): number {
    const at = this.#paths.indexOf(path);
    return at >= 0 ? at : this.#paths.push(path) - 1;
  }

  #moduleOf(meter: number): number {
    return this.#moduleOfMeter[meter] ?? NONE;
  }
}

/** A module as the table knows it when read (ModuleEntry): its number and the table, nothing copied. */
class ModuleView implements ModuleEntry {
  readonly number: number;
  readonly #t: Topology;

  constructor(t: Topology, number: number) {
    this.#t = t;
    this.number = number;
  }

  get serial(): string {
    return this.#t.serialOf(this.number);
  }

  get path(): string {
    return this.#t.pathOf(this.number);
  }

  get address(): string {
    return this.#t.addressOf(this.number);
  }

  get meters(): ReadonlyMap<number, number> {
    return this.#t.metersOf(this.number);
  }

  get state(): ModuleState {
    return this.#t.stateOf(this.number);
  }

  get failures(): number {
    return this.#t.failuresOf(this.number);
  }

  get lastOkMs(): number {
    return this.#t.lastOkMsOf(this.number);
  }
}

function place(path: string, address: string): string {
  return `${path}/${address.replace(/^0+/, "")}`;
}
