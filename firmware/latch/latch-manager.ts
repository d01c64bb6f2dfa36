/**
 * Disconnect latches: one IC 70 disconnect control per consumer, persisted before anything is
 * acknowledged, carried out on the relay of the local module in front of the consumer's meter and
 * verified by reading it back, and re-asserted whenever the module reports a relay state that
 * disagrees (a reboot on a flat battery closes the relay, a hand on the terminal may too). Seeds/001:
 * "Maintaining consumer disconnection as long until reconnect clearance is received from the
 * Operation Center".
 *
 * A consumer is a meter (its number in the topology), not a module: when a module is replaced the
 * latch stays with the household and is enforced on the new module's relay. A module with several
 * meters has one relay: it is open while any of its consumers must be off.
 *
 * Rules:
 * - Remote triggers (disconnect, reconnect clearance) are accepted only from the head-end, whose
 *   commands the uplink has authenticated; local triggers only from the limiter; manual ones only from
 *   the field. Anything else is refused and counted, never applied.
 * - The new control state is saved (critical state: old or new, never neither) before `done` reports
 *   it accepted; then the relay is driven. A latch that could not be driven is retried with back-off
 *   until it is, and every latched module is watched every `watchMs`, so a consumer that a module
 *   reconnects by itself is cut off again within one poll interval.
 * - Every change is audited and raises a latch-change event; every mismatch raises a relay-mismatch alarm.
 */
import type { MonotonicClock, TimerId, Timers, WallClock } from "../../hal/clock.js";
import type { Failure } from "../bus/types.js";
import { EventType, type MeterEvent } from "../model/records.js";
import { ControlState, isControlMode, outputState, transition, type ControlMode, type Trigger } from "./disconnect-control.js";
import { frozen } from "../model/frozen.js";
import { KeyedRows, type ColumnKind } from "../model/keyed-rows.js";
import { isValidLoadLimit, type LoadLimit } from "../model/load-limit.js";
import { Limiter, type EmergencyProfile } from "./limiter.js";

export interface LatchRecord {
  /** The consumer's meter number. */
  consumer: number;
  state: ControlState;
  mode: ControlMode;
  /** The consumer's load limiter (IC 71), when it has one. */
  limiter?: LoadLimit;
}

/** Critical state of the latches. `save` is durable when it returns and leaves the old or the new record. */
export interface LatchPersistence {
  load(): LatchRecord[];
  save(record: LatchRecord): void;
}

export type RelayResult = { ok: true; connected: boolean } | { ok: false; failure: Failure };

/**
 * The relays, reached through the module's path at alarm priority. The outcome goes to an object's
 * method, not to a callback made for the operation (a closure is some 11 slots in XS): a drive's own
 * record hears its write, the latch manager its reads.
 */
export interface RelayActuator {
  /** Writes the relay, then reads it back; `to` gets the state read back. */
  setRelay(module: number, connected: boolean, to: { relaySet(module: number, r: RelayResult): void }): void;
  /** Reads the relay state. */
  readRelay(module: number, to: { relayRead(module: number, r: RelayResult): void }): void;
}

export type TriggerSource = "head-end" | "console" | "local" | "manual";

export interface AuditEntry {
  timeS: number;
  source: TriggerSource;
  subject: number;
  /** The trigger pulled, "mode" for a change of control mode, "limit" for one of the load limiter. */
  action: Trigger | "mode" | "limit";
  old: string;
  new: string;
  result: "ok" | "refused";
  /** The engineer, for a trigger from a console session. */
  actor?: string;
}

export interface LatchOptions {
  persistence: LatchPersistence;
  relays: RelayActuator;
  /** The module in front of a consumer's meter now, or undefined when the meter is unknown. */
  moduleOf(consumer: number): number | undefined;
  /** The consumers (meters) behind a module now. */
  consumersOf(module: number): readonly number[];
  clock: MonotonicClock;
  timers: Timers;
  wallClock: WallClock;
  raise(event: MeterEvent): void;
  audit(entry: AuditEntry): void;
  /** Control mode of a consumer without a record. Default 2 (remote reconnect reconnects directly). */
  defaultMode?: ControlMode;
  /** How often a latched (disconnected) module's relay is checked, ms. Default 5 min, a third of the poll interval. */
  watchMs?: number;
  /** First retry after a failed relay operation, ms; doubles up to `watchMs`. Default 30 s. */
  retryMs?: number;
  /**
   * True for a consumer whose meter applies the load limit itself (a DLMS meter's IC 71, written from
   * the consumer's record): the concentrator's samples then decide nothing for it.
   */
  limitedByMeter?(consumer: number): boolean;
}

