/**
 * What the concentrator does with each readout of a module: the topology learns who answered, the meter
 * registers become readings (timestamped at acquisition, flagged with their status, checked for
 * plausibility), the module's status becomes events (tamper, door, battery, voltage, restarts), its relay
 * state goes to the latch manager, each meter's load to its limiter, its clock to the clock keeper, and the energy
 * of each interval to the balance monitors. A failed readout counts against the module; the topology
 * decides when it is missing (a comm-loss event) and when it is back (comm-restore).
 *
 * A readout is acquired in turns after its own (the bus's), in the order the readouts came: who
 * answered, its status, relay and clock in one; its registers a slice of data sets a turn; its
 * readings stored in one more. The work of a readout in the bus's turn held the event loop beyond
 * the turn limit (docs/memory.md). A readout not yet stored when the power goes is lost like one not
 * yet taken: nothing was acknowledged for it, and the module is read again in its slot after the boot.
 */
import type { MonotonicClock, TimerId, Timers, WallClock } from "../../hal/clock.js";
import type { Failure, Readout } from "../bus/types.js";
import type { DataSet } from "../d0/data-set.js";
import { acquiredValues } from "../d0/readings.js";
import type { BalanceMonitor } from "../events/balance.js";
import type { EventManager } from "../events/event-manager.js";
import type { LatchManager } from "../latch/latch-manager.js";
import { EventType, IMPORT_TOTAL, ReadingStatus, registerCode, type Reading } from "../model/records.js";
import { frozen } from "../model/frozen.js";
import { KeyedRows, type ColumnKind } from "../model/keyed-rows.js";
import type { ClockKeeper } from "./clock-keeper.js";
import type { ModuleLogReader } from "./module-log.js";
import { ModuleStatus, observeModule, type ModuleObservation } from "./module-readout.js";
import type { PlausibilityChecker } from "./plausibility.js";
import type { ReadKind } from "./poller.js";
import { slotOf, slotStart } from "./schedule.js";
import type { Topology, TopologyChange } from "./topology.js";

/** EN 50160: supply voltage within ±10 % of 230 V (0.1 V units). */
const VOLTAGE_BAND_DECIV: readonly [number, number] = Object.freeze([2070, 2530]);
const VOLTAGES = new Set([registerCode(32, 7, 0), registerCode(52, 7, 0), registerCode(72, 7, 0)]);
const POWER_IMPORT = registerCode(1, 7, 0);
/**
 * Data sets of a readout acquired in one turn (values, plausibility, events, balance): a readout of a
 * module with four meters is about a hundred, which in one turn held the event loop more than twice
 * the turn limit (docs/memory.md).
 */
const DATA_SETS_PER_TURN = 16;
/** A pending readout's first two steps (`next` before its data sets): who answered, then what changed persisted. */
const IDENTIFY = -2;
const PERSIST = -1;

export interface ReadingSink {
  /** Stores the readings of one readout (durable when it returns); `billing` for a daily snapshot. */
  append(readings: readonly Reading[], billing: boolean): void;
}

export interface AcquirerOptions {
  clock: MonotonicClock;
  /** The acquisition of a readout's values runs in turns of its own, after the readout's. */
  timers: Timers;
  /** Runs a turn of the acquisition: an error in it is the caller's to count, never the event loop's. */
  guard(fn: () => void): void;
  /**
   * The topology took in who answered at `path`/`address` (a readout's first step): what changed is
   * persisted here, before the readout's values are acquired and stored.
   */
  identified(path: string, address: string): void;
  wallClock: WallClock;
  topology: Topology;
  plausibility: PlausibilityChecker;
  events: EventManager;
  latch: LatchManager;
  clockKeeper: ClockKeeper;
  moduleLog: ModuleLogReader;
  balance: readonly BalanceMonitor[];
  readings: ReadingSink;
  /** Reading interval of a module's group, minutes (balance intervals follow it). */
  intervalOf(module: number): number;
  /** Asks for a fresh readout of a module (after an implausible value). */
  reread(module: number): void;
}

/**
 * The columns of a module's row in the acquirer's memory (one row per module, model/keyed-rows.ts):
 * its cold-start count (UNKNOWN until known) and its status register, as the module sent them (at
 * most 8 decimal and 8 hex digits, module-readout.ts: 32 bits each), whether it was read since boot
 * (0 or 1), the status bits something that happened since that read gives its next readings, and
 * whether a fresh readout was asked after an implausible value (0 or 1).
 */
