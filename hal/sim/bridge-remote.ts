/**
 * A bridge's remote node: the PLC modem or radio unit in front of a local module, on a short RS485
 * segment of its own (an Rs485Bus on which the module is attached exactly as on the concentrator's bus).
 * It carries out one D0 step at a time for its bridge (docs/bridge.md §Remote node):
 *
 * - It talks to its module only when the segment has been quiet for 10 character times and at least
 *   tr = 200 ms (STD §6.4.1.5, the lower limit for every meter) after the module's last character, so
 *   the concentrator's own waits of tr cost no relay time.
 * - It sends the step's D0 message 7E1 at the step's rate, then (when asked to listen) collects the
 *   answer at the listening rate: no first character within `firstByteMs` is "no answer"; the answer
 *   ends after 10 quiet character times; it is cut at 4096 bytes (the node's buffer). A character with a
 *   parity error, or sent at another rate, is kept with bit 7 set (hal/serial-7e1.ts), so the
 *   concentrator's decoder sees the error where it happened.
 * - Sign-on (mode C, STD §6.4.3): tt, the 1.5-2.2 s within which a meter expects the option select
 *   after its identification, cannot span a relay round trip. When asked, the node answers a
 *   well-formed identification itself: it waits tr, sends `ACK 0 Z 1` (Z the meter's own when its rate
 *   is at most the step's highest rate, else 0 for 300 Bd), switches to that rate and collects the next
 *   answer (P0). The answer is the identification followed by that one, with the split and Z reported.
 *
 * This is simulated hardware: it depends on no firmware (the dependency rule), and nothing in it
 * knows what the exchange means beyond the sign-on.
 */
