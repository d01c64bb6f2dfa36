/**
 * An RS485 bus as a module path (firmware/poll/module-access.ts) for IEC and DLMS devices alike:
 * transactions to a "dlms:" address become DLMS associations (firmware/dlms/client) on the same bus
 * master, everything else goes to the bus master as it is. The poller, discovery, latches, clocks and
 * logs keep asking in the terms of the local module register map (docs/d0.md); this path answers in
 * them:
 *
 *   readout               → a read of the meter (identity, clock, disconnect control, registers, and
 *                           the profile and logs since their marks), as the data sets of d0-view.ts
 *   W1 0-0:96.3.10 + R1   → the disconnect control driven to the latch's state and mode (control.ts),
 *                           read back as 0-0:96.3.10
 *   R1 0-0:96.3.10        → output_state
 *   W1 0-0:1.0.0 + R1     → the clock set (IC 8) and read back as 0-0:1.0.0
 *   R3 P.98               → nothing: the meter's COSEM event logs come with its reads
 *
 * What a read brings besides (profile entries, log entries, the disconnect state, failures) goes to
 * the `Observer` before the readout is delivered, so the latch sees a consumer's own reconnection
 * before it sees the relay closed.
 */
import type { Timers } from "../../../hal/clock.js";
import { characterTimeMs } from "../../../hal/serial.js";
import type { BusHandle, BusMaster } from "../../bus/bus-master.js";
import { CLOCK_ADDRESS, EVENT_LOG_ADDRESS, RELAY_ADDRESS } from "../../bus/local-module.js";
import { withOverrides, type CommandResult, type ExchangeTransaction, type Failure, type FrameResult, type ReadoutResult, type SessionResult, type SessionTransaction, type Timing, type Transaction } from "../../bus/types.js";
import type { ExchangePort } from "../../bus/exchange.js";
import { DataValue, type DataSet } from "../../d0/data-set.js";
import type { ModulePath } from "../../poll/module-access.js";
import type { DisconnectState } from "../cosem/classes.js";
import { ReadScript, SequenceScript, type MeterRead, type ReadPlan } from "../client/scripts.js";
import { DlmsSession, type SessionDeps } from "../client/session.js";
import type { Endpoint, Script } from "../client/types.js";
import { Attr, ClassId } from "../cosem/classes.js";
import { Obis } from "../cosem/obis.js";
import { isDlmsAddress, parseDlmsAddress } from "./config.js";
import { ClockScript, DisconnectScript, type DisconnectTarget } from "./control.js";
import { identificationOf, readoutOf } from "./d0-view.js";
import { booleanOf } from "../axdr/data.js";
import { frozen } from "../../model/frozen.js";
import { utcStamp } from "../../model/utc-stamp.js";

/** A DLMS association on RS485: a meter answers within ~0.5 s; silence inside a frame of 20 characters ends it. */
const DLMS_TIMING: Partial<Timing> = frozen({ firstCharTimeoutMs: 1500, interCharTimeoutMs: 200, retries: 2 });
/** Frame retransmissions inside one association (the bus master then retries the whole association). */
const FRAME_RETRIES = 2;

/** What the path needs to know of the meters and tells about them (integration.ts). */
export interface DlmsPathContext {
  /** How to reach the meter at `address` on this bus, and the counters and statistics of its sessions; undefined: unknown. */
  session(bus: number, address: string): { endpoint: Endpoint; deps: Omit<SessionDeps, "frameRetries"> } | undefined;
  /** What a read asks for (registers, ranges since the marks); `probe`: discovery's, the identity only. */
  plan(bus: number, address: string, probe: boolean): ReadPlan;
  /** The state and mode the latch wants of the meter's disconnect control. */
  disconnectTarget(bus: number, address: string, connected: boolean): DisconnectTarget;
  /** The meter's deviation, minutes (from its last read). */
  deviation(bus: number, address: string): number;
  /** A read succeeded: called before the readout goes to the poller … */
  read(bus: number, address: string, read: MeterRead): void;
  /** … and after it (the topology knows the meter by then). */
  delivered(bus: number, address: string, read: MeterRead): void;
  /** The disconnect control was driven (or read) to this state. */
  disconnect(bus: number, address: string, state: DisconnectState): void;
  failed(bus: number, address: string, failure: Failure): void;
}

export class DlmsPath implements ModulePath {
  readonly #bus: BusMaster;
  readonly #index: number;
  readonly #timers: Timers;
  readonly #c: DlmsPathContext;