const POWER_FAILURES = 0, STATUS = 1, READ_SINCE_BOOT = 2, PENDING_STATUS = 3, REREAD_ASKED = 4;
const MODULE_COLUMNS = frozen<ColumnKind[]>(["u32", "u32", "u8", "i32", "u8"]);
/**
 * A cold-start count not known yet: above any count a module sends (8 digits), so that no count is
 * taken for a cold start against it, as NaN was not.
 */
const UNKNOWN = 0xffff_ffff;
/** The columns of a meter's last accepted import energy, for balance deltas: value (Wh) and slot. */
const IMPORT_WH = 0, IMPORT_SLOT = 1;
const IMPORT_COLUMNS = frozen<ColumnKind[]>(["f64", "i32"]);

/**
 * A readout being acquired, in turns: who answered (the first), a slice of data sets a turn, then its
 * readings stored. A failed readout of a module waits in the same queue (`failure`), so that the
 * topology sees answers and failures in the order they came.
 */
interface PendingAcquisition {
  path: string;
  address: string;
  dataSets: readonly DataSet[];
  kind: ReadKind | "discovery";
  timeS: number;
  /** Set by the first step: the module, the status bits of its readings, its meters by channel then. */
  module: number;
  status: number;
  meters: ReadonlyMap<number, number> | undefined;
  /** The next data set to acquire; IDENTIFY before the first step, PERSIST before the second. */
  next: number;
  readings: Reading[];
  implausible: boolean;
  failure: Failure | undefined;
}

export class Acquirer {
  readonly #o: AcquirerOptions;
  readonly #memory = new KeyedRows(MODULE_COLUMNS);
  /** Last accepted import energy per meter, for balance deltas. */
  readonly #lastImport = new KeyedRows(IMPORT_COLUMNS);
  readonly counters = { readouts: 0, readings: 0, implausible: 0, failures: 0, malformed: 0 };
  /** Readouts whose values are not stored yet, in the order they came. */
  readonly #pending: PendingAcquisition[] = [];
  #turn: TimerId | undefined;

  constructor(options: AcquirerOptions) {
    this.#o = options;
  }

  /** Flags the next readings of every module (a power failure of the concentrator, a clock change), read since boot or not. */
  flagAll(status: number): void {
    const mem = this.#memory;
    const t = this.#o.topology;
    for (let n = t.next(0); n !== 0; n = t.next(n)) {
      const row = this.#memoryOf(n, undefined);
      mem.set(row, PENDING_STATUS, mem.get(row, PENDING_STATUS) | status);
    }
  }

  /**
   * A readout at `path`/`address` (scheduled, billing, on-demand or a discovery probe), acquired in
   * the turns after this one, after the readouts before it: who answered, what its status, relay and
   * clock say (then `identified`); its registers, `DATA_SETS_PER_TURN` data sets a turn; its readings
   * stored.
   */
  readout(path: string, address: string, readout: Readout, kind: ReadKind | "discovery", timeS: number): void {
    this.#enqueue({ path, address, dataSets: readout.dataSets, kind, timeS, module: 0, status: 0, meters: undefined, next: IDENTIFY, readings: [], implausible: false, failure: undefined });
  }

