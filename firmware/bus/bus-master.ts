/**
 * The RS485 bus master: one transaction at a time on one bus, from a queue ordered by priority.
 *
 * - Transactions (types.ts) complete through their `onDone` callback, always in a later turn than
 *   `enqueue`, with a typed result or a typed failure. Nothing is a Promise: the simulation drives
 *   everything synchronously on the virtual clock.
 * - Timing is per transaction (defaults in types.ts): the first-character timeout runs from the end of
 *   our message, the inter-character timeout from the last byte received. A timer about to expire
 *   polls the UART first, since the ESP32 driver reports bytes only after 4 idle characters.
 * - A failed attempt (timeout, parity, BCC, structure, collision) is retried after the line has been
 *   silent for `resyncIdleChars` (the answer is over: no full timeout is waited), then after a backoff
 *   that doubles per retry.
 * - Direction control, echo rejection and baud switching are the line's (rs485-line.ts); a new
 *   transaction starts `turnaroundMs` after the previous one ended, so the last module to answer has
 *   released its driver.
 * - Statistics per module (by address, leading zeros ignored) and for the bus: bytes, errors,
 *   retries, timeouts, response times, and utilisation (wire time of every character sent and
 *   received over elapsed time).
 * - Frame transactions (`enqueueFrame`) carry another protocol, 8N1, on the same bus: a PLC or radio
 *   bridge's (firmware/bridge). They share the queue, timing, retries and statistics.
 */
import type { MonotonicClock, TimerId, Timers } from "../../hal/clock.js";
import type { Rs485Port } from "../../hal/index.js";
import { characterTimeMs } from "../../hal/serial.js";
import type { DataSet } from "../d0/data-set.js";
import { D0Decoder, type D0Listener, type D0Message } from "../d0/decoder.js";
import type { D0Error } from "../d0/errors.js";
import type { SerialFrame } from "../../hal/serial.js";
import type { Exchange, ExchangePort } from "./exchange.js";
import { createExchange } from "./exchanges.js";
import { FrameExchange } from "./frame-exchange.js";
import { TransactionQueue } from "./queue.js";
import { Rs485Line, type Rs485Listener } from "./rs485-line.js";
import { ModuleStatsTable } from "./module-stats.js";
import { DEFAULT_TIMING, type ExchangeTransaction, type Failure, type FrameTransaction, type ModuleStats, type Readout, type Timing, type Transaction, withOverrides } from "./types.js";

export interface BusMasterOptions {
  port: Rs485Port;
  clock: MonotonicClock;
  timers: Timers;
  /** Defaults for every transaction on this bus; a transaction's own `timing` overrides them. */
  timing?: Partial<Timing>;
  /** Quiet time between the end of one transaction and the next request, ms. Default 2. */
  turnaroundMs?: number;
  /** The error text with which modules refuse passwords while locked out (docs/d0.md). Default "ERLOCK". */
  lockoutText?: string;
}

type Phase = "idle" | "sending" | "await" | "receive" | "wait" | "hold" | "drain";

interface Job {
  tx: Transaction | FrameTransaction<unknown> | ExchangeTransaction<unknown>;
}

export interface BusHandle {
  /** Removes a queued transaction (its `onDone` gets "cancelled"); false when it has started or ended. */
  cancel(): boolean;
}

/**
 * The bus master is itself its exchanges' port, its line's listener and its decoder's listener (the
 * public methods under "port and listeners"): no callback object is made per transaction or per line
 * (docs/memory.md). Only the running exchange, the line and the decoder call those methods. Its own
 * steps are prototype methods (TypeScript `private`, not `#`): XS gives every instance a slot per `#` method.
 */
export class BusMaster implements ExchangePort, Rs485Listener, D0Listener {
  readonly #clock: MonotonicClock;
  readonly #timers: Timers;
  readonly #defaults: Timing;
  readonly #turnaroundMs: number;
  readonly #lockoutText: string;
  readonly #line: Rs485Line;
  readonly #decoder: D0Decoder;
  readonly #queue = new TransactionQueue<Job>();
  readonly #stats = new ModuleStatsTable();
  /** The running job's row in `#stats`, found when it starts (rows are never removed). */
  #statsRow = 0;
  readonly #since: number;
  #closed = false;

