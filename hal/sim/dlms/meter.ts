/**
 * A simulated DLMS/COSEM electricity meter on an RS485 bus: HDLC (IEC 62056-46) at 9600 Bd 8N1 with its
 * physical address on the multi-drop bus, or after an IEC 62056-21 mode E sign-on at 300 Bd; the
 * application of application.ts on the objects of cosem.ts; its own supply from the grid (a grid
 * outage takes it down: power-down and power-up events, the next profile entry flagged); its relay,
 * which the disconnect control (IC 70) drives and the consumer's supply follows; a consumer's button
 * (manual reconnection from "ready for reconnection").
 *
 * The link (server side, normal response mode): SNRM → UA with the negotiated parameters; I-frames
 * numbered modulo 8, a segmented request acknowledged segment by segment with RR, a long answer sent
 * segment by segment as the client polls with RR; a repeated frame (our answer was lost) answered
 * again; DISC → UA (DM when not connected); the link and association dropped after `inactivityMs`.
 * Frames for other addresses are ignored, as a meter on a shared bus must.
 */
import { hasEvenParity, withEvenParity } from "../../serial-7e1.js";
import { CharTransceiver } from "../char-transceiver.js";
import type { SimMeter } from "../meters.js";
import { PowerDomain } from "../power-domain.js";
import type { Prng } from "../prng.js";
import type { Rs485Bus } from "../rs485-bus.js";
import type { Scheduler, ScheduledEvent } from "../scheduler.js";
import { DlmsServerApplication, type ApplicationFaults, type ClientPolicy, type MeterKeys } from "./application.js";
import { hdlcEncode, HdlcScanner, type HdlcFrame } from "./codec.js";
import { MeterEvent, MeterObjects } from "./cosem.js";

const HDLC_BAUD = 9600;
const SIGN_ON_BAUD = 300;
const CAPTURE_MS = 15 * 60_000;
const LIMITER_TICK_MS = 30_000;

export interface SimDlmsMeterOptions {
  scheduler: Scheduler;
  prng: Prng;
  bus: Rs485Bus;
  /** Lower HDLC address on the bus (0x10..0x3FFD). */
  physical: number;
  /** Upper HDLC address of the management logical device. Default 1. */
  logical?: number;
  serial: string;
  /** FLAG id, e.g. "LGZ". */
  manufacturer: string;
  meter: SimMeter;
  /** The management client (SAP 1): "lls" with `password`, or "hls" with `keys`. */
  management: { mechanism: "lls"; password: string } | { mechanism: "hls"; keys: MeterKeys };
  systemTitle: Uint8Array;
  /** IEC 62056-21 device address for a mode E sign-on (the meter answers one when set). */
  iecAddress?: string;
  /** IC 70 control mode. Default 1. */
  controlMode?: number;
  /** Energy register scaler (value × 10^scaler Wh). Default 0. */
  energyScaler?: number;
  /** Minutes to add to the meter's local time to get UTC. Default 0. */
  deviationMin?: number;
  /** The meter's clock at scheduler time 0, UTC ms. Default 2026-01-01. */
  startEpochMs?: number;
  clockDriftPpm?: number;
  /** Largest information field it sends and takes. Default 128. */
  maxInfo?: number;
  /** The link and association end after this much silence. Default 120 s. */
  inactivityMs?: number;
  /**
   * On power-up, the profile gets the entries of the intervals the meter was down for (values as they
   * stood, status power down), as many IDIS meters write them (docs/backfill.md, `profileMemory: "all"`).
   * Default false: no entries while down.
   */
  fillOutages?: boolean;
}

export class SimDlmsMeter {
  readonly name: string;
  readonly domain: PowerDomain;
  readonly meter: SimMeter;
  readonly objects: MeterObjects;
  readonly app: DlmsServerApplication;
  readonly physical: number;
  readonly logical: number;
  readonly iecAddress: string | undefined;
  readonly #s: Scheduler;
  readonly #o: SimDlmsMeterOptions;
  readonly #transceiver: CharTransceiver;
  readonly #scanner: HdlcScanner;
  // Non-volatile.
  #powerFailures = 0;
  #clockBase: number;
  #clockSetAt = 0;
  // The link.
  #connected = false;
  #client = 0;
  #vs = 0;
  #vr = 0;
  #maxInfo: number;
  #rx: number[] = [];
  #tx: number[][] = [];
  #last: number[] | undefined;
  #dst: number[] = [];
  #talking = false;
  #inactivity: ScheduledEvent | undefined;
  #hdlc = false;
  #signOn = "";
  #modeE = false;
  #grid = true;
  /** Meter-clock time of the last profile entry, ms. */
  #lastCaptureMs: number | undefined;
  #limiterEpoch = 0;
  readonly counters = { framesIn: 0, framesOut: 0, foreign: 0, duplicates: 0 };

