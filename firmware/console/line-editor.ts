/**
 * Line editing that a dumb terminal tolerates: the unit echoes what it takes, backspace (BS or DEL)
 * rubs out the last character with "\b \b", Ctrl-U the whole line, Ctrl-C cancels it, and a line ends
 * at CR, LF or CR LF (one line, not two). No ANSI is sent; the escape sequences a terminal's arrow and
 * function keys send are recognised and dropped, so they never land in a command. Bytes beyond the
 * longest line ring the bell instead of being taken.
 *
 * Pure: bytes in, what to echo and what happened out.
 */
import { frozen } from "../model/frozen.js";

/** What one byte did: text to echo (possibly empty), and a finished or cancelled line. */
export type EditOutcome =
  | { readonly kind: "edit"; readonly echo: string }
  | { readonly kind: "line"; readonly echo: string; readonly line: string }
  | { readonly kind: "cancel"; readonly echo: string };

/** Longest command line, characters: a terminal's width, and the longest `at` pass-through. */
export const MAX_LINE = 160;

const NUL_EDIT: EditOutcome = frozen({ kind: "edit", echo: "" });
const BELL: EditOutcome = frozen({ kind: "edit", echo: "\x07" });
const RUB_OUT = "\b \b";

const CTRL_C = 0x03;
const BS = 0x08;
const LF = 0x0a;
const CR = 0x0d;
const CTRL_U = 0x15;
const ESC = 0x1b;
const DEL = 0x7f;

export class LineEditor {
  #line = "";
  /** The previous byte was CR: an LF right after it belongs to the same line end. */
  #afterCr = false;
  /** 0: none; 1: after ESC; 2: inside a CSI or SS3 sequence (until its final byte). */
  #escape = 0;

  /** The line typed so far. */
  get text(): string {
    return this.#line;
  }

  /** Forgets the line typed so far (a command started, or output took over the terminal). */
  clear(): void {
    this.#line = "";
    this.#escape = 0;
  }

  feed(byte: number): EditOutcome {
    const afterCr = this.#afterCr;
    this.#afterCr = byte === CR;
    // A control character ends an escape sequence cut short, and counts as itself.
    if (this.#escape !== 0 && byte >= 0x20) return this.escaped(byte);
    this.#escape = 0;
    switch (byte) {
      case CR:
        return this.end();
      case LF:
        return afterCr ? NUL_EDIT : this.end();
      case BS:
      case DEL:
        if (this.#line.length === 0) return NUL_EDIT;
        this.#line = this.#line.slice(0, -1);
        return { kind: "edit", echo: RUB_OUT };
      case CTRL_U: {
        const n = this.#line.length;
        this.#line = "";
        return { kind: "edit", echo: RUB_OUT.repeat(n) };
      }
      case CTRL_C:
        this.#line = "";
        return { kind: "cancel", echo: "^C\r\n" };
      case ESC:
        this.#escape = 1;
        return NUL_EDIT;
    }
    if (byte < 0x20 || byte > 0x7e) return NUL_EDIT;
    if (this.#line.length >= MAX_LINE) return BELL;
    const c = String.fromCharCode(byte);
    this.#line += c;
    return { kind: "edit", echo: c };
  }

  private end(): EditOutcome {
    const line = this.#line;
    this.#line = "";
    return { kind: "line", echo: "\r\n", line };
  }

  /** ECMA-48: ESC [ or ESC O, parameters, then a final byte 0x40..0x7e; any other ESC x is two bytes. */
  private escaped(byte: number): EditOutcome {
    if (this.#escape === 1) this.#escape = byte === 0x5b || byte === 0x4f ? 2 : 0;
    else if (byte >= 0x40 && byte <= 0x7e) this.#escape = 0;
    return NUL_EDIT;
  }
}
