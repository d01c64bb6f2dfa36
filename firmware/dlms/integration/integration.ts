/**
 * DLMS meters in the concentrator: a DlmsPath per RS485 bus, and what their reads bring besides the
 * readout every module gives:
 *
 * - the load profile since its mark becomes readings at their capture times (status from the AMR
 *   profile status), stored like every reading; catch-up after an outage reads the missing range, at
 *   most `MAX_SPAN_S` per read, from the mark persisted once the readings are stored;
 * - the event logs since their marks become events (the DSMR/IDIS codes of EVENTS);
 * - the disconnect control: a consumer's own reconnection (button, e) or the meter's local
 *   disconnection (its limiter, g) become latch triggers; a state or mode that differs from the latch
 *   while the output agrees is brought in line (the latch drives output changes itself, through the
 *   path's relay commands);
 * - the consumer's load limit and the emergency profile are written to the meter's limiter (IC 71)
 *   when they change, and the concentrator's own limiter leaves the consumer to it;
 * - a refused association or an answer that fails its security check is an alarm (meterSecurity);
 *   with HLS the meter's frame counter (0.0.43.1.0.255, public client) is read and the client's
 *   counter continued above it, for a meter that saw a higher one (another client, a replaced board).
 */
import type { Timers, WallClock } from "../../../hal/clock.js";
import type { CryptoService, RandomSource } from "../../../hal/system.js";
import type { BusMaster } from "../../bus/bus-master.js";
import type { Failure } from "../../bus/types.js";
import type { EventManager } from "../../events/event-manager.js";
import { outputState, type ControlState } from "../../latch/disconnect-control.js";
import type { LatchManager } from "../../latch/latch-manager.js";
import { EventType, type Reading } from "../../model/records.js";
import { Priority } from "../../poll/poller.js";
import type { StateJournal } from "../../store/state-journal.js";
import { integerOf } from "../axdr/data.js";
import { SequenceScript, type MeterRead, type ProfileResult, type ReadPlan, type RegisterSpec } from "../client/scripts.js";
import { newSessionCounters, type Endpoint, type SessionCounters } from "../client/types.js";
import { Attr, ClassId, type DisconnectState } from "../cosem/classes.js";
import { Obis, sameLogicalName, type LogicalName } from "../cosem/obis.js";
import { DEFAULT_LOGS, DEFAULT_PROFILE, DEFAULT_REGISTERS, dlmsAddress, endpointOf, logicalName, parseDlmsAddress, registerSpec, type DlmsMeterConfig, type DlmsSiteConfig } from "./config.js";
import { DisconnectScript, limiterScript, type DisconnectTarget, type Emergency } from "./control.js";
import { profileReadings } from "./d0-view.js";
import { packHeader } from "./packed-header.js";
import { MeterMemory } from "./meter-memory.js";
import { DlmsPath, type DlmsPathContext } from "./path.js";
import { DlmsState, meterId } from "./persistence.js";
import { frozen } from "../../model/frozen.js";

/** DSMR/IDIS event codes (standard and fraud detection logs) and the concentrator event each becomes. */
const EVENTS: Readonly<Record<number, EventType>> = frozen({
  1: EventType.powerFail,
  2: EventType.powerRestore,
  8: EventType.batteryLow,
  40: EventType.terminalCover,
  42: EventType.magneticField,
  44: EventType.tamper,
  46: EventType.passwordGuessing,
});

/** A profile or log read at once covers at most this, s: a long outage is caught up over several reads. */
const MAX_SPAN_S = 86_400;
/** Profile entries converted to readings per turn. */
const ROWS_PER_TURN = 24;
/** Entries stamped a little ahead of the concentrator's clock (meter drift) are taken too, s. */
const AHEAD_S = 300;

export interface DlmsIntegrationOptions {
  config: DlmsSiteConfig;
  journal: StateJournal;
  crypto: CryptoService;
  random: RandomSource;
  timers: Timers;
  wallClock: WallClock;
  /** The module number at a place, once the topology knows it, and the meter (consumer) behind it. */
  moduleAt(path: string, address: string): number | undefined;
  meterOf(module: number): number | undefined;
  latch(): LatchManager;
  events: EventManager;
  /** Stores readings (durable when it returns). */
  store(readings: readonly Reading[]): void;
  /** The emergency profile in force, if any. */
  emergency(): Emergency | undefined;
}