  constructor(o: SimDlmsMeterOptions) {
    this.#s = o.scheduler;
    this.#o = o;
    this.name = `dlms-${o.physical}`;
    this.physical = o.physical;
    this.logical = o.logical ?? 1;
    this.iecAddress = o.iecAddress;
    this.meter = o.meter;
    this.#maxInfo = o.maxInfo ?? 128;
    this.#clockBase = o.startEpochMs ?? Date.UTC(2026, 0, 1);
    this.domain = new PowerDomain(o.scheduler, this.name);
    this.objects = new MeterObjects({
      serial: o.serial,
      manufacturer: o.manufacturer,
      meter: o.meter,
      energyScaler: o.energyScaler ?? 0,
      controlMode: o.controlMode ?? 1,
      deviationMin: o.deviationMin ?? 0,
      clockS: () => Math.floor(this.clockMs() / 1000),
      setClockS: (s) => {
        this.#clockBase = s * 1000;
        this.#clockSetAt = this.#s.now;
      },
      clockValid: () => true,
      powerFailures: () => this.#powerFailures,
      lastClientIc: () => this.app.lastClientIc,
      advance: () => this.advance(),
    });
    this.objects.onRelay.push((connected) => {
      this.advance();
      o.meter.setRelay(connected);
    });
    this.objects.onLimiter = (active) => {
      this.#limiterEpoch++;
      if (active && this.domain.on) this.#scheduleLimiter(this.#limiterEpoch);
    };
    const clients: ClientPolicy[] = [{ sap: 16, mechanism: "none" }, o.management.mechanism === "lls" ? { sap: 1, mechanism: "lls", password: o.management.password } : { sap: 1, mechanism: "hls" }];
    this.app = new DlmsServerApplication({ objects: this.objects, clients, systemTitle: o.systemTitle, ...(o.management.mechanism === "hls" ? { keys: o.management.keys } : {}), prng: o.prng.fork("challenge") });
    this.#scanner = new HdlcScanner((f) => this.#onFrame(f));
    this.#transceiver = new CharTransceiver({ name: this.name, domain: this.domain, bus: o.bus, onByte: (b, baud) => this.#onByte(b, baud) });
    this.domain.onPowerOff(() => this.#dropLink());
    this.domain.onPowerOn(() => this.#boot());
    this.domain.powerOn();
  }

  get faults(): ApplicationFaults {
    return this.app.faults;
  }

  get serial(): string {
    return this.#o.serial;
  }

  get relayConnected(): boolean {
    return this.objects.outputState;
  }

  get powerFailures(): number {
    return this.#powerFailures;
  }

  clockMs(): number {
    return Math.floor(this.#clockBase + (this.#s.now - this.#clockSetAt) * (1 + (this.#o.clockDriftPpm ?? 0) / 1e6));
  }

  /** Registers up to now (tariff 1 from 06:00 to 22:00 of the meter's local time). */
  advance(): void {
    const dev = (this.#o.deviationMin ?? 0) * 60_000;
    const local = (ms: number) => this.#clockBase + (ms - this.#clockSetAt) - dev;
    const hour = (ms: number) => new Date(local(ms)).getUTCHours();
    this.meter.advance(this.#s.now, hour, (ms) => (hour(ms) >= 6 && hour(ms) < 22 ? 0 : 1));
  }

  /** The grid at the consumer's connection point: the meter and the consumer's supply. */
  setGrid(up: boolean): void {
    if (up === this.#grid) return;
    this.advance();
    this.#grid = up;
    this.meter.setGrid(up);
    if (!up) {
      this.#powerFailures++;
      this.objects.logEvent(MeterEvent.powerDown);
      this.objects.flagNext(0x80);
      this.domain.powerOff("power-cut");
    } else this.domain.powerOn();
  }

  /** The consumer presses the meter's button: manual reconnection (e) from "ready for reconnection". */
  pressButton(): boolean {
    return this.domain.on && this.objects.trigger("manualReconnect");
  }

  setTerminalCover(open: boolean): void {
    this.objects.logEvent(open ? MeterEvent.terminalCoverOpen : MeterEvent.terminalCoverClosed);
  }

  // ---- power ----

  #boot(): void {
    if (this.#powerFailures > 0) this.objects.logEvent(MeterEvent.powerUp);
    if (this.#o.fillOutages && this.#lastCaptureMs !== undefined) {
      for (let t = this.#lastCaptureMs + CAPTURE_MS; t <= this.clockMs(); t += CAPTURE_MS) {
        this.objects.flagNext(0x80);
        this.objects.capture(t / 1000);
        this.#lastCaptureMs = t;
      }
    }
    this.#scheduleCapture();
    this.#limiterEpoch++;
    if (this.objects.limiter.normal > 0) this.#scheduleLimiter(this.#limiterEpoch);
  }

  /** The next capture at the next 15-minute boundary of the meter's clock after `after` (meter ms). */
  #scheduleCapture(after = this.clockMs()): void {
    const boundary = Math.floor(after / CAPTURE_MS + 1) * CAPTURE_MS;
    this.domain.after(Math.max(0, boundary - this.clockMs()), () => {
      this.objects.capture(boundary / 1000);
      this.#lastCaptureMs = boundary;
      this.#scheduleCapture(boundary);
    });
  }

  /** The limiter's looks at the power, every LIMITER_TICK_MS while a threshold is set (`epoch` ends an older chain). */
  #scheduleLimiter(epoch: number): void {
    this.domain.after(LIMITER_TICK_MS, () => {
      if (epoch !== this.#limiterEpoch) return;
      this.objects.limiterTick(Math.floor(this.clockMs() / 1000));
      this.#scheduleLimiter(epoch);
    });
  }

  // ---- receiving ----

  #onByte(b: number, baud: number): void {
    if (!this.domain.on || this.#talking) return;
    if (baud === HDLC_BAUD && (this.#hdlc || !this.#modeE)) {
      this.#hdlc = true;
      this.#scanner.byte(b);
      return;
    }
    if (baud !== SIGN_ON_BAUD || !this.iecAddress) return;
    const c = hasEvenParity(b) ? b & 0x7f : -1;
    if (c < 0) return void (this.#signOn = "");
    if (this.#signOn === "" && c !== 0x2f && c !== 0x06) return;
    this.#signOn += String.fromCharCode(c);
    if (!this.#signOn.endsWith("\r\n")) {
      if (this.#signOn.length > 40) this.#signOn = "";
      return;
    }
    const line = this.#signOn;
    this.#signOn = "";
    const request = /^\/\?([0-9A-Za-z ]*)!\r\n$/.exec(line);
    if (request && request[1]!.replace(/^0+/, "") === this.iecAddress.replace(/^0+/, "")) {
      this.#modeE = true;
      this.#hdlc = false;
      return this.#send(Array.from(`/${this.#o.manufacturer}5\\2${this.#o.serial.slice(-8)}\r\n`, (ch) => withEvenParity(ch.charCodeAt(0))), SIGN_ON_BAUD);
    }
    // ACK 2 5 2: switch to 9600 Bd 8N1 and HDLC (any other option select ends the sign-on).
    this.#modeE = false;
    if (line === "\x06252\r\n") this.#hdlc = true;
  }

  #onFrame(f: HdlcFrame): void {
    if (!this.#mine(f.dst)) {
      this.counters.foreign++;
      return;
    }
    this.counters.framesIn++;
    this.#arm();
    const sap = f.src[0]!;
    this.#dst = f.dst;
    const c = f.control & ~0x10;
    if (c === 0x83) return this.#snrm(sap, f.info);
    if (c === 0x43) {
      const was = this.#connected;
      this.#dropLink();
      return this.#reply(hdlcEncode([sap], this.#dst, was ? 0x73 : 0x1f, []));
    }
    if (!this.#connected || sap !== this.#client) return this.#reply(hdlcEncode([sap], this.#dst, 0x1f, []));
    if ((c & 0x0f) === 0x01) return this.#rr(c >> 5);
    if ((c & 1) === 0) return this.#iframe((c >> 1) & 7, c >> 5, f);
  }

  #mine(dst: number[]): boolean {
    if (dst.length === 2) return dst[0] === this.logical && dst[1] === this.physical;
    if (dst.length === 4) return ((dst[0]! << 7) | dst[1]!) === this.logical && ((dst[2]! << 7) | dst[3]!) === this.physical;
    return false;
  }

  #snrm(sap: number, info: number[]): void {
    if (!this.app.policy(sap)) return this.#reply(hdlcEncode([sap], this.#dst, 0x1f, []));
    // The client's proposal (0x05 its transmit = our receive, 0x06 its receive = our transmit) caps ours.
    let theirReceive = 128;
    for (let i = 3; i + 1 < info.length; i += 2 + info[i + 1]!) {
      let v = 0;
      for (let k = 0; k < info[i + 1]!; k++) v = v * 256 + info[i + 2 + k]!;
      if (info[i] === 0x06) theirReceive = v;
    }
    this.#maxInfo = Math.min(this.#o.maxInfo ?? 128, theirReceive);
    this.#connected = true;
    this.#client = sap;
    this.#vs = this.#vr = 0;
    this.#rx = [];
    this.#tx = [];
    this.app.release();
    const m = this.#maxInfo;
    const params = [0x05, 0x02, m >> 8, m & 0xff, 0x06, 0x02, m >> 8, m & 0xff, 0x07, 0x04, 0, 0, 0, 1, 0x08, 0x04, 0, 0, 0, 1];
    this.#reply(hdlcEncode([sap], this.#dst, 0x73, [0x81, 0x80, params.length, ...params]));
  }

  #rr(nr: number): void {
    if (this.#tx.length && nr === this.#vs) return this.#sendSegment();
    if (this.#last) this.#reply(this.#last); // our last frame was lost: again
  }

  #iframe(ns: number, nr: number, f: HdlcFrame): void {
    if (ns === ((this.#vr + 7) & 7) && this.#last) {
      this.counters.duplicates++;
      return this.#reply(this.#last);
    }
    if (ns !== this.#vr || nr !== this.#vs) return;
    this.#vr = (this.#vr + 1) & 7;
    this.#rx.push(...f.info);
    if (f.segmented) return this.#reply(hdlcEncode([this.#client], this.#dst, 0x11 | (this.#vr << 5), []));
    const apdu = this.#rx;
    this.#rx = [];
    if (apdu[0] !== 0xe6 || apdu[1] !== 0xe6 || apdu[2] !== 0x00) return;
    const answer = this.app.handle(this.#client, apdu.slice(3));
    if (answer === "drop") {
      this.#dropLink();
      return this.#reply(hdlcEncode([this.#client], this.#dst, 0x1f, []));
    }
    if (!answer) return;
    const whole = [0xe6, 0xe7, 0x00, ...answer];
    this.#tx = [];
    for (let i = 0; i < whole.length; i += this.#maxInfo) this.#tx.push(whole.slice(i, i + this.#maxInfo));
    this.#sendSegment();
  }

  #sendSegment(): void {
    const info = this.#tx.shift()!;
    const more = this.#tx.length > 0;
    const frame = hdlcEncode([this.#client], this.#dst, 0x10 | (this.#vr << 5) | (this.#vs << 1), info, more);
    this.#vs = (this.#vs + 1) & 7;
    this.#reply(frame);
  }

  #dropLink(): void {
    this.#connected = false;
    this.#tx = [];
    this.#rx = [];
    this.#last = undefined;
    this.#hdlc = false;
    this.#modeE = false;
    this.#scanner.reset();
    this.app.release();
    this.#s.cancel(this.#inactivity);
  }

  #arm(): void {
    this.#s.cancel(this.#inactivity);
    this.#inactivity = this.domain.after(this.#o.inactivityMs ?? 120_000, () => this.#dropLink());
  }

  // ---- transmitting ----

  #reply(frame: number[]): void {
    this.#last = frame;
    this.counters.framesOut++;
    this.#send(frame, HDLC_BAUD);
  }

  /** Answers after the meter's reaction time (20 to 40 ms), then listens again. */
  #send(bytes: number[], baud: number): void {
    this.#talking = true;
    this.domain.after(20 + this.#o.prng.next() * 20, () => this.#transceiver.send(bytes, baud, () => (this.#talking = false)));
  }
}
