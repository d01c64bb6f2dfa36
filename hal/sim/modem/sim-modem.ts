/**
 * A GPRS modem emulator: a SIM800 or a Quectel (BG96-class) module on the far end of the board's modem
 * UART, with its own power (a PowerDomain switched by the PWRKEY line), SIM card, registration, TCP/IP
 * stack (sim800-stack.ts, quectel-stack.ts) and SMS storage. It answers the AT commands the firmware's
 * drivers use with the responses, URCs, timing and limits of the vendors' manuals, and offers fault
 * knobs for every failure of domain.md §4.6.
 *
 * Power (SIM800 Hardware Design V1.09 §4.2; BG95&BG96 Compatible Design §4.3):
 * - Off: holding PWRKEY for `onPressMs` switches it on; it boots for `bootMs`, ignoring input, then
 *   reports "RDY" (only at a fixed baud rate: SIM800 autobauds from the factory) and the boot URCs.
 * - On: releasing PWRKEY after a press of `offPressMinMs`..`offPressMaxMs` starts the power-down
 *   ("NORMAL POWER DOWN" / "POWERED DOWN"); so do AT+CPOWD=1 and AT+QPOWD. Echo, error format, socket
 *   and PDP state are lost at every power-off; AT&W settings, the BG96 URC port and the SIM's messages
 *   are kept.
 * - With a `supply` domain (the board's), the module loses power with the board and stays off after.
 *
 * Command line (V.250): commands start with "AT", end with CR; one command per line. Commands that
 * arrive while one runs wait (as the module's UART buffer holds them). Echo is on after boot.
 */
import type { Level } from "../../digital.js";
import type { SimDigitalOutput } from "../digital.js";
import { PowerDomain } from "../power-domain.js";
import type { Prng } from "../prng.js";
import type { Scheduler } from "../scheduler.js";
import { SimUart } from "../uart.js";
import type { SerialPort } from "../../serial.js";
import type { PacketNetwork } from "./packet-network.js";
import { QuectelStack } from "./quectel-stack.js";
import { Sim800Stack } from "./sim800-stack.js";
import type { SimSmsc, SmsTerminal } from "./sim-smsc.js";
import { scaOctets, type SimSms } from "./sms-tpdu.js";
import type { AtCall, ModemStack, StackFaults, StackHost } from "./stack.js";

export type SimModemFamily = "sim800" | "quectel";
export type Coverage = "home" | "roaming" | "searching" | "denied" | "none";
export type SimCardState = "ready" | "absent" | "pin";

interface Profile {
  readonly model: readonly string[];
  readonly onPressMs: number;
  readonly offPressMinMs: number;
  readonly offPressMaxMs: number;
  /** From power-on until the UART answers. */
  readonly bootMs: number;
  /** Boot URCs after `bootMs`: [delay, line, also when URCs go to USB]. */
  readonly bootUrcs: ReadonlyArray<readonly [number, string, boolean]>;
  readonly simReadyMs: number;
  readonly smsReadyMs: number;
  readonly powerDownUrc: string;
  readonly underVoltageUrc: string;
  readonly powerDownMs: number;
  /** AT+IPR at the factory: 0 = autobauding (no "RDY"). */
  readonly factoryIpr: number;
  /** URCs on the UART from the factory (BG96: "usbat" until AT+QURCCFG="urcport","uart1"). */
  readonly urcsOnUartByDefault: boolean;
  /** Answer to AT+CPIN? while the SIM starts: a line, or a CME error number. */
  readonly simStarting: string | number;
  readonly prompt: string;
  readonly packetRegistration: readonly string[];
}

const PROFILES: Record<SimModemFamily, Profile> = {
  sim800: {
    model: ["SIM800 R14.18"],
    onPressMs: 1_000, // ≥ 1 s (Hardware Design V1.09 §4.2.1)
    offPressMinMs: 1_500, // 1.5 s < t < 33 s (§4.2.2.1)
    offPressMaxMs: 33_000,
    bootMs: 2_500,
    bootUrcs: [
      [0, "RDY", true],
      [10, "+CFUN: 1", true],
      [3_000, "Call Ready", true],
      [4_000, "SMS Ready", true],
    ],
    simReadyMs: 1_500,
    smsReadyMs: 4_000,
    powerDownUrc: "NORMAL POWER DOWN",
    underVoltageUrc: "UNDER-VOLTAGE POWER DOWN",
    powerDownMs: 1_000,
    factoryIpr: 0,
    urcsOnUartByDefault: true,
    simStarting: "+CPIN: NOT READY",
    prompt: "> ",
    packetRegistration: ["+CGREG"],
  },
  quectel: {
    model: ["Quectel", "BG96", "Revision: BG96MAR02A07M1G"],
    onPressMs: 500, // ≥ 500 ms
    offPressMinMs: 650, // ≥ 650 ms (Compatible Design §4.3.2)
    offPressMaxMs: 60_000,
    bootMs: 4_800,
    bootUrcs: [
      [0, "RDY", true],
      [100, "+CFUN: 1", false],
      [300, "+CPIN: READY", false],
      [400, "+QUSIM: 1", false],
      [1_500, "+QIND: SMS DONE", false],
      [2_000, "APP RDY", true],
    ],
    simReadyMs: 300,
    smsReadyMs: 1_500,
    powerDownUrc: "POWERED DOWN",
    underVoltageUrc: "POWERED DOWN",
    powerDownMs: 1_300,
    factoryIpr: 115_200,
    urcsOnUartByDefault: false,
    simStarting: 14, // SIM busy
    prompt: "\r\n> ",
    packetRegistration: ["+CGREG", "+CEREG"],
  },
};

