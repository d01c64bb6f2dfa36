/**
 * SIMCom SIM800 family (SIM800L/C/H, SIM808): the CIP* TCP/IP stack in multi-IP mode with quick send
 * and manual receive, as TinyGSM drives it (domain.md §4.2; TG = TinyGSM TinyGsmClientSIM800.h).
 *
 *   AT+CIPSHUT → AT+CGATT=1 → AT+CIPMUX=1 → AT+CIPQSEND=1 → AT+CIPRXGET=1 → AT+CSTT → AT+CIICR → AT+CIFSR
 *   open:  AT+CIPSTART=<n>,"TCP","host",<port>  → OK, then URC "<n>, CONNECT OK|CONNECT FAIL|ALREADY CONNECT"
 *   send:  AT+CIPSEND=<n>,<len> → "> " → data → "DATA ACCEPT:<n>,<accepted>" | "SEND FAIL" | ERROR
 *   recv:  URC "+CIPRXGET: 1,<n>" → AT+CIPRXGET=2,<n>,<max> → "+CIPRXGET: 2,<n>,<got>,<left>" + raw → OK
 *   close: AT+CIPCLOSE=<n>,1 → "<n>, CLOSE OK"; remote close: URC "<n>, CLOSED"; PDP loss: "+PDP: DEACT"
 */
import type { AtEngine } from "../at/engine.js";
import { atParams, intParam, parseDecimal } from "../at/response.js";
import { runSequence, type Step, type StepFailure } from "../at/sequence.js";
import { CGATT_TIMEOUT_MS, COMMAND_TIMEOUT_MS } from "../timing.js";
import type { ApnSettings, Dialect, ModemEvent, ReadOutcome, SendOutcome } from "./dialect.js";
import { sendOutcomeOf } from "./outcomes.js";
import { frozen } from "../../model/frozen.js";

/** TG gprsConnectImpl / gprsDisconnect wait 60 s for CIPSHUT, CSTT and CIICR, 10 s for CIFSR; the manual
 * pages cited give no maximum for CIPSHUT and CIICR (domain.md §7 item 4). */
const CIPSHUT_TIMEOUT_MS = 60_000;
const CSTT_TIMEOUT_MS = 60_000;
const CIICR_TIMEOUT_MS = 60_000;
const CIFSR_TIMEOUT_MS = 10_000;
/** SIM800 manual p.222: CIPSTART answers within 75 s in multi-IP mode. */
const CIPSTART_TIMEOUT_MS = 75_000;
/** With CIPQSEND=1 "DATA ACCEPT" only says the modem buffered the data, so it comes at once; the
 * 645 s of CIPQSEND=0 (manual p.225) never applies (ours). */
const CIPSEND_TIMEOUT_MS = 10_000;
/** Reading the modem's own buffer (ours). */
const CIPRXGET_TIMEOUT_MS = 10_000;
/** Quick close (",1") does not wait for the peer (manual p.227; ours). */
const CIPCLOSE_TIMEOUT_MS = 10_000;
/** TG poweroff waits for "NORMAL POWER DOWN" after AT+CPOWD=1; TG uses 10 s for its power commands. */
const CPOWD_TIMEOUT_MS = 10_000;

/** PWRKEY low ≥ 1 s switches on, 1.5..33 s switches off (SIM800 Hardware Design V1.09 §4.2.1, §4.2.2.1). */
const POWER_KEY_PULSE_MS = 2_000;
/** The UART runs a few seconds after the key press (Hardware Design figure 12), ours with margin. */
const BOOT_TIME_MS = 5_000;
/** The fixed rate we store with AT+IPR so that "RDY" announces every boot (Hardware Design §4.2.1). */
const FIXED_BAUD = 115_200;

const shutOk = (line: string) => (line === "SHUT OK" ? "ok" : undefined);
/** AT+CIFSR answers with the bare IP address and no OK (domain.md §4.2). */
const ipAddress = (line: string) => (isDottedQuad(line) ? "ok" : undefined);

