/**
 * SMS in PDU mode with 8-bit data: the alarm path when GPRS is down, and the wake-up / command channel
 * from whitelisted numbers.
 *
 * Outgoing messages go through the four delivery states of the SMS exchange in the SMS-based metering system's product document
 * ("0:0 sending, 0:1 delivered to the mobile operator, 1:0 received, 1:1 processed"):
 *
 *   queued ──prompt, PDU written──▶ sent ──"+CMGS: <mr>"──▶ accepted ──status report, TP-ST 0x00-0x1F──▶ received
 *     ▲                              │                         │  ╲                                            │
 *     └──── CMS error / no answer ───┘ (attempt < max)         │   ╲──confirmation from the recipient──▶ processed ◀┘
 *                                    └─ attempts used up ─▶ failed("rejected")
 *   accepted ──TP-ST 0x40-0x7F──▶ failed("undeliverable");  accepted|received ──confirmTimeoutMs──▶ failed("unconfirmed")
 *
 * "processed" is the receiver's application-level confirmation: an SMS back from the recipient carrying
 * our application header with kind "confirmation" and the message's reference (app-header.ts). Status
 * reports are matched by TP-MR and recipient; a report may come after the confirmation (states never
 * go back, except sent → queued for a retry). A message sent again after a modem reset keeps its
 * reference, so a receiver can drop the duplicate.
 *
 * Incoming messages are read from SIM storage (+CMTI, AT+CMGR, then AT+CMGD; AT+CMGL=4 at every
 * start picks up what arrived while the modem was not listening). A message from a number not on the
 * whitelist is deleted and counted, nothing else. A whitelisted message asking for confirmation is
 * handed to `onMessage`; the owner calls `confirm` once it has processed it. Sender numbers are only as
 * trustworthy as the network: commands with consequences must also be authenticated in their payload.
 */
import type { TimerId, Timers } from "../../../hal/clock.js";
import { asciiBytes, hexDecode, hexEncode } from "../ascii.js";
import { UrcVerdict, type AtEngine } from "../at/engine.js";
import { atParams, intParam, type AtFailure } from "../at/response.js";
import { CMGL_TIMEOUT_MS, CMGS_PROMPT_TIMEOUT_MS, CMGS_TIMEOUT_MS, SMS_STORAGE_TIMEOUT_MS } from "../timing.js";
import { APP_HEADER_OCTETS, AppKind, appElement, findAppHeader } from "./app-header.js";
import {
  MAX_USER_DATA_OCTETS,
  decodePdu,
  deliveryOutcome,
  encodeSubmit,
  isValidNumber,
  type Alphabet,
  type DecodedPdu,
  type Deliver,
  type SmscTime,
  type StatusReport,
} from "./pdu.js";

export type SmsState = "queued" | "sent" | "accepted" | "received" | "processed" | "failed";
export type SmsFailure = "rejected" | "undeliverable" | "unconfirmed";

export interface OutgoingSms {
  /** The application reference (0..65535) carried in the message and in its confirmation. */
  readonly id: number;
  readonly to: string;
  readonly state: SmsState;
  /** TP-MR the modem gave the message (+CMGS), once accepted. */
  readonly messageRef: number | undefined;
  /** TP-ST of the last status report. */
  readonly deliveryStatus: number | undefined;
  readonly failure: SmsFailure | undefined;
  /** Submissions so far. */
  readonly attempts: number;
}

export interface IncomingSms {
  readonly from: string;
  readonly alphabet: Alphabet;
  /** Octets (8-bit, UCS-2) or septet values (GSM 7-bit), without the user data header. */
  readonly data: Uint8Array;
  /** The sender's reference when it asked for a processed confirmation; undefined otherwise. */
  readonly ref: number | undefined;
  readonly timestamp: SmscTime;
}

export interface SmsOptions {
  /** Numbers commands may come from, as the network presents them ("+40722000111"). */
  whitelist: readonly string[];
  /** A message from a whitelisted number. */
  onMessage?: (message: IncomingSms) => void;
  /** Every state change of an outgoing message. */
  onState?: (message: OutgoingSms) => void;
  /** Outgoing messages waiting for the modem. Default 8. */
  maxQueued?: number;
  /** Submissions of one message before it fails as "rejected". Default 3. */
  maxAttempts?: number;
  /** From acceptance by the service centre until the confirmation must have come, ms. Default 1 h. */
  confirmTimeoutMs?: number;
  /** Pause before a failed submission is tried again, ms. Default 10 s. */
  retryDelayMs?: number;
}

