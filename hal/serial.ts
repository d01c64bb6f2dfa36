/**
 * Serial port: the HAL shape of ECMA-419 `embedded:io/serial`, as the ESP32 implements it.
 *
 * Contract for implementers (hal/moddable, hal/sim):
 * - A port is opened with one options object and its configuration is then locked. To change the
 *   baud rate (IEC 62056-21 mode C) the caller closes the port and opens it again: the ESP32 driver
 *   has no baud setter.
 * - The wire is always 10 bits per character (start, 8 bits, stop). `frame: "7E1"` is done in
 *   software: on transmit bit 7 carries even parity over the low 7 bits; on receive a character whose
 *   parity is wrong is delivered with bit 7 set (see serial-7e1.ts), so a reader sees the error at
 *   the exact position where it happened and a valid 7E1 character is always < 0x80.
 * - `read()` never blocks and never throws for lack of data: it returns `undefined` when nothing is
 *   waiting. The receive side is the 128-byte hardware FIFO with no software buffer: if the owner
 *   does not read within `onReadable`, later bytes are lost and counted in `overruns`.
 * - `write()` is all-or-nothing: it returns false and writes nothing when the bytes do not fit into
 *   the free space of the transmit FIFO ("output full" on the ESP32). Partial data is never written.
 * - Callbacks run in their own event-loop turn, never inside `read`/`write`. No callback is invoked
 *   once `close()` has begun. `close()` discards anything still in the transmit FIFO.
 * - There is no "transmit complete" event. A caller that must know when the last bit has left the
 *   wire (RS485 direction release) waits `characterTimeMs(baud) × characters` after its last write.
 * - `flowControl` (RTS/CTS, done by the UART hardware): RTS is deasserted while the receive FIFO
 *   holds `FLOW_CONTROL_RX_THRESHOLD` bytes or more, so a sender that obeys it pauses until the owner
 *   reads; characters are transmitted only while CTS is asserted. This is what makes an answer longer
 *   than the FIFO safe however long a turn runs. A provider whose board has no RTS/CTS lines for the
 *   port throws RangeError("no flow control").
 */

/** Character framing on the wire; both are 10 bits per character. */
export type SerialFrame = "8N1" | "7E1";

export interface SerialOptions {
  /** Bit rate in bit/s, 1..20,000,000. Required. */
  baud: number;
  /** Character framing, default "8N1". "7E1" is emulated in software over 8N1. */
  frame?: SerialFrame;
  /** Called when received bytes are waiting; `count` is how many. Read them now: the FIFO is small. */
  onReadable?: (count: number) => void;
  /** Called when the transmit FIFO has drained below its threshold; `count` is the free space in bytes. */
  onWritable?: (count: number) => void;
  /** RTS/CTS hardware flow control (see the contract above). Default false. */
  flowControl?: boolean;
}

export interface SerialPort {
  /** Bytes waiting in the receive FIFO, up to `maxBytes`; `undefined` when none. */
  read(maxBytes?: number): Uint8Array | undefined;
  /** Queue `bytes` for transmission. False (nothing written) when they do not fit the free FIFO space. */
  write(bytes: Uint8Array): boolean;
  /** Free space in the transmit FIFO, in bytes. */
  readonly writable: number;
  /** Received characters lost because the receive FIFO was full, since open. */
  readonly overruns: number;
  /** Stops callbacks and releases the port. Idempotent. */
  close(): void;
}

/** Opens one UART. Only one port may be open at a time: a second `open` throws Error("in use"). */
export interface SerialPortProvider {
  open(options: SerialOptions): SerialPort;
}

/** Size of the ESP32 UART transmit and receive FIFOs, in bytes (ESP32 TRM §13.3.3). */
export const UART_FIFO_BYTES = 128;

/**
 * Receive FIFO level at which the UART deasserts RTS (ESP-IDF `rx_flow_ctrl_thresh`). It leaves 32
 * bytes for what the sender still transmits after RTS falls: the character on the wire and the ones its
 * own UART had already queued.
 */
export const FLOW_CONTROL_RX_THRESHOLD = 96;

/** Bits per character on the wire for both 8N1 and 7E1: start + 8 + stop. */
export const BITS_PER_CHARACTER = 10;

/** Duration of one character on the wire, in milliseconds. */
export function characterTimeMs(baud: number): number {
  return (BITS_PER_CHARACTER * 1000) / baud;
}
