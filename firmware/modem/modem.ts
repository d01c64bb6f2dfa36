/**
 * The GPRS modem: power, bring-up, supervision and recovery of a SIM800 or Quectel module on the
 * board's modem UART, with its TCP sockets (`tcp`, a StreamConnector) and its SMS channel (`sms`).
 *
 * Bring-up (docs/modem.md has the diagram):
 *
 *   syncing ─▶ configuring ─▶ sim ─▶ registering ─▶ connecting ─▶ ready
 *   AT…OK      ATE0, CMEE,     +CPIN?  +CREG?/+CGREG?  attach, PDP     sockets open; supervision every 30 s
 *              (IFC), family,  (PIN)   (SMS usable     (family steps)
 *              SMS setup               once +CREG ok)
 *
 * Recovery ladder: a stage that fails counts one failure; the failure count picks the action:
 *   1-2: sync and bring up again after RETRY_DELAY_MS;  3: soft reset (AT+CFUN=1,1);
 *   4: power cycle (AT power-down if the modem answers, then the power key);  5+: the same after a
 *   backoff doubling from 1 min to 30 min. An unresponsive modem starts at the power cycle.
 * The count is cleared when the modem reaches "ready". Network events do not count as failures:
 * a PDP deactivation rebuilds the context, a lost registration waits for it again, an unexpected
 * boot ("RDY", echo back on) or power-down ("NORMAL POWER DOWN", under-voltage) re-runs the bring-up
 * (domain.md §4.6 items 1, 2, 8).
 *
 * The power key toggles the module and the board has no STATUS line: a press is followed by a probe
 * (AT for 10 s); silence means the press switched a hung module off, so it is pressed once more.
 */
import type { MonotonicClock, TimerId, Timers } from "../../hal/clock.js";
import type { ModemPort, SerialPortProvider } from "../../hal/index.js";
import type { RandomSource } from "../../hal/system.js";
import { frozen } from "../model/frozen.js";
import { AtEngine, UrcVerdict, type AtCommand, type AtEngineOptions, type AtResult, type UrcHandler } from "./at/engine.js";
import { atParams, finalResult, intParam, type AtFailure } from "./at/response.js";
import { runSequence, type Step, type StepFailure } from "./at/sequence.js";
import { isQuotable, type Dialect, type ModemEvent, type ModemFamily } from "./drivers/dialect.js";
import { quectel } from "./drivers/quectel.js";
import { sim800 } from "./drivers/sim800.js";
import { SMS_SETUP_COMMANDS, SmsChannel, type SmsOptions } from "./sms/channel.js";
import { ModemTcp, type TcpHost, type TcpOptions } from "./tcp.js";
import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  CFUN_TIMEOUT_MS,
  CME_SIM_NOT_INSERTED,
  CME_SIM_PIN_REQUIRED,
  CME_SIM_PUK_REQUIRED,
  COMMAND_TIMEOUT_MS,
  CPIN_TIMEOUT_MS,
  POWER_OFF_SETTLE_MS,
  REGISTRATION_POLL_MS,
  REGISTRATION_WAIT_MS,
  RETRY_DELAY_MS,
  SIM_POLL_MS,
  SIM_READY_WAIT_MS,
  SMS_SETUP_ATTEMPTS,
  SMS_SETUP_RETRY_MS,
  SUPERVISION_INTERVAL_MS,
  SYNC_ATTEMPT_TIMEOUT_MS,
  SYNC_PAUSE_MS,
  SYNC_PROBE_WINDOW_MS,
  SYNC_WINDOW_MS,
  UNRESPONSIVE_TIMEOUTS,
} from "./timing.js";

export type ModemState =
  | "stopped"
  | "powering-on"
  | "syncing"
  | "configuring"
  | "sim"
  | "registering"
  | "connecting"
  | "ready"
  | "resetting"
  | "powering-off"
  | "backoff";

/** 27.007 §7.2 <stat>: 0 not registered, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming. */
export type Registration = "not-registered" | "home" | "searching" | "denied" | "unknown" | "roaming";
const REGISTRATION: readonly Registration[] = Object.freeze(["not-registered", "home", "searching", "denied", "unknown", "roaming"]);

export type FailureReason =
  | "unresponsive"
  | "configure-failed"
  | "sim-missing"
  | "sim-locked"
  | "sim-not-ready"
  | "registration-denied"
  | "not-registered"
  | "packet-failed"
  /** Socket opens keep getting no outcome although the module answers commands. */
  | "stack-silent";