export interface SmsCounters {
  sent: number;
  accepted: number;
  received: number;
  processed: number;
  failed: number;
  submitRetries: number;
  incoming: number;
  rejectedSenders: number;
  duplicates: number;
  malformed: number;
  confirmationsSent: number;
  confirmationsDropped: number;
  handlerErrors: number;
}

/** Categories for a caller to branch on. */
export type SmsErrorCode = "too-long" | "bad-number" | "queue-full";

export class SmsError extends Error {
  readonly code: SmsErrorCode;
  constructor(code: SmsErrorCode) {
    super(code.replace("-", " "));
    this.name = "SmsError";
    this.code = code;
  }
}

/** Largest payload of one message with the application header, octets. */
export const MAX_SMS_PAYLOAD = MAX_USER_DATA_OCTETS - APP_HEADER_OCTETS;

/** 27.005 §3.2.5 +CMS errors that another attempt cannot fix: ME failure, SMS service reserved,
 * operation not allowed / not supported, invalid PDU or text parameter, SMSC address unknown. */
const PERMANENT_CMS = new Set([300, 301, 302, 303, 304, 305, 330]);
/** 27.005 §3.1: Ctrl-Z ends the PDU after the prompt. */
const CTRL_Z = "\x1a";
/** +CNMI=2,1,0,1,0 stores new messages (+CMTI) and routes status reports (+CDS) (27.005 §3.4.1). */
export const SMS_SETUP_COMMANDS = Object.freeze(["AT+CMGF=0", "AT+CNMI=2,1,0,1,0"] as const);
/** Messages remembered to recognise a repeated delivery (ours). */
const RECENT_INCOMING = 16;
/** Stored messages waiting to be read or deleted (a SIM holds a few dozen). */
const MAX_STORAGE_WORK = 64;
/**
 * Reads of one stored message before it is deleted as unreadable (ours). An answer cut short or
 * garbled on the line (a UART overrun, noise) is read again rather than lost.
 */
const MAX_STORAGE_READS = 3;
/** +CMS ERROR 321, invalid memory index (27.005 §3.2.5): nothing is stored there. */
const CMS_INVALID_INDEX = 321;

class Outgoing implements OutgoingSms {
  state: SmsState = "queued";
  messageRef: number | undefined;
  deliveryStatus: number | undefined;
  failure: SmsFailure | undefined;
  attempts = 0;
  timer: TimerId | undefined;
  constructor(
    readonly id: number,
    readonly to: string,
    readonly data: Uint8Array,
    readonly kind: AppKind,
    /** A confirmation we send: not reported, forgotten once accepted. */
    readonly internal: boolean,
  ) {}
}

interface StorageWork {
  readonly index: number;
  /** The PDU already listed by AT+CMGL; otherwise it is read with AT+CMGR. */
  pdu: string | undefined;
  /** Answers (listed or read) that gave no decodable PDU. */
  reads: number;
}

export class SmsChannel {
  readonly counters: SmsCounters = {
    sent: 0,
    accepted: 0,
    received: 0,
    processed: 0,
    failed: 0,
    submitRetries: 0,
    incoming: 0,
    rejectedSenders: 0,
    duplicates: 0,
    malformed: 0,
    confirmationsSent: 0,
    confirmationsDropped: 0,
    handlerErrors: 0,
  };
  readonly #engine: AtEngine;
  readonly #timers: Timers;
  readonly #whitelist: ReadonlySet<string>;
  readonly #onMessage: ((message: IncomingSms) => void) | undefined;
  readonly #onState: ((message: OutgoingSms) => void) | undefined;
  readonly #maxQueued: number;
  readonly #maxAttempts: number;
  readonly #confirmTimeoutMs: number;
  readonly #retryDelayMs: number;
  #nextRef: number;
  #ready = false;
  readonly #queue: Outgoing[] = [];
  /** Accepted messages waiting for a status report or a confirmation. */
  readonly #tracked: Outgoing[] = [];
  #submitting: Outgoing | undefined;
  #retryTimer: TimerId | undefined;
  readonly #storage: StorageWork[] = [];
  #storageBusy = false;
  readonly #recent: Array<{ key: string; confirmed: boolean }> = [];

