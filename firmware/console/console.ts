/**
 * The field engineers' serial console: a line shell on the board's service port (docs/console.md).
 *
 * One command runs at a time. A command prints through the paced output (output.ts) and ends at once,
 * or later (`later`: it waits for the bus, the modem or the crypto service, with a deadline), or in
 * slices (`slices`: a listing makes one slice per turn, and only while the output has room, so a long
 * listing holds one slice of memory and no turn runs long). While a command runs, Ctrl-C cancels it
 * and other input is dropped. Every failure prints one line starting "error: " — what scripts look
 * for (tools/console) — and the prompt follows every command: "mc17> ", or "mc17# " while an engineer
 * is logged in.
 *
 * Nothing here throws out of a turn: a command that throws is reported ("internal error") and counted.
 */
import type { MonotonicClock, TimerId, Timers } from "../../hal/clock.js";
import type { SerialPort, SerialPortProvider } from "../../hal/serial.js";
import { LineEditor } from "./line-editor.js";
import { ConsoleOutput } from "./output.js";
import type { ConsoleSession } from "./session.js";
import type { ConsoleUnit } from "./unit.js";

export interface Command {
  readonly name: string;
  /** The command with its arguments, as `help` shows it: "readings METER [N]". */
  readonly usage: string;
  readonly help: string;
  /** Needs an engineer logged in. */
  readonly privileged?: boolean;
  /** The most words it takes after its name (checked before `run`); no limit when absent. */
  readonly maxArgs?: number;
  /** Runs the command for `unit` (commands are module-level tables, in flash on the device: the unit is an argument, not a closure's). */
  run(ctx: CommandContext, unit: ConsoleUnit): void;
}

export interface CommandContext {
  readonly name: string;
  /** The words after the command's name. */
  readonly args: readonly string[];
  /** Everything after the command's name, as typed (trimmed). */
  readonly rest: string;
  /** The engineer logged in, if any. */
  readonly engineer: string | undefined;
  /** False once the command has ended or was cancelled: a late callback checks it before printing. */
  readonly active: boolean;
  /** Room left in the output queue, bytes: a slice makes at most about this much. */
  readonly room: number;
  print(line: string): void;
  /** Prints "error: NAME: message" and ends the command. */
  fail(message: string): void;
  /** The command ends later (it calls `end` or `fail`); after `timeoutMs` it fails, and `onCancel` runs on that or on Ctrl-C. */
  later(timeoutMs: number, onCancel?: () => void): void;
  /** Calls `step` once per turn while the output has room, until it returns true. */
  slices(step: () => boolean, onCancel?: () => void): void;
  end(): void;
}

export interface ConsoleOptions {
  serial: SerialPortProvider;
  timers: Timers;
  clock: MonotonicClock;
  session: ConsoleSession;
  commands: readonly Command[];
  /** What the commands look at and act on. */
  unit: ConsoleUnit;
  /** "mc17": the prompt's name. */
  name: string;
  /** Default 115200 (8N1). */
  baud?: number;
}

export interface ConsoleCounters {
  lines: number;
  commands: number;
  errors: number;
  cancelled: number;
  /** Input dropped while a command ran. */
  dropped: number;
  internalErrors: number;
  /** Turns the console worked in (serial callbacks, slices, deadlines). */
  turns: number;
}

/** Output queued before a listing waits for the UART: two FIFOs' worth. */
const OUTPUT_LIMIT = 256;
/** A slice is made only when this much room is free (a slice prints a few lines). */
const SLICE_ROOM = 160;

interface Job {
  readonly ctx: Ctx;
  step: (() => boolean) | undefined;
  onCancel: (() => void) | undefined;
  timer: TimerId | undefined;
  sliceArmed: boolean;
}

export class Console {
  readonly counters: ConsoleCounters = { lines: 0, commands: 0, errors: 0, cancelled: 0, dropped: 0, internalErrors: 0, turns: 0 };
  readonly output = new ConsoleOutput(OUTPUT_LIMIT);
  readonly session: ConsoleSession;
  /** The name of the command typed last (diagnostics: which command a turn worked for). */
  lastCommand = "";
  lastInternalError: unknown;
  readonly #o: ConsoleOptions;
  readonly #editor = new LineEditor();
  /** Searched by name (a few dozen; a Map's entry is 3 slots in XS, docs/memory.md). */
  readonly #commands: readonly Command[];
  #port: SerialPort | undefined;
  #job: Job | undefined;