  constructor(bus: BusMaster, index: number, timers: Timers, context: DlmsPathContext) {
    this.#bus = bus;
    this.#index = index;
    this.#timers = timers;
    this.#c = context;
  }

  enqueue(tx: Transaction): BusHandle {
    if (!isDlmsAddress(tx.address)) return this.#bus.enqueue(tx);
    if (!parseDlmsAddress(tx.address)) {
      const failure = { ok: false as const, failure: { code: "closed" as const, detail: "unknown DLMS address" }, attempts: 0 };
      return this.later(() => (tx.kind === "readout" ? tx.onDone(failure) : tx.onDone(failure)));
    }
    if (tx.kind === "readout") return this.#read(tx);
    return this.command(tx);
  }

  /**
   * Runs one association with `job`'s script (as the meter's own client, or `endpoint`); the job's
   * `done` gets its value or failure. The session's endpoint and dependencies are made when the
   * association starts, not when it is queued: a waiting association is one DlmsExchange and its job
   * (docs/memory.md).
   */
  run<T>(address: string, priority: number, timing: Partial<Timing> | undefined, job: DlmsJob<T>, endpoint?: Endpoint): BusHandle {
    if (!parseDlmsAddress(address)) return this.later(() => job.done({ ok: false, failure: { code: "closed", detail: "unknown DLMS address" }, attempts: 0 }));
    return this.#bus.enqueueExchange<T>(new DlmsExchange(this.#index, this.#c, address, priority, timing, job, endpoint));
  }

