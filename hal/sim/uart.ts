/**
 * A simulated ESP32 UART as ECMA-419 `embedded:io/serial` exposes it (modules/io/serial/esp32/serial.c):
 * 8N1 only, a 128-byte receive FIFO and a 128-byte transmit FIFO, no software buffers.
 *
 * Timing, as the ESP32 driver configures the hardware:
 * - Transmit: characters leave back to back, each taking 10 bit times. `onWritable(free)` runs once at
 *   open (the FIFO is empty) and once after each write when the FIFO level falls to the empty
 *   threshold of 4 bytes (`uart_ll_set_txfifo_empty_thr(…, 4)`).
 * - Receive: `onReadable(count)` runs when the line has been idle for 4 character times
 *   (`uart_set_rx_timeout(uart, 4)`) or when the FIFO reaches the ESP-IDF full threshold of 120 bytes.
 *   Characters arriving while the FIFO is full are lost and counted as overruns.
 * - A character sent at another baud rate arrives as a garbage byte (framing errors are not reported
 *   by the ESP32 driver either).
 * - RTS/CTS flow control, when on (`flowControl`, or `setFlowControl` for a simulated device): RTS
 *   falls while the receive FIFO holds FLOW_CONTROL_RX_THRESHOLD bytes or more, and a character starts
 *   only while the peer's RTS is up (the one already on the wire finishes). A medium without the
 *   lines (the RS485 bus) leaves CTS always asserted.
 * 7E1 is applied on top exactly as hal/moddable does it: parity set on write, checked on read.
 */
