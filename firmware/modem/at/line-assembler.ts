/**
 * Splits the modem's output into what the AT engine reasons about: response lines, the "> " data
 * prompt, and blocks of raw bytes announced by a header line (+CIPRXGET: 2, +QIRD:).
 *
 * Framing (ITU-T V.250 §5.7): with ATV1 every response line is preceded and followed by <CR><LF>;
 * an echoed command ends with <CR> only. So a line ends at CR or LF and empty lines are dropped. The
 * data prompt of +CMGS (3GPP TS 27.005 §3.5.1), AT+CIPSEND (SIM800 manual pp.215-216) and AT+QISEND
 * (BG96 TCP/IP Application Note) is ">" and a space with no line ending; it is recognised only while armed,
 * at the start of a line.
 *
 * Bytes arrive in any chunking (a 128-byte UART FIFO at a time). Nothing here throws: a line longer
 * than `MAX_LINE_BYTES` is dropped whole and reported as an overflow, NUL bytes are skipped (TinyGSM
 * does the same), and any other byte is kept, so garbage shows up as lines nobody recognises.
 */
import { asciiText } from "../ascii.js";

/** Longest line kept, in bytes. An SMS PDU line (27.005 §3.4.1) is at most 2 × (12 SCA + 164 TPDU)
 * = 352 hexadecimal characters; +CMGR/+CMGL headers and socket headers are far shorter. */
export const MAX_LINE_BYTES = 512;

const CR = 0x0d;
const LF = 0x0a;
const PROMPT = 0x3e; // ">"
const SPACE = 0x20;

export interface LineSink {
  /** A complete line, without its terminator; never empty. */
  line(text: string): void;
  /** The data prompt "> " (only while armed). */
  prompt(): void;
  /** A piece of an announced raw block, in order. The view is only valid during the call's turn
   * if the pushed bytes are reused by the caller; the serial port's `read()` never reuses them. */
  raw(bytes: Uint8Array): void;
  /** The announced raw block is complete. */
  rawEnd(): void;
  /** A line longer than MAX_LINE_BYTES was dropped. */
  overflow(): void;
}

export class AtLineAssembler {
  readonly #sink: LineSink;
  readonly #line = new Uint8Array(MAX_LINE_BYTES);
  #length = 0;
  #overflowed = false;
  /** The last line ended with CR: a following LF belongs to it. */
  #skipLf = false;
  /** A prompt was just seen: a following space belongs to it. */
  #skipSpace = false;
  #promptArmed = false;
  #rawLeft = 0;

  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  /** Recognise the next ">" at the start of a line as the data prompt. */
  armPrompt(armed: boolean): void {
    this.#promptArmed = armed;
  }

  /** The next `count` bytes (after the terminator of the line just delivered) are raw data. */
  expectRaw(count: number): void {
    this.#rawLeft = count > 0 ? count : 0;
  }

  /** Drops any partial line or raw block: the next byte starts a new line. */
  reset(): void {
    this.#length = 0;
    this.#overflowed = false;
    this.#skipLf = false;
    this.#skipSpace = false;
    this.#promptArmed = false;
    this.#rawLeft = 0;
  }

  push(bytes: Uint8Array): void {
    const end = bytes.length;
    let i = 0;
    while (i < end) {
      if (this.#rawLeft > 0) {
        if (this.#skipLf && bytes[i] === LF) {
          this.#skipLf = false;
          i++;
          continue;
        }
        this.#skipLf = false;
        const n = Math.min(this.#rawLeft, end - i);
        this.#rawLeft -= n;
        this.#sink.raw(bytes.subarray(i, i + n));
        i += n;
        if (this.#rawLeft === 0) this.#sink.rawEnd();
        continue;
      }
      const b = bytes[i++]!;
      if (b === LF) {
        if (this.#skipLf) this.#skipLf = false;
        else this.endLine();
        continue;
      }
      if (b === CR) {
        this.#skipLf = true;
        this.endLine();
        continue;
      }
      this.#skipLf = false;
      if (b === 0) continue;
      if (this.#length === 0 && !this.#overflowed) {
        if (b === SPACE && this.#skipSpace) {
          this.#skipSpace = false;
          continue;
        }
        if (b === PROMPT && this.#promptArmed) {
          this.#promptArmed = false;
          this.#skipSpace = true;
          this.#sink.prompt();
          continue;
        }
      }
      this.#skipSpace = false;
      if (this.#length < MAX_LINE_BYTES) this.#line[this.#length++] = b;
      else this.#overflowed = true;
    }
  }

  private endLine(): void {
    this.#skipSpace = false;
    if (this.#overflowed) {
      this.#overflowed = false;
      this.#length = 0;
      this.#sink.overflow();
      return;
    }
    if (this.#length === 0) return;
    const text = asciiText(this.#line, 0, this.#length);
    this.#length = 0;
    this.#sink.line(text);
  }
}