  #read(tx: Extract<Transaction, { kind: "readout" }>): BusHandle {
    return this.run(tx.address, tx.priority ?? 0, tx.timing, new ReadJob(this.#index, this.#c, tx));
  }

  /** Programming commands of the module register map, in DLMS (see the file's comment). */
  private command(tx: SessionTransaction): BusHandle {
    const [first, second] = tx.commands;
    const address = tx.address;
    const done = (results: CommandResult[], attempts: number) => tx.onDone({ ok: true, identification: identificationOf(address), operand: "", results, attempts });
    const fail = (r: { failure: Failure; attempts: number }) => tx.onDone({ ok: false, failure: r.failure, attempts: r.attempts } as SessionResult);
    const relay = (s: DisconnectState): DataSet[] => [set(RELAY_ADDRESS, s.outputState ? "1" : "0")];
    const at = first?.dataSet.address;
    if (first?.letter === "W" && at === RELAY_ADDRESS) {
      const want = this.#c.disconnectTarget(this.#index, address, first.dataSet.values[0]?.value === "1");
      return this.run(address, tx.priority ?? 0, tx.timing, {
        script: () => new DisconnectScript(want),
        done: (r) => {
          if (!r.ok) return fail(r);
          if (!r.value) return fail({ failure: { code: "malformed", detail: "disconnect control not read back" }, attempts: r.attempts });
          this.#c.disconnect(this.#index, address, r.value);
          done(second ? [{ ok: true, dataSets: [] }, { ok: true, dataSets: relay(r.value) }] : [{ ok: true, dataSets: [] }], r.attempts);
        },
      });
    }
    if (first?.letter === "R" && at === RELAY_ADDRESS) {
      const ref = { classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index: Attr.outputState };
      return this.run(address, tx.priority ?? 0, tx.timing, {
        script: () => new SequenceScript([{ kind: "get", refs: [ref] }]),
        done: (r) => {
          if (!r.ok) return fail(r);
          const got = r.value[0];
          const output = got?.kind === "get" && got.results[0]?.ok ? booleanOf(got.results[0].data) : undefined;
          done([output === undefined ? { ok: false, code: "error-message", text: "ERVAL" } : { ok: true, dataSets: [set(RELAY_ADDRESS, output ? "1" : "0")] }], r.attempts);
        },
      });
    }
    if (first?.letter === "W" && at === CLOCK_ADDRESS) {
      const v = first.dataSet.values[0]?.value ?? "";
      const t = /^([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})/.exec(v);
      const targetS = t ? Date.UTC(2000 + Number(t[1]), Number(t[2]) - 1, Number(t[3]), Number(t[4]), Number(t[5]), Number(t[6])) / 1000 : NaN;
      if (!Number.isFinite(targetS)) return this.later(() => done([{ ok: false, code: "error-message", text: "ERVAL" }], 0));
      return this.run(address, tx.priority ?? 0, tx.timing, {
        script: () => new ClockScript(targetS, this.#c.deviation(this.#index, address)),
        done: (r) => {
          if (!r.ok) return fail(r);
          const readBack = r.value === undefined ? [] : [set(CLOCK_ADDRESS, `${utcStamp(r.value, true)}W`)];
          done(second ? [{ ok: true, dataSets: [] }, { ok: true, dataSets: readBack }] : [{ ok: true, dataSets: [] }], r.attempts);
        },
      });
    }
    // The event log (P.98): a DLMS meter's logs come with its reads; anything else is not in the map.
    const results = tx.commands.map((c): CommandResult => (c.dataSet.address === EVENT_LOG_ADDRESS ? { ok: true, dataSets: [] } : { ok: false, code: "error-message", text: "ERADDR" }));
    return this.later(() => done(results, 0));
  }

  private later(fn: () => void): BusHandle {
    this.#timers.set(fn, 0);
    return { cancel: () => false };
  }
}

/** How an association ended: its script's value and the wire's figures, or the failure. */
export type DlmsOutcome<T> = { ok: true; value: T; attempts: number; responseMs: number; bytes: number; baud: number } | { ok: false; failure: Failure; attempts: number };

/** What an association is for: the script it runs (made anew for every attempt) and where its outcome goes. */
export interface DlmsJob<T> {
  script(): Script<T>;
  done(r: DlmsOutcome<T>): void;
}

/**
 * An association waiting for the bus or on it: its state in fields, its steps methods. (Closures made
 * per association, for the session and the outcome, held some 40 slots each while it waited.)
 */
class DlmsExchange<T> implements ExchangeTransaction<T> {
  readonly address: string;
  readonly priority: number;
  readonly timing: Partial<Timing>;
  readonly #bus: number;
  readonly #c: DlmsPathContext;
  readonly #job: DlmsJob<T>;
  readonly #endpoint: Endpoint | undefined;
  #session: DlmsSession<T> | undefined;

  constructor(bus: number, context: DlmsPathContext, address: string, priority: number, timing: Partial<Timing> | undefined, job: DlmsJob<T>, endpoint: Endpoint | undefined) {
    this.address = address;
    this.priority = priority;
    this.timing = withOverrides(DLMS_TIMING, timing);
    this.#bus = bus;
    this.#c = context;
    this.#job = job;
    this.#endpoint = endpoint;
  }

  get kind(): "exchange" {
    return "exchange";
  }

  create(port: ExchangePort): DlmsSession<T> {
    const target = this.#c.session(this.#bus, this.address)!;
    const probe = this.timing.retries === 0;
    const job = this.#job;
    return (this.#session = new DlmsSession(port, this.#endpoint ?? target.endpoint, { ...target.deps, frameRetries: probe ? 0 : FRAME_RETRIES }, () => job.script()));
  }

  onDone(r: FrameResult<T>): void {
    if (!r.ok) {
      this.#c.failed(this.#bus, this.address, r.failure);
      return this.#job.done(r);
    }
    const session = this.#session;
    this.#job.done({ ...r, bytes: session?.attemptBytes ?? 0, baud: session?.endpoint.baud ?? 0 });
  }
}

/** A read of a meter for a readout transaction: planned when the association starts, once (a retry reads the same). */
class ReadJob implements DlmsJob<MeterRead> {
  readonly #bus: number;
  readonly #c: DlmsPathContext;
  readonly #tx: Extract<Transaction, { kind: "readout" }>;
  #plan: ReadPlan | undefined;

  constructor(bus: number, context: DlmsPathContext, tx: Extract<Transaction, { kind: "readout" }>) {
    this.#bus = bus;
    this.#c = context;
    this.#tx = tx;
  }

  script(): ReadScript {
    return new ReadScript((this.#plan ??= this.#c.plan(this.#bus, this.#tx.address, this.#tx.timing?.retries === 0)));
  }

  done(r: DlmsOutcome<MeterRead>): void {
    const tx = this.#tx;
    if (!r.ok) return tx.onDone(r);
    this.#c.read(this.#bus, tx.address, r.value);
    const baud = r.baud;
    const wire = { sentBytes: 0, receivedBytes: r.bytes, baud, reactionMs: 0, lowerBoundMs: r.bytes * characterTimeMs(baud) };
    const result: ReadoutResult = { ok: true, readout: readoutOf(r.value, tx.address), attempts: r.attempts, responseMs: r.responseMs, wire };
    tx.onDone(result);
    this.#c.delivered(this.#bus, tx.address, r.value);
  }
}

function set(address: string, value: string): DataSet {
  return { address, values: [new DataValue(value)], offset: 0 };
}