  constructor(engine: AtEngine, timers: Timers, options: SmsOptions, firstRef: number) {
    for (const n of options.whitelist) if (!isValidNumber(n)) throw new RangeError("invalid whitelist number");
    this.#engine = engine;
    this.#timers = timers;
    this.#whitelist = new Set(options.whitelist.map(digitsOf));
    this.#onMessage = options.onMessage;
    this.#onState = options.onState;
    this.#maxQueued = options.maxQueued ?? 8;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#confirmTimeoutMs = options.confirmTimeoutMs ?? 3_600_000;
    this.#retryDelayMs = options.retryDelayMs ?? 10_000;
    this.#nextRef = firstRef & 0xffff;
  }

  /** Messages waiting to be submitted, and those submitted that wait for their report or confirmation. */
  get queued(): { waiting: number; tracked: number } {
    return { waiting: this.#queue.length, tracked: this.#tracked.length };
  }

  /** True while the modem can send and receive messages (registered, SMS configured). */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Queues `payload` (at most MAX_SMS_PAYLOAD octets) for `to` with a status report and, unless
   * `confirm` is false, a request for the receiver's processed confirmation. Throws SmsError.
   */
  send(to: string, payload: Uint8Array, options: { confirm?: boolean } = {}): OutgoingSms {
    if (!isValidNumber(to)) throw new SmsError("bad-number");
    if (payload.length > MAX_SMS_PAYLOAD) throw new SmsError("too-long");
    if (this.#queue.length >= this.#maxQueued) throw new SmsError("queue-full");
    const m = new Outgoing(this.takeRef(), to, payload.slice(), options.confirm === false ? AppKind.data : AppKind.dataConfirm, false);
    this.#queue.push(m);
    this.pump();
    return m;
  }

  /** Tells the sender of `message` that it has been processed (does nothing if it asked for no confirmation). */
  confirm(message: IncomingSms): void {
    if (message.ref === undefined) return;
    const key = `${digitsOf(message.from)}|${message.ref}`;
    const seen = this.#recent.find((r) => r.key === key);
    if (seen) seen.confirmed = true;
    this.queueConfirmation(message.from, message.ref);
  }

  // ---- from the modem manager ----

  up(): void {
    if (this.#ready) return;
    this.#ready = true;
    // Messages that arrived while nobody listened are still in storage (27.005 §3.4.2, <stat> 4 = all).
    this.#engine.send({
      text: "AT+CMGL=4",
      timeoutMs: CMGL_TIMEOUT_MS,
      info: this.listed(),
      done: () => this.workStorage(),
    });
    this.pump();
  }

  down(): void {
    this.#ready = false;
  }

  urc(line: string): UrcVerdict {
    if (line.startsWith("+CMTI:") || line.startsWith("+CDSI:")) {
      const index = intParam(atParams(line, line.slice(0, 6)), 1);
      if (index !== undefined) this.addStorageWork(index, undefined);
      this.workStorage();
      return UrcVerdict.Handled;
    }
    // Routed directly (+CNMI mt=2 / ds=1): the PDU is the next line (27.005 §3.4.1).
    if (line.startsWith("+CMT:") || line.startsWith("+CDS:")) return UrcVerdict.HandledWithBody;
    return UrcVerdict.NotUrc;
  }

  urcBody(line: string): void {
    const pdu = decodeHex(line);
    if (pdu) this.process(pdu);
    else this.counters.malformed++;
  }

  // ---- outgoing ----

  private takeRef(): number {
    const ref = this.#nextRef;
    this.#nextRef = (ref + 1) & 0xffff;
    return ref;
  }

  private queueConfirmation(to: string, ref: number): void {
    if (this.#queue.length >= this.#maxQueued) {
      this.counters.confirmationsDropped++; // the sender will repeat its message and be confirmed then
      return;
    }
    this.#queue.push(new Outgoing(ref, to, new Uint8Array(0), AppKind.confirmation, true));
    this.pump();
  }

  private pump(): void {
    if (!this.#ready || this.#submitting || this.#retryTimer !== undefined) return;
    const m = this.#queue[0];
    if (!m) return;
    this.#submitting = m;
    m.attempts++;
    const { pdu, tpduLength } = encodeSubmit({
      to: m.to,
      data: m.data,
      header: [appElement({ kind: m.kind, ref: m.id })],
      statusReport: !m.internal,
    });
    this.#engine.send({
      text: `AT+CMGS=${tpduLength}`,
      timeoutMs: CMGS_TIMEOUT_MS,
      promptTimeoutMs: CMGS_PROMPT_TIMEOUT_MS,
      payload: asciiBytes(hexEncode(pdu) + CTRL_Z),
      info: "+CMGS:",
      onPrompt: () => this.setState(m, "sent"),
      done: (r) => {
        this.#submitting = undefined;
        if (r.ok) this.#accepted(m, intParam(atParams(r.lines[0] ?? "", "+CMGS:"), 0));
        else this.submitFailed(m, r.failure);
        this.pump();
      },
    });
  }

