/**
 * Who may use the privileged commands: an engineer who answered a challenge with a signature of the
 * key the unit trusts for that name (docs/console.md has the threat model).
 *
 *   login NAME  →  the unit draws a 16-byte nonce from its RNG and shows it;
 *   auth SIG    →  the engineer's tool signs "mc-console-login:<unit id>:<NAME>:<nonce hex>" with the
 *                  engineer's Ed25519 key; the unit verifies it through the asynchronous crypto service
 *                  (never in a turn of its own: ~44 M XS units) against the key provisioned for NAME.
 *
 * A challenge serves one answer and lasts CHALLENGE_MS. An unknown name gets a challenge like a known
 * one (the console does not tell which names exist) and fails at `auth`. `maxFailures` failures within
 * `windowMs` lock logins out for `lockoutMs` and raise the "password guessing" alarm; every login,
 * failure, logout and expiry is audited. A session ends after `idleMs` without input.
 */
import type { MonotonicClock } from "../../hal/clock.js";
import type { CryptoService, RandomSource } from "../../hal/system.js";
import { asciiBytes, hexDecode, hexEncode } from "../modem/ascii.js";

export interface EngineerKey {
  /** The engineer's name: 1..16 characters of [A-Za-z0-9._-]. */
  readonly id: string;
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
}

export interface SessionPolicy {
  /** A session ends after this long without input, ms. Default 5 min. */
  idleMs?: number;
  /** Failed logins within `windowMs` that lock logins out. Default 3. */
  maxFailures?: number;
  windowMs?: number;
  /** How long logins stay locked out, ms. Default 15 min. */
  lockoutMs?: number;
}

export interface SessionOptions extends SessionPolicy {
  unitId: number;
  engineers: readonly EngineerKey[];
  random: RandomSource;
  crypto: CryptoService;
  clock: MonotonicClock;
  /** Audits a login event: name ("console.login", "console.logout"), the engineer, a detail, whether it succeeded. */
  audit(name: string, engineer: string, detail: string, ok: boolean): void;
  /** Logins were locked out after `failures` failures: the password-guessing alarm. */
  lockedOut(failures: number): void;
}

export const ENGINEER_ID = /^[A-Za-z0-9._-]{1,16}$/;
/** A challenge must be answered within this long, ms. */
export const CHALLENGE_MS = 120_000;
const NONCE_BYTES = 16;

/** The text an engineer signs to answer `nonceHex` on unit `unitId` as `engineer`. */
export function loginMessage(unitId: number, engineer: string, nonceHex: string): string {
  return `mc-console-login:${unitId}:${engineer}:${nonceHex}`;
}