export interface ModemCounters {
  failures: number;
  readyTransitions: number;
  unexpectedBoots: number;
  unexpectedPowerDowns: number;
  voltageWarnings: number;
  pdpLosses: number;
  registrationLosses: number;
  softResets: number;
  powerCycles: number;
  powerKeyPresses: number;
  internalErrors: number;
}

export interface ModemStatus {
  readonly family: ModemFamily;
  readonly state: ModemState;
  /** Circuit-switched registration (+CREG): what SMS needs. */
  readonly registration: Registration | undefined;
  /** Packet-switched registration (+CGREG, or +CEREG on LTE): what GPRS needs. */
  readonly packetRegistration: Registration | undefined;
  /** +CSQ <rssi> 0..31, undefined when unknown (99). */
  readonly rssi: number | undefined;
  /** The same in dBm: −113 + 2·rssi (27.007 §8.5). */
  readonly rssiDbm: number | undefined;
  /** +CSQ <ber> 0..7, undefined when unknown (99). */
  readonly ber: number | undefined;
  readonly smsReady: boolean;
  /** Failed bring-ups since the modem was last ready. */
  readonly failures: number;
  readonly lastFailure: FailureReason | undefined;
}

export interface ModemOptions {
  /** hal.modem: the UART (115200 8N1) and the power key. */
  port: ModemPort;
  timers: Timers;
  clock: MonotonicClock;
  /** Draws the first SMS reference, so references differ across reboots (hal.random). */
  random: RandomSource;
  family: ModemFamily;
  apn: string;
  user?: string;
  password?: string;
  /** Entered at most once per start: a wrong PIN is never repeated (three wrong entries lock the SIM). */
  simPin?: string;
  tcp?: TcpOptions;
  sms?: SmsOptions;
  onStatus?: (status: ModemStatus) => void;
}

const DIALECTS: Record<ModemFamily, Dialect> = Object.freeze({ sim800, quectel });

/** Consecutive socket opens without an outcome after which the bring-up is run again (ours). */
const OPEN_TIMEOUTS_BEFORE_RESTART = 2;

export class Modem {
  /** TCP sockets over the modem's stack: what the uplink connects with. */
  readonly tcp: ModemTcp;
  readonly sms: SmsChannel;
  readonly counters: ModemCounters = {
    failures: 0,
    readyTransitions: 0,
    unexpectedBoots: 0,
    unexpectedPowerDowns: 0,
    voltageWarnings: 0,
    pdpLosses: 0,
    registrationLosses: 0,
    softResets: 0,
    powerCycles: 0,
    powerKeyPresses: 0,
    internalErrors: 0,
  };
  lastInternalError: unknown;

  readonly #options: ModemOptions;
  readonly #dialect: Dialect;
  readonly #engine: AtEngine;
  readonly #timers: Timers;
  #state: ModemState = "stopped";
  /** Increments at every state change: callbacks of an older stage are ignored. */
  #epoch = 0;
  #stageTimer: TimerId | undefined;
  #keyTimer: TimerId | undefined;
  #failures = 0;
  #lastFailure: FailureReason | undefined;
  #registration: Registration | undefined;
  #packetRegistration: Registration | undefined;
  #rssi: number | undefined;
  #ber: number | undefined;
  #smsConfigured = false;
  #pinTried = false;
  /** The module answered AT since the last power event or silence. */
  #answered = false;
  #missedPacketPolls = 0;
  #consecutiveTimeouts = 0;
  #openTimeouts = 0;