interface Defaults {
  readonly registers: readonly RegisterSpec[];
  readonly profile: LogicalName | undefined;
  readonly logs: readonly LogicalName[];
}

function registerSpecs(texts: readonly string[]): RegisterSpec[] {
  return texts.map(registerSpec).filter((r) => r !== undefined);
}

function logicalNames(texts: readonly string[]): LogicalName[] {
  return texts.map((t) => logicalName(t, t)).filter((ln) => ln !== undefined);
}

export class DlmsIntegration implements DlmsPathContext {
  readonly #o: DlmsIntegrationOptions;
  readonly state: DlmsState;
  /** Session statistics per bus (a bus runs one association at a time, so its byte counts are one session's). */
  readonly #busStats: SessionCounters[] = [];
  readonly counters = { reads: 0, profileReadings: 0, logEvents: 0, syncs: 0, limiterWrites: 0, securityEvents: 0, counterRecoveries: 0 };
  readonly #paths: DlmsPath[] = [];
  readonly #memory = new MeterMemory();
  #defaultLists: Defaults | undefined;
  /** Consumers whose meter is a DLMS meter with a management client (it limits itself). */
  readonly #limited = new Set<number>();

  constructor(options: DlmsIntegrationOptions) {
    this.#o = options;
    this.state = new DlmsState(options.journal);
  }

