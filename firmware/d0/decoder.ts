/**
 * Streaming decoder for every IEC 62056-21 message (STD §6.3): request, identification, ACK/option
 * select, ACK, NAK, data message (readout or programming data, with BCC), programming commands
 * (`SOH C D [STX data] ETX|EOT BCC`, break `SOH B0 ETX BCC` included), partial blocks, error messages,
 * and the mode D readout (`/XXX3 ident CR LF CR LF data ! CR LF`, no STX, no BCC).
 *
 * Contract:
 * - `push(bytes)` takes bytes in any chunking, one at a time or many; the events are the same for
 *   every chunking. Events run synchronously inside `push` and `end`, in input order.
 * - Input characters are 7-bit; a byte with bit 7 set is a parity error as hal/serial-7e1.ts marks it
 *   (`parityMarked`, default) or an 8-bit byte on a 7-bit line (`parityMarked: false`).
 * - Data sets are delivered one by one through `onDataSet` while their block arrives, so memory stays
 *   bounded whatever the size of a readout. Every data set is followed by exactly one `block` or
 *   `error-message` message, which closes the block it belongs to and gives its verdict (BCC, errors,
 *   how it ended). A consumer keeps data sets provisionally and drops them unless the verdict is sound
 *   (`isSound`). A data set in which an error was found is never delivered: the error is.
 * - Malformed input gives an `onError({code, offset})` and nothing is thrown. After an error inside a
 *   data set the decoder carries on with the next data set; after an error in any other message it skips
 *   to the next line end or start character (`/`, STX, SOH, ACK, NAK). A start character inside a
 *   message cuts that message off ("truncated") and starts the next one: resynchronisation needs no
 *   timeout. State is a few scalars and one 160-byte buffer: it never grows.
 * - `end()` says the input has stopped (end of a capture, or line idle): a message still open is
 *   reported as truncated, and a pending ACK (see `optionSelect`) is delivered.
 */
import { ACK, AMPERSAND, CLOSE, CR, END, EOT, ETX, LF, NAK, NUL, OPEN, REQUEST, SOH, STAR, START, STX, isDigit, isLetter } from "./chars.js";
import { ADDRESS_MAX, DataValue, UNIT_MAX, VALUES_MAX, VALUE_MAX, type DataSet } from "./data-set.js";
import { isDecimal } from "./decimal.js";
import type { D0Error, D0ErrorCode } from "./errors.js";
import { IDENTIFICATION_MAX, parseIdentification, type Identification } from "./identification.js";

/** How a data block began: STX, SOH (a programming command), the empty line of mode D, or directly with data. */
export type BlockStart = "stx" | "soh" | "mode-d" | "bare";
/** How it ended: ETX, EOT (partial block), "! CR LF" of a block without STX, or cut off. */
export type BlockEnd = "etx" | "eot" | "end" | "cut";
export type BccStatus = "ok" | "bad" | "absent";

export interface D0Block {
  readonly type: "block";
  readonly start: BlockStart;
  /** Command letter and type ("P0", "P1", "W1", "R5", "B0") of a block that began with SOH. */
  readonly command: string | undefined;
  /** The data ended with "!": a readout, not programming-mode data. */
  readonly readout: boolean;
  readonly end: BlockEnd;
  /** "absent" for blocks without STX (mode D) and for blocks cut off before their BCC. */
  readonly bcc: BccStatus;
  /** Data sets delivered for this block. */
  readonly dataSets: number;
  /** Errors reported while this block was open. */
  readonly errors: number;
  readonly offset: number;
  readonly length: number;
}

export type D0Message =
  | { readonly type: "request"; readonly address: string; readonly offset: number; readonly length: number }
  | { readonly type: "identification"; readonly identification: Identification; readonly offset: number; readonly length: number }
  | {
      readonly type: "option-select";
      /** V: 0 normal, 1 secondary, 2 HDLC (§6.4.5.1). */
      readonly protocol: string;
      /** Z: the baud character the master accepts. */
      readonly baudChar: string;
      /** Y: 0 readout, 1 programming, 2 binary (§6.4.5.2). */
      readonly modeChar: string;
      readonly offset: number;
      readonly length: number;
    }
  | { readonly type: "ack" | "nak"; readonly offset: number; readonly length: number }
  | D0Block
  /** `STX (text) ETX BCC` in programming mode: a valid command that could not be executed (Annex A). */
  | { readonly type: "error-message"; readonly text: string; readonly bcc: BccStatus; readonly offset: number; readonly length: number };

