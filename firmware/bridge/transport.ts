/**
 * The concentrator's transport for the remote modules behind one PLC or radio bridge (docs/bridge.md).
 * It offers them with the bus master's typed transactions and results (`enqueue` of a readout or a
 * session, `BusHandle`, `ReadoutResult`, `SessionResult`), so the rest of the firmware treats local and
 * remote modules alike; and it runs the bus master's own exchanges (firmware/bus) through the bridge.
 *
 * - One transaction at a time (the bridge relays one step at a time), from a queue by priority.
 * - Each D0 message an exchange sends is one relay step: a RELAY frame to the bridge on the bus master
 *   of its bus, then FETCH polls until the outcome is there. The module's answer goes through a D0
 *   decoder to the exchange, exactly as on a bus. Messages that expect no answer (B0) are best effort.
 * - tr is kept by the bridge's remote node (it never talks to its module sooner than 200 ms after the
 *   module's last character), so an exchange's waits cost nothing here. The mode C option select must
 *   follow the identification within tt (1.5-2.2 s, STD §6.4.3.6), which no relay round trip can do:
 *   the sign-on step asks the remote node to send it, and the transport checks that it is the one the
 *   exchange sends next (docs/bridge.md §Remote node, sign-on).
 * - Routes: each module has a primary and possibly a backup route (the bridge's table). A route failure
 *   moves the rest of the transaction to the other route at once; a route that fails twice in a row is
 *   down and the module is served by its backup (a failover); a primary that is down is tried again
 *   every `probeAfterMs`, and the module goes back to it when it answers (a recovery).
 * - Rate and timing per route, from what is measured (route.ts): the rate steps with the frame success
 *   the bridge reports and with route failures; each relay's deadline and the polls come from the time
 *   it should take (link.ts) scaled by the route's measured slowness, within bounds.
 * - Attempts: a failed attempt (no route, the bridge failing, no answer, a bad answer) is aborted (B0 in a
 *   session) and retried after the timing's backoff, `retries` times.
 * - Discovery: `discover` reads the bridge's INFO and table; the modules found are the ones it serves.
 */
import type { MonotonicClock, TimerId, Timers } from "../../hal/clock.js";
import type { BusHandle, BusMaster } from "../bus/bus-master.js";
import type { Exchange, ExchangePort } from "../bus/exchange.js";
import { createExchange } from "../bus/exchanges.js";
import { TransactionQueue } from "../bus/queue.js";
import { DEFAULT_TIMING, type Failure, type ModuleStats, type Readout, type Timing, type Transaction, withOverrides } from "../bus/types.js";
import type { DataSet } from "../d0/data-set.js";
import { D0Decoder, type D0Listener, type D0Message } from "../d0/decoder.js";
import type { D0Error } from "../d0/errors.js";
import { encodeOptionSelect } from "../d0/encoder.js";
import { INITIAL_BAUD, MODE_D_BAUD, baudOf } from "../d0/modes.js";
import { BridgeClient, type Answer } from "./client.js";
import { expectedStepMs, stepLowerBoundMs, type StepShape } from "./link.js";
import type { BridgeInfo, RelayRequest, TableEntry } from "./messages.js";
import { Relay, type Outcome } from "./relay.js";
import { ModuleStatsTable } from "../bus/module-stats.js";
import { DEFAULT_ROUTE_POLICY, RouteTable, type RoutePolicy, type RouteStats } from "./route.js";

export interface RemoteModule {
  /** D0 device address. */
  readonly address: string;
  /** The remote node's medium address. */
  readonly node: number;
  readonly primary: readonly number[];
  readonly backup: readonly number[] | undefined;
}