export const sim800: Dialect = frozen({
  family: "sim800",
  socketIds: 6, // multi-IP link numbers 0..5 (manual, AT+CIPSTART)
  maxSendBytes: 1460, // AT+CIPSEND? <size> on GPRS
  maxReadBytes: 1460, // AT+CIPRXGET=2 <reqlength> 1..1460
  openTimeoutMs: CIPSTART_TIMEOUT_MS,
  sendRetryMs: 1_000,
  powerKeyPulseMs: POWER_KEY_PULSE_MS,
  bootTimeMs: BOOT_TIME_MS,
  closeAfterRemoteClose: false,

  configure(engine: AtEngine, done: (failed: StepFailure | undefined) => void): void {
    // Autobauding (factory AT+IPR=0) hides "RDY" after a reset (domain.md §4.6 item 10): store a fixed rate once.
    engine.send({
      text: "AT+IPR?",
      timeoutMs: COMMAND_TIMEOUT_MS,
      info: "+IPR:",
      done: (r) => {
        const ipr = r.ok ? intParam(atParams(r.lines[0] ?? "", "+IPR:"), 0) : undefined;
        if (ipr !== undefined && ipr !== 0) {
          done(undefined);
          return;
        }
        runSequence(engine, [{ text: `AT+IPR=${FIXED_BAUD}`, timeoutMs: COMMAND_TIMEOUT_MS }, { text: "AT&W", timeoutMs: COMMAND_TIMEOUT_MS }], done);
      },
    });
  },

  packetUpSteps(apn: ApnSettings): readonly Step[] {
    return [
      { text: "AT+CIPSHUT", timeoutMs: CIPSHUT_TIMEOUT_MS, final: shutOk },
      { text: "AT+CGATT=1", timeoutMs: CGATT_TIMEOUT_MS },
      { text: "AT+CIPMUX=1", timeoutMs: COMMAND_TIMEOUT_MS },
      { text: "AT+CIPQSEND=1", timeoutMs: COMMAND_TIMEOUT_MS },
      { text: "AT+CIPRXGET=1", timeoutMs: COMMAND_TIMEOUT_MS },
      { text: `AT+CSTT="${apn.apn}","${apn.user}","${apn.password}"`, timeoutMs: CSTT_TIMEOUT_MS },
      { text: "AT+CIICR", timeoutMs: CIICR_TIMEOUT_MS },
      { text: "AT+CIFSR", timeoutMs: CIFSR_TIMEOUT_MS, final: ipAddress },
    ];
  },

  packetRegistration: ["+CGREG"],
  powerDownStep: { text: "AT+CPOWD=1", timeoutMs: CPOWD_TIMEOUT_MS, final: (l) => (l === "NORMAL POWER DOWN" ? "ok" : undefined) },

  classify(line: string): ModemEvent | undefined {
    switch (line) {
      case "RDY":
        return { type: "boot" };
      case "NORMAL POWER DOWN":
        return { type: "power-down", cause: "normal" };
      case "UNDER-VOLTAGE POWER DOWN":
        return { type: "power-down", cause: "under-voltage" };
      case "OVER-VOLTAGE POWER DOWN":
        return { type: "power-down", cause: "over-voltage" };
      case "UNDER-VOLTAGE WARNNING": // spelling as in the manual
      case "OVER-VOLTAGE WARNNING":
        return { type: "voltage-warning" };
      case "+PDP: DEACT":
        return { type: "pdp-lost" };
      case "+CPIN: NOT READY":
      case "+CPIN: NOT INSERTED":
        return { type: "sim-lost" };
      case "Call Ready":
      case "SMS Ready":
      case "+CFUN: 1":
      case "+CPIN: READY":
      case "RING":
      case "NO CARRIER":
        return { type: "ignored" };
    }
    if (line.startsWith("+CIPRXGET: 1,")) {
      const id = intParam(atParams(line, "+CIPRXGET:"), 1);
      return id === undefined ? undefined : { type: "socket-data", id };
    }
    if (line.startsWith("*PSUTTZ:") || line.startsWith("+CTZV:") || line.startsWith("DST:")) return { type: "ignored" };
    // "<n>, CLOSED", "<n>, CONNECT OK", "<n>, CONNECT FAIL", "<n>, ALREADY CONNECT"
    const comma = line.indexOf(", ");
    if (comma !== 1) return undefined;
    const id = parseDecimal(line.slice(0, 1));
    if (id === undefined) return undefined;
    switch (line.slice(3)) {
      case "CLOSED":
        return { type: "socket-closed", id };
      case "CONNECT OK":
        return { type: "socket-opened", id };
      case "CONNECT FAIL":
        return { type: "socket-open-failed", id, reason: "refused" };
      case "ALREADY CONNECT":
        return { type: "socket-open-failed", id, reason: "in-use" };
    }
    return undefined;
  },

  open(id, host, port, done) {
    return {
      text: `AT+CIPSTART=${id},"TCP","${host}",${port}`,
      timeoutMs: CIPSTART_TIMEOUT_MS,
      done: (r) => done(r.ok ? undefined : r.failure),
    };
  },

  send(id, bytes, done) {
    return {
      text: `AT+CIPSEND=${id},${bytes.length}`,
      timeoutMs: CIPSEND_TIMEOUT_MS,
      payload: bytes,
      final: (l) => (l.startsWith("DATA ACCEPT:") || l === `${id}, SEND OK` ? "ok" : l === "SEND FAIL" || l === `${id}, SEND FAIL` ? "error" : undefined),
      done: (r) => {
        if (!r.ok) {
          done(sendOutcomeOf(r.failure, "reset"));
          return;
        }
        if (r.final === `${id}, SEND OK`) {
          done({ accepted: bytes.length });
          return;
        }
        const p = atParams(r.final, "DATA ACCEPT:");
        const accepted = intParam(p, 1);
        const outcome: SendOutcome = intParam(p, 0) === id && accepted !== undefined && accepted <= bytes.length ? { accepted } : { failed: "reset" };
        done(outcome);
      },
    };
  },

  read(id, maxBytes, onData, done) {
    let got = 0;
    let left = 0;
    let valid = false;
    return {
      text: `AT+CIPRXGET=2,${id},${maxBytes}`,
      timeoutMs: CIPRXGET_TIMEOUT_MS,
      info: "+CIPRXGET: 2,",
      onInfo: (line) => {
        const p = atParams(line, "+CIPRXGET:");
        const n = intParam(p, 2);
        const rest = intParam(p, 3);
        if (intParam(p, 1) !== id || n === undefined || rest === undefined || n > maxBytes) return 0;
        valid = true;
        got = n;
        left = rest;
        return n;
      },
      onRaw: onData,
      done: (r) => {
        const outcome: ReadOutcome = !r.ok ? { failure: r.failure } : valid ? { got, more: left > 0 } : { failure: { code: "bad-response" } };
        done(outcome);
      },
    };
  },

  close(id, done) {
    return {
      text: `AT+CIPCLOSE=${id},1`,
      timeoutMs: CIPCLOSE_TIMEOUT_MS,
      final: (l) => (l === `${id}, CLOSE OK` ? "ok" : undefined),
      done: () => done(),
    };
  },

  packetState(done) {
    return {
      text: "AT+CIFSR",
      timeoutMs: CIFSR_TIMEOUT_MS,
      final: ipAddress,
      done: (r) => done(r.ok ? true : r.failure.code === "error" ? false : undefined),
    };
  },
});

function isDottedQuad(line: string): boolean {
  const parts = line.split(".");
  if (parts.length !== 4) return false;
  for (const p of parts) {
    const v = parseDecimal(p);
    if (v === undefined || v > 255 || p.length > 3) return false;
  }
  return true;
}