  constructor(options: ModemOptions) {
    const dialect = DIALECTS[options.family];
    if (!dialect) throw new RangeError("invalid family");
    for (const [name, v] of [["apn", options.apn], ["user", options.user ?? ""], ["password", options.password ?? ""]] as const) {
      if (!isQuotable(v)) throw new RangeError(`invalid ${name}`);
    }
    if (options.simPin !== undefined && !/^[0-9]{4,8}$/.test(options.simPin)) throw new RangeError("invalid simPin");
    this.#options = options;
    this.#dialect = dialect;
    const host = new ModemHost(this, options, dialect);
    this.#timers = host;
    this.#engine = host.engine = new AtEngine(host);
    this.tcp = new ModemTcp(host, options.tcp);
    const ref = new Uint8Array(2);
    options.random.fill(ref);
    this.sms = new SmsChannel(this.#engine, this.#timers, options.sms ?? { whitelist: [] }, (ref[0]! << 8) | ref[1]!);
  }

  get state(): ModemState {
    return this.#state;
  }

  /** The AT engine's counters (lines, URCs, unknown lines, timeouts…) for diagnostics. */
  get at(): AtEngine["counters"] {
    return this.#engine.counters;
  }

  get status(): ModemStatus {
    const rssi = this.#rssi;
    return {
      family: this.#dialect.family,
      state: this.#state,
      registration: this.#registration,
      packetRegistration: this.#packetRegistration,
      rssi,
      rssiDbm: rssi === undefined ? undefined : -113 + 2 * rssi,
      ber: this.#ber,
      smsReady: this.sms.ready,
      failures: this.#failures,
      lastFailure: this.#lastFailure,
    };
  }

  /** Opens the UART and brings the modem up; it then keeps itself up. Idempotent. */
  start(): void {
    if (this.#state !== "stopped") return;
    this.#pinTried = false;
    this.#engine.open();
    // The module may be off, on, on and hung, or starting with the board: probe for as long as it
    // takes to boot before touching the power key, which would switch a booting module off.
    this.sync(Math.max(SYNC_PROBE_WINDOW_MS, this.#dialect.bootTimeMs), () => this.pressAndProbe(false));
  }

  /**
   * An engineer's command from the console (`at`), sent between the modem's own: the AT engine runs
   * one command at a time, so the owner yields the line to it when the command before it ends and
   * takes the line back when this one's final result code or its timeout (`timeoutMs`, from the
   * moment it is sent) ends it. Lines of the answer that are URCs (an SMS arriving, a socket
   * closing) still go to their handlers. Returns why the command is refused, or undefined when it is
   * queued; `done` then runs exactly once, in a later turn.
   */
  passThrough(text: string, timeoutMs: number, done: (result: AtResult) => void): string | undefined {
    if (this.#state === "stopped") return "the modem is stopped";
    const refused = passThroughProblem(text);
    if (refused) return refused;
    const own = ownInfoPrefix(text);
    const info = (line: string) => (own !== undefined && line.startsWith(own)) || (!line.startsWith("+") && finalResult(line) === undefined && this.#dialect.classify(line) === undefined);
    this.#engine.send({ text, timeoutMs, info, done });
    return undefined;
  }

  /** The network operator's name (AT+COPS?), asked now; undefined when the modem does not say. */
  queryOperator(done: (name: string | undefined) => void): void {
    if (this.#state === "stopped") return void this.#timers.set(() => done(undefined), 0);
    this.#engine.send({
      text: "AT+COPS?",
      timeoutMs: COMMAND_TIMEOUT_MS,
      info: "+COPS:",
      done: (r) => {
        const name = r.ok ? atParams(r.lines[0] ?? "", "+COPS:")?.[2] : undefined;
        done(name === undefined ? undefined : String(name));
      },
    });
  }

  /** Closes every socket ("network"), stops SMS and releases the UART. The module stays powered. */
  stop(): void {
    if (this.#state === "stopped") return;
    this.enter("stopped");
    this.tcp.stop();
    this.sms.down();
    this.#engine.close();
    if (this.#keyTimer !== undefined) {
      this.#timers.clear(this.#keyTimer);
      this.#keyTimer = undefined;
      this.#options.port.powerKey.write(0);
    }
  }

  // ---- stages ----

  private enter(state: ModemState): number {
    this.#state = state;
    this.#epoch++;
    if (this.#stageTimer !== undefined) this.#timers.clear(this.#stageTimer);
    this.#stageTimer = undefined;
    this.emit();
    return this.#epoch;
  }

  private sync(windowMs: number, onSilent: () => void): void {
    const e = this.enter("syncing");
    const deadline = this.#options.clock.now() + windowMs;
    const attempt = (): void =>
      this.#send({ text: "AT", timeoutMs: SYNC_ATTEMPT_TIMEOUT_MS }, e, (r) => {
        if (r.ok) {
          this.#answered = true;
          this.#configure();
        } else if (this.#options.clock.now() + SYNC_PAUSE_MS < deadline) this.after(SYNC_PAUSE_MS, e, attempt);
        else {
          this.#answered = false;
          onSilent();
        }
      });
    attempt();
  }

  #configure(): void {
    const e = this.enter("configuring");
    const common: Step[] = [
      { text: "ATE0", timeoutMs: COMMAND_TIMEOUT_MS }, // echo off (TG initImpl)
      { text: "AT+CMEE=1", timeoutMs: COMMAND_TIMEOUT_MS }, // numeric +CME ERROR (27.007 §9.1)
    ];
    // RTS/CTS both ways (V.250 +IFC; the factory setting is 0,0): from here on the modem holds an
    // answer longer than the UART FIFO (an SMS read) while a long turn keeps us from reading.
    if (this.#options.port.flowControl) common.push({ text: "AT+IFC=2,2", timeoutMs: COMMAND_TIMEOUT_MS });
    this.run(common, e, (failed) => {
      if (failed) return this.fail(silent(failed.failure) ? "unresponsive" : "configure-failed");
      this.#dialect.configure(this.#engine, (f) => {
        if (e !== this.#epoch) return;
        if (f) this.fail(silent(f.failure) ? "unresponsive" : "configure-failed");
        else this.checkSim(this.#options.clock.now() + SIM_READY_WAIT_MS);
      });
    });
  }

  private checkSim(deadline: number): void {
    const e = this.enter("sim");
    this.#send({ text: "AT+CPIN?", timeoutMs: CPIN_TIMEOUT_MS, info: "+CPIN:" }, e, (r) => {
      const answer = r.ok ? (r.lines[0] ?? "").slice(6).trim() : undefined;
      const cme = r.ok ? undefined : r.failure.code === "cme" ? r.failure.value : undefined;
      if (answer === "READY") return this.setUpSms(e, 1);
      if (answer === "SIM PIN" || cme === CME_SIM_PIN_REQUIRED) {
        const pin = this.#options.simPin;
        if (pin === undefined || this.#pinTried) return this.fail("sim-locked");
        this.#pinTried = true;
        this.#send({ text: `AT+CPIN="${pin}"`, timeoutMs: CPIN_TIMEOUT_MS }, e, () => this.after(SIM_POLL_MS, e, () => this.checkSim(deadline)));
        return;
      }
      if (answer === "SIM PUK" || cme === CME_SIM_PUK_REQUIRED) return this.fail("sim-locked");
      if (!r.ok && silent(r.failure) && !this.stillAnswering()) return this.fail("unresponsive");
      const missing = answer === "NOT INSERTED" || cme === CME_SIM_NOT_INSERTED;
      // NOT READY, CME 13 (SIM failure), 14 (SIM busy), 515 (please wait: GSMM's retry rule) or no
      // answer yet: the SIM is still starting (domain.md §4.6 item 7). Ask again until the deadline.
      if (this.#options.clock.now() + SIM_POLL_MS < deadline) this.after(SIM_POLL_MS, e, () => this.checkSim(deadline));
      else this.fail(missing ? "sim-missing" : "sim-not-ready");
    });
  }

  private setUpSms(e: number, attempt: number): void {
    const steps = SMS_SETUP_COMMANDS.map((text) => ({ text, timeoutMs: COMMAND_TIMEOUT_MS }));
    this.run(steps, e, (failed) => {
      if (!failed) this.#smsConfigured = true;
      // Before "SMS Ready" the modem refuses SMS commands: try again, then carry on without SMS.
      else if (attempt < SMS_SETUP_ATTEMPTS && !silent(failed.failure)) return this.after(SMS_SETUP_RETRY_MS, e, () => this.setUpSms(e, attempt + 1));
      else this.#smsConfigured = false;
      this.register(this.#options.clock.now() + REGISTRATION_WAIT_MS);
    });
  }

  private register(deadline: number): void {
    const first = this.#state !== "registering";
    const e = first ? this.enter("registering") : this.#epoch;
    if (first) this.querySignal(e);
    this.queryRegistration("+CREG", e, (cs) => {
      if (cs === undefined) return this.registerAgain(deadline, e, false);
      this.#registration = cs;
      if (!registered(cs)) {
        this.setSms(false);
        return this.registerAgain(deadline, e, cs === "denied");
      }
      this.setSms(true);
      this.queryPacketRegistration(e, (ps) => {
        this.#packetRegistration = ps;
        this.emit();
        if (registered(ps)) this.connect();
        // Calls and SMS work without packet service (a cell without packet capacity, an APN outage):
        // keep SMS up and keep asking, rather than reset a module that is fine.
        else if (ps !== "denied") this.after(REGISTRATION_POLL_MS, e, () => this.register(this.#options.clock.now() + REGISTRATION_WAIT_MS));
        else this.registerAgain(deadline, e, true);
      });
    });
  }

  private registerAgain(deadline: number, e: number, denied: boolean): void {
    this.emit();
    if (this.#options.clock.now() + REGISTRATION_POLL_MS >= deadline) this.fail(denied ? "registration-denied" : "not-registered");
    else this.after(REGISTRATION_POLL_MS, e, () => this.register(deadline));
  }

  private connect(): void {
    const e = this.enter("connecting");
    const o = this.#options;
    this.run(this.#dialect.packetUpSteps({ apn: o.apn, user: o.user ?? "", password: o.password ?? "" }), e, (failed) => {
      if (failed) this.fail(silent(failed.failure) && !this.stillAnswering() ? "unresponsive" : "packet-failed");
      else this.#ready();
    });
  }

  #ready(): void {
    this.#failures = 0;
    this.#missedPacketPolls = 0;
    this.counters.readyTransitions++;
    const e = this.enter("ready");
    this.tcp.up();
    this.querySignal(e);
    this.supervise(e);
  }

  /** While ready: signal, registration and packet registration every SUPERVISION_INTERVAL_MS. */
  private supervise(e: number): void {
    this.after(SUPERVISION_INTERVAL_MS, e, () => {
      this.querySignal(e);
      this.queryRegistration("+CREG", e, (cs) => {
        if (cs === undefined) return this.supervise(e); // no usable answer: silence is judged elsewhere
        this.#registration = cs;
        if (!registered(cs)) {
          this.counters.registrationLosses++;
          this.tcp.down("network");
          this.setSms(false);
          return this.register(this.#options.clock.now() + REGISTRATION_WAIT_MS);
        }
        this.queryPacketRegistration(e, (ps) => {
          if (ps === undefined) return this.supervise(e);
          this.#packetRegistration = ps;
          this.emit();
          // Two polls in a row without packet service: the context is gone even if no URC said so.
          if (registered(ps)) this.#missedPacketPolls = 0;
          else if (++this.#missedPacketPolls >= 2) return this.packetLost();
          this.supervise(e);
        });
      });
    });
  }

  /** @internal The PDP context is gone (ModemHost: an open was refused and the context turned out to be down). */
  packetLost(): void {
    this.counters.pdpLosses++;
    this.tcp.down("network");
    this.connect();
  }

  private softReset(): void {
    const e = this.enter("resetting");
    this.counters.softResets++;
    this.#send({ text: "AT+CFUN=1,1", timeoutMs: CFUN_TIMEOUT_MS }, e, (r) => {
      if (!r.ok) return this.fail("unresponsive");
      this.#answered = false;
      this.after(this.#dialect.bootTimeMs, e, () => this.sync(SYNC_WINDOW_MS, () => this.fail("unresponsive")));
    });
  }

  private powerCycle(): void {
    this.counters.powerCycles++;
    if (!this.#answered) return this.pressAndProbe(false);
    // Switch off by command first: the module detaches from the network and saves its settings.
    const e = this.enter("powering-off");
    const step = this.#dialect.powerDownStep;
    this.#send({ text: step.text, timeoutMs: step.timeoutMs, final: step.final }, e, (r) => {
      this.#answered = false;
      if (r.ok) this.after(POWER_OFF_SETTLE_MS, e, () => this.pressAndProbe(true));
      else this.pressAndProbe(false);
    });
  }

  /** Presses the power key and probes. `knownOff`: the press switches the module on, so silence after
   * it means the module is dead; otherwise silence means the press switched it off: press once more. */
  private pressAndProbe(knownOff: boolean): void {
    const e = this.enter("powering-on");
    this.pressKey();
    this.after(this.#dialect.powerKeyPulseMs + this.#dialect.bootTimeMs, e, () =>
      this.sync(SYNC_WINDOW_MS, () => (knownOff ? this.fail("unresponsive") : this.settleThenPress())),
    );
  }

  private settleThenPress(): void {
    const e = this.enter("powering-on");
    this.after(POWER_OFF_SETTLE_MS, e, () => this.pressAndProbe(true));
  }

  private pressKey(): void {
    this.counters.powerKeyPresses++;
    const key = this.#options.port.powerKey;
    key.write(1);
    if (this.#keyTimer !== undefined) this.#timers.clear(this.#keyTimer);
    this.#keyTimer = this.#timers.set(() => {
      this.#keyTimer = undefined;
      key.write(0);
    }, this.#dialect.powerKeyPulseMs);
  }

  private fail(reason: FailureReason): void {
    this.#failures++;
    this.counters.failures++;
    this.#lastFailure = reason;
    if (reason === "unresponsive") this.#answered = false;
    this.lose(reason === "unresponsive" ? "modem" : "network");
    const level = reason === "unresponsive" ? this.#failures + 3 : this.#failures;
    if (level <= 2) {
      const e = this.enter("backoff");
      this.after(RETRY_DELAY_MS, e, () => this.sync(SYNC_WINDOW_MS, () => this.fail("unresponsive")));
    } else if (level === 3) this.softReset();
    else if (level === 4) this.powerCycle();
    else {
      const e = this.enter("backoff");
      this.after(Math.min(BACKOFF_BASE_MS * 2 ** (level - 5), BACKOFF_MAX_MS), e, () => this.powerCycle());
    }
  }

  /** Drops everything in flight: sockets close with `reason`, SMS pauses. */
  private lose(reason: "modem" | "network"): void {
    this.#epoch++; // what the aborted commands answer belongs to the stage being left
    this.#engine.abortAll("aborted");
    this.tcp.down(reason);
    this.setSms(false);
    this.#consecutiveTimeouts = 0;
  }

  // ---- events ----

  /** @internal A line no command claimed (ModemHost). */
  urc(line: string): UrcVerdict {
    const sms = this.sms.urc(line);
    if (sms !== UrcVerdict.NotUrc) return sms;
    const event = this.#dialect.classify(line);
    if (!event) return UrcVerdict.NotUrc;
    this.#event(event);
    return UrcVerdict.Handled;
  }

  #event(e: ModemEvent): void {
    switch (e.type) {
      case "boot":
        return this.booted();
      case "power-down":
        return this.poweredDown();
      case "voltage-warning":
        this.counters.voltageWarnings++;
        return;
      case "sim-lost":
        if (this.#state === "registering" || this.#state === "connecting" || this.#state === "ready") {
          this.tcp.down("network");
          this.setSms(false);
          this.checkSim(this.#options.clock.now() + SIM_READY_WAIT_MS);
        }
        return;
      case "pdp-lost":
        // During "connecting" the running step fails by itself (+PDP: DEACT answering AT+CIICR).
        if (this.#state === "ready") this.packetLost();
        return;
      case "ignored":
        return;
      default:
        this.tcp.event(e);
    }
  }

  /** "RDY": the module has just started. */
  private booted(): void {
    switch (this.#state) {
      case "powering-on":
      case "resetting":
        // Expected: go on at once instead of waiting out the boot time.
        return this.sync(SYNC_WINDOW_MS, () => this.fail("unresponsive"));
      case "stopped":
      case "syncing":
      case "configuring":
      case "powering-off":
        return;
      default:
        this.restarted();
    }
  }

  /** Echo is back on: the module restarted without saying so (autobauding hides "RDY"). */
  /** @internal The modem echoed a command (ModemHost). */
  echo(): void {
    if (this.#state === "sim" || this.#state === "registering" || this.#state === "connecting" || this.#state === "ready") this.restarted();
  }

  private restarted(): void {
    this.counters.unexpectedBoots++;
    this.lose("modem");
    this.sync(SYNC_WINDOW_MS, () => this.fail("unresponsive"));
  }

  /** "NORMAL POWER DOWN", "UNDER-VOLTAGE POWER DOWN", "POWERED DOWN": the module is off now. */
  private poweredDown(): void {
    if (this.#state === "stopped" || this.#state === "powering-off") return;
    if (this.#state !== "powering-on" && this.#state !== "syncing") {
      this.counters.unexpectedPowerDowns++;
      this.lose("modem");
    }
    // Off for sure (a press of ours switched a hung module off, or it went down by itself): switch it on.
    this.#answered = false;
    const e = this.enter("powering-on");
    this.after(POWER_OFF_SETTLE_MS, e, () => this.pressAndProbe(true));
  }

  /** @internal A command ended (ModemHost). */
  commandEnded(failure: AtFailure | undefined): void {
    if (failure && silent(failure)) {
      if (++this.#consecutiveTimeouts === UNRESPONSIVE_TIMEOUTS) this.#timers.set(() => this.checkResponsive(), 0);
    } else if (!failure || failure.code === "error" || failure.code === "cme" || failure.code === "cms") this.#consecutiveTimeouts = 0;
  }

  /** Commands keep timing out while the module should be working: it hangs (the stages that wait for
   * a module that may be off or booting judge silence themselves). */
  /** @internal A send found the modem silent, or commands time out (ModemHost). */
  checkResponsive(): void {
    if (this.#consecutiveTimeouts < UNRESPONSIVE_TIMEOUTS) return;
    switch (this.#state) {
      case "configuring":
      case "sim":
      case "registering":
      case "connecting":
      case "ready":
        this.fail("unresponsive");
    }
  }

  /** A step timed out, but did the module answer anything else lately? */
  private stillAnswering(): boolean {
    return this.#consecutiveTimeouts < UNRESPONSIVE_TIMEOUTS;
  }

  // ---- queries ----

  private querySignal(e: number): void {
    this.#send({ text: "AT+CSQ", timeoutMs: COMMAND_TIMEOUT_MS, info: "+CSQ:" }, e, (r) => {
      if (!r.ok) return;
      const p = atParams(r.lines[0] ?? "", "+CSQ:");
      const rssi = intParam(p, 0);
      const ber = intParam(p, 1);
      // 27.007 §8.5: rssi 0..31, ber 0..7; 99 = not known.
      this.#rssi = rssi !== undefined && rssi <= 31 ? rssi : undefined;
      this.#ber = ber !== undefined && ber <= 7 ? ber : undefined;
      this.emit();
    });
  }

  /** +CREG? / +CGREG? / +CEREG?: "<prefix>: <n>,<stat>[,…]"; undefined when the answer is unusable. */
  private queryRegistration(prefix: string, e: number, done: (r: Registration | undefined) => void): void {
    this.#send({ text: `AT${prefix}?`, timeoutMs: COMMAND_TIMEOUT_MS, info: `${prefix}:` }, e, (r) => {
      const stat = r.ok ? intParam(atParams(r.lines[0] ?? "", `${prefix}:`), 1) : undefined;
      done(stat === undefined ? undefined : REGISTRATION[stat] ?? "unknown");
    });
  }

  /** Packet registration over the family's technologies: registered on any, else denied on any, else what was read. */
  private queryPacketRegistration(e: number, done: (r: Registration | undefined) => void): void {
    const queries = this.#dialect.packetRegistration;
    const answers: Array<Registration | undefined> = [];
    const next = (i: number): void => {
      if (i < queries.length && !registered(answers[i - 1])) {
        this.queryRegistration(queries[i]!, e, (r) => {
          answers.push(r);
          next(i + 1);
        });
        return;
      }
      done(answers.find(registered) ?? answers.find((r) => r === "denied") ?? answers.find((r) => r !== undefined));
    };
    next(0);
  }

  // ---- plumbing ----

  private setSms(on: boolean): void {
    if (on && this.#smsConfigured) this.sms.up();
    else if (!on) this.sms.down();
  }

  /** Sends a command whose answer matters only while the stage that sent it lasts. */
  #send(command: Omit<AtCommand, "done">, e: number, done: (r: AtResult) => void): void {
    this.#engine.send({ ...command, done: (r) => e === this.#epoch && done(r) });
  }

  private run(steps: readonly Step[], e: number, done: (failed: StepFailure | undefined) => void): void {
    runSequence(this.#engine, steps, (failed) => e === this.#epoch && done(failed));
  }

  private after(ms: number, e: number, fn: () => void): void {
    if (this.#stageTimer !== undefined) this.#timers.clear(this.#stageTimer);
    this.#stageTimer = this.#timers.set(() => {
      this.#stageTimer = undefined;
      if (e === this.#epoch) fn();
    }, ms);
  }

  /** @internal Whether the PDP context is up (ModemHost). */
  get packetReady(): boolean {
    return this.#state === "ready";
  }

  /**
   * @internal An open had its outcome, or none in time (ModemHost). Opens that never hear back while
   * everything else answers: the stack's URCs are lost (a Quectel reporting to USB after a noisy
   * AT+QURCCFG). A fresh bring-up sets everything again.
   */
  openOutcome(timedOut: boolean): void {
    this.#openTimeouts = timedOut ? this.#openTimeouts + 1 : 0;
    if (this.#openTimeouts >= OPEN_TIMEOUTS_BEFORE_RESTART && this.#state === "ready") {
      this.#openTimeouts = 0;
      this.fail("stack-silent");
    }
  }

  private emit(): void {
    const onStatus = this.#options.onStatus;
    if (!onStatus) return;
    try {
      onStatus(this.status);
    } catch (e) {
      this.internalError(e);
    }
  }

  /** @internal An exception out of a callback of the modem's (ModemHost). */
  internalError(e: unknown): void {
    this.counters.internalErrors++;
    this.lastInternalError = e;
  }
}

/** Longest command line an engineer may pass through (SIM800: 556 characters; ours: one console line). */
const PASS_THROUGH_MAX = 120;
/**
 * What the console may not pass through, and why: commands that leave command mode or wait for a
 * payload prompt (the engine would be left holding the line), and settings the modem's owner relies on
 * (echo, defaults, bit rate, flow control: the bring-up sets them and a change reads as a reboot).
 */
const PASS_THROUGH_REFUSED: ReadonlyArray<readonly [RegExp, string]> = frozen([
  [/^AT(D|A|O)/, "would leave command mode"],
  [/^AT(E|Z|&F)/, "changes settings the modem's owner relies on (echo, defaults)"],
  [/^AT\+(IPR|IFC)/, "changes the UART settings the concentrator uses"],
  [/^AT\+(CMGS|CMGW|CIPSEND|QISEND)/, "waits for a payload prompt"],
]);

function passThroughProblem(text: string): string | undefined {
  if (text.length > PASS_THROUGH_MAX) return `longer than ${PASS_THROUGH_MAX} characters`;
  if (!/^[\x20-\x7e]+$/.test(text)) return "not printable ASCII";
  const upper = text.toUpperCase();
  if (!upper.startsWith("AT")) return 'an AT command starts with "AT"';
  for (const [pattern, why] of PASS_THROUGH_REFUSED) if (pattern.test(upper)) return why;
  return undefined;
}

/** "+CSQ:" for AT+CSQ, AT+CSQ? and AT+CSQ=…: the prefix of the command's own information text. */
function ownInfoPrefix(text: string): string | undefined {
  const m = /^AT(\+[A-Z]+)/i.exec(text);
  return m ? `${m[1]!.toUpperCase()}:` : undefined;
}

function registered(r: Registration | undefined): boolean {
  return r === "home" || r === "roaming";
}

/** No answer at all (as opposed to an error answer). */
function silent(failure: AtFailure): boolean {
  return failure.code === "timeout" || failure.code === "no-prompt";
}

/**
 * What the modem's parts call back: the AT engine's options and URC handler, the TCP sockets' host,
 * and timers whose callbacks cannot throw out of their turn (an exception is reported and the loop
 * goes on). One object whose methods forward to the modem, not a closure per callback (some 11 slots
 * each in XS).
 */
class ModemHost implements AtEngineOptions, UrcHandler, TcpHost, Timers {
  /** Set once the engine is made (it takes this object as its options). */
  engine!: AtEngine;

  constructor(
    readonly modem: Modem,
    readonly options: ModemOptions,
    readonly dialect: Dialect,
  ) {}

  // --- AtEngineOptions ---
  get serial(): SerialPortProvider {
    return this.options.port.serial;
  }

  get flowControl(): boolean {
    return this.options.port.flowControl === true;
  }

  get urcs(): UrcHandler {
    return this;
  }

  get timers(): Timers {
    return this;
  }

  onEcho(): void {
    this.modem.echo();
  }

  onResult(failure: AtFailure | undefined): void {
    this.modem.commandEnded(failure);
  }

  // --- UrcHandler ---
  urc(line: string): UrcVerdict {
    return this.modem.urc(line);
  }

  urcBody(line: string): void {
    this.modem.sms.urcBody(line);
  }

  // --- TcpHost ---
  get ready(): boolean {
    return this.modem.packetReady;
  }

  packetFault(): void {
    if (this.modem.packetReady) this.modem.packetLost();
  }

  suspectUnresponsive(): void {
    this.modem.checkResponsive();
  }

  openOutcome(timedOut: boolean): void {
    this.modem.openOutcome(timedOut);
  }

  // --- Timers ---
  set(callback: () => void, delayMs: number, repeatMs?: number): TimerId {
    const modem = this.modem;
    const guarded = () => {
      try {
        callback();
      } catch (e) {
        modem.internalError(e);
      }
    };
    const timers = this.options.timers;
    return repeatMs === undefined ? timers.set(guarded, delayMs) : timers.set(guarded, delayMs, repeatMs);
  }

  clear(id: TimerId): void {
    this.options.timers.clear(id);
  }
}
