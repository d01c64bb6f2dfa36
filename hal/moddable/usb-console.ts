/**
 * The service console's port on the ESP32-S3's USB-Serial-JTAG (docs/console.md "Which port"), as a
 * SerialPortProvider, through the board's FFI (manifests/ffi/board.c: the ESP-IDF usb_serial_jtag
 * driver, non-blocking reads and writes).
 *
 * Implementation notes:
 * - USB-Serial-JTAG has no interrupt the SDK turns into a JS callback, so a timer polls it every
 *   POLL_MS, as the SDK's own Console module polls its port (modules/base/console).
 * - The HAL contract (hal/serial.ts) is kept with a 128-byte transmit queue on this side: `write` is
 *   all-or-nothing against its free space, the poll hands the driver what it takes, and `onWritable`
 *   runs when the queue has drained to its threshold. Received bytes wait in a 128-byte receive queue;
 *   what does not fit stays in the driver (nothing is lost, unlike a UART FIFO). `overruns` stays 0.
 * - The baud rate is meaningless on USB (CDC-ACM): it is accepted and ignored. Only 8N1.
 * - In a debug build the debugger owns the port: `open` throws Error("the debugger owns the service
 *   port in a debug build").
 */
import Timer from "timer";
import type FFI from "mc/ffi";
import { UART_FIFO_BYTES, type SerialOptions, type SerialPort, type SerialPortProvider } from "../serial.js";

const POLL_MS = 10;
/** onWritable runs once the transmit queue is down to this (as the ESP32 UART's empty threshold). */
const TX_EMPTY_THRESHOLD = 4;

export class UsbSerialJtagConsole implements SerialPortProvider {
  readonly #ffi: FFI;
  #open: UsbConsolePort | undefined;

  constructor(ffi: FFI) {
    this.#ffi = ffi;
  }

  open(options: SerialOptions): SerialPort {
    if (this.#open) throw new Error("in use");
    if ((options.frame ?? "8N1") !== "8N1") throw new RangeError("invalid frame");
    if (options.flowControl) throw new RangeError("no flow control");
    const err = this.#ffi.board_console_open();
    if (err === -1) throw new Error("the debugger owns the service port in a debug build");
    if (err !== 0) throw new Error(`service port failed (esp_err ${err})`);
    const port = new UsbConsolePort(this.#ffi, options, () => (this.#open = undefined));
    this.#open = port;
    return port;
  }
}

class UsbConsolePort implements SerialPort {
  readonly #ffi: FFI;
  readonly #options: SerialOptions;
  readonly #onClose: () => void;
  readonly #rx = new Uint8Array(UART_FIFO_BYTES);
  #rxCount = 0;
  readonly #tx = new Uint8Array(UART_FIFO_BYTES);
  #txCount = 0;
  #writableArmed = false;
  #timer: Timer | undefined;

  constructor(ffi: FFI, options: SerialOptions, onClose: () => void) {
    this.#ffi = ffi;
    this.#options = options;
    this.#onClose = onClose;
    this.#timer = Timer.repeat(() => this.#poll(), POLL_MS);
    if (options.onWritable) Timer.set(() => this.#timer && options.onWritable?.(this.writable), 0);
  }

  read(maxBytes?: number): Uint8Array | undefined {
    if (this.#rxCount === 0) return undefined;
    const n = maxBytes === undefined ? this.#rxCount : Math.min(maxBytes, this.#rxCount);
    if (!(n > 0)) return undefined;
    const out = this.#rx.slice(0, n);
    this.#rx.copyWithin(0, n, this.#rxCount);
    this.#rxCount -= n;
    return out;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.#timer) throw new Error("closed");
    if (bytes.length > UART_FIFO_BYTES - this.#txCount) return false;
    this.#tx.set(bytes, this.#txCount);
    this.#txCount += bytes.length;
    if (this.#options.onWritable) this.#writableArmed = true;
    return true;
  }

  get writable(): number {
    return UART_FIFO_BYTES - this.#txCount;
  }

  get overruns(): number {
    return 0;
  }

  close(): void {
    if (!this.#timer) return;
    Timer.clear(this.#timer);
    this.#timer = undefined;
    this.#txCount = 0;
    this.#rxCount = 0;
    this.#onClose();
  }

  #poll(): void {
    if (this.#txCount > 0) {
      const sent = this.#ffi.board_console_write(this.#tx.buffer as ArrayBuffer, 0, this.#txCount);
      if (sent > 0) {
        this.#tx.copyWithin(0, sent, this.#txCount);
        this.#txCount -= sent;
      }
      if (this.#writableArmed && this.#txCount <= TX_EMPTY_THRESHOLD) {
        this.#writableArmed = false;
        this.#options.onWritable?.(this.writable);
      }
    }
    if (!this.#timer || this.#rxCount === UART_FIFO_BYTES) return;
    const got = this.#ffi.board_console_read(this.#rx.buffer as ArrayBuffer, this.#rxCount, UART_FIFO_BYTES - this.#rxCount);
    if (got > 0) {
      this.#rxCount += got;
      this.#options.onReadable?.(this.#rxCount);
    }
  }
}