  /** Session statistics of every bus together. */
  get stats(): SessionCounters {
    const sum = newSessionCounters();
    for (const s of this.#busStats) if (s) for (const k of Object.keys(sum) as Array<keyof SessionCounters>) sum[k] += s[k];
    return sum;
  }

  /** The path for RS485 bus `index` (its bus master carries IEC and DLMS alike). */
  path(bus: BusMaster, index: number): DlmsPath {
    const p = new DlmsPath(bus, index, this.#o.timers, this);
    this.#paths[index] = p;
    return p;
  }

  /** Candidate addresses discovery scans on bus `index`. */
  scanAddresses(index: number): string[] {
    const out: string[] = [];
    for (const s of this.#o.config.scan ?? []) if (s.bus === index) for (let a = s.from; a <= s.to; a++) out.push(dlmsAddress(a));
    for (const m of this.#o.config.meters) if (m.bus === index && !out.includes(dlmsAddress(m.physical, m.logical))) out.push(dlmsAddress(m.physical, m.logical));
    return out;
  }

  limitedByMeter(consumer: number): boolean {
    return this.#limited.has(consumer);
  }

  // ---- DlmsPathContext ----

  session(bus: number, address: string) {
    const a = parseDlmsAddress(address);
    if (!a) return undefined;
    const config = this.#config(bus, a.physical);
    const endpoint = endpointOf(a, config, this.#o.config.clientSystemTitle);
    const id = meterId(bus, a.physical);
    const counters = endpoint.security.level === "hls" ? this.state.counters(id) : undefined;
    const stats = (this.#busStats[bus] ??= newSessionCounters());
    return { endpoint, deps: { crypto: this.#o.crypto, random: this.#o.random, stats, ...(counters ? { counters } : {}) } };
  }

  plan(bus: number, address: string, probe: boolean): ReadPlan {
    const a = parseDlmsAddress(address)!;
    const config = this.#config(bus, a.physical);
    if (probe || !config) return { registers: [] };
    const registers = config.registers ? registerSpecs(config.registers) : this.defaults().registers;
    if (!this.#o.wallClock.valid) return { registers };
    const nowS = Math.floor(this.#o.wallClock.now() / 1000);
    const marks = this.state.marks(meterId(bus, a.physical));
    const mem = this.#memory, row = this.memoryOf(bus, address);
    const range = (ln: Uint8Array, mark: number | undefined) => {
      const fromS = mark ? mark + 1 : nowS - (this.#o.config.catchUpS ?? 86_400);
      const header = mem.header(row, ln);
      return { ln, fromS, toS: Math.min(nowS + AHEAD_S, fromS + MAX_SPAN_S), deviation: mem.deviation(row), ...(header ? { header } : {}) };
    };
    const ranges = [];
    const profile = this.#profile(config);
    if (profile) ranges.push(range(profile, marks.profileS));
    this.#logs(config).forEach((ln, i) => ranges.push(range(ln, marks.logS[i])));
    return { registers, ranges };
  }

  disconnectTarget(bus: number, address: string, connected: boolean): DisconnectTarget {
    const meter = this.meterAt(bus, address);
    const latch = this.#o.latch();
    const state = meter === undefined ? undefined : latch.state(meter);
    const mode = meter === undefined ? 2 : latch.mode(meter);
    if (state === undefined || outputState(state) !== connected) return { state: connected ? 1 : 0, mode };
    return { state, mode };
  }

  deviation(bus: number, address: string): number {
    return this.#memory.deviation(this.memoryOf(bus, address));
  }

  read(bus: number, address: string, read: MeterRead): void {
    this.counters.reads++;
    const row = this.memoryOf(bus, address);
    if (read.clock?.deviation !== undefined) this.#memory.setDeviation(row, read.clock.deviation);
    for (const p of read.profiles) this.#memory.setHeader(row, p.ln, packHeader(p));
    const meter = this.meterAt(bus, address);
    if (meter !== undefined && read.disconnect) this.observeDisconnect(bus, address, meter, read.disconnect);
  }

  delivered(bus: number, address: string, read: MeterRead): void {
    const a = parseDlmsAddress(address)!;
    const module = this.#o.moduleAt(`bus${bus}`, address);
    const meter = module === undefined ? undefined : this.#o.meterOf(module);
    const config = this.#config(bus, a.physical);
    if (module === undefined || meter === undefined || !config) return;
    if (config.security !== "none") this.#limited.add(meter);
    this.takeLogs(bus, a.physical, config, module, meter, read.profiles);
    this.writeLimiter(bus, address, meter, config);
  }

  disconnect(bus: number, address: string, state: DisconnectState): void {
    const meter = this.meterAt(bus, address);
    if (meter !== undefined) this.observeDisconnect(bus, address, meter, state);
  }

  failed(bus: number, address: string, failure: Failure): void {
    if (failure.code !== "security" && failure.code !== "association-refused") return;
    const module = this.#o.moduleAt(`bus${bus}`, address);
    const detail = failure.code === "association-refused" ? 3 : /counter/.test(failure.detail ?? "") ? 2 : 1;
    this.counters.securityEvents++;
    if (module !== undefined) this.#o.events.pulse(EventType.meterSecurity, module, detail);
    const a = parseDlmsAddress(address)!;
    if (failure.code === "association-refused" && this.#config(bus, a.physical)?.security === "hls") this.recoverCounter(bus, address);
  }

  // ---- what a read brings ----

  /**
   * Log entries to events at once; profile entries to readings a chunk per turn (ROWS_PER_TURN: the
   * conversion costs ~2,000 XS units an entry), each chunk stored before the next; the marks once the
   * store has everything they cover.
   */
  private takeLogs(bus: number, physical: number, config: DlmsMeterConfig, module: number, meter: number, profiles: readonly ProfileResult[]): void {
    const id = meterId(bus, physical);
    const marks = this.state.marks(id);
    const logS = [...marks.logS];
    const profile = this.#profile(config);
    const logs = this.#logs(config);
    let entries: ProfileResult | undefined;
    for (const p of profiles) {
      if (profile && sameLogicalName(p.ln, profile)) {
        entries = p;
        continue;
      }
      const i = logs.findIndex((ln) => sameLogicalName(ln, p.ln));
      const code = p.columns.findIndex((c) => c.classId === ClassId.data);
      if (i < 0 || code < 0) continue;
      while (logS.length <= i) logS.push(0);
      for (const row of p.rows) {
        if (row.timeS <= logS[i]!) continue;
        const value = integerOf(row.values[code]);
        const type = value === undefined ? undefined : EVENTS[value];
        this.counters.logEvents++;
        if (type !== undefined) this.#o.events.pulse(type, module, value!, row.timeS);
        logS[i] = row.timeS;
      }
    }
    if (logS.some((s, i) => s !== (marks.logS[i] ?? 0))) this.state.setMarks(id, { profileS: marks.profileS, logS });
    if (!entries?.rows.length) return;
    const p = entries;
    const afterS = marks.profileS;
    const chunk = (from: number): void => {
      const to = Math.min(p.rows.length, from + ROWS_PER_TURN);
      const readings = profileReadings(p, meter, afterS, from, to);
      if (readings.length) {
        this.#o.store(readings);
        this.counters.profileReadings += readings.length;
      }
      if (to < p.rows.length) return void this.#o.timers.set(() => chunk(to), 0);
      const now = this.state.marks(id);
      this.state.setMarks(id, { profileS: Math.max(now.profileS, p.rows[p.rows.length - 1]!.timeS), logS: now.logS });
    };
    this.#o.timers.set(() => chunk(0), 0);
  }

  /**
   * The meter's disconnect control against the latch: the consumer's button (e) and the meter's own
   * local disconnection (g) are triggers of the latch; a state or mode that differs while the output
   * agrees is brought in line. Output changes are the latch manager's (it drives, re-asserts, alarms).
   */
  private observeDisconnect(bus: number, address: string, meter: number, s: DisconnectState): void {
    const latch = this.#o.latch();
    const before = latch.state(meter);
    if (before === 2 && s.controlState === 1) latch.trigger(meter, "manualReconnect", "manual");
    else if (before === 1 && s.controlState === 2) latch.trigger(meter, "localDisconnect", "local");
    const state: ControlState = latch.state(meter);
    const mode = latch.mode(meter);
    if (outputState(state) !== s.outputState || (state === s.controlState && mode === s.controlMode)) return;
    const mem = this.#memory, row = this.memoryOf(bus, address);
    if (mem.syncing(row)) return;
    mem.setSyncing(row, true);
    this.counters.syncs++;
    this.#paths[bus]?.run(address, Priority.alarm, undefined, { script: () => new DisconnectScript({ state, mode }), done: () => mem.setSyncing(row, false) });
  }

  private writeLimiter(bus: number, address: string, meter: number, config: DlmsMeterConfig): void {
    if (config.security === "none") return;
    const mem = this.#memory, row = this.memoryOf(bus, address);
    const limit = this.#o.latch().limiter(meter);
    const emergency = this.#o.emergency();
    const text = JSON.stringify([limit ?? null, emergency ?? null]);
    if (mem.limiter(row) === text || mem.limiting(row)) return;
    mem.setLimiting(row, true);
    this.counters.limiterWrites++;
    this.#paths[bus]?.run(address, Priority.scheduled, undefined, {
      script: () => limiterScript(limit, emergency, mem.deviation(row)),
      done: (r) => {
        mem.setLimiting(row, false);
        if (r.ok && r.value === 0) mem.setLimiter(row, text);
      },
    });
  }

  /** Reads the meter's frame counter with the public client and continues the client's counter above it. */
  private recoverCounter(bus: number, address: string): void {
    const a = parseDlmsAddress(address)!;
    const publicClient: Endpoint = { ...endpointOf(a, undefined, this.#o.config.clientSystemTitle) };
    const ref = { classId: ClassId.data, ln: Obis.invocationCounter, index: Attr.value };
    this.#paths[bus]?.run(
      address,
      Priority.scheduled,
      undefined,
      {
        script: () => new SequenceScript([{ kind: "get", refs: [ref] }]),
        done: (r) => {
          const got = r.ok ? r.value[0] : undefined;
          const seen = got?.kind === "get" && got.results[0]?.ok ? integerOf(got.results[0].data) : undefined;
          if (seen === undefined) return;
          this.state.counters(meterId(bus, a.physical)).advanceTo(seen);
          this.counters.counterRecoveries++;
        },
      },
      publicClient,
    );
  }

  // ---- helpers ----

  #config(bus: number, physical: number): DlmsMeterConfig | undefined {
    return this.#o.config.meters.find((m) => m.bus === bus && m.physical === physical);
  }

  #logs(config: DlmsMeterConfig): readonly LogicalName[] {
    return config.eventLogs ? logicalNames(config.eventLogs) : this.defaults().logs;
  }

  #profile(config: DlmsMeterConfig): LogicalName | undefined {
    return config.loadProfile === undefined ? this.defaults().profile : logicalName(config.loadProfile, DEFAULT_PROFILE);
  }

  /**
   * What a meter without its own lists reads, parsed once and shared by every plan: parsed per read,
   * each read in flight held its own (some 130 slots: a logical name is a typed array).
   */
  private defaults(): Defaults {
    return (this.#defaultLists ??= { registers: registerSpecs(DEFAULT_REGISTERS), profile: logicalName(DEFAULT_PROFILE, DEFAULT_PROFILE), logs: logicalNames(DEFAULT_LOGS) });
  }

  private meterAt(bus: number, address: string): number | undefined {
    const module = this.#o.moduleAt(`bus${bus}`, address);
    return module === undefined ? undefined : this.#o.meterOf(module);
  }

  /** The meter's row in `#memory`. */
  private memoryOf(bus: number, address: string): number {
    return this.#memory.row(meterId(bus, parseDlmsAddress(address)?.physical ?? 0));
  }
}
