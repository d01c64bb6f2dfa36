/**
 * The parts of an AT response every command shares: final result codes, the failure values the
 * engine hands to callers, and the parameter list of an information line ("+CSQ: 21,0").
 *
 * Nothing here throws: malformed input gives `undefined`.
 */

/** Why a command did not succeed. Callers branch on `code`, never on text. */
export type AtFailureCode =
  /** "ERROR" (or BUSY, NO ANSWER, NO CARRIER, NO DIALTONE: V.250 §5.7.2 final codes). */
  | "error"
  /** "+CME ERROR: <err>" (3GPP TS 27.007 §9.2); `value` is the code when numeric. */
  | "cme"
  /** "+CMS ERROR: <err>" (3GPP TS 27.005 §3.2.5); `value` is the code when numeric. */
  | "cms"
  /** No final result code within the command's timeout. */
  | "timeout"
  /** The "> " prompt did not come within the prompt timeout. */
  | "no-prompt"
  /** The modem answered with a line the command cannot use (e.g. a raw length out of range). */
  | "bad-response"
  /** Cancelled by the owner (modem reset, power-down, stop). */
  | "aborted"
  /** The command queue is full. */
  | "busy"
  /** The serial port is not open. */
  | "closed";

export interface AtFailure {
  readonly code: AtFailureCode;
  /** The CME/CMS error number, when the modem reported one in numeric form (AT+CMEE=1). */
  readonly value?: number;
  /** The line that ended the command, for the diagnostics log. */
  readonly line?: string;
}

export type FinalResult = { readonly ok: true } | { readonly ok: false; readonly failure: AtFailure };

const OK: FinalResult = Object.freeze({ ok: true });

/** The generic final result codes of V.250 §5.7 and 27.007 §9.2 / 27.005 §3.2.5; undefined otherwise. */
export function finalResult(line: string): FinalResult | undefined {
  switch (line) {
    case "OK":
      return OK;
    case "ERROR":
    case "NO CARRIER":
    case "BUSY":
    case "NO ANSWER":
    case "NO DIALTONE":
      return { ok: false, failure: { code: "error", line } };
  }
  if (line.startsWith("+CME ERROR:")) return { ok: false, failure: errorWithValue("cme", line, 11) };
  if (line.startsWith("+CMS ERROR:")) return { ok: false, failure: errorWithValue("cms", line, 11) };
  return undefined;
}

function errorWithValue(code: "cme" | "cms", line: string, from: number): AtFailure {
  const text = line.slice(from).trim();
  const value = parseDecimal(text);
  return value === undefined ? { code, line } : { code, value, line };
}

/** A non-negative decimal integer of at most 9 digits, or undefined. */
export function parseDecimal(text: string): number | undefined {
  if (text.length === 0 || text.length > 9) return undefined;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return v;
}

/** One parameter of an information line: a number when it is a bare decimal, otherwise the text
 * (quotes removed). An empty parameter ("+CMGR: 0,,24") is "". */
export type AtParam = number | string;

/**
 * The comma-separated parameters after `prefix` ("+CSQ:" in "+CSQ: 21,0"), or undefined when the line
 * does not start with the prefix or a quoted string is not closed. Spaces around parameters are ignored.
 */
export function atParams(line: string, prefix: string): AtParam[] | undefined {
  if (!line.startsWith(prefix)) return undefined;
  const out: AtParam[] = [];
  let i = prefix.length;
  const n = line.length;
  for (;;) {
    while (i < n && line.charCodeAt(i) === 0x20) i++;
    if (i < n && line.charCodeAt(i) === 0x22) {
      const close = line.indexOf('"', i + 1);
      if (close < 0) return undefined;
      out.push(line.slice(i + 1, close));
      i = close + 1;
      while (i < n && line.charCodeAt(i) === 0x20) i++;
      if (i < n && line.charCodeAt(i) !== 0x2c) return undefined;
    } else {
      let j = line.indexOf(",", i);
      if (j < 0) j = n;
      const text = line.slice(i, j).trim();
      const value = parseDecimal(text);
      out.push(value === undefined ? text : value);
      i = j;
    }
    if (i >= n) return out;
    i++; // the comma
  }
}

/** The integer parameter at `index`, or undefined when absent or not a number. */
export function intParam(params: readonly AtParam[] | undefined, index: number): number | undefined {
  const v = params?.[index];
  return typeof v === "number" ? v : undefined;
}

/** The parameter at `index` as text (numbers are formatted), or undefined when absent. */
export function textParam(params: readonly AtParam[] | undefined, index: number): string | undefined {
  const v = params?.[index];
  return v === undefined ? undefined : String(v);
}
