/**
 * Disconnect latches: one IC 70 disconnect control per consumer (a local module's relay), persisted
 * before anything is acknowledged, carried out on the relay and verified by reading it back, and
 * re-asserted whenever the module reports a relay state that disagrees (a reboot on a flat battery
 * closes the relay, a hand on the terminal may too). Seeds/001: "Maintaining consumer disconnection as
 * long until reconnect clearance is received from the Operation Center".
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
import { Limiter, type LimiterConfig } from "./limiter.js";

export interface LatchRecord {
  module: number;
  state: ControlState;
  mode: ControlMode;
}

/** Critical state of the latches. `save` is durable when it returns and leaves the old or the new record. */
export interface LatchPersistence {
  load(): LatchRecord[];
  save(record: LatchRecord): void;
}

export type RelayResult = { ok: true; connected: boolean } | { ok: false; failure: Failure };

/** The relays, reached through the module's path at alarm priority. */
export interface RelayActuator {
  /** Writes the relay, then reads it back; `done` gets the state read back. */
  setRelay(module: number, connected: boolean, done: (r: RelayResult) => void): void;
  /** Reads the relay state. */
  readRelay(module: number, done: (r: RelayResult) => void): void;
}

export type TriggerSource = "head-end" | "console" | "local" | "manual";

export interface AuditEntry {
  timeS: number;
  source: TriggerSource;
  subject: number;
  what: string;
  old: string;
  new: string;
  result: "ok" | "refused";
}

export interface LatchOptions {
  persistence: LatchPersistence;
  relays: RelayActuator;
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
}

export type LatchOutcome = { code: "ok"; state: ControlState } | { code: "refused"; reason: string };

const SOURCE_OF: Record<Trigger, TriggerSource> = {
  remoteDisconnect: "head-end",
  remoteReconnect: "head-end",
  localDisconnect: "local",
  localReconnect: "local",
  manualDisconnect: "manual",
  manualReconnect: "manual",
};

interface Drive {
  timer: TimerId | undefined;
  busy: boolean;
  again: boolean;
  retryMs: number;
}

export class LatchManager {
  readonly #o: LatchOptions;
  readonly #records = new Map<number, LatchRecord>();
  readonly #drives = new Map<number, Drive>();
  readonly #limiters = new Map<number, Limiter>();
  #watch: TimerId | undefined;
  readonly counters = { refused: 0, mismatchesDetected: 0, mismatchesRepaired: 0, relayOperations: 0, relayFailures: 0 };
  /** Modules whose relay disagreed and has not been verified since. */
  readonly #mismatched = new Set<number>();

  constructor(options: LatchOptions) {
    this.#o = options;
    for (const r of options.persistence.load()) if (isControlMode(r.mode)) this.#records.set(r.module, { ...r });
  }

