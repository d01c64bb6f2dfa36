/**
 * Simulated board services: random bytes, the task watchdog, reset control, the crypto service (a
 * Worker on the second core, and native SHA-256, on the device) and raw-DEFLATE inflation (the ROM's
 * inflater on the device). The OTA slots are in firmware-slots.ts.
 */
import { inflateSync } from "fflate";
import nacl from "tweetnacl";
import type { CryptoService, Inflater, RandomSource, ResetReason, Sha256, SystemControl, Watchdog } from "../system.js";
import { SoftSha256 } from "./sha256.js";
import type { PowerDomain, PowerOffReason } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { ScheduledEvent } from "./scheduler.js";

export class SimRandom implements RandomSource {
  readonly #domain: PowerDomain;
  readonly #prng: Prng;
  constructor(domain: PowerDomain, prng: Prng) {
    this.#domain = domain;
    this.#prng = prng;
  }
  fill(bytes: Uint8Array): void {
    this.#domain.check();
    this.#prng.fill(bytes);
  }
}

/** Resets the board (reason "watchdog") when not fed in time; a reset disables it again. */
export class SimWatchdog implements Watchdog {
  readonly #domain: PowerDomain;
  readonly #reset: (reason: PowerOffReason) => void;
  #timeoutMs = 0;
  #event: ScheduledEvent | undefined;
  #fired = 0;

  constructor(domain: PowerDomain, reset: (reason: PowerOffReason) => void) {
    this.#domain = domain;
    this.#reset = reset;
    domain.onPowerOff(() => {
      domain.scheduler.cancel(this.#event);
      this.#event = undefined;
      this.#timeoutMs = 0;
    });
  }

  get resets(): number {
    return this.#fired;
  }

  enable(timeoutMs: number): void {
    this.#domain.check();
    if (!(timeoutMs > 0)) throw new RangeError("invalid timeout");
    this.#timeoutMs = timeoutMs;
    this.feed();
  }

  feed(): void {
    this.#domain.check();
    if (!this.#timeoutMs) return;
    const s = this.#domain.scheduler;
    s.cancel(this.#event);
    this.#event = s.after(this.#timeoutMs, () => {
      this.#fired++;
      this.#reset("watchdog");
    });
  }
}

export class SimSystemControl implements SystemControl {
  #reason: ResetReason = "power-on";
  readonly #domain: PowerDomain;
  readonly #reset: (reason: PowerOffReason) => void;

  constructor(domain: PowerDomain, reset: (reason: PowerOffReason) => void) {
    this.#domain = domain;
    this.#reset = reset;
    domain.onPowerOff((why) => {
      this.#reason = why === "power-cut" ? "power-on" : why;
    });
  }

  get resetReason(): ResetReason {
    return this.#reason;
  }

  restart(): void {
    this.#domain.check();
    this.#reset("software");
  }
}

/**
 * Crypto on a worker: the result arrives `latencyMs` later in its own turn. The default latency is
 * an estimate for Ed25519 verify on an ESP32 worker (44 M XS units at ≤15 M units/s, measured in xsnap, docs/uplink.md).
 */
export class SimCrypto implements CryptoService {
  readonly #domain: PowerDomain;
  readonly latencyMs: number;
  /** Signatures checked so far (the simulation can tell the turns that did: XS figures). */
  verifications = 0;
  constructor(domain: PowerDomain, options: { latencyMs?: number } = {}) {
    this.#domain = domain;
    this.latencyMs = options.latencyMs ?? 3000;
  }
  verifyEd25519(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, callback: (valid: boolean) => void): void {
    this.#domain.check();
    const m = message.slice();
    const s = signature.slice();
    const k = publicKey.slice();
    // Verified in the turn that delivers the answer, not in the caller's: on the device the
    // worker's core does the work, and the main loop only gets the answer.
    this.#domain.after(this.latencyMs, () => {
      this.verifications++;
      callback(s.length === nacl.sign.signatureLength && k.length === nacl.sign.publicKeyLength && nacl.sign.detached.verify(m, s, k));
    });
  }
  sha256(): Sha256 {
    this.#domain.check();
    return new SoftSha256();
  }
}

/** Raw DEFLATE with fflate (pure ECMAScript), standing in for the device's native inflater. */
export class SimInflater implements Inflater {
  readonly #domain: PowerDomain;
  /** Streams inflated so far: a simulation can tell the turns that did (XS figures). */
  calls = 0;
  constructor(domain: PowerDomain) {
    this.#domain = domain;
  }
  inflateRaw(input: Uint8Array, output: Uint8Array): number {
    this.#domain.check();
    this.calls++;
    // One byte of room more than asked: fflate stops silently at the end of a full buffer.
    const room = new Uint8Array(output.length + 1);
    let n: number;
    try {
      n = inflateSync(input, { out: room }).length;
    } catch {
      throw new RangeError("invalid deflate data");
    }
    if (n > output.length) throw new RangeError("invalid deflate data");
    output.set(room.subarray(0, n));
    return n;
  }
}
