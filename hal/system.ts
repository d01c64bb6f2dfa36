/**
 * Board-level services: random bytes, watchdog, reset, and the asynchronous crypto service.
 */

/** Cryptographically strong random bytes (esp_fill_random on the device). */
export interface RandomSource {
  fill(bytes: Uint8Array): void;
}

/**
 * Task watchdog. Once enabled it must be fed at least every `timeoutMs`, or the board resets with
 * reason "watchdog". It cannot be disabled again (as the ESP-IDF task watchdog in production).
 */
export interface Watchdog {
  enable(timeoutMs: number): void;
  feed(): void;
}

export type ResetReason = "power-on" | "brownout" | "watchdog" | "software" | "panic";

export interface SystemControl {
  /** Why the board last started. */
  readonly resetReason: ResetReason;
  /** Resets the board; nothing after the call runs. */
  restart(): void;
}

/**
 * Expensive cryptography off the main loop (a Worker on the second core, or native code, on the device).
 * Ed25519 verification costs ~44 M XS meter units (seconds on an ESP32): it must never run inside one
 * event-loop turn of the main VM or the UART FIFOs overflow (tweetnacl measured in xsnap: docs/uplink.md).
 * AES-GCM in pure JavaScript costs ~0.17 M units for a short APDU (more than a whole turn's budget),
 * natively a few microseconds: it runs natively on the device and in its own turn in the simulation.
 *
 * Contract: the callback runs in a later turn, exactly once, with the result. Bad lengths give `false`
 * (or undefined). The arrays passed in may be reused by the caller as soon as the call returns.
 */
export interface CryptoService {
  verifyEd25519(
    message: Uint8Array,
    signature: Uint8Array,
    publicKey: Uint8Array,
    callback: (valid: boolean) => void,
  ): void;
  /**
   * AES-GCM (NIST SP 800-38D) encryption with a 128-bit key and a 96-bit IV: the ciphertext followed by
   * the first `tagLength` (12..16) bytes of the tag. An empty plaintext gives the GMAC of `aad` alone.
   */
  aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number, callback: (sealed: Uint8Array | undefined) => void): void;
  /** The inverse of aesGcmSeal: the plaintext, or undefined when the tag does not authenticate `sealed` and `aad`. */
  aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, tagLength: number, callback: (plaintext: Uint8Array | undefined) => void): void;
}

/** True when the lengths suit AES-128-GCM with a 96-bit IV and a tag of 12 to 16 bytes. */
export function aesGcmLengthsOk(key: Uint8Array, iv: Uint8Array, tagLength: number): boolean {
  return key.length === 16 && iv.length === 12 && Number.isInteger(tagLength) && tagLength >= 12 && tagLength <= 16;
}
