/**
 * Simulated board services: random bytes, the task watchdog, reset control, the crypto service (a
 * Worker on the second core, and native SHA-256, on the device) and raw-DEFLATE inflation (the ROM's
 * inflater on the device). The OTA slots are in firmware-slots.ts.
 */
import { inflateSync } from "fflate";
import nacl from "tweetnacl";
import { aesGcmOpenSync, aesGcmSealSync } from "./aes-gcm.js";
import { type CryptoService, type Inflater, type RandomSource, type ResetReason, secretboxLengthsOk, SECRETBOX_TAG_BYTES, type Sha256, type SystemControl, type Watchdog } from "../system.js";
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
 * AES-GCM is the ESP32's native code on the device: here it is computed in a turn of its own (the
 * hardware's, not the firmware's: software AES would cost the firmware's turn far more than the device
 * spends) and its result delivered `aesLatencyMs` later. Secretbox is the worker's too: computed in a
 * turn of the simulation's own, its result delivered as long after as the worker takes (secretboxMs).
 */
export class SimCrypto implements CryptoService {
  readonly #domain: PowerDomain;
  readonly latencyMs: number;
  readonly aesLatencyMs: number;
  /** AES-GCM operations computed (each in a turn of its own). */
  aesOperations = 0;
  /** Secretbox operations computed (each in a turn of the simulation's own). */
  secretboxOperations = 0;
  /** Signatures checked so far (the simulation can tell the turns that did: XS figures). */
  verifications = 0;
  /** When the worker is done with the secretbox requests asked so far (simulation time, ms). */
  #workerFreeAt = 0;
  constructor(domain: PowerDomain, options: { latencyMs?: number; aesLatencyMs?: number } = {}) {
    this.#domain = domain;
    this.latencyMs = options.latencyMs ?? 3000;
    this.aesLatencyMs = options.aesLatencyMs ?? 1;
  }

  aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number, callback: (sealed: Uint8Array | undefined) => void): void {
    const [k, v, a, p] = [key.slice(), iv.slice(), aad.slice(), plaintext.slice()];
    this.#aes(() => aesGcmSealSync(k, v, a, p, tagLength), callback);
  }

  aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, tagLength: number, callback: (plaintext: Uint8Array | undefined) => void): void {
    const [k, v, a, c] = [key.slice(), iv.slice(), aad.slice(), sealed.slice()];
    this.#aes(() => aesGcmOpenSync(k, v, a, c, tagLength), callback);
  }

  #aes(compute: () => Uint8Array | undefined, callback: (out: Uint8Array | undefined) => void): void {
    this.#domain.check();
    this.#domain.after(0, () => {
      this.aesOperations++;
      const out = compute();
      this.#domain.after(this.aesLatencyMs, () => this.#domain.enter(this, "result", callback, out));
    });
  }

  secretboxSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, callback: (box: Uint8Array | undefined) => void): void {
    const ok = secretboxLengthsOk(key, nonce, plaintext.length, 0);
    const [k, n, p] = [key.slice(), nonce.slice(), plaintext.slice()];
    this.#secretbox(p.length, () => (ok ? nacl.secretbox(p, n, k) : undefined), callback);
  }

  secretboxOpen(key: Uint8Array, nonce: Uint8Array, box: Uint8Array, callback: (plaintext: Uint8Array | undefined) => void): void {
    const ok = secretboxLengthsOk(key, nonce, box.length, SECRETBOX_TAG_BYTES);
    const [k, n, b] = [key.slice(), nonce.slice(), box.slice()];
    this.#secretbox(b.length, () => (ok ? (nacl.secretbox.open(b, n, k) ?? undefined) : undefined), callback);
  }

  /** The worker answers one request at a time, in the order asked: a short one asked after a long one waits for it. */
  #secretbox(bytes: number, compute: () => Uint8Array | undefined, callback: (out: Uint8Array | undefined) => void): void {
    this.#domain.check();
    const d = this.#domain, now = d.scheduler.now;
    const doneAt = (this.#workerFreeAt = Math.max(now, this.#workerFreeAt) + secretboxMs(bytes));
    d.after(0, () => {
      this.secretboxOperations++;
      const out = compute();
      d.after(doneAt - now, () => d.enter(this, "result", callback, out));
    });
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
      this.#domain.enter(this, "result", callback, s.length === nacl.sign.signatureLength && k.length === nacl.sign.publicKeyLength && nacl.sign.detached.verify(m, s, k));
    });
  }
  sha256(): Sha256 {
    this.#domain.check();
    return new SoftSha256();
  }
}

/**
 * The worker's time for a secretbox of `bytes`: tweetnacl's ≈ 21,600 + 276 XS units per byte
 * (docs/uplink.md) at the ~15 M units/s an ESP32 core may reach, and at least 1 ms for the round trip.
 */
export function secretboxMs(bytes: number): number {
  return Math.max(1, Math.ceil((21_600 + 276 * bytes) / 15_000));
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
