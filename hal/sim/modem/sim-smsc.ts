/**
 * A simulated SMS service centre: it accepts what modems submit, delivers to the recipient after a
 * delay (a modem's SIM storage, or a simulated phone such as the head-end's SMS gateway), retries while
 * the recipient cannot take it, and sends status reports back when they were asked for (3GPP TS 23.040
 * §9.2.3.15 TP-Status: 0x00 received by the SME, 0x22 no response from the SME (still trying),
 * 0x43 not obtainable, 0x46 validity period expired).
 */
import type { Scheduler } from "../scheduler.js";
import { decodeSubmit, encodeDeliver, encodeStatusReport, userDataLength, type SimIe, type SimSms } from "./sms-tpdu.js";

/** Something with a subscriber number that can receive messages: a modem or a phone. */
export interface SmsTerminal {
  readonly number: string;
  /** An SMS-DELIVER (TPDU without SCA). False when it cannot take it now: the service centre retries. */
  deliverSms(sms: SimSms, tpdu: Uint8Array): boolean;
  /** An SMS-STATUS-REPORT (TPDU without SCA) about a message this terminal submitted. False: retried. */
  deliverReport(tpdu: Uint8Array): boolean;
}

export interface SimSmscOptions {
  /** The service centre's own address, in +CMGR / +CDS output. */
  number?: string;
  /** Calendar time of scheduler time 0, for the time stamps. Default 2026-01-01T00:00:00Z. */
  startEpochMs?: number;
  /** From AT+CMGS to "+CMGS: <mr>", ms. Default 2000. */
  acceptDelayMs?: number;
  /** From acceptance to the recipient, ms. Default 3000. */
  deliveryDelayMs?: number;
  /** From delivery to the status report at the sender, ms. Default 1500. */
  reportDelayMs?: number;
  /** Between attempts to a recipient that cannot take the message, ms. Default 30 s. */
  retryMs?: number;
  /** How long the centre keeps trying before reporting "validity period expired", ms. Default 24 h. */
  validityMs?: number;
}

export interface SmscCounters {
  submitted: number;
  delivered: number;
  reports: number;
  undeliverable: number;
}

/** +CMS ERROR the submitting modem reports when the centre refuses a message (27.005 §3.2.5). */
export type SubmitResult = { readonly ok: true } | { readonly ok: false; readonly cms: number };

const ST_RECEIVED = 0x00;
const ST_NO_RESPONSE = 0x22;
const ST_NOT_OBTAINABLE = 0x43;
const ST_EXPIRED = 0x46;

export class SimSmsc {
  readonly number: string;
  readonly counters: SmscCounters = { submitted: 0, delivered: 0, reports: 0, undeliverable: 0 };
  /** Status reports are held back (not lost) while true: a congested report path. */
  holdReports = false;
  readonly #scheduler: Scheduler;
  readonly #startEpochMs: number;
  readonly #acceptDelayMs: number;
  readonly #deliveryDelayMs: number;
  readonly #reportDelayMs: number;
  readonly #retryMs: number;
  readonly #validityMs: number;
  readonly #terminals = new Map<string, SmsTerminal>();
  readonly #heldReports: Array<() => void> = [];
  #rejects: Array<number> = [];

  constructor(scheduler: Scheduler, options: SimSmscOptions = {}) {
    this.#scheduler = scheduler;
    this.number = options.number ?? "+40700000100";
    this.#startEpochMs = options.startEpochMs ?? Date.UTC(2026, 0, 1);
    this.#acceptDelayMs = options.acceptDelayMs ?? 2_000;
    this.#deliveryDelayMs = options.deliveryDelayMs ?? 3_000;
    this.#reportDelayMs = options.reportDelayMs ?? 1_500;
    this.#retryMs = options.retryMs ?? 30_000;
    this.#validityMs = options.validityMs ?? 86_400_000;
  }

  /** Calendar time now, for time stamps. */
  get epochMs(): number {
    return this.#startEpochMs + this.#scheduler.now;
  }

  attach(terminal: SmsTerminal): void {
    this.#terminals.set(digits(terminal.number), terminal);
  }