export interface BridgeTransportOptions {
  /** The bus master of the bus the bridge is on. */
  bus: Pick<BusMaster, "enqueueFrame">;
  clock: MonotonicClock;
  timers: Timers;
  /** The bridge's bus address, 1..254. */
  address: number;
  /**
   * D0 timing on the far side, for every transaction (a transaction's own `timing` overrides it):
   * `firstCharTimeoutMs` is how long the remote node waits for the module's first character;
   * `retries` and `backoffMs` are per transaction as on the bus; `maxBaud` caps the session rate.
   */
  timing?: Partial<Timing>;
  policy?: Partial<RoutePolicy>;
  /** Priority of the bridge's frames on the bus (client.ts). Default 100. */
  framePriority?: number;
  /** Timing of the bridge's frames on the bus. Default client.ts FRAME_TIMING. */
  frameTiming?: Partial<Timing>;
  /** The error text with which modules refuse passwords while locked out (docs/d0.md). Default "ERLOCK". */
  lockoutText?: string;
  /** Bounds of a relay's deadline, ms. Defaults 5 s and 10 min (a relay longer than that is not worth a 15-minute cycle). */
  minDeadlineMs?: number;
  maxDeadlineMs?: number;
}

export interface BridgeCounters {
  transactions: number;
  ok: number;
  failed: number;
  /** Relay steps sent, and those that did not reach the module. */
  relays: number;
  routeFailures: number;
  /** FETCH requests. */
  polls: number;
  /** RELAYs answered "busy". */
  busy: number;
  /** Attempts failed by the bridge itself (no answer on the bus, relay lost, no outcome in time). */
  bridgeFailures: number;
  /** A primary route went down while the module has a backup; a primary came back up. */
  failovers: number;
  recoveries: number;
}

export interface DiscoveryResult {
  readonly info: BridgeInfo;
  readonly modules: readonly RemoteModule[];
}

/**
 * Columns of a module's row in the module table: its remote node, its routes' numbers in the route
 * table (NO_ROUTE: no backup), and the length of its last readout's answer, bytes (what the next one
 * is expected to be). Rows of numbers, not an object and Maps per module (docs/memory.md).
 */
const NODE = 0, PRIMARY = 1, BACKUP = 2, READOUT_BYTES = 3, MODULE_COLUMNS = 4;
const NO_ROUTE = 0xffffffff;

interface Job {
  readonly tx: Transaction;
}

/** The remote node's answer buffer (docs/bridge.md §Remote node): the largest answer a readout may have. */
const ANSWER_MAX = 4096;
/** First guess of a readout's answer, and of any other answer, bytes (a module readout is 300-900 characters, docs/d0.md). */
const READOUT_GUESS = 512;
const OTHER_GUESS = 64;
/** Deadline sizing: a readout may grow to twice the last one; other answers stay under 512 bytes (an R3 block of 4 entries is ~150). */
const OTHER_BOUND = 512;
/** The sign-on step carries a second exchange (option select, P0): about 1 s more on the segment at 300 Bd, plus a second first-character wait. */
const SIGN_ON_EXTRA_MS = 1000;
/** Polls come every expected/8 of a step, within these bounds, ms. */
const POLL_MIN_MS = 100;
const POLL_MAX_MS = 2000;
/** Extra time past a relay's deadline before the bridge's silence about it counts as its failure, ms. */
const GIVE_UP_MARGIN_MS = 2000;
/** Answer bytes given to the D0 decoder per turn: the ESP32 UART's receive threshold (hal/sim/uart.ts), what a bus delivers at once. */
const FEED_BYTES = 120;
/** Mode C rates, highest first (STD §6.3.14 item 13): RELAY carries the session's highest rate as one of them. */
const MODE_C_RATES = Object.freeze([19200, 9600, 4800, 2400, 1200, 600, 300]);

function key(address: string): string {
  return address.replace(/^0+/, "");
}

/**
 * The transport is itself its exchanges' port and its decoder's listener (the public methods under
 * "the exchange's port"): no callback object is made per transaction (docs/memory.md). Only the
 * running exchange and the decoder call those methods. Its own steps are prototype methods (TypeScript
 * `private`, not `#`): XS gives every instance a slot per `#` method.
 */
