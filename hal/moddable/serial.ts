/**
 * SerialPortProvider on the ESP32 `embedded:io/serial` (modules/io/serial/esp32/serial.c).
 *
 * Implementation notes:
 * - The driver is 8N1 only; 7E1 is done here in software (hal/serial-7e1.ts): parity set on write,
 *   checked and marked on read.
 * - There is no software buffer: `write` throws "output full" unless the whole buffer fits the free
 *   TX FIFO space. Free space is tracked from `onWritable(count)` (the driver reports the free FIFO
 *   bytes) minus what has been written since, which can only under-estimate it; a write that still
 *   does not fit returns false instead of throwing.
 * - There is no baud setter: reopen the port (mode C baud switch). UART0 belongs to xsbug/console.
 * - The driver has no flow control setting: `flowControl` routes RTS and CTS and turns the hardware
 *   flow control on through the board FFI (manifests/ffi/board.c) after every open.
 * to do:
 * - RX FIFO overflow is not reported by the driver (UART_INTR_RXFIFO_OVF is not surfaced), so
 *   `overruns` stays 0 on the device; a native patch would expose it.
 */
import Serial from "embedded:io/serial";
import type { SerialOptions, SerialPort, SerialPortProvider } from "../serial.js";
import type FFI from "mc/ffi";
import { FLOW_CONTROL_RX_THRESHOLD, UART_FIFO_BYTES } from "../serial.js";
import { decode7E1InPlace, encode7E1 } from "../serial-7e1.js";

/** Board wiring of one UART. */
export interface UartPins {
  /** UART number: 1 or 2 (0 is the debugger's). */
  port: number;
  receive: number;
  transmit: number;
  /** RTS and CTS, where the board wires them (needed for `flowControl`). */
  rts?: number;
  cts?: number;
}

export class ModdableSerialProvider implements SerialPortProvider {
  readonly #pins: UartPins;
  readonly #ffi: FFI | undefined;
  #open: ModdableSerialPort | undefined;

  /** `ffi` is needed only for a port with RTS/CTS. */
  constructor(pins: UartPins, ffi?: FFI) {
    this.#pins = pins;
    this.#ffi = ffi;
  }

  open(options: SerialOptions): SerialPort {
    if (this.#open) throw new Error("in use");
    const frame = options.frame ?? "8N1";
    if (frame !== "8N1" && frame !== "7E1") throw new RangeError("invalid frame");
    const { rts, cts, port: uart } = this.#pins;
    const ffi = this.#ffi;
    if (options.flowControl && (rts === undefined || cts === undefined || !ffi)) throw new RangeError("no flow control");
    const port = new ModdableSerialPort(this.#pins, options, frame === "7E1", () => (this.#open = undefined));
    if (options.flowControl) {
      const err = ffi!.board_uart_flow_control(uart, rts!, cts!, FLOW_CONTROL_RX_THRESHOLD);
      if (err !== 0) {
        port.close();
        throw new Error(`flow control failed (esp_err ${err})`);
      }
    }
    this.#open = port;
    return port;
  }
}

class ModdableSerialPort implements SerialPort {
  #serial: Serial | undefined;
  readonly #parity: boolean;
  readonly #onClose: () => void;
  #free = UART_FIFO_BYTES;

  constructor(pins: UartPins, options: SerialOptions, parity: boolean, onClose: () => void) {
    this.#parity = parity;
    this.#onClose = onClose;
    const onReadable = options.onReadable;
    const onWritable = options.onWritable;
    this.#serial = new Serial({
      port: pins.port,
      receive: pins.receive,
      transmit: pins.transmit,
      baud: options.baud,
      format: "buffer",
      ...(onReadable ? { onReadable: (count: number) => onReadable(count) } : {}),
      onWritable: (count: number) => {
        this.#free = count;
        onWritable?.(count);
      },
    });
  }

  read(maxBytes?: number): Uint8Array | undefined {
    const serial = this.#live();
    const buffer = (maxBytes === undefined ? serial.read() : serial.read(maxBytes)) as ArrayBuffer | undefined;
    if (!buffer) return undefined;
    const bytes = new Uint8Array(buffer);
    if (this.#parity) decode7E1InPlace(bytes);
    return bytes;
  }

  write(bytes: Uint8Array): boolean {
    const serial = this.#live();
    if (bytes.length > this.#free) return false;
    try {
      serial.write(this.#parity ? encode7E1(bytes) : bytes);
    } catch (e) {
      if ((e as Error).message === "output full") return false;
      throw e;
    }
    this.#free -= bytes.length;
    return true;
  }

  get writable(): number {
    return this.#free;
  }

  get overruns(): number {
    return 0;
  }

  close(): void {
    if (!this.#serial) return;
    this.#serial.close();
    this.#serial = undefined;
    this.#onClose();
  }

  #live(): Serial {
    if (!this.#serial) throw new Error("closed");
    return this.#serial;
  }
}
