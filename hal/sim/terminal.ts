/**
 * An engineer's terminal on the board's service port: a UART of its own (a USB-serial adapter on a
 * laptop) wired to the console UART by a serial link, so what is typed takes its wire time and arrives
 * through the board's 128-byte receive FIFO, and what the console writes arrives here a character at a
 * time. The terminal itself never loses a byte (a laptop's driver buffers): it reads its FIFO whenever
 * anything arrives and keeps what it received.
 *
 * Typing is paced like a person, or a paste, at `charIntervalMs` per character (0: as fast as the wire
 * takes them, through the transmit FIFO).
 */
import { UART_FIFO_BYTES } from "../serial.js";
import type { SerialPort } from "../serial.js";
import { PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import { SerialLink } from "./serial-link.js";
import { SimUart } from "./uart.js";

export class SimTerminal {
  readonly uart: SimUart;
  readonly link: SerialLink;
  readonly #scheduler: Scheduler;
  readonly #port: SerialPort;
  readonly #typing: number[] = [];
  #typingArmed = false;
  #charIntervalMs: number;
  #received = "";
  /** Every character received, for tests that look at the wire. */
  receivedBytes = 0;
  #listeners: Array<(text: string) => void> = [];

  constructor(scheduler: Scheduler, prng: Prng, consoleUart: SimUart, options: { baud?: number; charIntervalMs?: number; name?: string } = {}) {
    this.#scheduler = scheduler;
    const domain = new PowerDomain(scheduler, options.name ?? "terminal");
    domain.powerOn();
    this.uart = new SimUart(domain, options.name ?? "terminal", prng.fork("terminal"));
    this.link = new SerialLink(scheduler, prng, consoleUart, this.uart, { name: `${consoleUart.name}<->terminal` });
    this.#charIntervalMs = options.charIntervalMs ?? 0;
    this.#port = this.uart.open({
      baud: options.baud ?? 115_200,
      onReadable: () => this.#read(),
      onWritable: () => this.#pump(),
    });
  }

  /** Everything received since the last `take` (and forgets it). */
  take(): string {
    const s = this.#received;
    this.#received = "";
    return s;
  }

  /** Everything received since the last `take`, kept. */
  get text(): string {
    return this.#received;
  }

  /** `listener` gets each piece of text as it is received. */
  onText(listener: (text: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Types `text` (bytes 0..255, one per character). */
  type(text: string): void {
    for (let i = 0; i < text.length; i++) this.#typing.push(text.charCodeAt(i) & 0xff);
    this.#pump();
  }

  /** Whether everything typed has left the terminal. */
  get idle(): boolean {
    return this.#typing.length === 0;
  }

  #pump(): void {
    if (this.#typing.length === 0) return;
    if (this.#charIntervalMs === 0) {
      const n = Math.min(this.#port.writable, this.#typing.length, UART_FIFO_BYTES);
      if (n > 0 && this.#port.write(new Uint8Array(this.#typing.slice(0, n)))) this.#typing.splice(0, n);
      return;
    }
    if (this.#typingArmed) return;
    this.#typingArmed = true;
    this.#scheduler.after(this.#charIntervalMs, () => {
      this.#typingArmed = false;
      if (this.#typing.length > 0 && this.#port.write(new Uint8Array([this.#typing[0]!]))) this.#typing.shift();
      this.#pump();
    });
  }

  #read(): void {
    for (let b = this.#port.read(); b; b = this.#port.read()) {
      let s = "";
      for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
      this.receivedBytes += b.length;
      this.#received += s;
      for (const l of this.#listeners) l(s);
    }
  }
}
