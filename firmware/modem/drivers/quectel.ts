/**
 * Quectel modules with the QI* TCP/IP AT commands of the BG96 TCP/IP Application Note (BG96, BG95,
 * EC2x, EG9x; on GSM networks they run EGPRS): buffer access mode, context 1 (domain.md §4.3;
 * AN = BG96 TCP/IP Application Note; TG = TinyGSM TinyGsmClientBG96.h). The older M95 dialect
 * (AT+QIFGCNT, "+QIRDI:") is not supported.
 *
 *   AT+QIDEACT=1 → AT+CGATT=1 → AT+QICSGP=1,1,"apn","user","pwd",<auth> → AT+QIACT=1 → AT+QIACT?
 *   open:  AT+QIOPEN=1,<n>,"TCP","host",<port>,0,0 → OK, then URC "+QIOPEN: <n>,<err>" (0 = opened)
 *   send:  AT+QISEND=<n>,<len> → "> " → data → "SEND OK" | "SEND FAIL" (buffer full) | ERROR
 *   recv:  URC +QIURC: "recv",<n> → AT+QIRD=<n>,<max> → "+QIRD: <got>" + raw → OK, until "+QIRD: 0"
 *          (AN §2.3.2: no new "recv" URC until the buffer has been read empty)
 *   close: AT+QICLOSE=<n> → OK; remote close: +QIURC: "closed",<n> leaves the socket Closing until
 *          AT+QICLOSE (AN §2.3.1); PDP loss: +QIURC: "pdpdeact",<ctx>
 */
import type { AtEngine } from "../at/engine.js";
import { atParams, intParam, textParam } from "../at/response.js";
import { runSequence, type Step, type StepFailure } from "../at/sequence.js";
import { CGATT_TIMEOUT_MS, COMMAND_TIMEOUT_MS } from "../timing.js";
import type { ApnSettings, Dialect, ModemEvent, OpenFailure, ReadOutcome } from "./dialect.js";
import { sendOutcomeOf } from "./outcomes.js";
import { frozen } from "../../model/frozen.js";

/** AN: AT+QIACT answers within 150 s, AT+QIDEACT within 40 s; the +QIOPEN URC may take 150 s. */
const QIACT_TIMEOUT_MS = 150_000;
const QIDEACT_TIMEOUT_MS = 40_000;
const QIOPEN_URC_TIMEOUT_MS = 150_000;
/** AN: AT+QISEND and AT+QIRD answer within 120 s, "determined by network". */
const QISEND_TIMEOUT_MS = 120_000;
const QIRD_TIMEOUT_MS = 120_000;
/** AT+QIOPEN itself answers OK at once; the outcome comes as the +QIOPEN URC (ours). */
const QIOPEN_TIMEOUT_MS = 10_000;
/** AN: AT+QICLOSE forces the close after <timeout>, default 10 s; one more second for the answer. */
const QICLOSE_TIMEOUT_MS = 11_000;
/** AT+QPOWD answers OK and then reports "POWERED DOWN" (ours: TG's 10 s for power commands). */
const QPOWD_TIMEOUT_MS = 10_000;
/** PWRKEY low ≥ 500 ms switches on (hal/index.ts, Quectel forum: "a 500ms low level pulse"), ≥ 650 ms
 * switches off, BG95 at most 1500 ms (BG95&BG96 Compatible Design §4.3.2). */
const POWER_KEY_PULSE_MS = 800;
/** TG waits 10 s for "APP RDY" after power-on. */
const BOOT_TIME_MS = 10_000;
/** The PDP context the sockets use (AN: <contextID> 1..16). */
const CONTEXT = 1;

/** AN chapter 4 error codes in "+QIOPEN: <n>,<err>". */
const QIOPEN_ERRORS: Readonly<Record<number, OpenFailure>> = Object.freeze<Record<number, OpenFailure>>({
  561: "packet-down", // PDP context opening failed
  563: "in-use", // socket identity has been used
  566: "refused", // socket connect failed
  569: "timeout", // operation timeout
  570: "packet-down", // PDP context broken down
});

