/**
 * One RS485 line as the bus master drives it: the serial port (7E1 in software, hal/serial.ts; 8N1 for a bridge), the
 * driver-enable pin, the baud rate (a change closes and reopens the port: the ESP32 driver has no baud
 * setter), frames written in FIFO-sized chunks, and echo rejection.
 *
 * - `send(bytes)` enables the driver, writes, and releases the driver once the last character
 *   has left the wire: there is no transmit-complete event, so the release waits for the characters
 *   still in the FIFO (128 − writable, plus the one in the shift register) and a guard; then the
 *   listener's `onSent(echoOk)`. Bytes heard while the driver is enabled are our own echo (a
 *   transceiver with /RE tied low): they are compared with what was sent and dropped; `onSent(false)`
 *   when they differ (another driver was on the line).
 * - Bytes received otherwise go to the listener's `onData` (parity errors marked in bit 7, hal/serial-7e1.ts).
 * - The listener is an object with those two methods (the bus master itself), not callbacks made per
 *   line or per frame (docs/memory.md).
 * - `poll()` reads what is waiting now: the UART reports data only after 4 idle character times or
 *   120 bytes, so a timer that is about to declare silence polls first.
 */
import type { Timers } from "../../hal/clock.js";
import type { Rs485Port } from "../../hal/index.js";
import { UART_FIFO_BYTES, characterTimeMs, type SerialFrame, type SerialPort } from "../../hal/serial.js";

export interface Rs485Listener {
  /** Received bytes (not our echo), in order. */
  onData(bytes: Uint8Array): void;
  /** The frame `send` was given has left the line; `echoOk` false when its echo differed. */
  onSent(echoOk: boolean): void;
}

export interface Rs485LineOptions {
  port: Rs485Port;
  timers: Timers;
  /** Extra time the driver stays enabled after the last character has left, ms. Default 1 (timer resolution on the device). */
  releaseGuardMs?: number;
}

export interface LineCounters {
  bytesSent: number;
  bytesReceived: number;
  /** Wire time of the characters sent and received, ms. */
  wireMs: number;
  echoMismatches: number;
}

/** Its helpers are prototype methods (TypeScript `private`, not `#`): XS gives every instance a slot per `#` method. */
export class Rs485Line {
  readonly #o: Rs485LineOptions;
  readonly #listener: Rs485Listener;
  readonly #guardMs: number;
  #port: SerialPort | undefined;
  #baud = 0;
  #frame: SerialFrame = "7E1";
  readonly counters: LineCounters = { bytesSent: 0, bytesReceived: 0, wireMs: 0, echoMismatches: 0 };
  // The frame being sent.
  #tx: Uint8Array | undefined;
  #written = 0;
  #echoed = 0;
  #echoBad = false;

  constructor(options: Rs485LineOptions, listener: Rs485Listener) {
    this.#o = options;
    this.#listener = listener;
    this.#guardMs = options.releaseGuardMs ?? 1;
  }

  get baud(): number {
    return this.#baud;
  }

  get frame(): SerialFrame {
    return this.#frame;
  }

  get sending(): boolean {
    return this.#tx !== undefined;
  }

  /** Opens the port at `baud` and `frame` (D0 is 7E1), closing it first when it is open otherwise. Not while sending. */
  setBaud(baud: number, frame: SerialFrame = "7E1"): void {
    if (this.#port && this.#baud === baud && this.#frame === frame) return;
    this.#port?.close();
    this.#baud = baud;
    this.#frame = frame;
    this.#port = this.#o.port.serial.open({
      baud,
      frame,
      onReadable: () => this.poll(),
      onWritable: () => this.writeMore(),
    });
  }

  /** Sends `bytes`; the listener's `onSent` follows once they have left the line. */
  send(bytes: Uint8Array): void {
    if (!this.#port || this.#tx) throw new Error("busy");
    this.poll();
    this.#tx = bytes;
    this.#written = 0;
    this.#echoed = 0;
    this.#echoBad = false;
    this.#o.port.direction.write(1);
    this.counters.bytesSent += bytes.length;
    this.counters.wireMs += bytes.length * characterTimeMs(this.#baud);
    this.writeMore();
  }

  poll(): void {
    const port = this.#port;
    if (!port) return;
    for (let b = port.read(); b; b = port.read()) {
      if (this.#tx) this.echo(b);
      else {
        this.counters.bytesReceived += b.length;
        this.counters.wireMs += b.length * characterTimeMs(this.#baud);
        this.#listener.onData(b);
      }
    }
  }

  close(): void {
    this.#port?.close();
    this.#port = undefined;
    this.#baud = 0;
    if (this.#tx) this.#o.port.direction.write(0);
    this.#tx = undefined;
  }

  private writeMore(): void {
    const tx = this.#tx;
    const port = this.#port;
    if (!tx || !port || this.#written >= tx.length) return;
    const n = Math.min(port.writable, tx.length - this.#written);
    if (n <= 0 || !port.write(tx.subarray(this.#written, this.#written + n))) return;
    this.#written += n;
    if (this.#written < tx.length) return;
    // Everything is in the FIFO: release when the last character has left the wire.
    const inFlight = UART_FIFO_BYTES - port.writable + 1;
    this.#o.timers.set(() => this.release(tx), inFlight * characterTimeMs(this.#baud) + this.#guardMs);
  }

  private echo(b: Uint8Array): void {
    const tx = this.#tx!;
    for (let i = 0; i < b.length; i++) {
      if (this.#echoed < tx.length && b[i] === tx[this.#echoed]) this.#echoed++;
      else this.#echoBad = true;
    }
  }

  private release(tx: Uint8Array): void {
    if (this.#tx !== tx) return;
    this.poll();
    this.#o.port.direction.write(0);
    const ok = !this.#echoBad && (this.#echoed === 0 || this.#echoed === tx.length);
    if (!ok) this.counters.echoMismatches++;
    this.#tx = undefined;
    this.#listener.onSent(ok);
  }
}