  // The running transaction.
  #job: Job | undefined;
  #exchange: Exchange | undefined;
  #timing: Timing = DEFAULT_TIMING;
  #phase: Phase = "idle";
  #attempts = 0;
  /** The line's byte counters when the attempt started (two numbers, not an object made per attempt). */
  #sentAtStart = 0;
  #receivedAtStart = 0;
  #listenAt = 0;
  #lastRx = 0;
  #requestEnd = 0;
  /** End of a hold (an exchange deciphering): it fails the attempt if its work has not ended by then. */
  #holdUntil = 0;
  #failure: { failure: Failure; retry: boolean } | undefined;
  #watchdog: TimerId | undefined;
  #pending: DataSet[] = [];
  #startTimer: TimerId | undefined;
  /** What the exchange runs once the frame being sent has left the line, and whose frame it is. */
  #sentThen: (() => void) | undefined;
  #sendJob: Job | undefined;

  constructor(options: BusMasterOptions) {
    this.#clock = options.clock;
    this.#timers = options.timers;
    this.#defaults = withOverrides(DEFAULT_TIMING, options.timing);
    this.#turnaroundMs = options.turnaroundMs ?? 2;
    this.#lockoutText = options.lockoutText ?? "ERLOCK";
    this.#since = options.clock.now();
    this.#line = new Rs485Line({ port: options.port, timers: options.timers }, this);
    this.#decoder = new D0Decoder(this);
  }

  /** Queues a transaction. It starts in a later turn; its `onDone` runs exactly once. */
  enqueue(tx: Transaction): BusHandle {
    return this.queueJob(tx);
  }

  /** Queues a frame transaction (another protocol on this bus, types.ts). Same contract as `enqueue`. */
  enqueueFrame<T>(tx: FrameTransaction<T>): BusHandle {
    return this.queueJob(tx as FrameTransaction<unknown>);
  }

  /** Queues a transaction that brings its own exchange (types.ts ExchangeTransaction). Same contract as `enqueue`. */
  enqueueExchange<T>(tx: ExchangeTransaction<T>): BusHandle {
    return this.queueJob(tx as ExchangeTransaction<unknown>);
  }

