/**
 * The identification message `/ X X X Z [\W]... identification CR LF` (STD §6.3.2, §6.3.14 items
 * 11-14): three manufacturer letters, the baud character Z, then at most 16 characters of which
 * `\W` pairs (enhanced identification characters) are a part. `/` and `!` never occur in it, and `\`
 * only as the escape.
 */
import { baudOf, reactionTimeMs, signOnMode } from "./modes.js";

export interface Identification {
  /** Everything between "/" and CR LF, exactly as sent. */
  readonly text: string;
  /** The three FLAG manufacturer letters (case kept: it sets tr). */
  readonly manufacturer: string;
  /** Z, the baud-rate character. */
  readonly baudChar: string;
  /** The W of every `\W` pair, in order ("" when none). `2` asks for mode E (HDLC). */
  readonly enhanced: string;
  /** The identification proper: what follows Z, without the `\W` pairs. */
  readonly model: string;
  /** Sign-on mode by Z (mode D is told by the framing that follows, see modes.ts). */
  readonly mode: "A" | "B" | "C" | "E";
  /** The rate Z proposes, in Bd (300 in mode A); undefined for a reserved Z. */
  readonly baud: number | undefined;
  /** tr lower limit of this meter, ms: 20 or 200. */
  readonly reactionMs: number;
}

/** Characters allowed after Z, the `\W` pairs included (§6.3.14 item 14). */
export const IDENTIFICATION_MAX = 16;

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Parses the text between "/" and CR LF; undefined when it breaks §6.3.2. */
export function parseIdentification(text: string): Identification | undefined {
  if (text.length < 4 || text.length > 4 + IDENTIFICATION_MAX) return undefined;
  for (let i = 0; i < 3; i++) if (!isLetter(text.charCodeAt(i))) return undefined;
  const baudChar = text[3]!;
  if (!isAllowed(baudChar.charCodeAt(0)) || baudChar === "\\") return undefined;
  let enhanced = "";
  let model = "";
  for (let i = 4; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isAllowed(c)) return undefined;
    if (c !== 0x5c) {
      model += text[i];
      continue;
    }
    const w = text.charCodeAt(++i);
    if (!(w >= 0x20 && w <= 0x7e) || w === 0x5c || w === 0x2f || w === 0x21) return undefined;
    enhanced += text[i];
  }
  const mode = signOnMode(baudChar, enhanced);
  return {
    text,
    manufacturer: text.slice(0, 3),
    baudChar,
    enhanced,
    model,
    mode,
    baud: baudOf(mode, baudChar),
    reactionMs: reactionTimeMs(text),
  };
}

/** Printable, and neither "/" nor "!" (§6.3.14 item 14). */
function isAllowed(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x2f && c !== 0x21;
}