export interface SimModemOptions {
  family: SimModemFamily;
  network: PacketNetwork;
  smsc?: SimSmsc;
  /** The SIM's subscriber number. Default "+40700000001". */
  number?: string;
  name?: string;
  /** UART bit rate, default 115200. */
  baud?: number;
  sim?: SimCardState;
  /** PIN of a SIM in state "pin". Default "1234". */
  pin?: string;
  /** From SIM ready until registered, ms. Default 3000 + up to 2000. */
  registrationDelayMs?: number;
  coverage?: Coverage;
  /** The network's name in +COPS? (27.007 §7.3). Default "SIM NETWORK". */
  operator?: string;
  /** +CSQ rssi, 0..31. Default 18 (−77 dBm). */
  rssi?: number;
  /** The APN the network accepts; any if undefined. */
  apn?: string;
  /** Bytes one socket buffers before the stack stops reading from the network. Default 8 KiB. */
  receiveBufferBytes?: number;
  /** SIM message storage, in messages. Default 30. */
  smsCapacity?: number;
}

export interface SimModemCounters {
  boots: number;
  powerDowns: number;
  commands: number;
  unknownCommands: number;
  urcs: number;
  droppedInput: number;
}

interface Stored {
  pdu: string;
  /** 27.005 <stat>: 0 received unread, 1 received read. */
  stat: number;
}

/** V.250: the command line is at most this long on SIM800 (manual §1.4.2: 556 characters). */
const MAX_COMMAND_LINE = 556;
const CTRL_Z = 0x1a;
const ESC = 0x1b;

export class SimModem implements SmsTerminal {
  readonly family: SimModemFamily;
  readonly name: string;
  readonly number: string;
  readonly domain: PowerDomain;
  readonly uart: SimUart;
  readonly counters: SimModemCounters = { boots: 0, powerDowns: 0, commands: 0, unknownCommands: 0, urcs: 0, droppedInput: 0 };
  readonly faults: StackFaults = { sendFaults: [] };
  /** URCs sent on the UART, by their text up to the first comma ('+QIURC: "recv"', "RDY"). */
  readonly urcCounts: Record<string, number> = {};
  /** A broken part: the module no longer switches on. */
  dead = false;
  /** URCs put between the first line and the final result of the next multi-line response. */
  readonly urcsInNextResponse: string[] = [];
  readonly #scheduler: Scheduler;
  readonly #prng: Prng;
  readonly #profile: Profile;
  readonly #options: SimModemOptions;
  readonly #stack: ModemStack;
  #supply: PowerDomain | undefined;
  #port: SerialPort | undefined;
  // persistent settings
  #ipr: number;
  #urcsOnUart: boolean;
  #sim: SimCardState;
  readonly #storage: Array<Stored | undefined>;
  // volatile state
  #echo = true;
  #packetService = true;
  #cmee = 0;
  /** AT+IFC: <DCE_by_DTE>, <DTE_by_DCE> (0 none, 2 RTS / CTS). */
  #ifc: [number, number] = [0, 0];
  #cmgf = 0;
  #cnmiMt = 0;
  #cnmiDs = 0;
  #cfun = 1;
  #attached = false;
  #readyAt = 0;
  #simReadyAt = 0;
  #smsReadyAt = 0;
  #registeredAt = 0;
  #coverage: Coverage;
  #messageRef = 0;
  #shuttingDown = false;
  #hungUntil = 0;
  // command line
  #line = "";
  #lineTooLong = false;
  readonly #pending: string[] = [];
  #busy = false;
  #data: { count: number; bytes: number[]; done: (bytes: Uint8Array) => void } | undefined;
  #textInput: { chars: number[]; done: (text: string | undefined) => void } | undefined;
  readonly #out: Uint8Array[] = [];
  // power key
  #pressedAt = -1;
  #pressSwitchedOn = false;