export const quectel: Dialect = frozen({
  family: "quectel",
  socketIds: 12, // AN: <connectID> 0..11
  maxSendBytes: 1460, // AN: AT+QISEND <send_length> 0..1460
  maxReadBytes: 1500, // AN: AT+QIRD <read_length> 0..1500
  openTimeoutMs: QIOPEN_URC_TIMEOUT_MS,
  sendRetryMs: 1_000,
  powerKeyPulseMs: POWER_KEY_PULSE_MS,
  bootTimeMs: BOOT_TIME_MS,
  closeAfterRemoteClose: true,

  configure(engine: AtEngine, done: (failed: StepFailure | undefined) => void): void {
    // URCs go to the USB AT port by default; the concentrator listens on UART1.
    runSequence(engine, [{ text: 'AT+QURCCFG="urcport","uart1"', timeoutMs: COMMAND_TIMEOUT_MS, optional: true }], done);
  },

  packetUpSteps(apn: ApnSettings): readonly Step[] {
    // <authentication>: 0 none, 1 PAP (AN AT+QICSGP).
    const auth = apn.user === "" && apn.password === "" ? 0 : 1;
    return [
      { text: `AT+QIDEACT=${CONTEXT}`, timeoutMs: QIDEACT_TIMEOUT_MS, optional: true },
      { text: "AT+CGATT=1", timeoutMs: CGATT_TIMEOUT_MS },
      { text: `AT+QICSGP=${CONTEXT},1,"${apn.apn}","${apn.user}","${apn.password}",${auth}`, timeoutMs: COMMAND_TIMEOUT_MS },
      { text: `AT+QIACT=${CONTEXT}`, timeoutMs: QIACT_TIMEOUT_MS },
      { text: "AT+QIACT?", timeoutMs: COMMAND_TIMEOUT_MS, info: "+QIACT:", accept: contextActive },
    ];
  },

  packetRegistration: ["+CGREG", "+CEREG"],
  powerDownStep: { text: "AT+QPOWD=1", timeoutMs: QPOWD_TIMEOUT_MS },

  classify(line: string): ModemEvent | undefined {
    switch (line) {
      case "RDY":
        return { type: "boot" };
      case "POWERED DOWN":
      case "NORMAL POWER DOWN":
        return { type: "power-down", cause: "normal" };
      case "+CPIN: NOT READY":
      case "+CPIN: NOT INSERTED":
        return { type: "sim-lost" };
      case "APP RDY":
      case "+CFUN: 1":
      case "+CPIN: READY":
      case "RING":
      case "NO CARRIER":
        return { type: "ignored" };
    }
    if (line.startsWith("+QIURC:")) {
      const p = atParams(line, "+QIURC:");
      const id = intParam(p, 1);
      switch (textParam(p, 0)) {
        case "recv":
          return id === undefined ? undefined : { type: "socket-data", id };
        case "closed":
          return id === undefined ? undefined : { type: "socket-closed", id };
        case "pdpdeact":
          return { type: "pdp-lost" };
        case "incoming full":
          return { type: "socket-buffer-full" };
        default:
          return { type: "ignored" }; // "incoming" (listener), "dnsgip"
      }
    }
    if (line.startsWith("+QIOPEN:")) {
      const p = atParams(line, "+QIOPEN:");
      const id = intParam(p, 0);
      const err = intParam(p, 1);
      if (id === undefined || err === undefined) return undefined;
      return err === 0 ? { type: "socket-opened", id } : { type: "socket-open-failed", id, reason: QIOPEN_ERRORS[err] ?? "refused" };
    }
    if (line.startsWith("+QUSIM:") || line.startsWith("+QIND:") || line.startsWith("+QNITZ:") || line.startsWith("+CTZE:")) return { type: "ignored" };
    return undefined;
  },

  open(id, host, port, done) {
    return {
      text: `AT+QIOPEN=${CONTEXT},${id},"TCP","${host}",${port},0,0`,
      timeoutMs: QIOPEN_TIMEOUT_MS,
      done: (r) => done(r.ok ? undefined : r.failure),
    };
  },

  send(id, bytes, done) {
    return {
      text: `AT+QISEND=${id},${bytes.length}`,
      timeoutMs: QISEND_TIMEOUT_MS,
      payload: bytes,
      final: (l) => (l === "SEND OK" ? "ok" : l === "SEND FAIL" ? "error" : undefined),
      done: (r) => done(r.ok ? { accepted: bytes.length } : sendOutcomeOf(r.failure, "retry")),
    };
  },

  read(id, maxBytes, onData, done) {
    let got = -1;
    return {
      text: `AT+QIRD=${id},${maxBytes}`,
      timeoutMs: QIRD_TIMEOUT_MS,
      info: "+QIRD:",
      onInfo: (line) => {
        const p = atParams(line, "+QIRD:");
        const n = intParam(p, 0);
        if (p?.length !== 1 || n === undefined || n > maxBytes) return 0;
        got = n;
        return n;
      },
      onRaw: onData,
      done: (r) => {
        const outcome: ReadOutcome = !r.ok ? { failure: r.failure } : got >= 0 ? { got, more: got > 0 } : { failure: { code: "bad-response" } };
        done(outcome);
      },
    };
  },

  close(id, done) {
    return { text: `AT+QICLOSE=${id}`, timeoutMs: QICLOSE_TIMEOUT_MS, done: () => done() };
  },

  packetState(done) {
    return {
      text: "AT+QIACT?",
      timeoutMs: COMMAND_TIMEOUT_MS,
      info: "+QIACT:",
      done: (r) => done(r.ok ? contextActive(r.lines) : undefined),
    };
  },
});

/** "+QIACT: <ctx>,<state>,<type>,<ip>" with state 1 (activated) for our context. */
function contextActive(lines: readonly string[]): boolean {
  for (const line of lines) {
    const p = atParams(line, "+QIACT:");
    if (intParam(p, 0) === CONTEXT && intParam(p, 1) === 1) return true;
  }
  return false;
}
