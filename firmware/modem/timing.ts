/**
 * Timeouts and intervals of the modem driver that do not depend on the vendor, each with its source.
 * The vendor-specific ones (TCP/IP stack commands, power key, boot time) are in drivers/sim800.ts and
 * drivers/quectel.ts. "Ours" marks a choice of this project where no manual gives a figure.
 *
 * Sources: TG = TinyGSM @4c55210, GSMM = python-gsmmodem @834c68b, 27.007 / 27.005 = 3GPP TS
 * (docs/sources.md).
 */

/** Local commands (ATE0, AT+CSQ, AT+CREG?): TG waitResponse default, 1 s. */
export const COMMAND_TIMEOUT_MS = 1_000;

/** Sync: TG testAT sends "AT", waits 200 ms for OK, pauses 100 ms, for up to 10 s (also covers
 * autobauding, domain.md §4.6 item 10). */
export const SYNC_ATTEMPT_TIMEOUT_MS = 200;
export const SYNC_PAUSE_MS = 100;
export const SYNC_WINDOW_MS = 10_000;
/** At start the modem may be off: probe at least this long, and at least its boot time (it may be
 * starting with the board), before pressing the power key (ours). */
export const SYNC_PROBE_WINDOW_MS = 3_000;

/** AT+CPIN?: Quectel AT manuals give 5 s as its maximum response time. */
export const CPIN_TIMEOUT_MS = 5_000;
/** SIM not ready after boot (domain.md §4.6 item 7): TG polls +CPIN? every 1 s for 10 s; we wait 20 s. */
export const SIM_POLL_MS = 1_000;
export const SIM_READY_WAIT_MS = 20_000;
/** CME 10: SIM not inserted. CME 11/12: PIN/PUK required (27.007 §9.2). */
export const CME_SIM_NOT_INSERTED = 10;
export const CME_SIM_PIN_REQUIRED = 11;
export const CME_SIM_PUK_REQUIRED = 12;

/** Registration (domain.md §4.6 item 8): TG waitForNetwork waits 60 s; we poll +CREG?/+CGREG? every 2 s. */
export const REGISTRATION_WAIT_MS = 60_000;
export const REGISTRATION_POLL_MS = 2_000;

/** AT+CGATT=1: TG waits 60 s on SIM800 and BG96. */
export const CGATT_TIMEOUT_MS = 60_000;
/** AT+CFUN (including AT+CFUN=1,1 reset): TG waits 10 s. */
export const CFUN_TIMEOUT_MS = 10_000;

/** AT+CMGS: TG waits 60 s for the result of a send in text mode; GSMM waits 3 s for the prompt. */
export const CMGS_TIMEOUT_MS = 60_000;
export const CMGS_PROMPT_TIMEOUT_MS = 3_000;
/** AT+CMGR, AT+CMGD, AT+CMGL: reading and deleting SIM storage (ours: no figure in the cited pages). */
export const SMS_STORAGE_TIMEOUT_MS = 5_000;
export const CMGL_TIMEOUT_MS = 20_000;
/** AT+CMGF / AT+CNMI before "SMS Ready": retry this often, this many times (ours). */
export const SMS_SETUP_RETRY_MS = 1_000;
export const SMS_SETUP_ATTEMPTS = 10;

/** While ready: signal and registration are polled this often (ours). */
export const SUPERVISION_INTERVAL_MS = 30_000;
/** Consecutive command timeouts after which the modem counts as unresponsive (ours). */
export const UNRESPONSIVE_TIMEOUTS = 3;

/** Recovery ladder (docs/modem.md): pause before a retry, and the backoff between power cycles once
 * soft recovery has failed, doubling from the base to the cap (ours). */
export const RETRY_DELAY_MS = 5_000;
export const BACKOFF_BASE_MS = 60_000;
export const BACKOFF_MAX_MS = 30 * 60_000;
/** Wait after a power-down before pressing the key again: SIM800 needs ≥ 2 s for STATUS to fall and
 * 800 ms more (SIM800H Hardware Design §4.2.2.4); BG96 ≥ 1.3 s (BG95&BG96 Compatible Design §4.3). */
export const POWER_OFF_SETTLE_MS = 5_000;