  #enqueue(p: PendingAcquisition): void {
    this.#pending.push(p);
    this.#turn ??= this.#o.timers.set(() => this.#nextTurn(), 0);
  }

  /** Who answered, its status, relay and clock: the first step of a readout (the second persists what changed). False when it is not acquired further. */
  #identifyStep(p: PendingAcquisition): boolean {
    const obs = observeModule(p.dataSets);
    const module = obs.serial === undefined ? undefined : this.#identify(p.path, p.address, obs.serial, obs.meters);
    if (module === undefined) {
      this.counters.malformed++;
      return false;
    }
    this.counters.readouts++;
    p.module = module.number;
    p.status = this.#moduleStatus(module.number, module.changes, obs, p.kind, p.timeS);
    const o = this.#o;
    if (obs.relayConnected !== undefined) o.latch.observeRelay(module.number, obs.relayConnected);
    o.clockKeeper.observe(module.number, obs.clockSeconds, ((obs.status ?? 0) & ModuleStatus.clockNotSet) !== 0, p.timeS);
    p.meters = o.topology.metersOf(module.number);
    return true;
  }

  /** Acquires and stores every pending readout now (before an orderly shutdown: no turn limit then). */
  flush(): void {
    if (this.#turn !== undefined) this.#o.timers.clear(this.#turn);
    this.#turn = undefined;
    while (this.#pending.length) this.#step();
  }

  #nextTurn(): void {
    this.#turn = undefined;
    try {
      this.#o.guard(() => this.#step());
    } finally {
      if (this.#pending.length) this.#turn = this.#o.timers.set(() => this.#nextTurn(), 0);
    }
  }

  /**
   * One turn's work: the first pending readout's identification, its next slice, or its readings
   * stored once every slice is done (or a failure taken). The queue moves on before the work, so a
   * step that throws is not run again.
   */
  #step(): void {
    const p = this.#pending[0]!;
    if (p.failure) {
      this.#pending.shift();
      return this.#failed(p.module, p.failure);
    }
    if (p.next === IDENTIFY) {
      p.next = PERSIST;
      if (!this.#identifyStep(p)) this.#pending.shift();
      return;
    }
    if (p.next === PERSIST) {
      // A turn of its own: the topology's lookups and the persisting of what changed are each about 60,000 units.
      p.next = 0;
      return this.#o.identified(p.path, p.address);
    }
    if (p.next < p.dataSets.length) {
      const from = p.next;
      p.next = Math.min(from + DATA_SETS_PER_TURN, p.dataSets.length);
      return this.#acquire(p, from, p.next);
    }
    this.#pending.shift();
    if (p.readings.length) this.#o.readings.append(p.readings, p.kind === "billing");
    this.#askReread(p.module, p.implausible);
  }

  /** The module that answered, as the topology knows it after this answer; undefined when its table is full (not tracked). */
  #identify(path: string, address: string, serial: string, meters: ModuleObservation["meters"]): { number: number; changes: TopologyChange[] } | undefined {
    const o = this.#o;
    let changes: TopologyChange[];
    try {
      changes = o.topology.observe(path, address, serial, meters, o.clock.now());
    } catch {
      // A full table: the module is not tracked, which the caller sees in the counters.
      return undefined;
    }
    return { number: o.topology.numberAt(path, address)!, changes };
  }

  /**
   * The module's own news (topology changes, a cold restart, a billing read, its contacts and battery)
   * raised as events; returns the status bits its readings of this readout carry.
   */
  #moduleStatus(module: number, changes: TopologyChange[], obs: ModuleObservation, kind: ReadKind | "discovery", timeS: number): number {
    const o = this.#o;
    let status = this.#topologyEvents(module, changes);
    const mem = this.#memory, row = this.#memoryOf(module, obs.powerFailures);
    // The first readout since this boot: what the module logged while we were down is news.
    if (!mem.get(row, READ_SINCE_BOOT)) o.moduleLog.catchUp(module);
    status |= mem.get(row, PENDING_STATUS);
    mem.set(row, PENDING_STATUS, 0);
    // UNKNOWN (not known yet) is above any count.
    if (obs.powerFailures !== undefined && obs.powerFailures > mem.get(row, POWER_FAILURES)) {
      // The module restarted cold: its relay and clock may have been reset, its log may hold news.
      status |= ReadingStatus.powerFailure;
      o.events.pulse(EventType.powerRestore, module, obs.powerFailures);
      o.moduleLog.read(module);
    }
    if (obs.powerFailures !== undefined) mem.set(row, POWER_FAILURES, obs.powerFailures);
    if (kind === "billing") {
      status |= ReadingStatus.billing;
      o.moduleLog.read(module);
    }
    this.#statusEvents(module, obs.status ?? 0, mem.get(row, STATUS));
    mem.set(row, STATUS, obs.status ?? 0);
    mem.set(row, READ_SINCE_BOOT, 1);
    return status;
  }

  /**
   * The registers of the pending readout's data sets `from` to `end` as readings: checked for
   * plausibility, fed to the limiters, the voltage band and the balance, and kept for storing.
   */
  #acquire(p: PendingAcquisition, from: number, end: number): void {
    const o = this.#o;
    const { kind, module, timeS } = p, meters = p.meters!;
    const values = acquiredValues(p.dataSets.slice(from, end), { meterOf: (b) => (b === undefined ? undefined : meters.get(b)), time: Math.floor(timeS), status: p.status });
    for (const { reading, text } of values) {
      p.readings.push(reading);
      if (o.plausibility.check(reading, text) !== "ok") p.implausible = true;
      this.counters.readings++;
      if (reading.status & ReadingStatus.implausible) {
        this.counters.implausible++;
        continue;
      }
      if (reading.register === POWER_IMPORT) o.latch.sampleLoad(reading.meter, reading.value);
      if (VOLTAGES.has(reading.register)) {
        const out = reading.value < VOLTAGE_BAND_DECIV[0] || reading.value > VOLTAGE_BAND_DECIV[1];
        o.events.condition(EventType.voltageOutOfBand, reading.meter, out, reading.value);
      }
      if (reading.register === IMPORT_TOTAL && kind !== "discovery") this.#balance(module, reading, timeS);
    }
  }

  /** An implausible value asks for one fresh readout; the one after it is taken as it comes. */
  #askReread(module: number, implausible: boolean): void {
    const row = this.#memoryOf(module, undefined);
    if (implausible && !this.#memory.get(row, REREAD_ASKED)) {
      this.#memory.set(row, REREAD_ASKED, 1);
      this.#o.reread(module);
    } else this.#memory.set(row, REREAD_ASKED, 0);
  }

  /** A readout of a known module failed after its retries: taken after the readouts before it. */
  failed(module: number, failure: Failure): void {
    if (this.#pending.length) this.#enqueue({ path: "", address: "", dataSets: [], kind: "scheduled", timeS: 0, module, status: 0, meters: undefined, next: 0, readings: [], implausible: false, failure });
    else this.#failed(module, failure);
  }

  #failed(module: number, _failure: Failure): void {
    this.counters.failures++;
    for (const c of this.#o.topology.failed(module)) {
      if (c.kind === "missing") this.#o.events.pulse(EventType.commLoss, module, c.failures);
    }
  }

  /** The module's row in the memory, added (with `powerFailures`, UNKNOWN when undefined) on its first use. */
  #memoryOf(module: number, powerFailures: number | undefined): number {
    let row = this.#memory.find(module);
    if (row === -1) {
      row = this.#memory.add(module);
      this.#memory.set(row, POWER_FAILURES, powerFailures ?? UNKNOWN);
    }
    return row;
  }

  /** Raises the events of topology changes; returns the status bits they give this read's values. */
  #topologyEvents(module: number, changes: TopologyChange[]): number {
    const o = this.#o;
    let status = 0;
    for (const c of changes) {
      switch (c.kind) {
        case "new":
          o.events.pulse(EventType.moduleNew, c.module, 0);
          break;
        case "replaced":
          o.events.pulse(EventType.moduleReplaced, c.module, c.previous);
          status |= ReadingStatus.moduleReplaced;
          break;
        case "moved":
          o.events.pulse(EventType.moduleMoved, c.module, 0);
          break;
        case "meterNew":
          // A new meter behind a known module replaced one there; a new module's meters are just new.
          if (c.module === module && !changes.some((x) => x.kind === "new")) status |= ReadingStatus.moduleReplaced;
          break;
        case "meterMoved":
          status |= ReadingStatus.moduleReplaced;
          break;
        case "restored":
          o.events.pulse(EventType.commRestore, c.module, c.failures);
          break;
        case "missing":
          o.events.pulse(EventType.commLoss, c.module, c.failures);
          break;
      }
    }
    return status;
  }

  /**
   * The module's contacts are debounced by the module, which logs every opening: a contact seen open
   * now and closed at the previous readout (or first seen since boot) is an opening, raised at once
   * (the catalogue's hold-off still folds a chattering one into one alarm). A low battery is a level:
   * raised once it has held (the catalogue's debounce). What is raised here is not raised again from
   * the module's log.
   */
  #statusEvents(module: number, status: number, previous: number): void {
    const o = this.#o;
    const raised = (type: EventType, yes: boolean) => yes && o.moduleLog.reported(module, type);
    for (const [bit, type] of [[ModuleStatus.tamperOpen, EventType.tamper], [ModuleStatus.doorOpen, EventType.door]] as const) {
      if (status & bit && !(previous & bit)) raised(type, o.events.pulse(type, module));
    }
    raised(EventType.batteryLow, o.events.condition(EventType.batteryLow, module, (status & ModuleStatus.batteryLow) !== 0));
  }

  #balance(module: number, reading: Reading, timeS: number): void {
    const interval = this.#o.intervalOf(module);
    const slot = slotOf(timeS, interval);
    let row = this.#lastImport.find(reading.meter);
    const known = row !== -1;
    if (!known) row = this.#lastImport.add(reading.meter);
    const lastWh = this.#lastImport.get(row, IMPORT_WH), lastSlot = this.#lastImport.get(row, IMPORT_SLOT);
    this.#lastImport.set(row, IMPORT_WH, reading.value);
    this.#lastImport.set(row, IMPORT_SLOT, slot);
    if (!known || slot !== lastSlot + 1) return;
    for (const b of this.#o.balance) {
      if (!b.has(reading.meter)) continue;
      const r = b.add(reading.meter, slotStart(slot, interval), reading.value - lastWh, interval * 60_000);
      if (r.change === "raised") this.#o.events.pulse(EventType.balanceAlarm, r.balance!.group, Math.max(1, Math.round(r.balance!.lossPercent)));
      // The end of an imbalance is reported too (detail 0), as an event rather than an alarm.
      else if (r.change === "cleared") this.#o.events.record({ type: EventType.balanceAlarm, subject: r.balance!.group, time: Math.floor(timeS), alarm: false, detail: 0 });
    }
  }
}
