/**
 * The AT command engine: one command on the wire at a time, a bounded queue behind it, a timeout per
 * command, the "> " prompt and its payload, raw blocks announced by a response line, and unsolicited
 * result codes (URCs) recognised at any moment — between commands, between the lines of a response,
 * and between a two-line URC's header and its body.
 *
 * How a received line is routed (TinyGSM checks every line against a URC table inside waitResponse;
 * domain.md §4.6 item 6):
 * 1. the second line of a two-line URC (+CMT, +CDS) goes to the URC handler, if it comes within
 *    URC_BODY_TIMEOUT_MS of its header;
 * 2. the echo of the current command (the modem's echo is on after a reset) is dropped and counted;
 * 3. a line the current command claims as information text goes to it (it may announce raw bytes);
 * 4. a command-specific final result ("SHUT OK", "DATA ACCEPT:0,5") ends the command;
 * 5. a line the URC handler recognises is a URC;
 * 6. a generic final result code (OK, ERROR, +CME ERROR, +CMS ERROR) ends the command;
 * 7. anything else is counted as unknown and dropped.
 *
 * Serial contract (hal/serial.ts): the receive FIFO is drained completely in every onReadable, and
 * bytes are written only as far as the transmit FIFO has room, the rest from onWritable. A turn does
 * a bounded amount of work: at most one FIFO of bytes in, one FIFO out.
 *
 * Errors never escape a serial or timer callback: an exception thrown by a handler is counted in
 * `counters.internalErrors`, the current command fails with "aborted", and the engine carries on.
 */
import type { Timers, TimerId } from "../../../hal/clock.js";
import type { SerialPort, SerialPortProvider } from "../../../hal/serial.js";
import { asciiBytes } from "../ascii.js";
import { AtLineAssembler, type LineSink } from "./line-assembler.js";
import { finalResult, type AtFailure, type AtFailureCode } from "./response.js";

export interface AtCommand {
  /** The command line without its terminating CR, e.g. "AT+CSQ". */
  readonly text: string;
  /** Time allowed for the final result code, ms, from the moment the command (or its payload) is sent. */
  readonly timeoutMs: number;
  /** Which lines are this command's information text: a prefix ("+CSQ:") or a predicate. */
  readonly info?: string | ((line: string) => boolean);
  /** Command-specific final result codes ("SHUT OK", "SEND FAIL"); checked before the generic ones. */
  readonly final?: (line: string) => "ok" | "error" | undefined;
  /** Bytes written after the "> " prompt (AT+CIPSEND, AT+QISEND, AT+CMGS). */
  readonly payload?: Uint8Array;
  /** Time allowed for the prompt, ms. Default `DEFAULT_PROMPT_TIMEOUT_MS`. */
  readonly promptTimeoutMs?: number;
  /** Told when the prompt came and the payload is being written. */
  readonly onPrompt?: () => void;
  /** Receives each information line instead of collecting it; a return n > 0 announces n raw bytes. */
  readonly onInfo?: (line: string) => number | void;
  /** Receives the raw bytes announced by onInfo, in pieces. */
  readonly onRaw?: (bytes: Uint8Array) => void;
  /** Called exactly once, in a serial or timer turn, never inside `send`. */
  readonly done: (result: AtResult) => void;
}

export type AtResult =
  | { readonly ok: true; readonly lines: readonly string[]; readonly final: string }
  | { readonly ok: false; readonly failure: AtFailure; readonly lines: readonly string[] };

/** How the URC handler took a line: not a URC, a complete URC, or a URC whose next line is its body. */
export const UrcVerdict = Object.freeze({ NotUrc: 0, Handled: 1, HandledWithBody: 2 } as const);
export type UrcVerdict = (typeof UrcVerdict)[keyof typeof UrcVerdict];

export interface UrcHandler {
  /** Offered every line no command claims. */
  urc(line: string): UrcVerdict;
  /** The line after a URC that returned HandledWithBody. */
  urcBody(line: string): void;
}

