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
 *
 * Contract: the callback runs in a later turn, exactly once, with the result. Bad lengths give `false`.
 */
export interface CryptoService {
  verifyEd25519(
    message: Uint8Array,
    signature: Uint8Array,
    publicKey: Uint8Array,
    callback: (valid: boolean) => void,
  ): void;
}