export type LatchOutcome = { code: "ok"; state: ControlState } | { code: "refused"; reason: string };

/**
 * Who may pull each trigger. The remote ones carry the operation center's authority: the head-end's
 * authenticated commands, and an engineer logged in on the console with a key the unit trusts
 * (docs/console.md), audited with the engineer's name.
 */
const SOURCES_OF: Record<Trigger, readonly TriggerSource[]> = frozen({
  remoteDisconnect: ["head-end", "console"],
  remoteReconnect: ["head-end", "console"],
  localDisconnect: ["local"],
  localReconnect: ["local"],
  manualDisconnect: ["manual"],
  manualReconnect: ["manual"],
});

/** A relay being driven: the latch's output state written, read back, retried with back-off until it holds. */
class Drive {
  timer: TimerId | undefined = undefined;
  busy = false;
  /** The latch changed while the relay was being driven. */
  again = false;
  /** The state being written. */
  want = false;

  constructor(
    readonly latch: LatchManager,
    public retryMs: number,
  ) {}

  /** The relay actuator's answer to this drive's write. */
  relaySet(module: number, r: RelayResult): void {
    this.latch.driven(this, module, r);
  }
}

/**
 * The columns of a consumer's row (model/keyed-rows.ts): its meter number, control state and mode. A
 * record as an object with its Map entry was some 9 slots per latched consumer.
 */
const CONSUMER = 0, STATE = 1, MODE = 2;
const RECORD_COLUMNS = frozen<ColumnKind[]>(["u16", "u8", "u8"]);

export class LatchManager {
  readonly #o: LatchOptions;
  /** Every consumer with a record, in the order they got one. */
  readonly #records = new KeyedRows(RECORD_COLUMNS);
  /** The load limiter configuration of the consumers that have one (in their record). */
  readonly #limits = new Map<number, LoadLimit>();
  /** Relay drives in progress, by module. */
  readonly #drives = new Map<number, Drive>();
  /** Load limiters, by consumer (their configuration is in the consumer's record). */
  readonly #limiters = new Map<number, Limiter>();
  #emergency: EmergencyProfile | undefined;
  #watch: TimerId | undefined;
  /** Between start and stop: relays are driven and watched only then (a latch changed before start is driven by start). */
  #running = false;
  readonly counters = { refused: 0, mismatchesDetected: 0, mismatchesRepaired: 0, relayOperations: 0, relayFailures: 0 };
  /** Modules whose relay disagreed and has not been verified since. */
  readonly #mismatched = new Set<number>();
  /** Modules whose relay this manager is closing (a reconnection), until it is verified closed. */
  readonly #closing = new Set<number>();
  /**
   * Latched modules whose relay the watch reads next, one read at a time: a queued readout with its
   * callbacks is some 100 slots on the device, a waiting number 16 B of a chunk (docs/memory.md).
   */
  readonly #watchQueue: number[] = [];
  #watchReading = false;

  constructor(options: LatchOptions) {
    this.#o = options;
    for (const r of options.persistence.load()) {
      if (!isControlMode(r.mode)) continue;
      this.put(r.consumer, r.state, r.mode, r.limiter);
      if (r.limiter && isValidLoadLimit(r.limiter)) this.#limiters.set(r.consumer, new Limiter(r.limiter));
    }
  }

  /** Starts enforcing: every latched relay is driven now (a reboot may have closed some), then watched. */
  start(): void {
    this.#running = true;
    for (const module of this.latched()) this.drive(module);
    this.#watch = this.#o.timers.set(() => this.watchLatched(), this.#watchMs, this.#watchMs);
  }