/** A block whose data can be trusted: complete, no error inside, and its BCC (if it has one) right. */
export function isSound(b: D0Block): boolean {
  return b.end !== "cut" && b.errors === 0 && b.bcc !== "bad";
}

/** Who takes the decoder's events: an owner can be its own listener (no callback made per decoder, docs/memory.md). */
export interface D0Listener {
  onMessage(message: D0Message): void;
  onDataSet(dataSet: DataSet): void;
  onError(error: D0Error): void;
}

export interface D0DecoderOptions {
  /** Bit 7 of an input byte marks a parity error (input from a 7E1 port). Default true; false: it is an 8-bit byte ("bad-character"). */
  parityMarked?: boolean;
  /**
   * The input carries the master's messages too (a two-way capture; a meter's receiver): ACK followed
   * by a digit is then an ACK/option select, so a lone ACK is delivered only when the next byte (or
   * `end()`) shows it is alone. Default false: ACK and NAK are delivered at once, as a master needs.
   */
  optionSelect?: boolean;
  /** Accept data lines that start a block with no STX and no identification before them (captures whose control characters were stripped). Default false. */
  bareBlocks?: boolean;
}

// Message states.
const IDLE = 0, GARBAGE = 1, SLASH = 2, REQ = 3, REQ_CR = 4, REQ_LF = 5, IDENT = 6, IDENT_LF = 7, AFTER_IDENT = 8,
  AFTER_IDENT_LF = 9, ACK_PENDING = 10, OPTION = 11, OPTION_LF = 12, CMD_LETTER = 13, CMD_TYPE = 14, CMD_AFTER = 15,
  BLOCK = 16, END_CR = 17, END_LF = 18, BLOCK_ETX = 19, BCC = 20, SKIP = 21;
// Data-set states inside a block.
const D_LINE = 0, D_ADDR = 1, D_VALUE = 2, D_UNIT = 3, D_AFTER = 4, D_SKIP = 5;

/** Request address: up to 32 of 0-9 A-Z a-z and space (§6.3.14 item 22). */
const REQUEST_ADDRESS_MAX = 32;
/** Text buffer: the longest field is a value (128) and its unit (16). */
const BUFFER_BYTES = 160;

/** PLAIN[c] is 1 for printable characters that are neither structure ( ) * & nor / ! (they change no state inside a data set). */
const PLAIN = /* @__PURE__ */ (() => {
  const t = new Uint8Array(256);
  for (let c = 0x20; c <= 0x7e; c++) t[c] = 1;
  for (const c of [OPEN, CLOSE, STAR, AMPERSAND, START, END]) t[c] = 0;
  return t;
})();

function isAddressChar(c: number): boolean {
  return isDigit(c) || isLetter(c) || c === 0x20;
}

/**
 * The decoder's state is its cursor: scalars, the text buffer and the open data set. Its steps are
 * prototype methods (TypeScript `private`, not `#`): XS gives every instance a slot per `#` method.
 */
export class D0Decoder {
  /** The listener and the options, read when they matter (no field per option in every decoder). */
  readonly #listener: D0Listener & D0DecoderOptions;

  #state = IDLE;
  #offset = 0;
  #msgStart = 0;
  readonly #buf = new Uint8Array(BUFFER_BYTES);
  #len = 0;
  #bcc = 0;
  #bccOn = false;

  // The open block.
  #start: BlockStart = "stx";
  #command: string | undefined;
  #readout = false;
  #end: BlockEnd = "etx";
  #blockDataSets = 0;
  #blockErrors = 0;
  /** Anything but line ends seen in the block. */
  #hasData = false;
  #lastDataSet: DataSet | undefined;