export class BridgeTransport implements ExchangePort, D0Listener {
  readonly counters: BridgeCounters = { transactions: 0, ok: 0, failed: 0, relays: 0, routeFailures: 0, polls: 0, busy: 0, bridgeFailures: 0, failovers: 0, recoveries: 0 };
  readonly #clock: MonotonicClock;
  readonly #timers: Timers;
  readonly #client: BridgeClient;
  readonly #defaults: Timing;
  readonly #policy: RoutePolicy;
  readonly #lockoutText: string;
  readonly #minDeadlineMs: number;
  readonly #maxDeadlineMs: number;
  readonly #queue = new TransactionQueue<Job>();
  /** The modules of the bridge's table: their addresses as it gives them, the same without leading zeros (the key), and a row of numbers each. */
  #addresses: string[] = [];
  #keys: string[] = [];
  #rows = new Uint32Array(0);
  #routes: RouteTable | undefined;
  /** Statistics by module address, kept across discoveries. */
  readonly #stats = new ModuleStatsTable();
  readonly #decoder: D0Decoder;
  #info: BridgeInfo | undefined;
  #closed = false;
  #startTimer: TimerId | undefined;

  // The running transaction. `#gen` changes whenever an attempt ends: callbacks of an older one are stale.
  #gen = 0;
  #job: Job | undefined;
  /**
   * The running transaction's module: its row in the module table it started with (a discovery while
   * it runs makes new tables; it finishes on those it had), and its row in the statistics.
   */
  #module = -1;
  #txRows = this.#rows;
  #txRoutes: RouteTable | undefined;
  #statsRow = -1;
  #exchange: Exchange | undefined;
  #timing: Timing = DEFAULT_TIMING;
  #attempts = 0;
  #failing = false;
  /** The route of the attempt (its number in the route table). */
  #route = -1;
  /** The route that failed in this transaction (-1: none): the rest of it goes by the other. */
  #avoid = -1;
  #stepsInAttempt = 0;
  /** Calls to the exchange port: an answer that moves nothing is incomplete. */
  #moves = 0;
  /** While an exchange's `then` runs: what it asked for. */
  #probe: { listen: number | undefined; deferred: Array<() => void> } | undefined;
  /** The option select the remote node sent at sign-on, and the answer to it. */
  #signOn: { select: Uint8Array; baud: number; rest: Uint8Array } | undefined;
  #baud = MODE_D_BAUD;
  #pending: DataSet[] = [];
  #cost = { sent: 0, received: 0, lowerBoundMs: 0, answered: 0, responseMs: 0 };
  /** The relay step in flight. */
  #relay: Relay | undefined;

  constructor(options: BridgeTransportOptions) {
    this.#clock = options.clock;
    this.#timers = options.timers;
    this.#client = new BridgeClient({ bus: options.bus, address: options.address, priority: options.framePriority, timing: options.frameTiming });
    this.#defaults = withOverrides(DEFAULT_TIMING, options.timing);
    this.#policy = withOverrides(DEFAULT_ROUTE_POLICY, options.policy);
    this.#lockoutText = options.lockoutText ?? "ERLOCK";
    this.#minDeadlineMs = options.minDeadlineMs ?? 5_000;
    this.#maxDeadlineMs = options.maxDeadlineMs ?? 600_000;
    this.#decoder = new D0Decoder(this);
  }

  /** The bridge's bus address. */
  get address(): number {
    return this.#client.address;
  }

  /** What the bridge said of itself at the last discovery. */
  get info(): BridgeInfo | undefined {
    return this.#info;
  }

  /** D0 addresses of the modules this transport serves (the bridge's table at the last discovery). */
  get addresses(): string[] {
    return this.#addresses.slice();
  }

