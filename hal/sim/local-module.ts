/**
 * A simulated local module (ML, the ENERGSys MC/ML product document: RS485, protocol D per EN 61107, pulse counting, tamper and
 * door contacts, backup battery, a latching disconnect relay) with its meters, answering on a simulated
 * RS485 bus as docs/d0.md describes:
 *
 * - `/?address!` at 2400 Bd → after tr, the mode D readout `/XXX3 identification CR LF CR LF data ! CR LF`.
 * - `/?address!` at 300 Bd → mode C: the identification (Z = its session rate), then within tt the ACK/option
 *   select: Y=1 programming (P0 with its serial, P1 password, W1/R1/R3, B0), Y=0 a readout with BCC; no
 *   ACK within tt → the readout at 300 Bd (STD §6.4.3 fallback).
 * - The register map (relay 0-0:96.3.10, clock 0-0:1.0.0, event log P.98) and error texts are in docs/d0.md.
 *
 * The module's serial port is modelled at character level (it is the device under simulation, not the
 * firmware under test): its receiver follows the baud of each request, as a module that serves both
 * mode D at 2400 Bd and the mode C sign-on at 300 Bd must; 7E1 parity is checked on every character.
 * It has its own power domain: on a bus power loss it runs on its battery; with a flat battery it goes
 * down and boots cold: the relay returns to connected, the clock to 2000-01-01 (invalid), the
 * programming session is lost; the event log (its flash) survives. This is why the concentrator must
 * re-assert latches and clocks.
 *
 * This implementation is independent of firmware/d0 on purpose (the dependency rule keeps hal/sim
 * from firmware/): the two sides check each other.
 */
