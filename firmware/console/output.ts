/**
 * The console's transmit side, paced through the UART's free space: text is queued here and written
 * only as far as the transmit FIFO has room (`port.writable`), the rest from the port's onWritable.
 * Nothing is ever written in part by the driver (the ESP32's `write` throws "output full" rather than
 * take part of a buffer), so no character is lost and no turn waits for the line.
 *
 * The queue is bounded by its producers, not here: a listing asks `room` before making its next slice,
 * so the memory held is one slice beyond `limit`. What is queued when the port closes is dropped
 * (there is nobody to read it).
 */
import type { SerialPort } from "../../hal/serial.js";

export class ConsoleOutput {
  readonly #limit: number;
  readonly #chunks: Uint8Array[] = [];
  /** Bytes of the first chunk already written. */
  #offset = 0;
  #pending = 0;
  #port: SerialPort | undefined;
  /** Bytes handed to the port since open, for diagnostics and tests. */
  written = 0;

  /** `limit`: the bytes a producer may queue before it waits (`room` reaches 0). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  attach(port: SerialPort | undefined): void {
    this.#port = port;
    if (!port) this.discard();
  }

  /** Bytes queued, not yet in the FIFO. */
  get pending(): number {
    return this.#pending;
  }

  /** How much more a producer may queue now. */
  get room(): number {
    return Math.max(0, this.#limit - this.#pending);
  }

  /** Queues `text` (printable ASCII, CR, LF, BS, BEL; anything else goes out as "?") and writes what fits. */
  write(text: string): void {
    if (text.length === 0 || !this.#port) return;
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      bytes[i] = (c >= 0x20 && c <= 0x7e) || c === 0x0d || c === 0x0a || c === 0x08 || c === 0x07 ? c : 0x3f;
    }
    this.#chunks.push(bytes);
    this.#pending += bytes.length;
    this.pump();
  }

  /** Writes as much as the transmit FIFO takes now (called again from the port's onWritable). */
  pump(): void {
    const port = this.#port;
    if (!port || this.#pending === 0) return;
    const n = Math.min(port.writable, this.#pending);
    if (n <= 0) return;
    const out = new Uint8Array(n);
    let filled = 0;
    let chunk = 0;
    let offset = this.#offset;
    while (filled < n) {
      const c = this.#chunks[chunk]!;
      const take = Math.min(c.length - offset, n - filled);
      out.set(c.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (offset === c.length) {
        chunk++;
        offset = 0;
      }
    }
    // All or nothing: a port whose free space was over-estimated keeps everything queued.
    if (!port.write(out)) return;
    this.#chunks.splice(0, chunk);
    this.#offset = offset;
    this.#pending -= n;
    this.written += n;
  }

  discard(): void {
    this.#chunks.length = 0;
    this.#offset = 0;
    this.#pending = 0;
  }
}