  // The data set being parsed.
  #ds = D_LINE;
  #dsStart = 0;
  #dsBad = false;
  #address = "";
  #values: DataValue[] = [];
  #star = -1;
  #partOffset = 0;

  // A data set continued across partial blocks (§6.4.7), and the state to return to if a block is repeated.
  #carry = false;
  // Its text so far is a copy made only then (partial blocks are rare), not a second buffer in every decoder.
  #snap: { ds: number; dsStart: number; dsBad: boolean; address: string; values: DataValue[]; star: number; partOffset: number; text: Uint8Array } | undefined;

  /** `options` is kept as the listener: its methods take the events. */
  constructor(options: D0Listener & D0DecoderOptions) {
    this.#listener = options;
  }

  /** Offset of the next byte to be pushed. */
  get offset(): number {
    return this.#offset;
  }

  /** True while no message is open: the last message was complete. */
  get idle(): boolean {
    return this.#state === IDLE || this.#state === GARBAGE || this.#state === SKIP || this.#state === AFTER_IDENT;
  }

  push(bytes: Uint8Array): void {
    const buf = this.#buf;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (this.#bccOn) this.#bcc ^= c;
      // Fast path: a plain character of an address or value (most of a readout's bytes).
      if (this.#state === BLOCK && PLAIN[c] === 1 && !this.#dsBad) {
        const ds = this.#ds;
        const len = this.#len;
        if ((ds === D_VALUE && len < (this.#star >= 0 ? this.#star + UNIT_MAX : VALUE_MAX)) || (ds === D_ADDR && len < ADDRESS_MAX)) {
          buf[len] = c;
          this.#len = len + 1;
          this.#hasData = true;
          this.#offset++;
          continue;
        }
      }
      this.step(c);
      this.#offset++;
    }
  }

  /** The input has stopped: closes what is open (see the contract). */
  end(): void {
    const at = this.#offset;
    switch (this.#state) {
      case ACK_PENDING:
        this.emitControl("ack");
        break;
      case IDLE:
      case GARBAGE:
      case SKIP:
      case AFTER_IDENT:
      case AFTER_IDENT_LF:
        break;
      case BLOCK:
      case END_CR:
      case END_LF:
      case BLOCK_ETX:
      case BCC:
        this.error("truncated", at);
        this.closeDataSet(at, false);
        this.finishBlock("cut", "absent");
        break;
      default:
        this.error("truncated", at);
    }
    this.#state = IDLE;
    this.#carry = false;
  }

  /** Forgets everything, without events: the next byte is offset 0 (a new exchange). */
  reset(): void {
    this.#state = IDLE;
    this.#offset = 0;
    this.#len = 0;
    this.#bccOn = false;
    this.#carry = false;
    this.resetDataSet();
  }

  /** The error of a byte with bit 7 set (see `parityMarked`). */
  private get parityCode(): D0ErrorCode {
    return this.#listener.parityMarked === false ? "bad-character" : "parity";
  }

  private step(c: number): void {
    switch (this.#state) {
      case IDLE:
        return this.startMessage(c);
      case GARBAGE:
        if (c === LF || c === CR || c === NUL) this.#state = IDLE;
        else if (c === START || c === STX || c === SOH || c === ACK || c === NAK) this.startMessage(c);
        return;
      case SKIP:
        if (c === LF) this.#state = IDLE;
        else if (c === START || c === STX || c === SOH || c === ACK || c === NAK) this.startMessage(c);
        return;
      case SLASH:
        if (c === REQUEST) {
          this.#state = REQ;
          this.#len = 0;
        } else if (c >= 0x20 && c <= 0x7e && c !== START && c !== END) {
          this.#state = IDENT;
          this.#buf[0] = c;
          this.#len = 1;
        } else this.fail(c, "bad-identification");
        return;
      case REQ:
        if (c === END) this.#state = REQ_CR;
        else if (isAddressChar(c) && this.#len < REQUEST_ADDRESS_MAX) this.#buf[this.#len++] = c;
        else this.fail(c, "bad-request");
        return;
      case REQ_CR:
        if (c === CR) this.#state = REQ_LF;
        else if (c === LF) this.emitRequest();
        else this.fail(c, "bad-request");
        return;
      case REQ_LF:
        if (c === LF) this.emitRequest();
        else this.fail(c, "bad-request");
        return;
      case IDENT:
        if (c === CR) this.#state = IDENT_LF;
        else if (c === LF) this.finishIdentification();
        else if (c >= 0x20 && c <= 0x7e && c !== START && c !== END && this.#len < 4 + IDENTIFICATION_MAX) this.#buf[this.#len++] = c;
        else this.fail(c, "bad-identification");
        return;
      case IDENT_LF:
        this.finishIdentification();
        if (c !== LF) this.step(c);
        return;
      case AFTER_IDENT:
        if (c === CR) this.#state = AFTER_IDENT_LF;
        else if (c === LF) this.openBlock("mode-d", undefined);
        else if (isDigit(c) || isLetter(c) || c === OPEN) {
          this.openBlock("bare", undefined);
          this.blockByte(c);
        } else this.startMessage(c);
        return;
      case AFTER_IDENT_LF:
        this.openBlock("mode-d", undefined);
        if (c !== LF) this.blockByte(c);
        return;
      case ACK_PENDING:
        if (isDigit(c)) {
          this.#state = OPTION;
          this.#buf[0] = c;
          this.#len = 1;
        } else {
          this.emitControl("ack");
          this.startMessage(c);
        }
        return;
      case OPTION:
        // Z is a mode C/E baud digit; Y a digit or a reserved capital (§6.4.5.2).
        if ((this.#len === 1 && isDigit(c)) || (this.#len === 2 && (isDigit(c) || (c >= 0x41 && c <= 0x5a)))) this.#buf[this.#len++] = c;
        else if (this.#len === 3 && c === CR) this.#state = OPTION_LF;
        else if (this.#len === 3 && c === LF) this.emitOptionSelect();
        else this.fail(c, "bad-option-select");
        return;
      case OPTION_LF:
        if (c === LF) this.emitOptionSelect();
        else this.fail(c, "bad-option-select");
        return;
      case CMD_LETTER:
        if (c === 0x50 || c === 0x57 || c === 0x52 || c === 0x45 || c === 0x42) {
          this.#buf[0] = c;
          this.#state = CMD_TYPE;
        } else this.fail(c, "bad-command");
        return;
      case CMD_TYPE:
        if (isDigit(c)) {
          this.#buf[1] = c;
          this.#state = CMD_AFTER;
        } else this.fail(c, "bad-command");
        return;
      case CMD_AFTER:
        if (c === STX) this.openBlock("soh", this.text(0, 2));
        else if (c === ETX) {
          // A command without data set (B0, B1): its block is empty.
          this.openBlock("soh", this.text(0, 2));
          this.blockEndControl(c);
        } else this.fail(c, "bad-command");
        return;
      case BLOCK:
        return this.blockByte(c);
      case END_CR:
        if (c === CR) this.#state = END_LF;
        else if (c === LF) this.afterEndLine();
        else this.badEnd(c);
        return;
      case END_LF:
        if (c === LF) this.afterEndLine();
        else this.badEnd(c);
        return;
      case BLOCK_ETX:
        if (c === ETX || c === EOT) this.blockEndControl(c);
        else if (c !== CR && c !== LF) this.badEnd(c);
        return;
      case BCC:
        return this.bccByte(c);
    }
  }

  private startMessage(c: number): void {
    this.#msgStart = this.#offset;
    this.#bccOn = false;
    if (c === START) {
      this.#carry = false;
      this.#state = SLASH;
    }
    else if (c === STX) {
      this.#bccOn = true;
      this.#bcc = 0;
      this.openBlock("stx", undefined);
    } else if (c === SOH) {
      this.#bccOn = true;
      this.#bcc = 0;
      this.#carry = false;
      this.#state = CMD_LETTER;
    } else if (c === ACK) {
      if (this.#listener.optionSelect === true) this.#state = ACK_PENDING;
      else this.emitControl("ack");
    } else if (c === NAK) this.emitControl("nak");
    else if (c === NUL || c === CR || c === LF) this.#state = IDLE;
    else if (this.#listener.bareBlocks === true && (isDigit(c) || isLetter(c) || c === OPEN)) {
      this.openBlock("bare", undefined);
      this.blockByte(c);
    } else {
      this.error(c >= 0x80 ? this.parityCode : "garbage", this.#offset);
      this.#state = GARBAGE;
    }
  }

  /** An error in a message outside a block: a start character cuts it off, anything else skips to the next line end. */
  private fail(c: number, code: D0ErrorCode): void {
    if (c === START || c === STX || c === SOH) {
      this.error("truncated", this.#offset);
      this.startMessage(c);
      return;
    }
    this.error(c >= 0x80 ? this.parityCode : code, this.#offset);
    if (c === ACK || c === NAK) this.startMessage(c);
    else this.#state = c === LF ? IDLE : SKIP;
  }

  private error(code: D0ErrorCode, offset: number): void {
    if (this.#state >= BLOCK && this.#state <= BCC) this.#blockErrors++;
    this.#listener.onError({ code, offset });
  }

  /**
   * The held bytes `start` … `end` as a string, through a view of `#buf`: no array kept per text length (plain
   * arrays of each length were faster on V8, but held 16 B a character in every decoder in XS).
   */
  private text(start: number, end: number): string {
    return String.fromCharCode.apply(null, this.#buf.subarray(start, end) as unknown as number[]);
  }

  private emitControl(type: "ack" | "nak"): void {
    this.#state = IDLE;
    this.#listener.onMessage({ type, offset: this.#msgStart, length: 1 });
  }

  private emitRequest(): void {
    this.#state = IDLE;
    this.#listener.onMessage({ type: "request", address: this.text(0, this.#len), offset: this.#msgStart, length: this.#offset + 1 - this.#msgStart });
  }

  private emitOptionSelect(): void {
    this.#state = IDLE;
    const b = this.#buf;
    this.#listener.onMessage({
      type: "option-select",
      protocol: String.fromCharCode(b[0]!),
      baudChar: String.fromCharCode(b[1]!),
      modeChar: String.fromCharCode(b[2]!),
      offset: this.#msgStart,
      length: this.#offset + 1 - this.#msgStart,
    });
  }

  private finishIdentification(): void {
    const identification = parseIdentification(this.text(0, this.#len));
    if (!identification) {
      this.error("bad-identification", this.#msgStart);
      this.#state = IDLE;
      return;
    }
    this.#state = AFTER_IDENT;
    this.#listener.onMessage({ type: "identification", identification, offset: this.#msgStart, length: this.#offset + 1 - this.#msgStart });
  }

  // ---- blocks ----

  private openBlock(start: BlockStart, command: string | undefined): void {
    this.#state = BLOCK;
    this.#start = start;
    this.#command = command;
    this.#readout = false;
    this.#blockDataSets = 0;
    this.#blockErrors = 0;
    this.#hasData = false;
    this.#lastDataSet = undefined;
    if (start === "mode-d") this.#msgStart = this.#offset + 1;
    else if (start === "bare") this.#msgStart = this.#offset;
    if (start === "stx" && this.#carry) this.saveSnapshot();
    else {
      this.#snap = undefined;
      this.resetDataSet();
    }
    this.#carry = false;
  }

  private blockByte(c: number): void {
    const at = this.#offset;
    switch (c) {
      case CR:
      case LF:
        return this.lineEnd(at);
      case END:
        this.closeDataSet(at, true);
        this.#readout = true;
        this.#state = END_CR;
        return;
      case ETX:
      case EOT:
        if (this.#start === "stx" || this.#start === "soh") this.blockEndControl(c);
        else this.dataSetError("bad-character", at, false);
        return;
      case START:
      case STX:
      case SOH:
        return this.cutBlock(c);
    }
    this.#hasData = true;
    if (c < 0x20 || c > 0x7e) {
      this.dataSetError(c >= 0x80 ? this.parityCode : "bad-character", at, false);
      return;
    }
    switch (this.#ds) {
      case D_LINE:
        this.#dsStart = at;
        this.#address = "";
        if (c === OPEN) this.openGroup(at);
        else if (c === CLOSE) this.dataSetError("bad-data-set", at, true);
        else {
          this.#ds = D_ADDR;
          this.#buf[0] = c;
          this.#len = 1;
        }
        return;
      case D_ADDR:
        if (c === OPEN) {
          this.#address = this.text(0, this.#len);
          this.openGroup(at);
        } else if (c === CLOSE) this.dataSetError("bad-data-set", at, true);
        else if (this.#len >= ADDRESS_MAX) this.dataSetError("address-too-long", at, true);
        else this.#buf[this.#len++] = c;
        return;
      case D_VALUE:
        if (c === CLOSE) {
          this.finishPart(at);
          this.#ds = D_AFTER;
        } else if (c === STAR) this.#star = this.#len;
        else if (c === AMPERSAND) this.finishPart(at);
        else if (c === OPEN) this.dataSetError("bad-data-set", at, true);
        else if (this.#star >= 0) {
          if (this.#len - this.#star >= UNIT_MAX) this.dataSetError("bad-unit", at, true);
          else this.#buf[this.#len++] = c;
        } else if (this.#len >= VALUE_MAX) this.dataSetError("value-too-long", at, true);
        else this.#buf[this.#len++] = c;
        return;
      case D_AFTER:
        if (c === OPEN) this.openGroup(at);
        else if (c === CLOSE) this.dataSetError("bad-data-set", at, true);
        else {
          // Several data sets on one line (heat meters: 6.8(…)6.26(…)).
          this.emitDataSet();
          this.#ds = D_LINE;
          this.blockByte(c);
        }
        return;
      case D_SKIP:
        return;
    }
  }

  private openGroup(at: number): void {
    this.#ds = D_VALUE;
    this.#len = 0;
    this.#star = -1;
    this.#partOffset = at + 1;
  }

  /** Ends one value (at ")" or "&"): checks it and keeps it in the data set. */
  private finishPart(at: number): void {
    const len = this.#len;
    const star = this.#star;
    this.#len = 0;
    this.#star = -1;
    const partOffset = this.#partOffset;
    this.#partOffset = at + 1;
    if (this.#dsBad) return;
    const value = this.text(0, star >= 0 ? star : len);
    let unit: string | undefined;
    if (star >= 0) {
      if (star === len) return this.dataSetError("bad-unit", at, false);
      unit = this.text(star, len);
      if (!isDecimal(value)) return this.dataSetError("value-not-numeric", partOffset, false);
    }
    if (this.#values.length >= VALUES_MAX) return this.dataSetError("too-many-values", at, true);
    this.#values.push(new DataValue(value, unit));
  }

  /** A data set is bad: the error is reported and the data set will not be delivered. `skip` also skips to the line end (a structural error). */
  private dataSetError(code: D0ErrorCode, at: number, skip: boolean): void {
    // Every line fault is reported at its byte; other errors only once per data set (the rest follow from the first).
    if (!this.#dsBad || code === this.parityCode || code === "bad-character") this.error(code, at);
    this.#dsBad = true;
    if (skip) this.#ds = D_SKIP;
  }

  private lineEnd(at: number): void {
    this.closeDataSet(at, true);
  }

  /** Closes the data set at a boundary; a data set cut in the middle is an error when `strict`. */
  private closeDataSet(at: number, strict: boolean): void {
    switch (this.#ds) {
      case D_AFTER:
        this.emitDataSet();
        break;
      case D_ADDR:
      case D_VALUE:
      case D_UNIT:
        if (strict && !this.#dsBad) this.error("bad-data-set", at);
        break;
    }
    this.resetDataSet();
  }

  private emitDataSet(): void {
    if (!this.#dsBad) {
      const ds: DataSet = { address: this.#address, values: this.#values, offset: this.#dsStart };
      this.#blockDataSets++;
      this.#lastDataSet = ds;
      this.#listener.onDataSet(ds);
    }
    this.resetDataSet();
  }

  private resetDataSet(): void {
    this.#ds = D_LINE;
    this.#dsBad = false;
    this.#address = "";
    this.#values = [];
    this.#len = 0;
    this.#star = -1;
  }

  private afterEndLine(): void {
    if (this.#start === "stx" || this.#start === "soh") this.#state = BLOCK_ETX;
    else this.finishBlock("end", "absent");
  }

  /** The "! CR LF" of a readout was not complete. */
  private badEnd(c: number): void {
    this.error("truncated", this.#offset);
    if ((c === ETX || c === EOT) && (this.#start === "stx" || this.#start === "soh")) this.blockEndControl(c);
    else {
      this.finishBlock("cut", "absent");
      this.startMessage(c);
    }
  }

  private blockEndControl(c: number): void {
    const partial = c === EOT;
    // A partial block may end inside a data set: it continues in the next block.
    if (!partial) this.closeDataSet(this.#offset, true);
    this.#end = partial ? "eot" : "etx";
    this.#bccOn = false;
    this.#state = BCC;
  }

  private bccByte(c: number): void {
    const expected = this.#bcc & 0x7f;
    let status: BccStatus = "ok";
    if (c >= 0x80) {
      this.error(this.parityCode, this.#offset);
      status = "bad";
    } else if (c !== expected) {
      this.error("bcc-mismatch", this.#offset);
      status = "bad";
    }
    this.finishBlock(this.#end, status);
  }

  private cutBlock(c: number): void {
    const at = this.#offset;
    if (this.#start === "mode-d" && !this.#hasData && c === STX) {
      // Blank lines between an identification and its STX (captures with LF LF line ends): no mode D block.
      this.startMessage(c);
      return;
    }
    this.closeDataSet(at, false);
    this.error("truncated", at);
    this.finishBlock("cut", "absent");
    this.startMessage(c);
  }

  private finishBlock(end: BlockEnd, bcc: BccStatus): void {
    this.#state = IDLE;
    const offset = this.#msgStart;
    const length = this.#offset + 1 - offset;
    if (end === "eot") {
      if (bcc === "ok") this.#carry = true;
      else this.restoreSnapshot();
    } else {
      this.#carry = false;
      this.#snap = undefined;
      this.resetDataSet();
    }
    const last = this.#lastDataSet;
    this.#lastDataSet = undefined;
    if (
      this.#start === "stx" &&
      !this.#readout &&
      end === "etx" &&
      this.#blockDataSets === 1 &&
      last !== undefined &&
      last.address === "" &&
      last.values.length === 1 &&
      last.values[0]!.unit === undefined &&
      last.values[0]!.value.startsWith("ER")
    ) {
      // Annex A: "(error text)"; STD recommends that the text starts with ER.
      this.#listener.onMessage({ type: "error-message", text: last.values[0]!.value, bcc, offset, length });
      return;
    }
    this.#listener.onMessage({
      type: "block",
      start: this.#start,
      command: this.#command,
      readout: this.#readout,
      end,
      bcc,
      dataSets: this.#blockDataSets,
      errors: this.#blockErrors,
      offset,
      length,
    });
  }

  private saveSnapshot(): void {
    this.#snap = {
      ds: this.#ds,
      dsStart: this.#dsStart,
      dsBad: this.#dsBad,
      address: this.#address,
      values: this.#values.slice(),
      star: this.#star,
      partOffset: this.#partOffset,
      text: this.#buf.slice(0, this.#len),
    };
  }

  private restoreSnapshot(): void {
    const s = this.#snap;
    if (!s) {
      this.resetDataSet();
      return;
    }
    this.#ds = s.ds;
    this.#dsStart = s.dsStart;
    this.#dsBad = s.dsBad;
    this.#address = s.address;
    this.#values = s.values.slice();
    this.#star = s.star;
    this.#partOffset = s.partOffset;
    this.#len = s.text.length;
    this.#buf.set(s.text);
    this.#carry = true;
  }
}