export interface AtEngineOptions {
  serial: SerialPortProvider;
  timers: Timers;
  urcs: UrcHandler;
  /** Bit rate, default 115200 (the modem UART of hal/index.ts). */
  baud?: number;
  /** Open the port with RTS/CTS flow control (the board wires the lines). Default false. */
  flowControl?: boolean;
  /** Commands that may wait behind the current one. Default 16. */
  maxQueue?: number;
  /** Told when the modem echoes a command: its echo setting was reset (a silent reboot). */
  onEcho?: () => void;
  /** Told when any command ends, before its `done`: undefined on success, else the failure. */
  onResult?: (failure: AtFailure | undefined) => void;
}

export interface AtCounters {
  commands: number;
  failures: number;
  timeouts: number;
  lines: number;
  urcs: number;
  unknownLines: number;
  echoes: number;
  overflows: number;
  /** Two-line URC headers whose body line did not come within URC_BODY_TIMEOUT_MS. */
  missedUrcBodies: number;
  bytesIn: number;
  bytesOut: number;
  /** Characters the UART lost because its receive FIFO was full (as the port reports them). */
  overruns: number;
  internalErrors: number;
}

/** The prompt of AT+CMGS comes within 3 s in GSMM (`modem.sendSms`); SIM800 and BG96 answer CIPSEND/QISEND as fast. */
export const DEFAULT_PROMPT_TIMEOUT_MS = 3_000;
/** 27.005 §3.5.1 and the SIM800 CIPSEND description: ESC aborts data input. */
const ESC = new Uint8Array([0x1b]);

interface Running {
  readonly command: AtCommand;
  readonly lines: string[];
  awaitingPrompt: boolean;
  timer: TimerId | undefined;
}

/** After a timeout or an abort the next command waits this long, so that a late answer to the old one
 * arrives while no command runs and is dropped, instead of being taken for the new one's (ours: a module
 * answers local commands within milliseconds once it answers at all). */
export const STALE_ANSWER_GUARD_MS = 200;

/** A two-line URC's body follows its header at once (27.005 §3.4.1: header and PDU back to back); the
 * longest PDU line, 352 hex digits, takes under 0.4 s even at 9600 baud. A header whose body has not
 * begun by then was cut off, and the next line is someone else's (a command's answer, another URC). */
export const URC_BODY_TIMEOUT_MS = 1_000;

/** Information lines kept per command when it has no onInfo. */
const MAX_COLLECTED_LINES = 16;

export class AtEngine implements LineSink {
  readonly counters: AtCounters = {
    commands: 0,
    failures: 0,
    timeouts: 0,
    lines: 0,
    urcs: 0,
    unknownLines: 0,
    echoes: 0,
    overflows: 0,
    missedUrcBodies: 0,
    bytesIn: 0,
    bytesOut: 0,
    overruns: 0,
    internalErrors: 0,
  };
  /** The last exception caught at a callback boundary, for the diagnostics log. */
  lastInternalError: unknown;

  readonly #options: AtEngineOptions;
  readonly #assembler: AtLineAssembler;
  readonly #queue: AtCommand[] = [];
  readonly #maxQueue: number;
  #port: SerialPort | undefined;
  #current: Running | undefined;
  /** Set while the line after a two-line URC's header is awaited as its body. */
  #urcBodyTimer: TimerId | undefined;
  /** Bytes waiting for room in the transmit FIFO, in order. */
  readonly #tx: Uint8Array[] = [];
  /** Set while the next command waits out STALE_ANSWER_GUARD_MS. */
  #guardTimer: TimerId | undefined;

  constructor(options: AtEngineOptions) {
    this.#options = options;
    this.#maxQueue = options.maxQueue ?? 16;
    this.#assembler = new AtLineAssembler(this);
  }

  /** Commands running or waiting. */
  get pending(): number {
    return this.#queue.length + (this.#current ? 1 : 0);
  }