  /** Starts enforcing: every latched relay is driven now (a reboot may have closed some), then watched. */
  start(): void {
    for (const r of this.#records.values()) if (!outputState(r.state)) this.#drive(r.module);
    this.#watch = this.#o.timers.set(() => this.#watchLatched(), this.#watchMs, this.#watchMs);
  }

  stop(): void {
    if (this.#watch !== undefined) this.#o.timers.clear(this.#watch);
    this.#watch = undefined;
    for (const d of this.#drives.values()) if (d.timer !== undefined) this.#o.timers.clear(d.timer);
    this.#drives.clear();
  }

  state(module: number): ControlState {
    return this.#records.get(module)?.state ?? ControlState.connected;
  }

  mode(module: number): ControlMode {
    return this.#records.get(module)?.mode ?? this.#defaultMode;
  }

  /** Modules whose consumer must be off now. */
  latched(): number[] {
    return [...this.#records.values()].filter((r) => !outputState(r.state)).map((r) => r.module);
  }

  /** Applies a trigger from `source`. The outcome is known (and persisted) when this returns. */
  trigger(module: number, trigger: Trigger, source: TriggerSource): LatchOutcome {
    const old = this.state(module);
    const mode = this.mode(module);
    if (SOURCE_OF[trigger] !== source) return this.#refuse(module, trigger, source, old, `${trigger} is not accepted from ${source}`);
    const t = transition(old, mode, trigger);
    if (!t.allowed) return this.#refuse(module, trigger, source, old, `${trigger} not allowed in state ${old}, mode ${mode}`);
    this.#o.persistence.save({ module, state: t.to, mode });
    this.#records.set(module, { module, state: t.to, mode });
    this.#o.audit({ timeS: this.#nowS(), source, subject: module, what: `latch ${trigger} (${t.letter})`, old: String(old), new: String(t.to), result: "ok" });
    this.#o.raise({ type: EventType.latchChange, subject: module, time: this.#nowS(), alarm: false, detail: t.to });
    if (outputState(old) !== outputState(t.to)) this.#drive(module);
    return { code: "ok", state: t.to };
  }

  /** Changes a consumer's control mode (configuration from the head-end or console; audited). */
  setMode(module: number, mode: ControlMode, source: TriggerSource): LatchOutcome {
    const old = this.mode(module);
    if (!isControlMode(mode)) return this.#refuse(module, "mode", source, old, "invalid control mode");
    const state = this.state(module);
    // Mode 0 means "always connected": switching to it is a reconnection and needs the head-end.
    if (mode === 0 && !outputState(state) && source !== "head-end") return this.#refuse(module, "mode", source, old, "mode 0 would reconnect");
    const next = mode === 0 ? ControlState.connected : state;
    this.#o.persistence.save({ module, state: next, mode });
    this.#records.set(module, { module, state: next, mode });
    this.#o.audit({ timeS: this.#nowS(), source, subject: module, what: "latch control mode", old: String(old), new: String(mode), result: "ok" });
    if (outputState(state) !== outputState(next)) this.#drive(module);
    return { code: "ok", state: next };
  }

  /** Sets or removes the consumer's load limiter (IC 71). */
  setLimiter(module: number, config: LimiterConfig | undefined): void {
    if (config) this.#limiters.set(module, new Limiter(config));
    else this.#limiters.delete(module);
  }

  /** A load sample (W) of the consumer: the limiter may disconnect it locally, or let it reconnect. */
  sampleLoad(module: number, powerW: number): void {
    const l = this.#limiters.get(module);
    if (!l) return;
    const action = l.sample(powerW, this.#o.clock.now());
    if (action === "overThreshold") this.trigger(module, "localDisconnect", "local");
    // Local reconnection exists only in modes 5 and 6 (transition h); elsewhere the latch waits for a clearance.
    else if (action === "underThreshold" && transition(this.state(module), this.mode(module), "localReconnect").allowed) {
      this.trigger(module, "localReconnect", "local");
    }
  }

  /** A module reported its relay state (in a readout): re-assert the latch if it disagrees. */
  observeRelay(module: number, connected: boolean): void {
    const want = outputState(this.state(module));
    if (connected === want) {
      if (this.#mismatched.delete(module)) this.counters.mismatchesRepaired++;
      return;
    }
    if (!this.#mismatched.has(module)) {
      this.#mismatched.add(module);
      this.counters.mismatchesDetected++;
      this.#o.raise({ type: EventType.relayMismatch, subject: module, time: this.#nowS(), alarm: true, detail: connected ? 1 : 0 });
    }
    this.#drive(module);
  }

  get #watchMs(): number {
    return this.#o.watchMs ?? 5 * 60_000;
  }

  get #defaultMode(): ControlMode {
    return this.#o.defaultMode ?? 2;
  }

  #nowS(): number {
    return Math.floor(this.#o.wallClock.now() / 1000);
  }

  #refuse(module: number, what: string, source: TriggerSource, old: number, reason: string): LatchOutcome {
    this.counters.refused++;
    this.#o.audit({ timeS: this.#nowS(), source, subject: module, what: `latch ${what}`, old: String(old), new: String(old), result: "refused" });
    return { code: "refused", reason };
  }

  #watchLatched(): void {
    for (const module of this.latched()) {
      const d = this.#drives.get(module);
      if (d && (d.busy || d.timer !== undefined)) continue;
      this.#o.relays.readRelay(module, (r) => {
        if (r.ok) this.observeRelay(module, r.connected);
      });
    }
  }

  /** Drives the relay to the latch's output state, verifies it, and retries with back-off until it holds. */
  #drive(module: number): void {
    let d = this.#drives.get(module);
    if (!d) this.#drives.set(module, (d = { timer: undefined, busy: false, again: false, retryMs: this.#o.retryMs ?? 30_000 }));
    if (d.busy) {
      d.again = true;
      return;
    }
    if (d.timer !== undefined) {
      this.#o.timers.clear(d.timer);
      d.timer = undefined;
    }
    d.busy = true;
    d.again = false;
    const want = outputState(this.state(module));
    this.counters.relayOperations++;
    this.#o.relays.setRelay(module, want, (r) => {
      d!.busy = false;
      const wantNow = outputState(this.state(module));
      if (r.ok && r.connected === wantNow && !d!.again) {
        d!.retryMs = this.#o.retryMs ?? 30_000;
        if (this.#mismatched.delete(module)) this.counters.mismatchesRepaired++;
        this.#drives.delete(module);
        return;
      }
      if (!r.ok) this.counters.relayFailures++;
      // The latch changed while the relay was being driven: drive it to the new state now.
      if (d!.again || wantNow !== want) return this.#drive(module);
      const wait = d!.retryMs;
      d!.retryMs = Math.min(wait * 2, this.#watchMs);
      d!.timer = this.#o.timers.set(() => {
        d!.timer = undefined;
        this.#drive(module);
      }, wait);
    });
  }
}