import { withEvenParity, hasEvenParity } from "../serial-7e1.js";
import { CharTransceiver } from "./char-transceiver.js";
import type { MeterModel } from "./meters.js";
import { PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";
import { kwh, PROFILE_PERIOD_MIN, ProfileRowStatus, parseStamp, SimProfileMemory, type ProfileChannel } from "./profile-memory.js";
import type { Rs485Bus } from "./rs485-bus.js";
import type { Scheduler } from "./scheduler.js";

const SOH = 0x01, STX = 0x02, ETX = 0x03, EOT = 0x04, ACK = 0x06, NAK = 0x15, LF = 0x0a;
/** Mode D at 2400 Bd; mode C signs on at 300 Bd (STD §6.3.14 item 13, §6.4.4). */
const MODE_D_BAUD = 2400;
const SIGN_ON_BAUD = 300;
const MODE_C_BAUDS = [300, 600, 1200, 2400, 4800, 9600, 19200];
/** tt: how long we wait for the option select, ms (1500 < tt ≤ 2200, STD §6.4.3.6). */
const TT_MS = 2000;
/** Inactivity time-out of a programming session, ms (60-120 s, Annex A note 1). */
const INACTIVITY_MS = 60_000;
/** Wrong passwords before lock-out, and how long it lasts. */
const PASSWORD_TRIES = 3;
const LOCKOUT_MS = 15 * 60_000;
/** Event log entries kept (a ring in flash), and entries per partial block of an R3 read. */
const LOG_ENTRIES = 64;
const LOG_PER_BLOCK = 4;
/** Load-profile lines per partial block of an R5 read. */
const PROFILE_PER_BLOCK = 8;
const PERIOD_MS = PROFILE_PERIOD_MIN * 60_000;
/** Longest message we buffer (a W1 with a 128-character value fits). */
const RX_MAX = 200;
const EPOCH_2000 = Date.UTC(2000, 0, 1);

/** Event codes of the module's log (docs/d0.md). */
export const ModuleEvent = {
  coldStart: 1,
  warmStart: 2,
  mainsFail: 3,
  mainsRestore: 4,
  tamperOpen: 0x10,
  tamperClose: 0x11,
  doorOpen: 0x12,
  doorClose: 0x13,
  relayOpen: 0x20,
  relayClose: 0x21,
  clockSet: 0x30,
  wrongPassword: 0x40,
  lockout: 0x41,
  batteryLow: 0x50,
} as const;

export interface ModuleIdentity {
  /** FLAG manufacturer letters (3rd lower case ⇒ tr 20 ms). */
  manufacturer: string;
  /** The identification after Z (≤ 16 characters, `\W` pairs included). */
  model: string;
  /** Z of the mode C identification (session rate). Default "5" (9600 Bd). */
  sessionBaudChar?: string;
}

export interface LocalModuleOptions {
  scheduler: Scheduler;
  prng: Prng;
  bus: Rs485Bus;
  /** Device address (§6.3.14 item 22), e.g. "10000001". */
  address: string;
  serial: string;
  identity: ModuleIdentity;
  meters: MeterModel[];
  /** P1 password, 8 characters. Default "00000000". */
  password?: string;
  /** Module clock at scheduler time 0, ms since 1970 (UTC; the module runs on UTC). Default 2026-01-01. */
  startEpochMs?: number;
  /** Crystal error, ppm. Default 0. */
  clockDriftPpm?: number;
  /** Extra reaction time over the tr minimum, uniform in [0, jitter), ms. Default 4. */
  reactionJitterMs?: number;
}

export interface LogEntry {
  /** Module clock when logged, ms since 1970. */
  readonly time: number;
  readonly code: number;
  readonly detail: number;
}

type State = "listen" | "option" | "session" | "talking";

export class SimLocalModule {
  readonly name: string;
  readonly domain: PowerDomain;
  readonly meters: MeterModel[];
  readonly identity: ModuleIdentity;
  readonly #s: Scheduler;
  readonly #prng: Prng;
  readonly #password: string;
  readonly #driftPpm: number;
  readonly #jitterMs: number;
  #address: string;
  #serial: string;
  #transceiver: CharTransceiver;

  // Non-volatile (flash): survives any power loss.
  #log: LogEntry[] = [];
  #powerFailures = 0;
  // Battery-backed RAM: lost on a cold start.
  #relayConnected = true;
  #clockBase: number;
  #clockSetAt = 0;
  #clockValid = true;
  #lockedUntil = -1;
  #wrongPasswords = 0;
  #lostPulses: number[];
  #offPulses: number[] | undefined;

  #battery = true;
  #onBattery = false;
  #tamper = false;
  #door = false;

  #state: State = "listen";
  #rx: number[] = [];
  #rxBaud = 0;
  #rxBad = false;
  #sessionBaud = SIGN_ON_BAUD;
  #authenticated = false;
  #timer: ReturnType<Scheduler["after"]> | undefined;
  #lastAnswer: Uint8Array | undefined;
  /** Partial blocks of an R3/R5 answer still to send (ACK for the next). */
  #blocks: string[][] = [];
  /** Load-profile memory (flash; none on a simple module), and what happened in the interval being recorded. */
  #profile: SimProfileMemory | undefined;
  #profileStatus = 0;
  #profileTimer: ReturnType<Scheduler["after"]> | undefined;

  constructor(o: LocalModuleOptions) {
    this.#s = o.scheduler;
    this.#prng = o.prng;
    this.name = `ml-${o.address}`;
    this.#address = o.address;
    this.#serial = o.serial;
    this.identity = o.identity;
    this.meters = o.meters;
    this.#password = o.password ?? "00000000";
    this.#driftPpm = o.clockDriftPpm ?? 0;
    this.#jitterMs = o.reactionJitterMs ?? 4;
    this.#clockBase = o.startEpochMs ?? Date.UTC(2026, 0, 1);
    this.#lostPulses = o.meters.map(() => 0);
    this.domain = new PowerDomain(o.scheduler, this.name);
    this.#transceiver = this.#attach(o.bus);
    this.domain.onPowerOff(() => this.#reset());
    this.domain.powerOn();
  }

  // ---- what the simulation and tests see and do ----

  get address(): string {
    return this.#address;
  }

  get serial(): string {
    return this.#serial;
  }

  /** The latching relay: true = connected (closed). */
  get relayConnected(): boolean {
    return this.#relayConnected;
  }

  get log(): readonly LogEntry[] {
    return this.#log;
  }

  get batteryOk(): boolean {
    return this.#battery;
  }

  get locked(): boolean {
    return this.#s.now < this.#lockedUntil;
  }

  /** The module's clock, ms since 1970, and whether it has been set since its last cold start. */
  clock(): { epochMs: number; valid: boolean } {
    return { epochMs: Math.floor(this.#clockBase + (this.#s.now - this.#clockSetAt) * (1 + this.#driftPpm / 1e6)), valid: this.#clockValid };
  }

  /** Load-profile memory of `depthRows` 15-minute rows (0: none, as a simple module); recording starts now. */
  setProfileMemory(depthRows: number): void {
    const channels: ProfileChannel[] = [];
    this.meters.forEach((m, i) => {
      const b = `1-${i + 1}:`;
      if (m.kind === "pulse") return void channels.push({ code: `${b}1.8.0`, value: () => Math.floor((this.countedPulses(i) * 1000) / m.impPerKwh) });
      channels.push({ code: `${b}1.8.0`, value: () => m.importWh() }, { code: `${b}2.8.0`, value: () => m.exportWh() });
    });
    this.#profile = depthRows > 0 ? new SimProfileMemory(depthRows, channels) : undefined;
    this.#armProfile();
  }

  /** The load-profile memory, if the module has one. */
  get profile(): SimProfileMemory | undefined {
    return this.#profile;
  }

  /** Brings every meter's registers up to now (as a readout does). */
  advanceMeters(): void {
    const now = this.#s.now;
    const hour = (ms: number) => new Date(this.#clockAt(ms)).getUTCHours();
    // Tariff 1 (day) 06:00-22:00 module time, tariff 2 otherwise.
    const tariff = (ms: number) => (hour(ms) >= 6 && hour(ms) < 22 ? 0 : 1);
    for (const m of this.meters) m.advance(now, hour, tariff);
  }

  /** Pulses the module has counted for meter `i` (pulses while it was down are lost). */
  countedPulses(i: number): number {
    return this.meters[i]!.pulses - this.#lostPulses[i]!;
  }

  setTamper(open: boolean): void {
    if (open === this.#tamper) return;
    this.#tamper = open;
    this.#logEvent(open ? ModuleEvent.tamperOpen : ModuleEvent.tamperClose, 0);
  }

  setDoor(open: boolean): void {
    if (open === this.#door) return;
    this.#door = open;
    this.#logEvent(open ? ModuleEvent.doorOpen : ModuleEvent.doorClose, 0);
  }

  /** Healthy or flat backup battery. */
  setBattery(ok: boolean): void {
    if (this.#battery && !ok) this.#logEvent(ModuleEvent.batteryLow, 0);
    this.#battery = ok;
  }

  /** The bus supply fails for `durationMs`: on battery the module keeps running; with a flat one it goes down and boots cold. */
  cutPower(durationMs: number): void {
    this.busPower(false);
    this.#s.after(durationMs, () => this.busPower(true));
  }

  /**
   * The bus supply (from the concentrator's power-supply module) goes off or comes back. Off: on a
   * healthy battery the module keeps running; with a flat one it goes down, and boots cold when the
   * supply returns.
   */
  busPower(on: boolean): void {
    this.advanceMeters();
    if (on) {
      if (this.#onBattery) {
        this.#onBattery = false;
        this.#logEvent(ModuleEvent.mainsRestore, 0);
      } else if (!this.domain.on && this.#offPulses) this.#boot(false);
      return;
    }
    if (this.#onBattery || !this.domain.on) return;
    this.#profileStatus |= ProfileRowStatus.powerFailure;
    if (this.#battery) {
      this.#onBattery = true;
      this.#logEvent(ModuleEvent.mainsFail, 0);
      return;
    }
    this.#powerFailures++;
    this.#offPulses = this.meters.map((m) => m.pulses);
    this.domain.powerOff("power-cut");
  }

  /** A reset of the module's processor: warm with a healthy battery (RAM kept), cold otherwise. */
  reboot(): void {
    const warm = this.#battery;
    this.domain.powerOff("software");
    this.#s.after(100, () => this.#boot(warm));
  }

  /** The module is swapped for a new one at the same place: new serial, default relay, empty log, unset clock. */
  replace(serial: string): void {
    this.#serial = serial;
    this.#log = [];
    this.#powerFailures = 0;
    this.domain.powerOff("power-cut");
    this.#s.after(100, () => this.#boot(false));
  }

  /** Readdresses the module, and optionally moves it to another bus. */
  move(address: string, bus?: Rs485Bus): void {
    this.#address = address;
    if (bus) {
      this.#transceiver.detached = true;
      this.#transceiver = this.#attach(bus);
    }
  }

  /** The module's transceiver on `bus`: 7E1 parity is checked on every character (a bad one arrives as -1). */
  #attach(bus: Rs485Bus): CharTransceiver {
    return new CharTransceiver({ name: this.name, domain: this.domain, bus, onByte: (b, baud) => this.receive(hasEvenParity(b) ? b & 0x7f : -1, baud) });
  }

  // ---- power ----

  #boot(warm: boolean): void {
    if (!warm) {
      // Battery-backed RAM is lost: the relay is driven to its default, the clock restarts.
      if (!this.#relayConnected) this.#logEvent(ModuleEvent.relayClose, 1);
      this.#setRelay(true);
      this.#clockBase = EPOCH_2000;
      this.#clockSetAt = this.#s.now;
      this.#clockValid = false;
      this.#wrongPasswords = 0;
      this.#lockedUntil = -1;
      if (this.#offPulses) {
        this.meters.forEach((m, i) => (this.#lostPulses[i]! += m.pulses - this.#offPulses![i]!));
        this.#offPulses = undefined;
      }
    }
    this.domain.powerOn();
    this.#logEvent(warm ? ModuleEvent.warmStart : ModuleEvent.coldStart, 0);
    // Pulses while a module was down are lost: its pulse channels are not valid in this interval.
    const pulsesLost = !warm && this.meters.some((m) => m.kind === "pulse");
    this.#profileStatus |= ProfileRowStatus.powerFailure | (pulsesLost ? ProfileRowStatus.invalid : 0);
    this.#armProfile();
  }

  /**
   * The next profile row at the next interval end of the module's clock. A serial meter keeps its
   * profile itself, powered or not (its clock runs on its own battery): rows go on while the module is
   * down, flagged power failure. Pulses are counted by the module: one that has a pulse meter records
   * nothing while it is down.
   */
  #armProfile(): void {
    this.#s.cancel(this.#profileTimer);
    this.#profileTimer = undefined;
    if (!this.#profile) return;
    const clockMs = this.clock().epochMs;
    const next = (Math.floor(clockMs / PERIOD_MS) + 1) * PERIOD_MS;
    this.#profileTimer = this.#s.after(Math.max(1, (next - clockMs) / (1 + this.#driftPpm / 1e6)), () => {
      this.#profileTimer = undefined;
      const down = !this.domain.on;
      if (down || this.#onBattery) this.#profileStatus |= ProfileRowStatus.powerFailure;
      if (!(down && this.meters.some((m) => m.kind === "pulse"))) {
        this.advanceMeters();
        this.#profile?.record(Math.round(this.clock().epochMs / PERIOD_MS) * (PERIOD_MS / 1000), this.#profileStatus);
        this.#profileStatus = 0;
      }
      this.#armProfile();
    });
  }

  #setRelay(connected: boolean): void {
    this.advanceMeters();
    this.#relayConnected = connected;
    for (const m of this.meters) m.setRelay?.(connected);
  }

  #reset(): void {
    this.#state = "listen";
    this.#rx = [];
    this.#authenticated = false;
    this.#cancelTimer();
  }

  #clockAt(schedulerMs: number): number {
    return this.#clockBase + (schedulerMs - this.#clockSetAt) * (1 + this.#driftPpm / 1e6);
  }

  #logEvent(code: number, detail: number): void {
    this.#log.push({ time: this.clock().epochMs, code, detail });
    if (this.#log.length > LOG_ENTRIES) this.#log.shift();
  }

  // ---- receiving ----

  /** @internal A character from the transceiver: `c` is the 7-bit character, or -1 for a parity error. */
  receive(c: number, baud: number): void {
    if (!this.domain.on || this.#state === "talking") return;
    const listening = this.#state === "listen" ? baud === MODE_D_BAUD || baud === SIGN_ON_BAUD : baud === (this.#state === "option" ? SIGN_ON_BAUD : this.#sessionBaud);
    if (!listening) return;
    if (this.#rx.length === 0 || baud !== this.#rxBaud) {
      // A message starts with "/" (request), ACK/NAK, or SOH; anything else between messages is noise.
      this.#rx = [];
      this.#rxBad = false;
      this.#rxBaud = baud;
      if (c !== 0x2f && c !== ACK && c !== NAK && c !== SOH) return;
    }
    if (c < 0) this.#rxBad = true;
    this.#rx.push(c);
    if (this.#rx.length > RX_MAX) this.#rx = [];
    else this.#examine(baud);
  }

  /** Is a complete message in the buffer? */
  #examine(baud: number): void {
    const rx = this.#rx;
    const first = rx[0]!;
    const last = rx[rx.length - 1]!;
    if (first === 0x2f) {
      if (last !== LF) return;
      this.#rx = [];
      if (!this.#rxBad && this.#state === "listen") this.#onRequest(text(rx), baud);
      return;
    }
    if (first === ACK || first === NAK) {
      if (this.#state === "option") {
        if (last !== LF) return;
        this.#rx = [];
        if (!this.#rxBad && rx.length === 6 && first === ACK) this.#onOptionSelect(String.fromCharCode(rx[1]!, rx[2]!, rx[3]!));
        return;
      }
      this.#rx = [];
      if (this.#state === "session") this.#onAckNak(first === ACK);
      return;
    }
    // SOH … ETX|EOT BCC: complete one byte after the ETX/EOT.
    const n = rx.length;
    if (n < 2 || (rx[n - 2] !== ETX && rx[n - 2] !== EOT)) return;
    this.#rx = [];
    if (this.#state !== "session") return;
    let x = 0;
    for (let i = 1; i < n - 1; i++) x ^= rx[i]!;
    if (this.#rxBad || x !== rx[n - 1]) return this.#answerAfterTr([NAK]);
    this.#onCommand(text(rx.slice(1, n - 2)));
  }

  #onRequest(request: string, baud: number): void {
    const m = /^\/\?([0-9A-Za-z ]{0,32})!\r\n$/.exec(request);
    if (!m || m[1]!.replace(/^0+/, "") !== this.#address.replace(/^0+/, "")) return;
    if (baud === MODE_D_BAUD) {
      const ident = `/${this.identity.manufacturer}3${this.identity.model}\r\n`;
      return this.#talkAfterTr(MODE_D_BAUD, ident + "\r\n" + this.#readoutText(), () => undefined);
    }
    const z = this.identity.sessionBaudChar ?? "5";
    this.#talkAfterTr(SIGN_ON_BAUD, `/${this.identity.manufacturer}${z}${this.identity.model}\r\n`, () => {
      this.#state = "option";
      this.#arm(TT_MS, () => this.#sendReadoutWithBcc(SIGN_ON_BAUD));
    });
  }

  #onOptionSelect(vzy: string): void {
    this.#cancelTimer();
    const z = this.identity.sessionBaudChar ?? "5";
    const baud = vzy[1] === z ? MODE_C_BAUDS[Number(z)]! : SIGN_ON_BAUD;
    if (vzy[2] === "1") {
      this.#sessionBaud = baud;
      this.#authenticated = false;
      this.#answerAfterTr(frame(SOH, `P0\x02(${this.#serial})`, ETX));
    } else this.#sendReadoutWithBcc(baud);
  }

  #enterSession(): void {
    this.#state = "session";
    this.#arm(INACTIVITY_MS, () => (this.#state = "listen"));
  }

  #sendReadoutWithBcc(baud: number): void {
    this.#talkAfterTr(baud, frame(STX, this.#readoutText(), ETX), () => undefined);
  }

  #onAckNak(ack: boolean): void {
    this.#enterSession();
    if (!ack) {
      if (this.#lastAnswer) this.#answerAfterTr(Array.from(this.#lastAnswer));
      return;
    }
    if (this.#blocks.length) this.#sendBlock();
  }

  // ---- programming commands (docs/d0.md) ----

  #onCommand(body: string): void {
    this.#enterSession();
    const m = /^([PWREB])([0-9])(?:\x02(.*))?$/s.exec(body);
    if (!m) return this.#answerAfterTr([NAK]);
    const [, letter, type, data] = m;
    if (letter === "B") {
      this.#cancelTimer();
      this.#state = "listen";
      return;
    }
    const ds = data === undefined ? undefined : /^([^()/!]*)\(([^()]*)\)$/.exec(data);
    if (!ds) return this.#answerAfterTr([NAK]);
    const [, address, value] = ds;
    if (letter === "P" && type === "1") return this.#onPassword(value!);
    if (!this.#authenticated) return this.#error("ERAUTH");
    if (letter === "W" && type === "1") return this.#onWrite(address!, value!);
    if (letter === "R" && (type === "1" || type === "3")) return this.#onRead(address!, type === "3");
    if (letter === "R" && type === "5") return this.#onProfileRead(address!, value!);
    this.#error("ERCMD");
  }

  #onPassword(password: string): void {
    if (this.locked) return this.#error("ERLOCK");
    if (password === this.#password) {
      this.#authenticated = true;
      this.#wrongPasswords = 0;
      return this.#answerAfterTr([ACK]);
    }
    this.#logEvent(ModuleEvent.wrongPassword, ++this.#wrongPasswords);
    if (this.#wrongPasswords >= PASSWORD_TRIES) {
      this.#lockedUntil = this.#s.now + LOCKOUT_MS;
      this.#wrongPasswords = 0;
      this.#logEvent(ModuleEvent.lockout, 0);
      return this.#error("ERLOCK");
    }
    this.#error("ERPWD");
  }

  #onWrite(address: string, value: string): void {
    if (address === "0-0:96.3.10") {
      if (value !== "0" && value !== "1") return this.#error("ERVAL");
      const connect = value === "1";
      if (connect !== this.#relayConnected) {
        this.#setRelay(connect);
        this.#logEvent(connect ? ModuleEvent.relayClose : ModuleEvent.relayOpen, 0);
      }
      return this.#answerAfterTr([ACK]);
    }
    if (address === "0-0:1.0.0") {
      const t = /^([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})[SW]$/.exec(value);
      if (!t) return this.#error("ERVAL");
      const [y, mo, d, h, mi, s] = t.slice(1).map(Number) as [number, number, number, number, number, number];
      const epoch = Date.UTC(2000 + y, mo - 1, d, h, mi, s);
      if (mo < 1 || mo > 12 || new Date(epoch).getUTCDate() !== d) return this.#error("ERVAL");
      this.#clockBase = epoch;
      this.#clockSetAt = this.#s.now;
      this.#clockValid = true;
      this.#logEvent(ModuleEvent.clockSet, 0);
      this.#profileStatus |= ProfileRowStatus.clockSet;
      this.#armProfile();
      return this.#answerAfterTr([ACK]);
    }
    this.#error("ERADDR");
  }

  #onRead(address: string, partial: boolean): void {
    if (address === "P.98") {
      const lines = this.#log.map((e) => `P.98(0${stamp(e.time)})(${hex(e.code, 2)})(${hex(e.detail, 4)})`);
      if (!partial || lines.length <= LOG_PER_BLOCK) return this.#answerAfterTr(frame(STX, lines.join("\r\n"), ETX));
      return this.#answerInBlocks(lines, LOG_PER_BLOCK);
    }
    const registers: Record<string, string> = {
      "0-0:96.3.10": this.#relayConnected ? "1" : "0",
      "0-0:1.0.0": `${stamp(this.clock().epochMs)}W`,
      "0-0:C.1.0": this.#serial,
      "0-0:0.0.0": this.#address,
    };
    const v = registers[address];
    if (v === undefined) return this.#error("ERADDR");
    this.#answerAfterTr(frame(STX, `${address}(${v})`, ETX));
  }

  /** R5 `P.01(from;to)`: the profile rows in the range (module clock), in partial blocks; a module without profile memory does not know the address. */
  #onProfileRead(address: string, value: string): void {
    if (address !== "P.01" || !this.#profile) return this.#error("ERADDR");
    const range = value.split(";");
    const from = parseStamp(range[0] ?? "");
    const to = parseStamp(range[1] ?? "");
    if (range.length !== 2 || from === undefined || to === undefined || to < from) return this.#error("ERVAL");
    this.#answerInBlocks(this.#profile.answer(from, to), PROFILE_PER_BLOCK);
  }

  /**
   * `lines` in one block, or in partial blocks of `perBlock` lines (EOT; the master's ACK asks for the
   * next). A partial block ends with its last line's CR LF: a data set without one continues in the
   * next block (IEC 62056-21 partial blocks may split a data set).
   */
  #answerInBlocks(lines: string[], perBlock: number): void {
    this.#blocks = [];
    if (lines.length <= perBlock) return this.#answerAfterTr(frame(STX, lines.join("\r\n"), ETX));
    for (let i = 0; i < lines.length; i += perBlock) this.#blocks.push(lines.slice(i, i + perBlock));
    this.#sendBlock();
  }

  /** The next partial block: EOT while more follow, ETX for the last. */
  #sendBlock(): void {
    const block = this.#blocks.shift()!;
    const more = this.#blocks.length > 0;
    this.#answerAfterTr(frame(STX, block.join("\r\n") + (more ? "\r\n" : ""), more ? EOT : ETX));
  }

  #error(text: string): void {
    this.#answerAfterTr(frame(STX, `(${text})`, ETX));
  }

  // ---- the readout ----

  /** Data lines of a readout, "! CR LF" included: module registers, then each meter on OBIS channel B = 1, 2, … */
  #readoutText(): string {
    this.advanceMeters();
    const now = this.clock().epochMs;
    const t = new Date(now);
    const status = (this.#tamper ? 1 : 0) | (this.#door ? 2 : 0) | (this.#onBattery ? 4 : 0) | (this.#battery ? 0 : 8) | (this.#clockValid ? 0 : 16);
    const lines = [
      `0-0:C.1.0(${this.#serial})`,
      `0-0:0.0.0(${this.#address})`,
      `0-0:0.9.1(${two(t.getUTCHours())}${two(t.getUTCMinutes())}${two(t.getUTCSeconds())})`,
      `0-0:0.9.2(0${two(t.getUTCFullYear() % 100)}${two(t.getUTCMonth() + 1)}${two(t.getUTCDate())})`,
      `0-0:96.3.10(${this.#relayConnected ? 1 : 0})`,
      `0-0:C.5.0(${hex(status, 4)})`,
      `0-0:96.6.3(${this.#battery ? "3.71" : "2.90"}*V)`,
      `0-0:C.7.0(${String(this.#powerFailures).padStart(4, "0")})`,
    ];
    this.meters.forEach((m, i) => {
      const b = `1-${i + 1}:`;
      lines.push(`${b}C.1.0(${m.serial})`);
      if (m.kind === "pulse") {
        lines.push(`${b}0.3.0(${m.impPerKwh})`); // imp/kWh: "/" may not appear in a unit (STD §6.5)
        const wh = Math.floor((this.countedPulses(i) * 1000) / m.impPerKwh);
        lines.push(`${b}1.8.0(${kwh(wh)}*kWh)`);
        return;
      }
      lines.push(`${b}1.8.0(${kwh(m.importWh())}*kWh)`, `${b}1.8.1(${kwh(m.importWh(1))}*kWh)`, `${b}1.8.2(${kwh(m.importWh(2))}*kWh)`);
      lines.push(`${b}2.8.0(${kwh(m.exportWh())}*kWh)`);
      lines.push(`${b}1.7.0(${(m.powerW / 1000).toFixed(3)}*kW)`);
      const phases = m.phases === 3 ? [32, 52, 72] : [32];
      for (const c of phases) lines.push(`${b}${c}.7.0(${(m.voltageDeciV / 10).toFixed(1)}*V)`);
      for (const c of phases) lines.push(`${b}${c - 1}.7.0(${(m.currentMilliA / 1000).toFixed(2).padStart(6, "0")}*A)`);
    });
    return lines.join("\r\n") + "\r\n!\r\n";
  }

  // ---- transmitting ----

  /** A programming-mode answer at the session rate; the session goes on afterwards. */
  #answerAfterTr(chars: number[], then?: () => void): void {
    this.#lastAnswer = Uint8Array.from(chars);
    this.#talkAfterTr(this.#sessionBaud, chars, () => {
      this.#enterSession();
      then?.();
    });
  }

  /** Waits tr (the identity's minimum plus jitter), sends, then listens again and runs `then`. */
  #talkAfterTr(baud: number, message: string | number[], then: () => void): void {
    const tr = (isLowerCase(this.identity.manufacturer.charCodeAt(2)) ? 20 : 200) + this.#prng.next() * this.#jitterMs;
    this.#state = "talking";
    // Sent as it is (a readout's text, or a frame's characters), the parity bit added per character
    // on the wire: no array of the reply's characters, nor a second one with their parity.
    this.domain.after(tr, () => {
      this.#transceiver.send(
        message,
        baud,
        () => {
          this.#state = "listen";
          then();
        },
        withEvenParity,
      );
    });
  }

  #arm(ms: number, fn: () => void): void {
    this.#cancelTimer();
    this.#timer = this.domain.after(ms, () => {
      this.#timer = undefined;
      fn();
    });
  }

  #cancelTimer(): void {
    this.#s.cancel(this.#timer);
    this.#timer = undefined;
  }
}

function frame(first: number, body: string, end: number): number[] {
  const chars = [first, ...Array.from(body, (c) => c.charCodeAt(0)), end];
  let x = 0;
  for (let i = 1; i < chars.length; i++) x ^= chars[i]!;
  chars.push(x & 0x7f);
  return chars;
}

function text(chars: number[]): string {
  return String.fromCharCode(...chars);
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, "0");
}


/** yymmddhhmmss of an epoch time (UTC). */
function stamp(ms: number): string {
  const t = new Date(ms);
  return two(t.getUTCFullYear() % 100) + two(t.getUTCMonth() + 1) + two(t.getUTCDate()) + two(t.getUTCHours()) + two(t.getUTCMinutes()) + two(t.getUTCSeconds());
}

function isLowerCase(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