  private queueJob(tx: Job["tx"]): BusHandle {
    if (this.#closed) throw new Error("closed");
    const job: Job = { tx };
    this.#queue.push(job);
    this.schedule(0);
    return {
      cancel: () => {
        if (!this.#queue.remove(job)) return false;
        this.#timers.set(() => this.deliver(job.tx, { ok: false, failure: { code: "cancelled" }, attempts: 0 }), 0);
        return true;
      },
    };
  }

  /** Transactions waiting (not counting the running one). */
  get queued(): number {
    return this.#queue.length;
  }

  get busy(): boolean {
    return this.#job !== undefined;
  }

  /** Statistics of one module, by request address (leading zeros ignored). */
  moduleStats(address: string): Readonly<ModuleStats> | undefined {
    return this.#stats.of(address);
  }

  /** Wire time of every character sent and received, over the time since construction (0..1). */
  get utilisation(): number {
    const elapsed = this.#clock.now() - this.#since;
    return elapsed > 0 ? this.#line.counters.wireMs / elapsed : 0;
  }

  get lineCounters(): Readonly<Rs485Line["counters"]> {
    return this.#line.counters;
  }

  /** Stops: the running and queued transactions fail with "closed"; the port is released. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.clearWatchdog();
    if (this.#startTimer !== undefined) this.#timers.clear(this.#startTimer);
    const queued = this.#queue.takeAll();
    const jobs = this.#job ? [this.#job, ...queued] : queued;
    this.#job = undefined;
    this.#exchange = undefined;
    this.#phase = "idle";
    this.#line.close();
    for (const j of jobs) this.#timers.set(() => this.deliver(j.tx, { ok: false, failure: { code: "closed" }, attempts: this.#attempts }), 0);
  }

  // ---- scheduling ----

  private schedule(delayMs: number): void {
    if (this.#job || this.#startTimer !== undefined || this.#closed) return;
    this.#startTimer = this.#timers.set(() => {
      this.#startTimer = undefined;
      this.next();
    }, delayMs);
  }

  private next(): void {
    const job = this.#queue.shift();
    if (!job || this.#closed) return;
    this.#job = job;
    this.#timing = withOverrides(this.#defaults, job.tx.timing);
    this.#attempts = 0;
    this.#statsRow = this.#stats.row(job.tx.address);
    this.#stats.add(this.#statsRow, "transactions");
    const port: ExchangePort = this;
    const tx = job.tx;
    this.#exchange = tx.kind === "frame" ? new FrameExchange(port, tx) : tx.kind === "exchange" ? tx.create(port) : createExchange(port, tx, this.#lockoutText);
    this.attempt();
  }

  private attempt(): void {
    this.#attempts++;
    if (this.#attempts > 1) this.#stats.add(this.#statsRow, "retries");
    this.#failure = undefined;
    this.#pending = [];
    this.#sentAtStart = this.#line.counters.bytesSent;
    this.#receivedAtStart = this.#line.counters.bytesReceived;
    this.#exchange!.start();
  }

  // ---- port and listeners ----

  /** The running transaction's timing (ExchangePort). */
  get timing(): Timing {
    return this.#timing;
  }

  resetDecoder(): void {
    this.#decoder.reset();
    this.#pending = [];
  }

  send(bytes: Uint8Array, baud: number, then: () => void, frame?: SerialFrame): void {
    this.clearWatchdog();
    this.#phase = "sending";
    this.#line.setBaud(baud, frame);
    this.#stats.add(this.#statsRow, "bytesSent", bytes.length);
    this.#sentThen = then;
    this.#sendJob = this.#job;
    this.#line.send(bytes);
  }

  /** The line sent the running exchange's frame (Rs485Listener). */
  onSent(echoOk: boolean): void {
    const then = this.#sentThen!;
    const job = this.#sendJob;
    this.#sentThen = undefined;
    this.#sendJob = undefined;
    if (this.#job !== job || this.#phase !== "sending") return;
    this.#requestEnd = this.#clock.now();
    // An exchange that resends its own frames on a time-out (DLMS) lets the garbled one go unanswered.
    if (!echoOk && !this.#exchange?.timeout) this.fail({ code: "collision" }, true);
    else then();
  }

  listen(baud?: number): void {
    if (baud !== undefined) this.#line.setBaud(baud, this.#line.frame);
    this.#phase = "await";
    this.#listenAt = this.#clock.now();
    this.armWatchdog();
  }

  wait(ms: number, fn: () => void): void {
    this.clearWatchdog();
    this.#phase = "wait";
    const job = this.#job;
    this.#timers.set(() => {
      if (this.#job === job && this.#phase === "wait") fn();
    }, ms);
  }

  hold(): void {
    this.#phase = "hold";
    this.#holdUntil = this.#clock.now() + this.#timing.firstCharTimeoutMs;
    this.armWatchdog();
  }

  /** A data set of the answer (D0Listener): kept until its block's verdict. */
  onDataSet(d: DataSet): void {
    this.#pending.push(d);
  }

  onError(e: D0Error): void {
    if (this.#phase === "drain" || this.#phase === "idle") return;
    this.#stats.add(this.#statsRow, "errors");
    this.#exchange?.error(e);
  }

  onMessage(m: D0Message): void {
    if (this.#phase === "drain" || this.#phase === "idle" || !this.#exchange) return;
    const sets = this.#pending;
    this.#pending = [];
    this.#exchange.message(m, sets);
  }

  /** Bytes heard on the line, not our echo (Rs485Listener). */
  onData(bytes: Uint8Array): void {
    this.#lastRx = this.#clock.now();
    if (this.#job) this.#stats.add(this.#statsRow, "bytesReceived", bytes.length);
    if (this.#phase === "await") this.#phase = "receive";
    if (this.#phase !== "receive" && this.#phase !== "wait" && this.#phase !== "hold") return;
    if (this.#exchange?.data) this.#exchange.data(bytes);
    else this.#decoder.push(bytes);
  }

  // ---- the line and the watchdog ----

  private deadline(): number {
    const idleMs = this.#timing.resyncIdleChars * characterTimeMs(this.#line.baud || 2400);
    switch (this.#phase) {
      case "await":
        return this.#listenAt + this.#timing.firstCharTimeoutMs;
      case "receive":
        return this.#lastRx + this.#timing.interCharTimeoutMs;
      case "drain":
        return Math.max(this.#lastRx, this.#requestEnd) + idleMs;
      case "hold":
        return this.#holdUntil;
      default:
        return Infinity;
    }
  }

  private armWatchdog(): void {
    this.clearWatchdog();
    const at = this.deadline();
    if (at === Infinity) return;
    this.#watchdog = this.#timers.set(() => this.onWatchdog(), Math.max(0, at - this.#clock.now()));
  }

  private clearWatchdog(): void {
    if (this.#watchdog !== undefined) this.#timers.clear(this.#watchdog);
    this.#watchdog = undefined;
  }

  private onWatchdog(): void {
    this.#watchdog = undefined;
    this.#line.poll();
    if (this.#clock.now() < this.deadline()) return this.armWatchdog();
    if (this.#phase === "drain") return this.recover();
    if (this.#phase === "hold") {
      this.#stats.add(this.#statsRow, "timeouts");
      return this.fail({ code: "timeout", detail: "the exchange's own work did not end" }, true);
    }
    if (this.#phase === "await" || this.#phase === "receive") {
      this.#stats.add(this.#statsRow, "timeouts");
      if (this.#exchange?.timeout?.()) return;
      this.fail({ code: "timeout", detail: this.#phase === "await" ? "first character" : "inter-character" }, true);
    }
  }

  // ---- outcomes ----

  /** The running exchange failed (the exchange, or the bus master's own time-outs, say so). */
  fail(failure: Failure, retry: boolean): void {
    if (!this.#job || this.#phase === "drain") return;
    this.#failure = { failure, retry };
    this.#phase = "drain";
    this.armWatchdog();
  }

  /** The line is quiet after a failed attempt: clean up, then retry or give up. */
  private recover(): void {
    const f = this.#failure!;
    const job = this.#job;
    this.#phase = "wait";
    this.#exchange!.abort(() => {
      if (this.#job !== job) return;
      if (f.retry && this.#attempts <= this.#timing.retries) {
        const backoff = this.#timing.backoffMs * 2 ** (this.#attempts - 1);
        this.#timers.set(() => {
          if (this.#job === job) this.attempt();
        }, backoff);
        return;
      }
      this.finish({ ok: false, failure: f.failure, attempts: this.#attempts });
    });
  }

  /** The running exchange ended with `result`. */
  succeed(result: unknown): void {
    const responseMs = this.#clock.now() - this.#requestEnd;
    this.#stats.response(this.#statsRow, responseMs);
    const kind = this.#job!.tx.kind;
    if (kind === "frame" || kind === "exchange") return this.finish({ ok: true, value: result, attempts: this.#attempts, responseMs });
    if (kind === "session") return this.finish({ ok: true, ...(result as object), attempts: this.#attempts });
    const sentBytes = this.#line.counters.bytesSent - this.#sentAtStart;
    const receivedBytes = this.#line.counters.bytesReceived - this.#receivedAtStart;
    const baud = this.#line.baud;
    const reactionMs = this.#exchange!.reactionMs;
    const wire = { sentBytes, receivedBytes, baud, reactionMs, lowerBoundMs: (sentBytes + receivedBytes) * characterTimeMs(baud) + reactionMs };
    this.finish({ ok: true, readout: result as Readout, attempts: this.#attempts, responseMs, wire });
  }

  private finish(result: { ok: boolean; [k: string]: unknown }): void {
    const job = this.#job!;
    this.#stats.add(this.#statsRow, result.ok ? "ok" : "failed");
    this.clearWatchdog();
    this.#job = undefined;
    this.#exchange = undefined;
    this.#phase = "idle";
    this.schedule(this.#turnaroundMs);
    this.deliver(job.tx, result);
  }

  private deliver(tx: Job["tx"], result: unknown): void {
    (tx.onDone as (r: unknown) => void)(result);
  }
}