  #accepted(m: Outgoing, messageRef: number | undefined): void {
    this.dequeue(m);
    m.messageRef = messageRef;
    if (m.internal) {
      this.counters.confirmationsSent++;
      return;
    }
    this.setState(m, "accepted");
    this.#tracked.push(m);
    m.timer = this.#timers.set(() => {
      m.timer = undefined;
      if (m.kind === AppKind.dataConfirm && (m.state === "accepted" || m.state === "received")) this.fail(m, "unconfirmed");
      else this.untrack(m);
    }, this.#confirmTimeoutMs);
  }

  private submitFailed(m: Outgoing, failure: AtFailure): void {
    const permanent = failure.code === "cms" && failure.value !== undefined && PERMANENT_CMS.has(failure.value);
    if (permanent || m.attempts >= this.#maxAttempts) {
      this.dequeue(m);
      if (!m.internal) this.fail(m, "rejected");
      return;
    }
    this.counters.submitRetries++;
    if (m.state !== "queued") this.setState(m, "queued");
    this.#retryTimer = this.#timers.set(() => {
      this.#retryTimer = undefined;
      this.pump();
    }, this.#retryDelayMs);
  }

  private dequeue(m: Outgoing): void {
    const i = this.#queue.indexOf(m);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  #statusReport(report: StatusReport): void {
    const to = digitsOf(report.recipient.text);
    const m = this.#tracked.find((t) => t.messageRef === report.messageRef && digitsOf(t.to) === to);
    if (!m) return;
    m.deliveryStatus = report.status;
    switch (deliveryOutcome(report.status)) {
      case "delivered":
        if (m.state !== "accepted") return;
        this.setState(m, "received");
        if (m.kind !== AppKind.dataConfirm) this.untrack(m);
        return;
      case "pending":
        return; // the service centre keeps trying
      case "failed":
        if (m.state === "accepted") this.fail(m, "undeliverable");
        return;
    }
  }

  #confirmation(from: string, ref: number): void {
    const m = this.#tracked.find((t) => t.id === ref && t.kind === AppKind.dataConfirm && digitsOf(t.to) === from);
    if (!m) return;
    this.setState(m, "processed");
    this.untrack(m);
  }

  private fail(m: Outgoing, failure: SmsFailure): void {
    m.failure = failure;
    this.setState(m, "failed");
    this.untrack(m);
  }

  private untrack(m: Outgoing): void {
    if (m.timer !== undefined) this.#timers.clear(m.timer);
    m.timer = undefined;
    const i = this.#tracked.indexOf(m);
    if (i >= 0) this.#tracked.splice(i, 1);
  }

  private setState(m: Outgoing, state: SmsState): void {
    m.state = state;
    const counter = COUNTER_OF[state];
    if (counter) this.counters[counter]++;
    if (m.internal || !this.#onState) return;
    const onState = this.#onState;
    this.call(() => onState(m));
  }

  // ---- incoming ----

  /** The information lines of AT+CMGL=4 in PDU mode: "+CMGL: <index>,<stat>,[<alpha>],<length>", then the
   * PDU line (27.005 §3.4.2); each pair becomes storage work. */
  private listed(): (line: string) => boolean {
    let index: number | undefined;
    let header = false;
    return (line) => {
      if (line.startsWith("+CMGL:")) {
        index = intParam(atParams(line, "+CMGL:"), 0);
        header = true;
        return true;
      }
      if (!header) return false;
      header = false;
      if (index !== undefined) this.addStorageWork(index, line);
      return true;
    };
  }

  private addStorageWork(index: number, pdu: string | undefined): void {
    const known = this.#storage.find((w) => w.index === index);
    if (known) {
      known.pdu ??= pdu;
      return;
    }
    if (this.#storage.length < MAX_STORAGE_WORK) this.#storage.push({ index, pdu, reads: 0 });
  }

  private workStorage(): void {
    if (this.#storageBusy || !this.#ready) return;
    const w = this.#storage[0];
    if (!w) return;
    this.#storageBusy = true;
    if (w.pdu !== undefined) return this.settle(w, true);
    let header = false;
    this.#engine.send({
      text: `AT+CMGR=${w.index}`,
      timeoutMs: SMS_STORAGE_TIMEOUT_MS,
      info: (line) => {
        if (line.startsWith("+CMGR:")) return (header = true);
        if (!header) return false;
        header = false;
        w.pdu = line;
        return true;
      },
      done: (r) => {
        if (!r.ok && (r.failure.code === "aborted" || r.failure.code === "closed")) {
          this.#storageBusy = false;
          return;
        }
        this.settle(w, r.ok || (r.failure.code === "cms" && r.failure.value === CMS_INVALID_INDEX));
      },
    });
  }

  /**
   * After an answer about stored message `w` (`answered`: the modem said OK, or that the slot is
   * empty): processes and deletes it. Without a PDU that decodes (the answer failed, came garbled, or
   * said nothing) it is read again, up to MAX_STORAGE_READS answers; then it is deleted, and counted as
   * malformed unless the last answer was a clean "nothing here".
   */
  private settle(w: StorageWork, answered: boolean): void {
    const hex = w.pdu;
    w.pdu = undefined;
    const pdu = hex === undefined ? undefined : decodeHex(hex);
    if (pdu) this.process(pdu);
    else if (++w.reads < MAX_STORAGE_READS) {
      this.#storageBusy = false;
      return this.workStorage();
    } else if (!(answered && hex === undefined)) this.counters.malformed++;
    this.#engine.send({
      text: `AT+CMGD=${w.index}`,
      timeoutMs: SMS_STORAGE_TIMEOUT_MS,
      done: (r) => {
        this.#storageBusy = false;
        // Kept if the modem went away before it was deleted: AT+CMGL finds it again.
        if (r.ok || (r.failure.code !== "aborted" && r.failure.code !== "closed")) this.#storage.splice(this.#storage.indexOf(w), 1);
        this.workStorage();
      },
    });
  }

  private process(pdu: DecodedPdu): void {
    if (pdu.type === "status-report") {
      this.#statusReport(pdu);
      return;
    }
    this.#incoming(pdu);
  }

  #incoming(pdu: Deliver): void {
    const from = pdu.from.kind === "alphanumeric" ? undefined : digitsOf(pdu.from.text);
    if (from === undefined || !this.#whitelist.has(from)) {
      this.counters.rejectedSenders++;
      return;
    }
    const app = findAppHeader(pdu.header);
    if (app === "malformed") {
      this.counters.malformed++;
      return;
    }
    if (app?.kind === AppKind.confirmation) {
      this.#confirmation(from, app.ref);
      return;
    }
    const ref = app?.kind === AppKind.dataConfirm ? app.ref : undefined;
    if (ref !== undefined) {
      const key = `${from}|${ref}`;
      const seen = this.#recent.find((r) => r.key === key);
      if (seen) {
        // A repeat: the sender missed our confirmation, or the network delivered twice.
        this.counters.duplicates++;
        if (seen.confirmed) this.queueConfirmation(pdu.from.text, ref);
        return;
      }
      this.#recent.push({ key, confirmed: false });
      if (this.#recent.length > RECENT_INCOMING) this.#recent.shift();
    }
    this.counters.incoming++;
    const message: IncomingSms = { from: pdu.from.text, alphabet: pdu.alphabet, data: pdu.data, ref, timestamp: pdu.timestamp };
    const onMessage = this.#onMessage;
    if (onMessage) this.call(() => onMessage(message));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch {
      this.counters.handlerErrors++;
    }
  }
}

const COUNTER_OF: Partial<Record<SmsState, keyof SmsCounters>> = Object.freeze({
  sent: "sent",
  accepted: "accepted",
  received: "received",
  processed: "processed",
  failed: "failed",
});

function digitsOf(number: string): string {
  return number.startsWith("+") ? number.slice(1) : number;
}

/** The PDU a hex line of +CMGR, +CMGL, +CMT or +CDS carries, or undefined when it does not decode. */
function decodeHex(hex: string): DecodedPdu | undefined {
  const bytes = hexDecode(hex);
  const decoded = bytes ? decodePdu(bytes) : undefined;
  return decoded?.ok ? decoded.pdu : undefined;
}
