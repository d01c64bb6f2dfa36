/**
 * Board-level services: random bytes, watchdog, reset, the crypto service and raw-DEFLATE inflation.
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
 *
 * SHA-256 is synchronous and incremental: the caller bounds the bytes it hashes per turn. On the device
 * it is native (PSA Crypto, with the ESP32-S3's SHA accelerator), a few ms per 4 KiB; a pure-ECMAScript
 * SHA-256 costs ~15 k XS units per 64-byte block (~235 k per KiB, measured in xsnap, docs/ota.md), so
 * firmware that must also run where SHA-256 is not native hashes at most 512 bytes per turn.
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
  /**
   * NaCl secretbox (XSalsa20-Poly1305, a 32-byte key, a 24-byte nonce): the 16-byte Poly1305 tag
   * followed by the ciphertext, or undefined for bad lengths. tweetnacl in XS costs ≈ 21,600 + 276
   * units per byte (docs/uplink.md): more than a turn for a body of half a kilobyte, so it runs on the
   * worker on the device. `plaintext` is at most SECRETBOX_MAX_BYTES.
   */
  secretboxSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, callback: (box: Uint8Array | undefined) => void): void;
  /** The inverse of secretboxSeal: the plaintext, or undefined when `box` does not authenticate (or is too long). */
  secretboxOpen(key: Uint8Array, nonce: Uint8Array, box: Uint8Array, callback: (plaintext: Uint8Array | undefined) => void): void;
  /** A new SHA-256 (FIPS 180-4) computation. */
  sha256(): Sha256;
}

/**
 * The longest secretbox plaintext the crypto service takes: the device's worker holds a message of it
 * in its 32 KiB machine (docs/memory.md "fit-crypto"); an uplink message body is bounded below it.
 */
export const SECRETBOX_MAX_BYTES = 4096;
const SECRETBOX_KEY_BYTES = 32;
const SECRETBOX_NONCE_BYTES = 24;
export const SECRETBOX_TAG_BYTES = 16;
/** The device's crypto worker (hal/moddable/crypto.ts, manifests/crypto-worker.ts): what a secretbox request asks for. */
export const SECRETBOX_SEAL_OP = 1;
export const SECRETBOX_OPEN_OP = 2;

/** True when the lengths suit secretbox: its key, its nonce, and a message of at most SECRETBOX_MAX_BYTES (`extra`: a tag). */
export function secretboxLengthsOk(key: Uint8Array, nonce: Uint8Array, length: number, extra: number): boolean {
  return key.length === SECRETBOX_KEY_BYTES && nonce.length === SECRETBOX_NONCE_BYTES && length >= extra && length - extra <= SECRETBOX_MAX_BYTES;
}

/** True when the lengths suit AES-128-GCM with a 96-bit IV and a tag of 12 to 16 bytes. */
export function aesGcmLengthsOk(key: Uint8Array, iv: Uint8Array, tagLength: number): boolean {
  return key.length === 16 && iv.length === 12 && Number.isInteger(tagLength) && tagLength >= 12 && tagLength <= 16;
}

export interface Sha256 {
  /** Adds bytes; the hasher does not keep `bytes`. */
  update(bytes: Uint8Array): void;
  /** The 32-byte digest; the hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

/**
 * Raw DEFLATE (RFC 1951, no zlib or gzip wrapper) decompression of one self-contained stream into a
 * buffer whose size is known in advance (an OTA chunk of a compressed image). On the device it is the
 * ROM's miniz inflater (tinfl), native; synchronous.
 *
 * Returns the number of bytes written to `output`. Throws RangeError("invalid deflate data") when the
 * input is not one complete raw-DEFLATE stream, or its output does not fit `output`; `output` may then
 * hold anything.
 */
export interface Inflater {
  inflateRaw(input: Uint8Array, output: Uint8Array): number;
}