  stop(): void {
    this.#running = false;
    if (this.#watch !== undefined) this.#o.timers.clear(this.#watch);
    this.#watch = undefined;
    this.#watchQueue.length = 0;
    for (const d of this.#drives.values()) if (d.timer !== undefined) this.#o.timers.clear(d.timer);
    this.#drives.clear();
  }

  state(consumer: number): ControlState {
    const row = this.#records.find(consumer);
    return row === -1 ? ControlState.connected : (this.#records.get(row, STATE) as ControlState);
  }

  mode(consumer: number): ControlMode {
    const row = this.#records.find(consumer);
    return row === -1 ? this.#defaultMode : (this.#records.get(row, MODE) as ControlMode);
  }

  /** Whether a module's relay must be closed now: only when none of its consumers must be off. */
  relayWanted(module: number): boolean {
    return this.#o.consumersOf(module).every((c) => outputState(this.state(c)));
  }

  /** Modules whose relay must be open now. */
  latched(): number[] {
    const modules = new Set<number>();
    const t = this.#records;
    for (let row = 0; row < t.size; row++) {
      const m = outputState(t.get(row, STATE) as ControlState) ? undefined : this.#o.moduleOf(t.get(row, CONSUMER));
      if (m !== undefined) modules.add(m);
    }
    return [...modules];
  }

  /** Consumers whose supply must be off now (latched, whether or not their module is reachable). */
  latchedConsumers(): number[] {
    const out: number[] = [];
    const t = this.#records;
    for (let row = 0; row < t.size; row++) if (!outputState(t.get(row, STATE) as ControlState)) out.push(t.get(row, CONSUMER));
    return out;
  }

  /**
   * Applies a trigger from `source` to a consumer. The outcome is known (and persisted) when this
   * returns; the relay follows.
   */
  trigger(consumer: number, trigger: Trigger, source: TriggerSource, actor?: string): LatchOutcome {
    const old = this.state(consumer);
    const mode = this.mode(consumer);
    const who = actor === undefined ? {} : { actor };
    if (this.#o.moduleOf(consumer) === undefined) return this.#refuse(consumer, trigger, source, old, "unknown consumer", who);
    if (!SOURCES_OF[trigger].includes(source)) return this.#refuse(consumer, trigger, source, old, `${trigger} is not accepted from ${source}`, who);
    const t = transition(old, mode, trigger);
    if (!t.allowed) return this.#refuse(consumer, trigger, source, old, `${trigger} not allowed in state ${old}, mode ${mode}`, who);
    this.#set(consumer, t.to, mode, this.limiter(consumer));
    this.#o.audit({ timeS: this.nowS(), source, subject: consumer, action: trigger, old: String(old), new: String(t.to), result: "ok", ...who });
    this.#o.raise({ type: EventType.latchChange, subject: consumer, time: this.nowS(), alarm: false, detail: t.to });
    if (outputState(old) !== outputState(t.to)) this.driveConsumer(consumer);
    return { code: "ok", state: t.to };
  }

  /** Changes a consumer's control mode (configuration from the head-end or console; audited). */
  setMode(consumer: number, mode: ControlMode, source: TriggerSource): LatchOutcome {
    const old = this.mode(consumer);
    if (!isControlMode(mode)) return this.#refuse(consumer, "mode", source, old, "invalid control mode");
    if (this.#o.moduleOf(consumer) === undefined) return this.#refuse(consumer, "mode", source, old, "unknown consumer");
    const state = this.state(consumer);
    // Mode 0 means "always connected": switching to it is a reconnection and needs the head-end.
    if (mode === 0 && !outputState(state) && source !== "head-end") return this.#refuse(consumer, "mode", source, old, "mode 0 would reconnect");
    const next = mode === 0 ? ControlState.connected : state;
    this.#set(consumer, next, mode, this.limiter(consumer));
    this.#o.audit({ timeS: this.nowS(), source, subject: consumer, action: "mode", old: String(old), new: String(mode), result: "ok" });
    if (outputState(state) !== outputState(next)) this.driveConsumer(consumer);
    return { code: "ok", state: next };
  }

  /** The consumer's load limiter configuration, if it has one. */
  limiter(consumer: number): LoadLimit | undefined {
    return this.#limits.get(consumer);
  }

  /**
   * Sets (or, with undefined, removes) the consumer's load limiter (IC 71), persisted with its latch
   * record before this returns, and audited. A new limiter starts from "not over": the next samples
   * decide. Only the head-end and the console configure limiters.
   */
  setLimiter(consumer: number, config: LoadLimit | undefined, source: TriggerSource): LatchOutcome {
    const old = describeLimit(this.limiter(consumer));
    const refuse = (reason: string) => {
      this.counters.refused++;
      this.#o.audit({ timeS: this.nowS(), source, subject: consumer, action: "limit", old, new: old, result: "refused" });
      return { code: "refused", reason } as const;
    };
    if (source !== "head-end" && source !== "console") return refuse(`limits are not set from ${source}`);
    if (config && !isValidLoadLimit(config)) return refuse("invalid limit");
    if (this.#o.moduleOf(consumer) === undefined) return refuse("unknown consumer");
    const state = this.state(consumer);
    this.#set(consumer, state, this.mode(consumer), config);
    if (config) {
      const l = new Limiter(config);
      l.setEmergency(this.#emergency);
      this.#limiters.set(consumer, l);
    } else this.#limiters.delete(consumer);
    this.#o.audit({ timeS: this.nowS(), source, subject: consumer, action: "limit", old, new: describeLimit(config), result: "ok" });
    return { code: "ok", state };
  }

  /** Activates (or, with undefined, ends) an emergency profile: limiters of its group apply their emergency threshold. */
  setEmergency(profile: EmergencyProfile | undefined): void {
    this.#emergency = profile;
    for (const l of this.#limiters.values()) l.setEmergency(profile);
  }

  /** A load sample (W) of the consumer: the limiter may disconnect it locally, or let it reconnect. */
  sampleLoad(consumer: number, powerW: number): void {
    const l = this.#limiters.get(consumer);
    if (!l || this.#o.limitedByMeter?.(consumer)) return;
    const action = l.sample(powerW, this.#o.clock.now());
    if (action === "overThreshold") this.trigger(consumer, "localDisconnect", "local");
    // Local reconnection exists only in modes 5 and 6 (transition h); elsewhere the latch waits for a clearance.
    else if (action === "underThreshold" && transition(this.state(consumer), this.mode(consumer), "localReconnect").allowed) {
      this.trigger(consumer, "localReconnect", "local");
    }
  }

  /**
   * A module reported its relay state (in a readout). A relay that is closed while one of its consumers
   * must be off is a mismatch: an alarm, and the latch is re-asserted. A relay that is open while it
   * should be closed is reported too, but closed again only when it is a reconnection this manager is
   * carrying out: an open breaker nobody asked for may be a technician's, and closing it is not ours.
   */
  observeRelay(module: number, connected: boolean): void {
    const want = this.relayWanted(module);
    if (connected === want) {
      if (this.#mismatched.delete(module)) this.counters.mismatchesRepaired++;
      return;
    }
    if (!this.#mismatched.has(module)) {
      this.#mismatched.add(module);
      this.counters.mismatchesDetected++;
      this.#o.raise({ type: EventType.relayMismatch, subject: module, time: this.nowS(), alarm: true, detail: connected ? 1 : 0 });
    }
    if (!want || this.#closing.has(module)) this.drive(module);
  }

  get #watchMs(): number {
    return this.#o.watchMs ?? 5 * 60_000;
  }

  get #defaultMode(): ControlMode {
    return this.#o.defaultMode ?? 2;
  }

  private nowS(): number {
    return Math.floor(this.#o.wallClock.now() / 1000);
  }

  #set(consumer: number, state: ControlState, mode: ControlMode, limiter: LoadLimit | undefined): void {
    this.#o.persistence.save(limiter ? { consumer, state, mode, limiter } : { consumer, state, mode });
    this.put(consumer, state, mode, limiter);
  }

  /** The consumer's record, in its row (added when it has none) and its limiter's configuration. */
  private put(consumer: number, state: ControlState, mode: ControlMode, limiter: LoadLimit | undefined): void {
    const t = this.#records;
    const row = t.insert(consumer);
    t.set(row, CONSUMER, consumer);
    t.set(row, STATE, state);
    t.set(row, MODE, mode);
    if (limiter) this.#limits.set(consumer, limiter);
    else this.#limits.delete(consumer);
  }

  #refuse(consumer: number, action: Trigger | "mode", source: TriggerSource, old: number, reason: string, who: { actor?: string } = {}): LatchOutcome {
    this.counters.refused++;
    this.#o.audit({ timeS: this.nowS(), source, subject: consumer, action, old: String(old), new: String(old), result: "refused", ...who });
    return { code: "refused", reason };
  }

  private driveConsumer(consumer: number): void {
    const module = this.#o.moduleOf(consumer);
    if (module === undefined) return;
    if (this.relayWanted(module)) this.#closing.add(module);
    else this.#closing.delete(module);
    this.drive(module);
  }

  private watchLatched(): void {
    for (const module of this.latched()) if (!this.#watchQueue.includes(module)) this.#watchQueue.push(module);
    this.watchNext();
  }

  private watchNext(): void {
    while (this.#running && !this.#watchReading) {
      const module = this.#watchQueue.shift();
      if (module === undefined) return;
      // A relay being driven is verified by its drive.
      const d = this.#drives.get(module);
      if (d && (d.busy || d.timer !== undefined)) continue;
      this.#watchReading = true;
      // A read always ends in a later turn (ModuleAccess), so the next starts from its answer.
      this.#o.relays.readRelay(module, this);
    }
  }

  /** @internal The relay actuator's answer to the watch's read of `module`. */
  relayRead(module: number, r: RelayResult): void {
    this.#watchReading = false;
    try {
      if (r.ok) this.observeRelay(module, r.connected);
    } finally {
      this.watchNext();
    }
  }

  /** Drives the relay to the latch's output state, verifies it, and retries with back-off until it holds. */
  private drive(module: number): void {
    if (!this.#running) return;
    let d = this.#drives.get(module);
    if (!d) this.#drives.set(module, (d = new Drive(this, this.#o.retryMs ?? 30_000)));
    if (d.busy) {
      d.again = true;
      return;
    }
    if (d.timer !== undefined) {
      this.#o.timers.clear(d.timer);
      d.timer = undefined;
    }
    const want = this.relayWanted(module);
    // Closing a relay is only ever a reconnection this manager carries out (see observeRelay): a drive
    // whose reason went away (the consumer was cleared, or its meter is now behind another module) ends.
    if (want && !this.#closing.has(module)) {
      this.#drives.delete(module);
      return;
    }
    d.busy = true;
    d.again = false;
    d.want = want;
    this.counters.relayOperations++;
    this.#o.relays.setRelay(module, want, d);
  }

  /** @internal Drive `d` of `module` has its answer: done, driven again to a new state, or retried later. */
  driven(d: Drive, module: number, r: RelayResult): void {
    d.busy = false;
    // Stopped meanwhile (an orderly shutdown): nothing is retried; the next start drives every latch.
    if (!this.#running) return;
    const wantNow = this.relayWanted(module);
    if (r.ok && r.connected === wantNow && !d.again) {
      if (this.#mismatched.delete(module)) this.counters.mismatchesRepaired++;
      this.#closing.delete(module);
      this.#drives.delete(module);
      return;
    }
    if (!r.ok) this.counters.relayFailures++;
    // The latch changed while the relay was being driven: drive it to the new state now.
    if (d.again || wantNow !== d.want) return this.drive(module);
    const wait = d.retryMs;
    d.retryMs = Math.min(wait * 2, this.#watchMs);
    d.timer = this.#o.timers.set(() => {
      d.timer = undefined;
      this.drive(module);
    }, wait);
  }
}

/** A limiter as the audit trail shows it: "none", or "<normal>/<emergency> <over ms>/<under ms> g<groups>". */
function describeLimit(c: LoadLimit | undefined): string {
  return c ? `${c.thresholdNormal}/${c.thresholdEmergency} ${c.minOverMs}/${c.minUnderMs} g${c.emergencyGroups.join(",")}` : "none";
}