  /** Opens the serial port (8N1, RTS/CTS when `flowControl`). Idempotent. */
  open(): void {
    if (this.#port) return;
    this.#port = this.#options.serial.open({
      baud: this.#options.baud ?? 115_200,
      flowControl: this.#options.flowControl === true,
      onReadable: () => this.guard(() => this.drain()),
      onWritable: () => this.guard(() => this.pump()),
    });
  }

  /** Fails every command with "closed" and releases the port. */
  close(): void {
    this.abortAll("closed");
    if (this.#guardTimer !== undefined) this.#options.timers.clear(this.#guardTimer);
    this.#guardTimer = undefined;
    this.#port?.close();
    this.#port = undefined;
  }

  /**
   * Queues a command. Its `done` is called exactly once, in a later turn: with the answer, or with
   * "busy" when the queue is full and "closed" when the port is not open.
   */
  send(command: AtCommand): void {
    if (!this.#port || this.#queue.length >= this.#maxQueue) {
      const failure: AtFailure = { code: this.#port ? "busy" : "closed" };
      this.#options.timers.set(() => this.guard(() => this.complete(command, { ok: false, failure, lines: [] }), false), 0);
      return;
    }
    this.#queue.push(command);
    this.startNext();
  }

  /** Fails the running command and every queued one with `code`, and forgets any partial input. */
  abortAll(code: AtFailureCode = "aborted"): void {
    const running = this.#current;
    const queued = this.#queue.splice(0);
    this.#current = undefined;
    this.#tx.length = 0;
    this.#assembler.reset();
    this.stopAwaitingUrcBody();
    if (running) this.clearTimer(running);
    const failure: AtFailure = { code };
    if (running) this.holdOff();
    if (running) this.complete(running.command, { ok: false, failure, lines: running.lines });
    for (const command of queued) this.complete(command, { ok: false, failure, lines: [] });
  }

  /** Writes raw bytes outside any command (a wake-up, a lone ESC). */
  writeRaw(bytes: Uint8Array): void {
    if (!this.#port) return;
    this.#tx.push(bytes);
    this.pump();
  }

  // ---- LineSink (called by the assembler) ----

  line(text: string): void {
    this.counters.lines++;
    if (this.#urcBodyTimer !== undefined) {
      this.stopAwaitingUrcBody();
      this.#options.urcs.urcBody(text);
      return;
    }
    const running = this.#current;
    if (running) {
      const c = running.command;
      if (text === c.text) {
        this.counters.echoes++;
        this.#options.onEcho?.();
        return;
      }
      if (!running.awaitingPrompt && claims(c, text)) {
        if (c.onInfo) {
          const raw = c.onInfo(text);
          if (typeof raw === "number" && raw > 0) this.#assembler.expectRaw(raw);
        } else if (running.lines.length < MAX_COLLECTED_LINES) running.lines.push(text);
        return;
      }
      const specific = c.final?.(text);
      if (specific) {
        this.finish(specific === "ok" ? { ok: true, lines: running.lines, final: text } : { ok: false, failure: { code: "error", line: text }, lines: running.lines });
        return;
      }
    }
    const verdict = this.#options.urcs.urc(text);
    if (verdict !== UrcVerdict.NotUrc) {
      this.counters.urcs++;
      if (verdict === UrcVerdict.HandledWithBody) this.awaitUrcBody();
      return;
    }
    if (running) {
      const generic = finalResult(text);
      if (generic) {
        if (generic.ok && running.awaitingPrompt) {
          this.finish({ ok: false, failure: { code: "bad-response", line: text }, lines: running.lines });
        } else {
          this.finish(generic.ok ? { ok: true, lines: running.lines, final: text } : { ok: false, failure: generic.failure, lines: running.lines });
        }
        return;
      }
    }
    this.counters.unknownLines++;
  }

  prompt(): void {
    const running = this.#current;
    if (!running?.awaitingPrompt) return;
    running.awaitingPrompt = false;
    this.clearTimer(running);
    this.#tx.push(running.command.payload!);
    this.pump();
    this.arm(running, running.command.timeoutMs);
    running.command.onPrompt?.();
  }

  raw(bytes: Uint8Array): void {
    this.#current?.command.onRaw?.(bytes);
  }

  rawEnd(): void {
    // The command ends with its final result code, which follows the raw block.
  }

  overflow(): void {
    this.counters.overflows++;
  }

  // ---- internals ----

  private startNext(): void {
    if (this.#current || this.#guardTimer !== undefined) return;
    const command = this.#queue.shift();
    if (!command) return;
    const running: Running = { command, lines: [], awaitingPrompt: command.payload !== undefined, timer: undefined };
    this.#current = running;
    this.counters.commands++;
    // V.250 §5.2.1: a command line ends with S3, carriage return.
    this.#tx.push(asciiBytes(command.text + "\r"));
    this.#assembler.armPrompt(running.awaitingPrompt);
    this.pump();
    this.arm(running, running.awaitingPrompt ? command.promptTimeoutMs ?? DEFAULT_PROMPT_TIMEOUT_MS : command.timeoutMs);
  }

  private arm(running: Running, ms: number): void {
    running.timer = this.#options.timers.set(() => this.guard(() => this.timeout(running)), ms);
  }

  private clearTimer(running: Running): void {
    if (running.timer !== undefined) this.#options.timers.clear(running.timer);
    running.timer = undefined;
  }

  private timeout(running: Running): void {
    if (this.#current !== running) return;
    running.timer = undefined;
    this.counters.timeouts++;
    const noPrompt = running.awaitingPrompt;
    // A late or partial answer must not be taken for the next command's.
    this.#assembler.reset();
    this.stopAwaitingUrcBody();
    if (noPrompt) this.writeRaw(ESC);
    this.holdOff();
    this.finish({ ok: false, failure: { code: noPrompt ? "no-prompt" : "timeout" }, lines: running.lines });
  }

  private awaitUrcBody(): void {
    this.stopAwaitingUrcBody();
    this.#urcBodyTimer = this.#options.timers.set(() => {
      this.#urcBodyTimer = undefined;
      this.counters.missedUrcBodies++;
    }, URC_BODY_TIMEOUT_MS);
  }

  private stopAwaitingUrcBody(): void {
    if (this.#urcBodyTimer !== undefined) this.#options.timers.clear(this.#urcBodyTimer);
    this.#urcBodyTimer = undefined;
  }

  /** Delays the next command by STALE_ANSWER_GUARD_MS. */
  private holdOff(): void {
    if (this.#guardTimer !== undefined) this.#options.timers.clear(this.#guardTimer);
    this.#guardTimer = this.#options.timers.set(() => {
      this.#guardTimer = undefined;
      this.guard(() => this.startNext());
    }, STALE_ANSWER_GUARD_MS);
  }

  private finish(result: AtResult): void {
    const running = this.#current;
    if (!running) return;
    this.clearTimer(running);
    this.#current = undefined;
    this.#assembler.armPrompt(false);
    this.complete(running.command, result);
    this.startNext();
  }

  private complete(command: AtCommand, result: AtResult): void {
    if (!result.ok) this.counters.failures++;
    this.#options.onResult?.(result.ok ? undefined : result.failure);
    command.done(result);
  }

  private drain(): void {
    const port = this.#port;
    if (!port) return;
    for (let bytes = port.read(); bytes; bytes = this.#port === port ? port.read() : undefined) {
      this.counters.bytesIn += bytes.length;
      this.#assembler.push(bytes);
    }
    if (this.#port === port) this.counters.overruns = port.overruns;
  }

  private pump(): void {
    const port = this.#port;
    while (port && this.#tx.length > 0) {
      const head = this.#tx[0]!;
      const room = port.writable;
      if (room <= 0) return;
      const n = Math.min(room, head.length);
      if (!port.write(n === head.length ? head : head.subarray(0, n))) return;
      this.counters.bytesOut += n;
      if (n === head.length) this.#tx.shift();
      else this.#tx[0] = head.subarray(n);
    }
  }

  /** Runs a callback-turn function; an exception is counted and, if `recover`, the input is resynchronised
   * and the running command fails, so the engine's state stays consistent. */
  private guard(fn: () => void, recover = true): void {
    try {
      fn();
    } catch (e) {
      this.counters.internalErrors++;
      this.lastInternalError = e;
      if (!recover) return;
      this.#assembler.reset();
      this.stopAwaitingUrcBody();
      const running = this.#current;
      if (running) this.finish({ ok: false, failure: { code: "aborted" }, lines: running.lines });
    }
  }
}

function claims(command: AtCommand, line: string): boolean {
  const info = command.info;
  if (info === undefined) return false;
  return typeof info === "string" ? line.startsWith(info) : info(line);
}