export class ConsoleSession {
  readonly counters = { logins: 0, failures: 0, lockouts: 0, expiries: 0 };
  readonly #o: SessionOptions;
  readonly #idleMs: number;
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #lockoutMs: number;
  #engineer: string | undefined;
  #lastInputMs = 0;
  #challenge: { engineer: string; nonceHex: string; atMs: number } | undefined;
  #verifying = false;
  /** Monotonic times of the recent failures (at most maxFailures kept). */
  readonly #failures: number[] = [];
  #lockedUntilMs = -1;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.#idleMs = options.idleMs ?? 5 * 60_000;
    this.#maxFailures = options.maxFailures ?? 3;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#lockoutMs = options.lockoutMs ?? 15 * 60_000;
  }

  /** Whether any engineer key is provisioned (without one, no privileged command can ever run). */
  get provisioned(): boolean {
    return this.#o.engineers.length > 0;
  }

  /** Why a privileged command may not run for `engineer` (the session's engineer when it ran), or undefined. */
  refusal(engineer: string | undefined): string | undefined {
    if (engineer !== undefined) return undefined;
    return this.provisioned ? "needs a login (login NAME, then auth SIGNATURE)" : "no engineer keys are provisioned on this unit";
  }

  /** The engineer logged in, or undefined; a session idle too long ends here (audited). */
  get engineer(): string | undefined {
    if (this.#engineer !== undefined && this.#o.clock.now() - this.#lastInputMs > this.#idleMs) {
      this.counters.expiries++;
      this.#o.audit("console.logout", this.#engineer, "idle", true);
      this.#engineer = undefined;
    }
    return this.#engineer;
  }

  /** Time left before an idle session ends, ms. */
  get idleLeftMs(): number {
    return Math.max(0, this.#idleMs - (this.#o.clock.now() - this.#lastInputMs));
  }

  /** Logins are locked out for this long still, ms (0: not locked out). */
  get lockedForMs(): number {
    return Math.max(0, this.#lockedUntilMs - this.#o.clock.now());
  }

  /** Input arrived: the session stays alive (an expired one is not revived). */
  touch(): void {
    void this.engineer;
    this.#lastInputMs = this.#o.clock.now();
  }

  /** A new challenge for `engineer` (hex nonce), or why there is none. */
  challenge(engineer: string): { nonceHex: string } | { error: string } {
    if (!this.provisioned) return { error: "no engineer keys are provisioned on this unit" };
    if (!ENGINEER_ID.test(engineer)) return { error: "an engineer name is 1 to 16 of A-Z a-z 0-9 . _ -" };
    const locked = this.lockedForMs;
    if (locked > 0) return { error: `locked out for ${Math.ceil(locked / 1000)} s after failed logins` };
    const nonce = new Uint8Array(NONCE_BYTES);
    this.#o.random.fill(nonce);
    const nonceHex = hexEncode(nonce);
    this.#challenge = { engineer, nonceHex, atMs: this.#o.clock.now() };
    return { nonceHex };
  }

  /**
   * Checks the answer to the challenge; `done` gets undefined on success or the reason for failure,
   * in a later turn. One answer per challenge.
   */
  answer(signatureHex: string, done: (error: string | undefined) => void): void {
    const c = this.#challenge;
    this.#challenge = undefined;
    const locked = this.lockedForMs;
    if (locked > 0) return done(`locked out for ${Math.ceil(locked / 1000)} s after failed logins`);
    if (this.#verifying) return done("a login is being checked");
    if (!c) return done(this.fail("?", "no challenge (login NAME first)"));
    if (this.#o.clock.now() - c.atMs > CHALLENGE_MS) return done(this.fail(c.engineer, "the challenge expired"));
    const signature = hexDecode(signatureHex);
    const key = this.#o.engineers.find((e) => e.id === c.engineer);
    if (!signature || signature.length !== 64 || !key) return done(this.fail(c.engineer, "login failed"));
    const message = asciiBytes(loginMessage(this.#o.unitId, c.engineer, c.nonceHex));
    this.#verifying = true;
    this.#o.crypto.verifyEd25519(message, signature, key.publicKey, (valid) => {
      this.#verifying = false;
      if (!valid) return done(this.fail(c.engineer, "login failed"));
      this.#engineer = c.engineer;
      this.#lastInputMs = this.#o.clock.now();
      this.#failures.length = 0;
      this.counters.logins++;
      this.#o.audit("console.login", c.engineer, "ok", true);
      done(undefined);
    });
  }

  logout(): string | undefined {
    const who = this.engineer;
    if (who === undefined) return undefined;
    this.#engineer = undefined;
    this.#o.audit("console.logout", who, "logout", true);
    return who;
  }

  /** Counts a failure (audited), locks out at the limit; returns the message for the engineer. */
  private fail(engineer: string, why: string): string {
    this.counters.failures++;
    this.#o.audit("console.login", engineer, why, false);
    const now = this.#o.clock.now();
    this.#failures.push(now);
    while (this.#failures.length > 0 && now - this.#failures[0]! > this.#windowMs) this.#failures.shift();
    if (this.#failures.length < this.#maxFailures) return why;
    const failures = this.#failures.length;
    this.#failures.length = 0;
    this.#lockedUntilMs = now + this.#lockoutMs;
    this.counters.lockouts++;
    this.#o.lockedOut(failures);
    return `${why}; locked out for ${Math.ceil(this.#lockoutMs / 1000)} s`;
  }
}