import { characterTimeMs } from "../serial.js";
import { hasEvenParity, withEvenParity } from "../serial-7e1.js";
import { CharTransceiver } from "./char-transceiver.js";
import type { LineNoiseRates } from "./line-noise.js";
import { PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";
import { Rs485Bus } from "./rs485-bus.js";
import type { ScheduledEvent, Scheduler } from "./scheduler.js";

/** Mode C rates by Z = "0".."6" (STD §6.3.14 item 13). */
const MODE_C_BAUDS = [300, 600, 1200, 2400, 4800, 9600, 19200];
const SIGN_ON_BAUD = 300;
/** tr lower limit, ms (STD §6.4.1.5). */
const TR_MS = 200;
/** Quiet character times that end an answer, and that the segment needs before the node talks. */
const IDLE_CHARS = 10;
/** The node's answer buffer, bytes. */
const ANSWER_MAX = 4096;
const ACK = 0x06, CR = 0x0d, LF = 0x0a;
/** A receiver tolerates about ±3 % baud error (as hal/sim/uart.ts). */
const BAUD_TOLERANCE = 0.03;

export interface RemoteStep {
  /** 7-bit characters to send (may be empty: only listen). */
  readonly send: Uint8Array;
  readonly sendBaud: number;
  readonly listen: boolean;
  readonly listenBaud: number;
  readonly signOn: boolean;
  /** Highest rate the sign-on may switch to, Bd. */
  readonly maxBaud: number;
  readonly firstByteMs: number;
}

export interface RemoteAnswer {
  /** "no-answer": the module sent nothing within `firstByteMs`. */
  readonly status: "ok" | "no-answer";
  readonly bytes: Uint8Array;
  readonly split: number;
  /** The Z of the option select sent on the module's behalf, or "". */
  readonly signOnBaudChar: string;
}

export interface RemoteNodeOptions {
  scheduler: Scheduler;
  prng: Prng;
  /** Medium address. */
  id: number;
  name?: string;
  /** Noise on the node's RS485 segment. */
  segmentNoise?: LineNoiseRates;
}

export class SimRemoteNode {
  readonly id: number;
  readonly name: string;
  readonly domain: PowerDomain;
  /** The node's RS485 segment: attach the local module here. */
  readonly segment: Rs485Bus;
  readonly #s: Scheduler;
  readonly #prng: Prng;
  readonly #transceiver: CharTransceiver;
  #lastRxAt = -Infinity;
  // The step being listened for.
  #listenBaud = 0;
  #rx: number[] | undefined;
  #timer: ScheduledEvent | undefined;
  #onQuiet: (() => void) | undefined;

  constructor(o: RemoteNodeOptions) {
    this.id = o.id;
    this.name = o.name ?? `node-${o.id}`;
    this.#s = o.scheduler;
    this.#prng = o.prng.fork(this.name);
    this.domain = new PowerDomain(o.scheduler, this.name);
    this.segment = new Rs485Bus(o.scheduler, o.prng, { name: `${this.name}/segment`, noise: o.segmentNoise });
    this.#transceiver = new CharTransceiver({ name: this.name, domain: this.domain, bus: this.segment, onByte: (b, baud) => this.#receive(b, baud) });
    this.domain.onPowerOff(() => this.#stop());
    this.domain.powerOn();
  }

  /** Carries out one step; `done` runs once (never if the node loses power meanwhile). */
  execute(step: RemoteStep, done: (answer: RemoteAnswer) => void): void {
    this.#stop();
    this.#talk(step.send, step.sendBaud, () => {
      if (!step.listen) return done({ status: "ok", bytes: new Uint8Array(0), split: 0, signOnBaudChar: "" });
      this.#collect(step.listenBaud, step.firstByteMs, (first) => {
        const z = step.signOn ? signOnBaudChar(first, step.maxBaud) : undefined;
        if (z === undefined) return done({ status: first.length ? "ok" : "no-answer", bytes: Uint8Array.from(first), split: 0, signOnBaudChar: "" });
        const select = [ACK, 0x30, z.charCodeAt(0), 0x31, CR, LF];
        this.#talk(Uint8Array.from(select), SIGN_ON_BAUD, () =>
          this.#collect(MODE_C_BAUDS[Number(z)]!, step.firstByteMs, (second) =>
            done({ status: "ok", bytes: Uint8Array.from([...first, ...second]), split: first.length, signOnBaudChar: z }),
          ),
        );
      });
    });
  }

  /** Waits for a quiet segment and tr, then sends `chars` 7E1 at `baud`. */
  #talk(chars: Uint8Array, baud: number, then: () => void): void {
    if (chars.length === 0) return then();
    const quietFor = Math.max(TR_MS, IDLE_CHARS * characterTimeMs(baud));
    const attempt = () => {
      const wait = this.#lastRxAt + quietFor - this.#s.now;
      if (wait > 0) return void (this.#timer = this.domain.after(wait, attempt));
      this.#timer = undefined;
      this.#transceiver.send(Array.from(chars, withEvenParity), baud, then);
    };
    attempt();
  }

  /** Listens at `baud`: `done(chars)` after the answer's end, or with [] when nothing came within `firstByteMs`. */
  #collect(baud: number, firstByteMs: number, done: (chars: number[]) => void): void {
    const rx: number[] = [];
    const idleMs = IDLE_CHARS * characterTimeMs(baud);
    this.#listenBaud = baud;
    this.#rx = rx;
    const finish = () => {
      this.#rx = undefined;
      this.#timer = undefined;
      done(rx);
    };
    const check = () => {
      if (rx.length === 0) return finish();
      const wait = this.#lastRxAt + idleMs - this.#s.now;
      if (wait > 0) return void (this.#timer = this.domain.after(wait, check));
      finish();
    };
    this.#onQuiet = check;
    this.#timer = this.domain.after(firstByteMs, check);
  }

  #receive(byte: number, baud: number): void {
    if (!this.domain.on) return;
    this.#lastRxAt = this.#s.now;
    const rx = this.#rx;
    if (!rx || rx.length >= ANSWER_MAX) return;
    if (Math.abs(baud - this.#listenBaud) > this.#listenBaud * BAUD_TOLERANCE) byte = this.#prng.int(256) | 0x80;
    else byte = hasEvenParity(byte) ? byte & 0x7f : (byte & 0x7f) | 0x80;
    rx.push(byte);
    // The first character replaces the first-byte timer by the end-of-answer one.
    if (rx.length === 1 && this.#onQuiet) {
      this.#s.cancel(this.#timer);
      this.#timer = this.domain.after(IDLE_CHARS * characterTimeMs(this.#listenBaud), this.#onQuiet);
    }
  }

  #stop(): void {
    this.#s.cancel(this.#timer);
    this.#timer = undefined;
    this.#rx = undefined;
    this.#onQuiet = undefined;
  }
}

/** Z for the option select when `answer` is a well-formed identification `/XXXZ… CR LF`; undefined otherwise. */
function signOnBaudChar(answer: readonly number[], maxBaud: number): string | undefined {
  const n = answer.length;
  if (n < 7 || answer[0] !== 0x2f || answer[n - 2] !== CR || answer[n - 1] !== LF) return undefined;
  for (let i = 0; i < n; i++) if (answer[i]! >= 0x80) return undefined;
  for (let i = 1; i < 4; i++) {
    const c = answer[i]! | 0x20;
    if (c < 0x61 || c > 0x7a) return undefined;
  }
  const z = answer[4]! - 0x30;
  return z >= 0 && z < MODE_C_BAUDS.length && MODE_C_BAUDS[z]! <= maxBaud ? String(z) : "0";
}