  constructor(options: ConsoleOptions) {
    this.#o = options;
    this.session = options.session;
    this.#commands = options.commands;
  }

  get commands(): Iterable<Command> {
    return this.#commands;
  }

  get open(): boolean {
    return this.#port !== undefined;
  }

  /** Input lost because the receive FIFO overflowed, since open. */
  get overruns(): number {
    return this.#port?.overruns ?? 0;
  }

  /** Opens the service port and shows the banner and the prompt. Returns the reason when the port cannot be had. */
  start(): string | undefined {
    if (this.#port) return undefined;
    try {
      this.#port = this.#o.serial.open({
        baud: this.#o.baud ?? 115_200,
        onReadable: () => this.#turn(() => this.readable()),
        onWritable: () => this.#turn(() => this.writable()),
      });
    } catch (e) {
      this.lastInternalError = e;
      return e instanceof Error ? e.message : String(e);
    }
    this.output.attach(this.#port);
    this.output.write(`\r\n${this.#o.name} service console; "help" lists the commands\r\n${this.prompt()}`);
    return undefined;
  }

  stop(): void {
    this.cancel(false);
    this.#port?.close();
    this.#port = undefined;
    this.output.attach(undefined);
  }

  // ---- input ----

  private readable(): void {
    const port = this.#port;
    if (!port) return;
    for (let bytes = port.read(); bytes; bytes = this.#port === port ? port.read() : undefined) {
      // The echo of a chunk goes out in one write (a pasted line is one chunk), before anything a line starts.
      let echo = "";
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        if (this.#job) {
          if (b === 0x03) {
            this.output.write(echo);
            echo = "";
            this.cancel(true);
          } else this.counters.dropped++;
          continue;
        }
        const r = this.#editor.feed(b);
        echo += r.echo;
        if (r.kind === "edit") continue;
        this.output.write(echo);
        echo = "";
        if (r.kind === "cancel") this.output.write(this.prompt());
        else this.#line(r.line);
      }
      this.output.write(echo);
    }
  }

  #line(text: string): void {
    this.counters.lines++;
    this.session.touch();
    const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) return this.output.write(this.prompt());
    const name = words[0]!.toLowerCase();
    this.lastCommand = name;
    const command = this.#commands.find((c) => c.name === name);
    const ctx = new Ctx(this, name, words.slice(1), text.trim().slice(words[0]!.length).trim(), this.session.engineer);
    const job: Job = { ctx, step: undefined, onCancel: undefined, timer: undefined, sliceArmed: false };
    this.#job = job;
    this.counters.commands++;
    if (!command) return ctx.fail(`unknown command (help lists the commands)`);
    if (command.maxArgs !== undefined && ctx.args.length > command.maxArgs) return ctx.fail(command.maxArgs === 0 ? "takes no arguments" : `usage: ${command.usage}`);
    const refusal = command.privileged ? this.session.refusal(ctx.engineer) : undefined;
    if (refusal) return ctx.fail(refusal);
    this.guard(job, () => command.run(ctx, this.#o.unit));
    if (this.#job === job && !job.step && job.timer === undefined) this.finish(job);
  }

  // ---- used by Ctx ----

  /** @internal */
  print(ctx: Ctx, line: string): void {
    if (this.#job?.ctx === ctx) this.output.write(`${line}\r\n`);
  }

  /** @internal */
  fail(ctx: Ctx, message: string): void {
    const job = this.#job;
    if (job?.ctx !== ctx) return;
    this.counters.errors++;
    this.output.write(`error: ${ctx.name}: ${message}\r\n`);
    this.finish(job);
  }

  /** @internal */
  end(ctx: Ctx): void {
    const job = this.#job;
    if (job?.ctx === ctx) this.finish(job);
  }

  /** @internal */
  later(ctx: Ctx, timeoutMs: number, onCancel: (() => void) | undefined): void {
    const job = this.#job;
    if (job?.ctx !== ctx) return;
    job.onCancel = onCancel;
    if (job.timer !== undefined) this.#o.timers.clear(job.timer);
    job.timer = this.#o.timers.set(() =>
      this.#turn(() => {
        job.timer = undefined;
        if (this.#job !== job) return;
        job.onCancel?.();
        ctx.fail(`no answer within ${Math.round(timeoutMs / 1000)} s`);
      }),
    timeoutMs);
  }

  /** @internal */
  slices(ctx: Ctx, step: () => boolean, onCancel: (() => void) | undefined): void {
    const job = this.#job;
    if (job?.ctx !== ctx) return;
    if (job.timer !== undefined) this.#o.timers.clear(job.timer);
    job.timer = undefined;
    job.step = step;
    job.onCancel = onCancel;
    this.kick();
  }

  /** @internal */
  isActive(ctx: Ctx): boolean {
    return this.#job?.ctx === ctx;
  }

  // ---- internals ----

  private writable(): void {
    this.output.pump();
    this.kick();
  }

  /** Arms the next slice of the running listing when the output has room for it. */
  private kick(): void {
    const job = this.#job;
    if (!job?.step || job.sliceArmed || this.output.room < SLICE_ROOM) return;
    job.sliceArmed = true;
    this.#o.timers.set(() =>
      this.#turn(() => {
        job.sliceArmed = false;
        if (this.#job !== job || !job.step) return;
        let done = false;
        this.guard(job, () => (done = job.step!()));
        if (this.#job !== job) return;
        if (done) this.finish(job);
        else this.kick();
      }),
    0);
  }

  private cancel(show: boolean): void {
    const job = this.#job;
    if (!job) return;
    this.counters.cancelled++;
    this.guard(job, () => job.onCancel?.());
    if (this.#job !== job) return;
    if (show) this.output.write("^C\r\n(cancelled)\r\n");
    this.finish(job);
  }

  private finish(job: Job): void {
    if (job.timer !== undefined) this.#o.timers.clear(job.timer);
    job.timer = undefined;
    job.step = undefined;
    this.#job = undefined;
    this.#editor.clear();
    this.output.write(this.prompt());
  }

  private prompt(): string {
    return `${this.#o.name}${this.session.engineer !== undefined ? "#" : ">"} `;
  }

  /** Runs a command's code: what it throws ends the command with "internal error". */
  private guard(job: Job, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.internalError(e);
      if (this.#job === job) job.ctx.fail(`internal error (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  /** Every callback of the console's own: counted, and nothing escapes the turn. */
  #turn(fn: () => void): void {
    this.counters.turns++;
    try {
      fn();
    } catch (e) {
      this.internalError(e);
    }
  }

  private internalError(e: unknown): void {
    // A power loss in the simulation unwinds through here: it is not an error of ours.
    if (e instanceof Error && e.name === "PowerLossError") throw e;
    this.counters.internalErrors++;
    this.lastInternalError = e;
  }
}

class Ctx implements CommandContext {
  readonly #console: Console;
  readonly name: string;
  readonly args: readonly string[];
  readonly rest: string;
  readonly engineer: string | undefined;

  constructor(console: Console, name: string, args: readonly string[], rest: string, engineer: string | undefined) {
    this.#console = console;
    this.name = name;
    this.args = args;
    this.rest = rest;
    this.engineer = engineer;
  }

  get active(): boolean {
    return this.#console.isActive(this);
  }

  get room(): number {
    return this.#console.output.room;
  }

  print(line: string): void {
    this.#console.print(this, line);
  }

  fail(message: string): void {
    this.#console.fail(this, message);
  }

  later(timeoutMs: number, onCancel?: () => void): void {
    this.#console.later(this, timeoutMs, onCancel);
  }

  slices(step: () => boolean, onCancel?: () => void): void {
    this.#console.slices(this, step, onCancel);
  }

  end(): void {
    this.#console.end(this);
  }
}