  constructor(scheduler: Scheduler, prng: Prng, options: SimModemOptions) {
    this.#scheduler = scheduler;
    this.#prng = prng;
    this.#options = options;
    this.family = options.family;
    this.#profile = PROFILES[options.family];
    this.name = options.name ?? `modem-${options.family}`;
    this.number = options.number ?? "+40700000001";
    this.domain = new PowerDomain(scheduler, this.name);
    this.uart = new SimUart(this.domain, this.name, prng.fork("uart"));
    this.#ipr = this.#profile.factoryIpr;
    this.#urcsOnUart = this.#profile.urcsOnUartByDefault;
    this.#sim = options.sim ?? "ready";
    this.#coverage = options.coverage ?? "home";
    this.#storage = new Array(options.smsCapacity ?? 30).fill(undefined);
    const host = this.#stackHost();
    this.#stack = options.family === "sim800" ? new Sim800Stack(host) : new QuectelStack(host);
    this.domain.onPowerOn(() => this.#boot());
    this.domain.onPowerOff(() => this.#lost());
    options.smsc?.attach(this);
  }

  // ---- wiring ----

  /** The board's PWRKEY output: a press switches the module on or off. */
  attachPowerKey(key: SimDigitalOutput): void {
    key.watch((level) => this.#key(level));
  }

  /** The supply the module hangs on: when it goes off, so does the module. */
  powerFrom(supply: PowerDomain): void {
    this.#supply = supply;
    // A reset of the board (watchdog, software) leaves the module's supply alone; a power cut does not.
    supply.onPowerOff((reason) => (reason === "power-cut" || reason === "brownout") && this.domain.powerOff("power-cut"));
  }

  // ---- state, for tests ----

  get on(): boolean {
    return this.domain.on;
  }

  get pdpActive(): boolean {
    return this.#stack.pdpActive;
  }

  get sockets(): number {
    return this.#stack.sockets;
  }

  get storedMessages(): number {
    return this.#storage.filter((s) => s !== undefined).length;
  }

  /** The baud setting kept in non-volatile memory (0: autobauding). */
  get storedBaud(): number {
    return this.#ipr;
  }

  // ---- fault knobs (domain.md §4.6) ----

  /** Switches the module on now, as if PWRKEY had been held (a test's starting point). */
  switchOn(): void {
    this.#powerOn();
  }

  /** Restores the factory settings kept in non-volatile memory (autobauding on SIM800, URCs to USB on
   * BG96), as a replaced or re-flashed module has them. */
  factoryReset(): void {
    this.#ipr = this.#profile.factoryIpr;
    this.#urcsOnUart = this.#profile.urcsOnUartByDefault;
  }

  /** An unexpected reset (brown-out, watchdog): off now, booting again after 100 ms. */
  reboot(): void {
    if (!this.domain.on) return;
    this.domain.powerOff("brownout");
    this.#scheduler.after(100, () => this.#powerOn());
  }

  /** Powers down by itself, with the URC of the cause. */
  powerDown(cause: "normal" | "under-voltage"): void {
    if (this.domain.on) this.#powerDownProcedure(cause === "normal" ? this.#profile.powerDownUrc : this.#profile.underVoltageUrc);
  }

  /** Stops answering for `durationMs` (Infinity: until its power is cycled); PWRKEY still works. */
  hang(durationMs = Infinity): void {
    this.#hungUntil = this.#scheduler.now + durationMs;
    this.#out.length = 0;
  }

  /**
   * Packet service (GPRS) apart from the radio: off, the module stays registered for calls and SMS
   * while +CGREG says "searching", attaching fails and the network tears the PDP context down (a cell
   * without packet capacity, an APN outage).
   */
  setPacketService(on: boolean): void {
    this.#packetService = on;
    if (!on && this.domain.on) {
      this.#attached = false;
      this.domain.after(3_000, () => !this.#packetService && this.#stack.dropPdp(false));
    }
  }

  /** Radio conditions: registration follows after the registration delay (or at once when lost). */
  setCoverage(coverage: Coverage): void {
    const before = this.#coverage;
    this.#coverage = coverage;
    if (registeredCoverage(coverage) && !registeredCoverage(before)) this.#registeredAt = this.#scheduler.now + this.#registrationDelay();
    if (!registeredCoverage(coverage) && this.domain.on) {
      this.#attached = false;
      // The network tears the context down a few seconds after the radio link is gone.
      this.domain.after(3_000, () => !registeredCoverage(this.#coverage) && this.#stack.dropPdp(false));
    }
  }

  /** The network deactivates the PDP context; `silent`: no URC (the host finds out by failing). */
  dropPdp(options: { silent?: boolean } = {}): void {
    this.#stack.dropPdp(options.silent ?? false);
  }

  setSim(state: SimCardState): void {
    const was = this.#sim;
    this.#sim = state;
    if (!this.domain.on) return;
    if (state === "ready" && was !== "ready") {
      this.#simReadyAt = this.#scheduler.now + this.#profile.simReadyMs;
      this.#registeredAt = this.#simReadyAt + this.#registrationDelay();
    } else if (state !== "ready" && was === "ready") {
      this.#attached = false;
      this.#stack.dropPdp(true);
      this.#urc("+CPIN: NOT READY");
    }
  }

  /** Emits a URC now (on the UART, whatever the URC port). */
  injectUrc(line: string): void {
    this.#raw(`\r\n${line}\r\n`);
  }

  /** Bytes on the modem's TX line, between whatever else it sends. */
  injectGarbage(bytes: Uint8Array): void {
    if (this.domain.on) this.#raw(bytes);
  }

  // ---- SmsTerminal (the service centre's side) ----

  deliverSms(_sms: SimSms, tpdu: Uint8Array): boolean {
    if (!this.#csRegistered()) return false;
    const pdu = hex([...scaOctets(this.#options.smsc?.number ?? "+40700000100"), ...tpdu]);
    if (this.#cnmiMt === 2) {
      this.#urcLines([`+CMT: ,${tpdu.length}`, pdu]);
      return true;
    }
    const index = this.#storage.indexOf(undefined);
    if (index < 0) return false;
    this.#storage[index] = { pdu, stat: 0 };
    if (this.#cnmiMt === 1) this.#urc(`+CMTI: "SM",${index + 1}`);
    return true;
  }

  deliverReport(tpdu: Uint8Array): boolean {
    if (!this.#csRegistered()) return false;
    if (this.#cnmiDs === 1) this.#urcLines([`+CDS: ${tpdu.length}`, hex([...scaOctets(this.#options.smsc?.number ?? "+40700000100"), ...tpdu])]);
    return true;
  }

  // ---- power ----

  #key(level: Level): void {
    const now = this.#scheduler.now;
    if (level === 1) {
      this.#pressedAt = now;
      this.#pressSwitchedOn = false;
      if (!this.domain.on) {
        const pressedAt = now;
        this.#scheduler.after(this.#profile.onPressMs, () => {
          if (this.#pressedAt !== pressedAt || this.domain.on) return;
          this.#pressSwitchedOn = true;
          this.#powerOn();
        });
      }
      return;
    }
    if (this.#pressedAt < 0) return;
    const held = now - this.#pressedAt;
    this.#pressedAt = -1;
    if (this.domain.on && !this.#pressSwitchedOn && held >= this.#profile.offPressMinMs && held <= this.#profile.offPressMaxMs) {
      this.#powerDownProcedure(this.#profile.powerDownUrc);
    }
  }

  #powerOn(): void {
    if (this.dead || this.domain.on || (this.#supply && !this.#supply.on)) return;
    this.domain.powerOn();
  }

  #powerDownProcedure(urc: string): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#busy = true;
    this.#raw(`\r\n${urc}\r\n`);
    this.domain.after(this.#profile.powerDownMs, () => this.domain.powerOff("software"));
  }

  #boot(): void {
    this.counters.boots++;
    const now = this.#scheduler.now;
    this.#echo = true;
    this.#cmee = 0;
    this.#ifc = [0, 0];
    this.#cmgf = 0;
    this.#cnmiMt = this.#cnmiDs = 0;
    this.#cfun = 1;
    this.#attached = false;
    this.#shuttingDown = false;
    this.#hungUntil = 0;
    this.#busy = false;
    this.#line = "";
    this.#pending.length = 0;
    this.#data = this.#textInput = undefined;
    const p = this.#profile;
    this.#readyAt = now + p.bootMs;
    this.#simReadyAt = this.#readyAt + p.simReadyMs;
    this.#smsReadyAt = this.#readyAt + p.smsReadyMs;
    this.#registeredAt = this.#simReadyAt + this.#registrationDelay();
    this.#port = this.uart.open({
      baud: this.#options.baud ?? 115_200,
      onReadable: () => this.#readable(),
      onWritable: () => this.#pump(),
    });
    for (const [delay, line, always] of p.bootUrcs) {
      if (line === "RDY" && this.#ipr === 0) continue; // autobauding: no RDY (Hardware Design §4.2.1)
      if (line === "+CPIN: READY" && this.#sim !== "ready") continue;
      this.domain.after(p.bootMs + delay, () => (always ? this.#raw(`\r\n${line}\r\n`) : this.#urc(line)));
    }
  }

  #lost(): void {
    this.counters.powerDowns++;
    this.#port = undefined;
    this.#out.length = 0;
    this.#stack.reset();
    this.#attached = false;
  }

  // ---- registration ----

  #registrationDelay(): number {
    return this.#options.registrationDelayMs ?? 3_000 + this.#prng.int(2_000);
  }

  /** 27.007 §7.2 <stat> of +CREG. */
  #regStat(): number {
    const now = this.#scheduler.now;
    if (!this.domain.on || this.#cfun !== 1 || this.#sim !== "ready" || now < this.#simReadyAt) return 0;
    if (now < this.#registeredAt) return 2;
    return { home: 1, roaming: 5, searching: 2, denied: 3, none: 0 }[this.#coverage];
  }

  #csRegistered(): boolean {
    const stat = this.#regStat();
    return stat === 1 || stat === 5;
  }

  /** <stat> of +CGREG: that of +CREG, or "searching" while the packet service is off. */
  #psStat(): number {
    const stat = this.#regStat();
    return !this.#packetService && (stat === 1 || stat === 5) ? 2 : stat;
  }

  #psRegistered(): boolean {
    return this.#packetService && this.#csRegistered();
  }

  // ---- UART ----

  #readable(): void {
    const port = this.#port;
    if (!port) return;
    for (let bytes = port.read(); bytes; bytes = port.read()) {
      if (this.#scheduler.now < this.#readyAt || this.#shuttingDown || this.#hung()) {
        this.counters.droppedInput += bytes.length;
        continue;
      }
      for (let i = 0; i < bytes.length; i++) this.#input(bytes[i]!);
    }
  }

  #input(b: number): void {
    const data = this.#data;
    if (data) {
      data.bytes.push(b);
      if (data.bytes.length === data.count) {
        this.#data = undefined;
        data.done(new Uint8Array(data.bytes));
      }
      return;
    }
    const text = this.#textInput;
    if (text) {
      if (b === CTRL_Z || b === ESC) {
        this.#textInput = undefined;
        text.done(b === CTRL_Z ? String.fromCharCode(...text.chars) : undefined);
      } else if (text.chars.length < 400) text.chars.push(b);
      return;
    }
    if (this.#echo) this.#raw(new Uint8Array([b]));
    if (b === 0x0d) {
      const line = this.#line.trim();
      const tooLong = this.#lineTooLong;
      this.#line = "";
      this.#lineTooLong = false;
      // V.250 §5.2.1: characters before the "AT" prefix are ignored.
      const at = line.toUpperCase().indexOf("AT");
      if (at >= 0) this.#command(tooLong ? undefined : line.slice(at));
      return;
    }
    if (b === 0x0a) return;
    if (this.#line.length >= MAX_COMMAND_LINE) this.#lineTooLong = true;
    else this.#line += String.fromCharCode(b);
  }

  /** Runs a command line (undefined: one that was too long, answered ERROR). */
  #command(line: string | undefined): void {
    if (this.#busy) {
      if (this.#pending.length < 4) this.#pending.push(line ?? "AT\u0000");
      return;
    }
    this.#busy = true;
    this.counters.commands++;
    const call = line === undefined ? undefined : parseCall(line.slice(2));
    if (!call) return this.#finish("ERROR", this.#latency());
    if (!this.#common(call) && !this.#stack.execute(call)) {
      this.counters.unknownCommands++;
      this.#finish("ERROR", this.#latency());
    }
  }

  #finish(final: string, delayMs = 0, lines: readonly string[] = []): void {
    const emit = () => {
      const inside = this.urcsInNextResponse.splice(0);
      const all = [...lines.slice(0, 1), ...inside, ...lines.slice(1), final];
      this.#raw(all.map((l) => `\r\n${l}\r\n`).join(""));
      this.#done();
    };
    if (delayMs > 0) this.domain.after(delayMs, emit);
    else emit();
  }

  #done(): void {
    this.#busy = false;
    const next = this.#pending.shift();
    if (next !== undefined) this.domain.after(1, () => this.#command(next));
  }

  #hung(): boolean {
    return this.#scheduler.now < this.#hungUntil;
  }

  #raw(bytes: Uint8Array | string): void {
    if (!this.#port || this.#hung()) return;
    this.#out.push(typeof bytes === "string" ? ascii(bytes) : bytes);
    this.#pump();
  }

  #pump(): void {
    const port = this.#port;
    while (port && this.#out.length) {
      const room = port.writable;
      if (room <= 0) return;
      const head = this.#out[0]!;
      const n = Math.min(room, head.length);
      port.write(n === head.length ? head : head.subarray(0, n));
      if (n === head.length) this.#out.shift();
      else this.#out[0] = head.subarray(n);
    }
  }

  #urc(line: string): void {
    if (!this.#urcsOnUart) return; // BG96: they go to the USB AT port
    this.#countUrc(line);
    this.#raw(`\r\n${line}\r\n`);
  }

  #countUrc(line: string): void {
    this.counters.urcs++;
    const head = line.split(",")[0]!;
    this.urcCounts[head] = (this.urcCounts[head] ?? 0) + 1;
  }

  /** A URC with a body line (+CMT, +CDS), written in one piece so nothing gets between. */
  #urcLines(lines: readonly string[]): void {
    if (!this.#urcsOnUart) return;
    this.#countUrc(lines[0]!);
    this.#raw(`\r\n${lines.join("\r\n")}\r\n`);
  }

  #latency(): number {
    return 2 + this.#prng.int(8);
  }

  #cmeError(code: number): string {
    return this.#cmee === 0 ? "ERROR" : `+CME ERROR: ${code}`;
  }

  #cmsError(code: number): string {
    return this.#cmee === 0 ? "ERROR" : `+CMS ERROR: ${code}`;
  }

  #stackHost(): StackHost {
    const modem = this;
    return {
      network: this.#options.network,
      prng: this.#prng.fork("stack"),
      faults: this.faults,
      get attached() {
        return modem.#attached && modem.#psRegistered();
      },
      apn: this.#options.apn,
      receiveBufferBytes: this.#options.receiveBufferBytes ?? 8_192,
      after: (ms, fn) => this.domain.after(ms, fn),
      latency: () => this.#latency(),
      line: (text) => this.#raw(`\r\n${text}\r\n`),
      raw: (bytes) => this.#raw(bytes),
      finish: (final, delayMs, lines) => this.#finish(final, delayMs, lines),
      swallow: () => this.#done(),
      prompt: (count, onData) => {
        this.#data = { count, bytes: [], done: onData };
        this.#raw(this.#profile.prompt);
      },
      urc: (line) => this.#urc(line),
    };
  }

  // ---- 3GPP commands shared by both families ----

  #common(call: AtCall): boolean {
    const a = call.args;
    const n = Number(a[0]);
    const ok = () => this.#finish("OK", this.#latency());
    switch (call.name) {
      case "":
        return ok(), true;
      case "E":
        this.#echo = a[0] === "1";
        return ok(), true;
      case "Z":
        this.#echo = true;
        return ok(), true;
      case "I":
        return this.#finish("OK", this.#latency(), this.#profile.model), true;
      case "&W":
        return ok(), true;
      case "+IPR":
        if (call.form === "read") return this.#finish("OK", this.#latency(), [`+IPR: ${this.#ipr}`]), true;
        if (call.form !== "set" || !(n >= 0)) return this.#finish("ERROR", this.#latency()), true;
        this.#ipr = n; // kept by AT&W on the real part; the emulator keeps it at once
        return ok(), true;
      case "+IFC": {
        // V.250 §6.2.12. Both parts also offer 1 (XON/XOFF), which the emulator does not model.
        if (call.form === "read") return this.#finish("OK", this.#latency(), [`+IFC: ${this.#ifc[0]},${this.#ifc[1]}`]), true;
        if (call.form === "test") return this.#finish("OK", this.#latency(), ["+IFC: (0,2),(0,2)"]), true;
        const m = a.length > 1 ? Number(a[1]) : this.#ifc[1];
        if (call.form !== "set" || a.length > 2 || !(n === 0 || n === 2) || !(m === 0 || m === 2)) return this.#finish("ERROR", this.#latency()), true;
        this.#ifc = [n, m];
        // DCE_by_DTE = 2: the modem sends only while our RTS is up. Its own CTS never falls: the
        // emulator takes every byte as it comes.
        this.uart.setFlowControl(n === 2);
        return ok(), true;
      }
      case "+CMEE":
        if (call.form === "read") return this.#finish("OK", this.#latency(), [`+CMEE: ${this.#cmee}`]), true;
        if (!(n >= 0 && n <= 2)) return this.#finish("ERROR", this.#latency()), true;
        this.#cmee = n;
        return ok(), true;
      case "+CPIN":
        return this.#cpin(call), true;
      case "+CSQ": {
        const rssi = this.#csRegistered() ? (this.#options.rssi ?? 18) : 99;
        return this.#finish("OK", this.#latency(), [`+CSQ: ${rssi},${rssi === 99 ? 99 : 0}`]), true;
      }
      case "+COPS": {
        // 27.007 §7.3: automatic mode; the long alphanumeric name while registered.
        if (call.form === "set") return ok(), true;
        if (call.form !== "read") return this.#finish("ERROR", this.#latency()), true;
        const name = this.#csRegistered() ? `0,0,"${this.#options.operator ?? "SIM NETWORK"}"` : "0";
        return this.#finish("OK", this.#latency(), [`+COPS: ${name}`]), true;
      }
      case "+CREG":
      case "+CGREG":
      case "+CEREG": {
        const known = call.name === "+CREG" || this.#profile.packetRegistration.includes(call.name);
        if (!known) return false;
        if (call.form === "set") return ok(), true;
        if (call.form !== "read") return this.#finish("ERROR", this.#latency()), true;
        const cs = call.name === "+CREG";
        const stat = call.name === "+CEREG" ? (this.#regStat() === 3 ? 3 : 0) : cs ? this.#regStat() : this.#psStat(); // EGPRS only: no LTE
        return this.#finish("OK", this.#latency(), [`${call.name}: 0,${stat}`]), true;
      }
      case "+CGATT":
        return this.#cgatt(call), true;
      case "+CFUN":
        return this.#cfunCommand(call), true;
      case "+CPOWD":
        if (this.family !== "sim800") return false;
        this.#powerDownProcedure("NORMAL POWER DOWN");
        return true;
      case "+QPOWD":
        if (this.family !== "quectel") return false;
        this.#raw("\r\nOK\r\n");
        this.#powerDownProcedure("POWERED DOWN");
        return true;
      case "+QURCCFG":
        if (this.family !== "quectel") return false;
        if (call.form === "set" && a[0]?.toLowerCase() === "urcport" && a.length === 2 && ["usbat", "usbmodem", "uart1"].includes(a[1]!)) {
          this.#urcsOnUart = a[1] === "uart1";
          return ok(), true;
        }
        return this.#finish("ERROR", this.#latency()), true;
      case "+CMGF":
        if (call.form === "read") return this.#finish("OK", this.#latency(), [`+CMGF: ${this.#cmgf}`]), true;
        if (!this.#smsReady()) return this.#finish(this.#cmsError(302), this.#latency()), true;
        this.#cmgf = n === 1 ? 1 : 0;
        return ok(), true;
      case "+CNMI":
        if (!this.#smsReady()) return this.#finish(this.#cmsError(302), this.#latency()), true;
        this.#cnmiMt = Number(a[1] ?? 0);
        this.#cnmiDs = Number(a[3] ?? 0);
        return ok(), true;
      case "+CMGS":
        return this.#cmgs(call), true;
      case "+CMGR":
        return this.#cmgr(n), true;
      case "+CMGD": {
        if (!(n >= 1 && n <= this.#storage.length)) return this.#finish(this.#cmsError(321), this.#latency()), true;
        if (Number(a[1] ?? 0) === 4) this.#storage.fill(undefined);
        else this.#storage[n - 1] = undefined;
        return ok(), true;
      }
      case "+CMGL":
        return this.#cmgl(call), true;
      case "+CSCA":
        return this.#finish("OK", this.#latency(), [`+CSCA: "${this.#options.smsc?.number ?? ""}",145`]), true;
    }
    return false;
  }

  #smsReady(): boolean {
    return this.#scheduler.now >= this.#smsReadyAt && this.#sim === "ready";
  }

  #cpin(call: AtCall): void {
    if (this.#sim === "absent") return this.#finish(this.#cmeError(10), this.#latency());
    if (this.#scheduler.now < this.#simReadyAt) {
      const starting = this.#profile.simStarting;
      if (typeof starting === "number") return this.#finish(this.#cmeError(starting), this.#latency());
      return this.#finish("OK", this.#latency(), [starting]);
    }
    if (call.form === "read") return this.#finish("OK", this.#latency(), [this.#sim === "pin" ? "+CPIN: SIM PIN" : "+CPIN: READY"]);
    if (call.form !== "set" || this.#sim !== "pin") return this.#finish(this.#cmeError(3), this.#latency());
    if (call.args[0] !== (this.#options.pin ?? "1234")) return this.#finish(this.#cmeError(16), 500); // incorrect password
    this.#sim = "ready";
    this.#simReadyAt = this.#scheduler.now;
    this.#registeredAt = this.#scheduler.now + this.#registrationDelay();
    this.#finish("OK", 500);
  }

  #cgatt(call: AtCall): void {
    if (call.form === "read") return this.#finish("OK", this.#latency(), [`+CGATT: ${this.#attached && this.#psRegistered() ? 1 : 0}`]);
    if (call.form !== "set") return this.#finish("ERROR", this.#latency());
    if (call.args[0] === "0") {
      this.#attached = false;
      this.#stack.dropPdp(true);
      return this.#finish("OK", 300);
    }
    // Attach once registered; give up (ERROR) after 10 s without service.
    const deadline = this.#scheduler.now + 10_000;
    const attempt = () => {
      if (this.#psRegistered()) {
        this.#attached = true;
        return this.#finish("OK");
      }
      if (this.#scheduler.now >= deadline) return this.#finish("ERROR");
      this.domain.after(500, attempt);
    };
    this.domain.after(300 + this.#prng.int(700), attempt);
  }

  #cfunCommand(call: AtCall): void {
    if (call.form === "read") return this.#finish("OK", this.#latency(), [`+CFUN: ${this.#cfun}`]);
    const fun = Number(call.args[0]);
    if (call.form !== "set" || !(fun === 0 || fun === 1 || fun === 4)) return this.#finish("ERROR", this.#latency());
    if (call.args[1] === "1") {
      // Reset: OK, then the module restarts (27.007 §8.2 <rst>).
      this.#finish("OK", 50);
      this.domain.after(200, () => {
        this.domain.powerOff("software");
        this.#scheduler.after(100, () => this.#powerOn());
      });
      return;
    }
    this.#cfun = fun;
    if (fun !== 1) {
      this.#attached = false;
      this.#stack.dropPdp(true);
    } else this.#registeredAt = this.#scheduler.now + this.#registrationDelay();
    this.#finish("OK", 1_000);
  }

  #cmgs(call: AtCall): void {
    const len = Number(call.args[0]);
    if (this.#cmgf !== 0 || call.form !== "set" || !(len >= 7 && len <= 164)) return this.#finish(this.#cmsError(304), this.#latency());
    const smsc = this.#options.smsc;
    this.#raw(this.#profile.prompt);
    this.#textInput = {
      chars: [],
      done: (text) => {
        if (text === undefined) return this.#done(); // ESC: cancelled
        const bytes = unhex(text);
        if (!bytes || bytes.length < 1 || bytes.length - 1 - bytes[0]! !== len) return this.#finish(this.#cmsError(304), this.#latency());
        if (!this.#csRegistered()) return this.#finish(this.#cmsError(331), 1_000); // no network service
        if (!smsc) return this.#finish(this.#cmsError(330), this.#latency()); // SMSC address unknown
        const mr = (this.#messageRef = (this.#messageRef + 1) & 0xff);
        smsc.submit(this, bytes.subarray(1 + bytes[0]!), mr, (r) => {
          if (!this.domain.on) return;
          if (r.ok) this.#finish("OK", 0, [`+CMGS: ${mr}`]);
          else this.#finish(this.#cmsError(r.cms));
        });
      },
    };
  }

  #cmgr(index: number): void {
    if (!(index >= 1 && index <= this.#storage.length)) return this.#finish(this.#cmsError(321), this.#latency());
    const m = this.#storage[index - 1];
    if (!m) return this.#finish("OK", this.#latency());
    const stat = m.stat;
    m.stat = 1;
    this.#finish("OK", this.#latency(), [`+CMGR: ${stat},,${tpduLength(m.pdu)}`, m.pdu]);
  }

  #cmgl(call: AtCall): void {
    const want = Number(call.args[0] ?? 0);
    const lines: string[] = [];
    this.#storage.forEach((m, i) => {
      if (!m || (want !== 4 && m.stat !== want)) return;
      lines.push(`+CMGL: ${i + 1},${m.stat},,${tpduLength(m.pdu)}`, m.pdu);
      m.stat = 1;
    });
    this.#finish("OK", this.#latency() + lines.length, lines);
  }
}

function registeredCoverage(c: Coverage): boolean {
  return c === "home" || c === "roaming";
}

/** "+CIPSTART=0,"TCP","h",80" → { name "+CIPSTART", form "set", args }; basic commands "E0" → { "E", set, ["0"] }. */
export function parseCall(text: string): AtCall | undefined {
  if (text === "") return { name: "", form: "exec", args: [] };
  if (text.includes("\u0000")) return undefined;
  const extended = /^[+*^#$%]/.test(text);
  let nameEnd: number;
  if (extended) {
    nameEnd = text.search(/[=?]/);
    if (nameEnd < 0) nameEnd = text.length;
  } else nameEnd = text[0] === "&" ? 2 : 1;
  const name = text.slice(0, nameEnd).toUpperCase();
  const rest = text.slice(nameEnd);
  if (rest === "?") return { name, form: "read", args: [] };
  if (rest === "=?") return { name, form: "test", args: [] };
  if (!extended) return { name, form: rest === "" ? "exec" : "set", args: rest === "" ? [] : [rest] };
  if (rest === "") return { name, form: "exec", args: [] };
  if (rest[0] !== "=") return undefined;
  const args: string[] = [];
  let i = 1;
  while (i <= rest.length) {
    if (rest[i] === '"') {
      const close = rest.indexOf('"', i + 1);
      if (close < 0) return undefined;
      args.push(rest.slice(i + 1, close));
      i = close + 1;
      if (i < rest.length && rest[i] !== ",") return undefined;
    } else {
      let j = rest.indexOf(",", i);
      if (j < 0) j = rest.length;
      args.push(rest.slice(i, j).trim());
      i = j;
    }
    i++;
  }
  return { name, form: "set", args };
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

function hex(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16).toUpperCase();
  return s;
}

function unhex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** 27.005 §3.1 <length> in PDU mode: the TPDU's octets, the SCA not counted. */
function tpduLength(pdu: string): number {
  return pdu.length / 2 - 1 - parseInt(pdu.slice(0, 2), 16);
}