import type { SerialOptions, SerialPort, SerialPortProvider } from "../serial.js";
import { FLOW_CONTROL_RX_THRESHOLD, UART_FIFO_BYTES, characterTimeMs } from "../serial.js";
import { decode7E1InPlace, encode7E1 } from "../serial-7e1.js";
import type { PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { ScheduledEvent } from "./scheduler.js";

/** ESP-IDF default RX FIFO full threshold (UART_FULL_THRESH_DEFAULT). */
const RX_FULL_THRESHOLD = 120;
/** RX idle timeout in character times (Moddable serial.c: uart_set_rx_timeout(uart, 4)). */
const RX_TIMEOUT_CHARACTERS = 4;
/** TX FIFO empty threshold after a write (Moddable serial.c). */
const TX_EMPTY_THRESHOLD = 4;
/** A receiver tolerates about ±3% baud error before characters turn to garbage. */
const BAUD_TOLERANCE = 0.03;

/** What a UART's transmitter drives: a point-to-point link or an RS485 bus. */
export interface Medium {
  /** Character `byte` leaves `from` starting now, for `durationMs`. The medium delivers it at the end. */
  transmit(from: Transceiver, byte: number, baud: number, durationMs: number): void;
  /** Whether `from` may start a character: its peer's RTS is up. Absent: always. */
  clearToSend?(from: Transceiver): boolean;
  /** `from`'s RTS may have risen: a peer held by it may go on. */
  readyChanged?(from: Transceiver): void;
}

/**
 * A node's receiver and transmitter as a medium sees them: a SimUart, or a simulated device that
 * models its serial port at character level (a local module, hal/sim/local-module.ts).
 */
export interface Transceiver {
  readonly name: string;
  /** Connects the node's TX/RX to a medium. */
  attach(medium: Medium): void;
  /** A character arrives (its last bit has just ended), sent at `senderBaud`. */
  receive(byte: number, senderBaud: number): void;
}

interface Config {
  readonly baud: number;
  readonly parity: boolean;
  readonly onReadable: ((count: number) => void) | undefined;
  readonly onWritable: ((count: number) => void) | undefined;
}

export class SimUart implements SerialPortProvider, Transceiver {
  readonly name: string;
  readonly domain: PowerDomain;
  readonly #prng: Prng;
  #medium: Medium | undefined;
  #config: Config | undefined;
  #port: SimSerialPort | undefined;

  readonly #tx: number[] = [];
  #shifting = false;
  /** RTS/CTS flow control on. */
  #flow = false;
  /** Transmission paused because the peer's RTS is down. */
  #held = false;
  #writableArmed = false;

  readonly #rx = new Uint8Array(UART_FIFO_BYTES);
  #rxHead = 0;
  #rxCount = 0;
  #rxEvent: ScheduledEvent | undefined;
  #overruns = 0;

  constructor(domain: PowerDomain, name: string, prng: Prng) {
    this.domain = domain;
    this.name = name;
    this.#prng = prng;
    domain.onPowerOff(() => this.#reset());
  }

  /** Connects the TX/RX pins to a medium. */
  attach(medium: Medium): void {
    this.#medium = medium;
  }

  /** Received characters lost because the receive FIFO was full, since the port was opened (the port's `overruns`, seen from the simulation). */
  get rxOverruns(): number {
    return this.#overruns;
  }

  /** Whether this UART's RTS is up: flow control off, the port closed, or room in the receive FIFO. */
  get readyToReceive(): boolean {
    return !this.#flow || !this.#config || this.#rxCount < FLOW_CONTROL_RX_THRESHOLD;
  }

  /**
   * Turns RTS/CTS flow control on or off while the port is open, as a simulated device's firmware does
   * (a modem's AT+IFC). The firmware under test sets it with `open({ flowControl })`.
   */
  setFlowControl(on: boolean): void {
    this.#flow = on;
    this.#medium?.readyChanged?.(this);
    this.resume();
  }

  /** The peer's RTS may have risen: go on with a transmission it held. */
  resume(): void {
    if (!this.#held) return;
    this.#held = false;
    if (!this.#shifting) this.#shiftNext();
  }

  /** The configured baud rate, or undefined when the port is closed. */
  get baud(): number | undefined {
    return this.#config?.baud;
  }

  open(options: SerialOptions): SerialPort {
    this.domain.check();
    if (this.#config) throw new Error("in use");
    const baud = options.baud;
    if (!(Number.isInteger(baud) && baud >= 1 && baud <= 20_000_000)) throw new RangeError("invalid baud");
    const frame = options.frame ?? "8N1";
    if (frame !== "8N1" && frame !== "7E1") throw new RangeError("invalid frame");
    this.#config = { baud, parity: frame === "7E1", onReadable: options.onReadable, onWritable: options.onWritable };
    this.#overruns = 0;
    this.#flow = options.flowControl === true;
    const port = new SimSerialPort(this);
    this.#port = port;
    if (options.onWritable) this.#postWritable();
    return port;
  }

  // ---- called by the port object ----

  /** @internal */
  read(port: SimSerialPort, maxBytes?: number): Uint8Array | undefined {
    this.#checkPort(port);
    if (this.#rxCount === 0) return undefined;
    const n = maxBytes === undefined ? this.#rxCount : Math.min(maxBytes, this.#rxCount);
    if (!(n > 0)) return undefined;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#rx[(this.#rxHead + i) % UART_FIFO_BYTES]!;
    this.#rxHead = (this.#rxHead + n) % UART_FIFO_BYTES;
    this.#rxCount -= n;
    if (this.#config!.parity) decode7E1InPlace(out);
    if (this.#flow) this.#medium?.readyChanged?.(this);
    return out;
  }

  /** @internal */
  write(port: SimSerialPort, bytes: Uint8Array): boolean {
    this.#checkPort(port);
    if (bytes.length > UART_FIFO_BYTES - this.#tx.length) return false;
    const wire = this.#config!.parity ? encode7E1(bytes) : bytes;
    for (let i = 0; i < wire.length; i++) this.#tx.push(wire[i]!);
    if (this.#config!.onWritable) this.#writableArmed = true;
    if (!this.#shifting) this.#shiftNext();
    return true;
  }

  /** @internal */
  writable(port: SimSerialPort): number {
    this.#checkPort(port);
    return UART_FIFO_BYTES - this.#tx.length;
  }

  /** @internal */
  overruns(port: SimSerialPort): number {
    this.#checkPort(port);
    return this.#overruns;
  }

  /** @internal */
  close(port: SimSerialPort): void {
    if (this.#port !== port) return;
    this.#reset();
  }

  // ---- called by the medium ----

  /** A character arrives at the RX pin (its last bit has just ended). */
  receive(byte: number, senderBaud: number): void {
    const config = this.#config;
    if (!config || !this.domain.on) return;
    if (Math.abs(senderBaud - config.baud) > config.baud * BAUD_TOLERANCE) byte = this.#prng.int(256);
    if (this.#rxCount === UART_FIFO_BYTES) {
      this.#overruns++;
      return;
    }
    this.#rx[(this.#rxHead + this.#rxCount) % UART_FIFO_BYTES] = byte;
    this.#rxCount++;
    const s = this.domain.scheduler;
    if (this.#rxEvent && this.#rxEvent.time <= s.now) return; // already posted
    s.cancel(this.#rxEvent);
    const delay = this.#rxCount >= RX_FULL_THRESHOLD ? 0 : RX_TIMEOUT_CHARACTERS * characterTimeMs(config.baud);
    this.#rxEvent = this.domain.after(delay, () => this.#deliverReadable());
  }

  // ---- internals ----

  #checkPort(port: SimSerialPort): void {
    this.domain.check();
    if (this.#port !== port) throw new Error("closed");
  }

  #deliverReadable(): void {
    this.#rxEvent = undefined;
    const config = this.#config;
    if (!config?.onReadable || this.#rxCount === 0) return;
    this.domain.enter(this, "readable", config.onReadable, this.#rxCount);
    // Bytes left unread keep the RX timeout interrupt asserted.
    if (this.#config === config && this.#rxCount > 0 && !this.#rxEvent) {
      this.#rxEvent = this.domain.after(RX_TIMEOUT_CHARACTERS * characterTimeMs(config.baud), () => this.#deliverReadable());
    }
  }

  #postWritable(): void {
    const config = this.#config!;
    this.domain.after(0, () => {
      if (this.#config === config && config.onWritable) this.domain.enter(this, "writable", config.onWritable, UART_FIFO_BYTES - this.#tx.length);
    });
  }

  #shiftNext(): void {
    const config = this.#config;
    if (!config || this.#tx.length === 0) {
      this.#shifting = false;
      return;
    }
    if (this.#flow && this.#medium?.clearToSend?.(this) === false) {
      this.#shifting = false;
      this.#held = true;
      return;
    }
    this.#shifting = true;
    const byte = this.#tx.shift()!;
    const duration = characterTimeMs(config.baud);
    this.#medium?.transmit(this, byte, config.baud, duration);
    if (this.#writableArmed && this.#tx.length <= TX_EMPTY_THRESHOLD) {
      this.#writableArmed = false;
      this.#postWritable();
    }
    this.domain.after(duration, () => {
      if (this.#config === config) this.#shiftNext();
    });
  }

  #reset(): void {
    this.#config = undefined;
    this.#port = undefined;
    this.#tx.length = 0;
    this.#shifting = false;
    this.#held = false;
    this.#writableArmed = false;
    const wasFlow = this.#flow;
    this.#flow = false;
    this.#rxHead = 0;
    this.#rxCount = 0;
    this.domain.scheduler.cancel(this.#rxEvent);
    this.#rxEvent = undefined;
    if (wasFlow) this.#medium?.readyChanged?.(this);
  }
}

class SimSerialPort implements SerialPort {
  readonly #uart: SimUart;
  constructor(uart: SimUart) {
    this.#uart = uart;
  }
  read(maxBytes?: number): Uint8Array | undefined {
    return this.#uart.read(this, maxBytes);
  }
  write(bytes: Uint8Array): boolean {
    return this.#uart.write(this, bytes);
  }
  get writable(): number {
    return this.#uart.writable(this);
  }
  get overruns(): number {
    return this.#uart.overruns(this);
  }
  close(): void {
    this.#uart.close(this);
  }
}