  /**
   * Reads the bridge's INFO and its table; the modules listed become the ones this transport serves
   * (a module whose routes did not change keeps what was measured on them). `done` runs once, in a later turn.
   */
  discover(done: (r: Answer<DiscoveryResult>) => void): void {
    this.#client.info((a) => {
      if (!a.ok) return done(a);
      const info = a.value;
      const entries: TableEntry[] = [];
      const next = (index: number) => {
        if (index >= info.entries) return done({ ok: true, value: this.adopt(info, entries) });
        this.#client.entry(index, (e) => {
          if (!e.ok) return done(e);
          if (!e.value) return done({ ok: true, value: this.adopt(info, entries) });
          entries.push(e.value);
          next(index + 1);
        });
      };
      next(0);
    });
  }

  /** Queues a transaction for a remote module. It starts in a later turn; its `onDone` runs exactly once. */
  enqueue(tx: Transaction): BusHandle {
    if (this.#closed) throw new Error("closed");
    const job: Job = { tx };
    this.#queue.push(job);
    this.schedule();
    return {
      cancel: () => {
        if (!this.#queue.remove(job)) return false;
        this.#timers.set(() => this.deliver(job.tx, { ok: false, failure: { code: "cancelled" }, attempts: 0 }), 0);
        return true;
      },
    };
  }

  /** Statistics of one remote module, as the bus master keeps them for local ones. */
  moduleStats(address: string): Readonly<ModuleStats> | undefined {
    return this.find(address) < 0 ? undefined : this.#stats.of(address);
  }

  /** The module's routes, primary first, and what was measured on them. */
  routeStats(address: string): RouteStats[] | undefined {
    const m = this.find(address);
    if (m < 0) return undefined;
    const routes = this.#routes!, backup = this.#rows[m * MODULE_COLUMNS + BACKUP]!;
    const primary = routes.stats(this.#rows[m * MODULE_COLUMNS + PRIMARY]!);
    return backup === NO_ROUTE ? [primary] : [primary, routes.stats(backup)];
  }

  /** The row of the module with `address` (leading zeros ignored), -1 when the bridge's table has none. */
  private find(address: string): number {
    return this.#keys.indexOf(key(address));
  }

  /** Stops: the running and queued transactions fail with "closed". */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gen++;
    this.#relay?.cancel();
    if (this.#startTimer !== undefined) this.#timers.clear(this.#startTimer);
    const queued = this.#queue.takeAll();
    const jobs = this.#job ? [this.#job, ...queued] : queued;
    const attempts = this.#attempts;
    this.#job = undefined;
    this.#exchange = undefined;
    for (const j of jobs) this.#timers.set(() => this.deliver(j.tx, { ok: false, failure: { code: "closed" }, attempts }), 0);
  }

  // ---- discovery ----

  private adopt(info: BridgeInfo, entries: readonly TableEntry[]): DiscoveryResult {
    const sameRates = this.#info !== undefined && this.#info.ratesBps.join() === info.ratesBps.join();
    this.#info = info;
    const oldKeys = this.#keys, oldRows = this.#rows, oldRoutes = this.#routes;
    const routes = new RouteTable(info.ratesBps, this.#policy, entries.reduce((n, t) => n + (t.backup ? 2 : 1), 0));
    const rows = new Uint32Array(entries.length * MODULE_COLUMNS);
    // A route the table kept (same node, same path, same rates) keeps what was measured on it.
    const route = (role: "primary" | "backup", path: readonly number[], before: number) =>
      sameRates && oldRoutes && before !== NO_ROUTE && oldRoutes.hasPath(before, path) ? routes.addCopy(oldRoutes, before) : routes.add(role, path);
    const modules: RemoteModule[] = [];
    const keys: string[] = [];
    const addresses: string[] = [];
    for (const t of entries) {
      const k = key(t.address);
      // A module listed twice is the last of its entries (the bridge's table is by address).
      const again = keys.indexOf(k);
      const m = again >= 0 ? again : keys.push(k) - 1;
      const prev = oldKeys.indexOf(k) * MODULE_COLUMNS;
      const same = prev >= 0 && oldRows[prev + NODE] === t.node;
      const at = m * MODULE_COLUMNS;
      rows[at + NODE] = t.node;
      rows[at + PRIMARY] = route("primary", t.primary, same ? oldRows[prev + PRIMARY]! : NO_ROUTE);
      rows[at + BACKUP] = t.backup ? route("backup", t.backup, same ? oldRows[prev + BACKUP]! : NO_ROUTE) : NO_ROUTE;
      rows[at + READOUT_BYTES] = prev >= 0 ? oldRows[prev + READOUT_BYTES]! : READOUT_GUESS;
      addresses[m] = t.address;
      modules.push({ address: t.address, node: t.node, primary: t.primary, backup: t.backup });
    }
    this.#addresses = addresses;
    this.#keys = keys;
    this.#rows = rows;
    this.#routes = routes;
    return { info, modules };
  }

  // ---- scheduling ----

  private schedule(): void {
    if (this.#job || this.#startTimer !== undefined || this.#closed) return;
    this.#startTimer = this.#timers.set(() => {
      this.#startTimer = undefined;
      this.next();
    }, 0);
  }

  private next(): void {
    const job = this.#queue.shift();
    if (!job || this.#closed) return;
    this.counters.transactions++;
    const module = this.find(job.tx.address);
    if (module < 0) {
      this.counters.failed++;
      this.schedule();
      return this.deliver(job.tx, { ok: false, failure: { code: "unreachable", detail: "not in the bridge's table" }, attempts: 0 });
    }
    this.#job = job;
    this.#module = module;
    this.#txRows = this.#rows;
    this.#txRoutes = this.#routes;
    this.#statsRow = this.#stats.row(job.tx.address);
    this.#timing = withOverrides(this.#defaults, job.tx.timing);
    this.#attempts = 0;
    this.#avoid = -1;
    this.#stats.add(this.#statsRow, "transactions");
    this.#exchange = createExchange(this, job.tx, this.#lockoutText);
    this.attempt();
  }

  private attempt(): void {
    this.#gen++;
    this.#attempts++;
    if (this.#attempts > 1) this.#stats.add(this.#statsRow, "retries");
    this.#failing = false;
    this.#stepsInAttempt = 0;
    this.#signOn = undefined;
    this.#probe = undefined;
    this.#pending = [];
    this.#cost = { sent: 0, received: 0, lowerBoundMs: 0, answered: 0, responseMs: 0 };
    this.#route = this.chooseRoute();
    this.#exchange!.start();
  }

  private chooseRoute(): number {
    const at = this.#module * MODULE_COLUMNS, routes = this.#txRoutes!;
    const primary = this.#txRows[at + PRIMARY]!, backup = this.#txRows[at + BACKUP]!;
    if (backup === NO_ROUTE) return primary;
    if (this.#avoid >= 0) return this.#avoid === primary ? backup : primary;
    if (routes.up(primary) || this.#clock.now() - routes.lastTriedMs(primary) >= this.#policy.probeAfterMs) return primary;
    return routes.up(backup) || routes.lastTriedMs(backup) <= routes.lastTriedMs(primary) ? backup : primary;
  }

  // ---- the exchange's port ----

  /** The running transaction's timing (ExchangePort). */
  get timing(): Timing {
    return this.#timing;
  }

  resetDecoder(): void {
    this.#decoder.reset();
    this.#pending = [];
  }

  send(bytes: Uint8Array, baud: number, then: () => void): void {
    this.defer(() => this.sendStep(bytes, baud, then));
  }

  listen(baud?: number): void {
    if (this.#probe) this.#probe.listen = baud ?? this.#baud;
    else this.defer(() => this.step(new Uint8Array(0), this.#baud, baud ?? this.#baud, []));
  }

  wait(_ms: number, fn: () => void): void {
    this.defer(() => {
      const gen = this.#gen;
      this.#timers.set(() => gen === this.#gen && fn(), 0);
    });
  }

  fail(failure: Failure, retry: boolean): void {
    this.defer(() => this.failAttempt(failure, retry));
  }

  succeed(result: unknown): void {
    this.defer(() => this.succeedNow(result));
  }

  /** A data set of the answer (D0Listener): kept until its block's verdict. */
  onDataSet(d: DataSet): void {
    this.#pending.push(d);
  }

  onError(e: D0Error): void {
    if (!this.#exchange || this.#failing) return;
    this.#stats.add(this.#statsRow, "errors");
    this.#exchange.error(e);
  }

  onMessage(m: D0Message): void {
    if (!this.#exchange || this.#failing) return;
    const sets = this.#pending;
    this.#pending = [];
    this.#exchange.message(m, sets);
  }

  /** Runs `fn` now, or once the step being sent is over when it is asked for inside a send's `then`. */
  private defer(fn: () => void): void {
    this.#moves++;
    if (this.#probe) this.#probe.deferred.push(fn);
    else fn();
  }

  /** What `then` asks for: run it with the port collecting, not acting. */
  private probeThen(then: () => void): { listen: number | undefined; deferred: Array<() => void> } {
    const probe = { listen: undefined as number | undefined, deferred: [] as Array<() => void> };
    this.#probe = probe;
    try {
      then();
    } finally {
      this.#probe = undefined;
    }
    return probe;
  }

  private sendStep(bytes: Uint8Array, baud: number, then: () => void): void {
    const signOn = this.#signOn;
    this.#signOn = undefined;
    this.#baud = baud;
    if (signOn) {
      // The remote node sent the option select at sign-on: it must be the one the exchange sends now.
      const p = this.probeThen(then);
      if (baud !== INITIAL_BAUD || !sameBytes(bytes, signOn.select) || p.listen !== signOn.baud) {
        return this.failAttempt({ code: "malformed", detail: "option select differs from the remote node's" }, true);
      }
      this.#baud = p.listen;
      this.#cost.sent += bytes.length;
      for (const d of p.deferred) d();
      const gen = this.#gen;
      this.#timers.set(() => gen === this.#gen && this.feed(signOn.rest), 0);
      return;
    }
    const p = this.probeThen(then);
    this.step(bytes, baud, p.listen, p.deferred);
  }

  // ---- relay steps ----

  private step(send: Uint8Array, sendBaud: number, listenBaud: number | undefined, deferred: Array<() => void>): void {
    const info = this.#info!;
    const routes = this.#txRoutes!;
    const route = this.#route;
    const at = this.#module * MODULE_COLUMNS;
    const readoutBytes = this.#txRows[at + READOUT_BYTES]!;
    const t = this.#timing;
    const listening = listenBaud !== undefined;
    if (listening) this.#baud = listenBaud;
    const signOn = listening && this.#job!.tx.kind === "session" && this.#stepsInAttempt === 0;
    this.#stepsInAttempt++;
    const readout = this.#job!.tx.kind === "readout";
    const shape = (answerBytes: number): StepShape => ({ hops: routes.hops(route), rateBps: routes.rateBps(route), sendBytes: send.length, answerBytes: listening ? answerBytes : 0, sendBaud, listenBaud: listenBaud ?? sendBaud });
    const extraMs = signOn ? SIGN_ON_EXTRA_MS : 0;
    const expectedMs = expectedStepMs(info, shape(readout ? readoutBytes : OTHER_GUESS)) + extraMs;
    const boundMs = expectedStepMs(info, shape(readout ? Math.min(ANSWER_MAX, 2 * readoutBytes) : OTHER_BOUND)) + extraMs;
    const firstByteMs = listening ? t.firstCharTimeoutMs * (signOn ? 2 : 1) : 0;
    // Twice the time measured on this route (at least twice the model's): room for every frame to need a second try.
    const deadlineMs = clamp(boundMs * Math.max(2, 2 * routes.slowness(route)) + firstByteMs, this.#minDeadlineMs, this.#maxDeadlineMs);
    const now = this.#clock.now();
    const request: RelayRequest = {
      node: this.#txRows[at + NODE]!,
      rateIndex: routes.rateIndex(route),
      path: routes.path(route),
      listen: listening,
      signOn,
      sendBaud,
      listenBaud: listenBaud ?? sendBaud,
      maxBaud: MODE_C_RATES.find((b) => b <= t.maxBaud) ?? INITIAL_BAUD,
      firstByteMs: t.firstCharTimeoutMs,
      deadlineMs,
      d0: send,
    };
    routes.tried(route, now);
    this.#stats.add(this.#statsRow, "bytesSent", send.length);
    const plan = { request, firstPollMs: expectedMs * routes.slowness(route), pollEveryMs: clamp(expectedMs / 8, POLL_MIN_MS, POLL_MAX_MS), giveUpAt: now + deadlineMs + GIVE_UP_MARGIN_MS };
    this.#relay = new Relay({
      client: this.#client,
      clock: this.#clock,
      timers: this.#timers,
      counters: this.counters,
      plan,
      done: (r) => {
        this.#relay = undefined;
        if (r.kind === "bridge") {
          this.counters.bridgeFailures++;
          return listening ? this.failAttempt(r.failure, r.retry) : this.bestEffort(deferred);
        }
        if (r.kind === "no-route") return this.unreached(route, 0, 0, "no route", listening, deferred);
        const o = r.outcome;
        if (o.status === "route-failed" || o.status === "timeout") return this.unreached(route, o.frames, o.tries, o.status === "timeout" ? "relay deadline" : `hop ${o.hop}`, listening, deferred);
        this.reached(route, shape(r.answer.length), o, r.answer, now, listening, deferred);
      },
    });
  }

  /** The relay reached the module: charge the route, then the exchange has the answer. */
  private reached(route: number, shape: StepShape, o: Outcome, answer: Uint8Array, sentAt: number, listening: boolean, deferred: Array<() => void>): void {
    const expected = expectedStepMs(this.#info!, shape) + (o.signOnBaudChar ? SIGN_ON_EXTRA_MS : 0);
    // The bridge's own account of the relay's time: ours would include how late we polled.
    if (this.#txRoutes!.reached(route, o.frames, o.tries, o.elapsedMs / expected) && this.isPrimaryWithBackup(route)) this.counters.recoveries++;
    this.#stats.add(this.#statsRow, "bytesReceived", answer.length);
    this.#cost.sent += shape.sendBytes;
    this.#cost.received += answer.length;
    this.#cost.lowerBoundMs += stepLowerBoundMs(shape);
    const gen = this.#gen;
    for (const d of deferred) d();
    if (!listening || gen !== this.#gen) return;
    if (o.status === "no-answer") {
      this.#stats.add(this.#statsRow, "timeouts");
      return this.failAttempt({ code: "timeout", detail: "first character" }, true);
    }
    const responseMs = this.#clock.now() - sentAt;
    this.#stats.response(this.#statsRow, responseMs);
    this.#cost.responseMs = responseMs;
    this.#cost.answered++;
    if (this.#job!.tx.kind === "readout") this.#txRows[this.#module * MODULE_COLUMNS + READOUT_BYTES] = answer.length;
    const z = o.signOnBaudChar;
    if (!z) return this.feed(answer);
    this.#signOn = { select: encodeOptionSelect("0", z, "1"), baud: baudOf("C", z)!, rest: answer.subarray(o.split) };
    this.feed(answer.subarray(0, o.split));
  }

  /** The relay did not reach the module: the route is charged, and the rest of the transaction takes the other one. */
  private unreached(route: number, frames: number, tries: number, detail: string, listening: boolean, deferred: Array<() => void>): void {
    this.counters.routeFailures++;
    if (this.#txRoutes!.failed(route, frames, tries) && this.isPrimaryWithBackup(route)) this.counters.failovers++;
    this.#avoid = route;
    if (listening) this.failAttempt({ code: "unreachable", detail }, true);
    else this.bestEffort(deferred);
  }

  /** `route` is the running module's primary and the module has a backup: its going down or up is a failover or a recovery. */
  private isPrimaryWithBackup(route: number): boolean {
    const at = this.#module * MODULE_COLUMNS;
    return route === this.#txRows[at + PRIMARY] && this.#txRows[at + BACKUP] !== NO_ROUTE;
  }

  /** A message that expects no answer (B0) is best effort: whatever became of it, the exchange goes on. */
  private bestEffort(deferred: Array<() => void>): void {
    for (const d of deferred) d();
  }

  /**
   * An answer for the exchange, FEED_BYTES per turn as the UART delivers a module's answer on a bus, so
   * no answer makes a long turn however long it is. It must move the exchange on (send, wait, succeed
   * or fail), or it was incomplete.
   */
  private feed(answer: Uint8Array, from = 0, moves = this.#moves): void {
    const gen = this.#gen;
    const end = Math.min(answer.length, from + FEED_BYTES);
    this.#decoder.push(answer.subarray(from, end));
    if (gen !== this.#gen || this.#failing) return;
    if (end < answer.length) return void this.#timers.set(() => gen === this.#gen && this.feed(answer, end, moves), 0);
    if (this.#moves !== moves) return;
    this.#stats.add(this.#statsRow, "timeouts");
    this.failAttempt({ code: "timeout", detail: "answer incomplete" }, true);
  }

  // ---- outcomes ----

  private failAttempt(failure: Failure, retry: boolean): void {
    if (!this.#job || this.#failing) return;
    this.#failing = true;
    this.#gen++;
    this.#relay?.cancel();
    this.#relay = undefined;
    this.#signOn = undefined;
    if (this.#avoid >= 0) this.#route = this.chooseRoute();
    const gen = this.#gen;
    // An exchange that must leave the module in its initial state (B0) sends through the port; the
    // continuation runs once that message is over.
    this.#exchange!.abort(() =>
      this.defer(() => {
        if (gen !== this.#gen) return;
        if (retry && this.#attempts <= this.#timing.retries) {
          const backoff = this.#timing.backoffMs * 2 ** (this.#attempts - 1);
          this.#timers.set(() => gen === this.#gen && this.attempt(), backoff);
          return;
        }
        this.finish({ ok: false, failure, attempts: this.#attempts });
      }),
    );
  }

  private succeedNow(result: unknown): void {
    if (!this.#job || this.#failing) return;
    const tx = this.#job.tx;
    if (tx.kind === "session") return this.finish({ ok: true, ...(result as object), attempts: this.#attempts });
    const c = this.#cost;
    const reactionMs = this.#exchange!.reactionMs;
    const wire = { sentBytes: c.sent, receivedBytes: c.received, baud: MODE_D_BAUD, reactionMs, lowerBoundMs: c.lowerBoundMs + c.answered * reactionMs };
    this.finish({ ok: true, readout: result as Readout, attempts: this.#attempts, responseMs: c.responseMs, wire });
  }

  private finish(result: { ok: boolean; [k: string]: unknown }): void {
    const job = this.#job!;
    this.#stats.add(this.#statsRow, result.ok ? "ok" : "failed");
    if (result.ok) this.counters.ok++;
    else this.counters.failed++;
    this.#gen++;
    this.#relay?.cancel();
    this.#relay = undefined;
    this.#job = undefined;
    this.#module = -1;
    this.#txRoutes = undefined;
    this.#exchange = undefined;
    this.schedule();
    this.deliver(job.tx, result);
  }

  private deliver(tx: Transaction, result: unknown): void {
    (tx.onDone as (r: unknown) => void)(result);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