  /** A simulated phone with this number (the head-end's SMS gateway, a technician, a stranger). */
  phone(number: string, onMessage?: (sms: SimSms, phone: SimPhone) => void): SimPhone {
    const p = new SimPhone(this, number, onMessage);
    this.attach(p);
    return p;
  }

  /** The next `count` submissions are refused with +CMS ERROR `cms`. */
  rejectSubmissions(count: number, cms: number): void {
    for (let i = 0; i < count; i++) this.#rejects.push(cms);
  }

  /** Lets held status reports go. */
  releaseReports(): void {
    this.holdReports = false;
    for (const send of this.#heldReports.splice(0)) send();
  }

  /**
   * A terminal submits a TPDU (no SCA); `result` comes after the acceptance delay. `messageRef` is the
   * TP-MR the submitting modem assigned.
   */
  submit(from: SmsTerminal, tpdu: Uint8Array, messageRef: number, result: (r: SubmitResult) => void): void {
    const decoded = decodeSubmit(tpdu);
    const rejected = this.#rejects.shift();
    this.#scheduler.after(this.#acceptDelayMs, () => {
      if (rejected !== undefined) return result({ ok: false, cms: rejected });
      if (!decoded) return result({ ok: false, cms: 304 }); // invalid PDU mode parameter
      this.counters.submitted++;
      result({ ok: true });
      const sms: SimSms = { from: from.number, to: decoded.to, alphabet: decoded.alphabet, header: decoded.header, data: decoded.data };
      const submittedAt = this.epochMs;
      const report = (status: number) => {
        if (!decoded.statusReport) return;
        const tpdu = encodeStatusReport(messageRef, decoded.to, status, submittedAt, this.epochMs);
        this.#sendReport(from, tpdu);
      };
      this.#scheduler.after(this.#deliveryDelayMs, () => this.#deliver(sms, this.#scheduler.now + this.#validityMs, report, false));
    });
  }

  /** Delivers a message from outside the simulation's modems (a phone), no report. RangeError when it does not fit one SMS. */
  inject(sms: SimSms): void {
    userDataLength(sms);
    this.#scheduler.after(this.#deliveryDelayMs, () => this.#deliver(sms, this.#scheduler.now + this.#validityMs, () => undefined, false));
  }

  #deliver(sms: SimSms, expires: number, report: (status: number) => void, reportedPending: boolean): void {
    const to = this.#terminals.get(digits(sms.to));
    if (!to) {
      this.counters.undeliverable++;
      return report(ST_NOT_OBTAINABLE);
    }
    if (to.deliverSms(sms, encodeDeliver(sms, this.epochMs))) {
      this.counters.delivered++;
      this.#scheduler.after(this.#reportDelayMs, () => report(ST_RECEIVED));
      return;
    }
    if (this.#scheduler.now + this.#retryMs > expires) {
      this.counters.undeliverable++;
      return report(ST_EXPIRED);
    }
    if (!reportedPending) report(ST_NO_RESPONSE);
    this.#scheduler.after(this.#retryMs, () => this.#deliver(sms, expires, report, true));
  }

  #sendReport(to: SmsTerminal, tpdu: Uint8Array): void {
    const send = () => {
      if (to.deliverReport(tpdu)) this.counters.reports++;
      else this.#scheduler.after(this.#retryMs, send);
    };
    if (this.holdReports) this.#heldReports.push(send);
    else send();
  }
}

/** A simulated phone: what it receives is kept; it can send 8-bit or text messages. */
export class SimPhone implements SmsTerminal {
  readonly received: SimSms[] = [];
  constructor(
    readonly smsc: SimSmsc,
    readonly number: string,
    public onMessage?: (sms: SimSms, phone: SimPhone) => void,
  ) {}

  send(to: string, message: { data: Uint8Array; header?: readonly SimIe[]; alphabet?: SimSms["alphabet"] }): void {
    this.smsc.inject({ from: this.number, to, alphabet: message.alphabet ?? "8bit", header: message.header ?? [], data: message.data });
  }

  deliverSms(sms: SimSms): boolean {
    this.received.push(sms);
    this.onMessage?.(sms, this);
    return true;
  }

  deliverReport(): boolean {
    return true;
  }
}

function digits(number: string): string {
  return number.startsWith("+") ? number.slice(1) : number;
}
