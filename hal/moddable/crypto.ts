/**
 * The asynchronous crypto service on a Worker (documentation/base/worker.md): Ed25519 verification
 * costs ~44 M XS units, seconds on an ESP32, so it runs in a second XS machine on the other core while
 * the main loop keeps the UART FIFOs drained (tweetnacl measured in xsnap: docs/uplink.md). The worker is
 * manifests/crypto-worker.ts; requests and answers carry an id, so callbacks find their request.
 * Secretbox (the uplink's envelope, ≈ 21,600 + 276 units per byte in XS) runs there too: a message of
 * SECRETBOX_MAX_BYTES costs ≈ 1.2 M units, far more than a turn of the main loop. The worker answers
 * in the order it was asked.
 *
 * AES-GCM (DLMS security suite 0) runs natively through ESP-IDF's PSA Crypto (manifests/ffi/board.c
 * board_aes_gcm; ESP-IDF v6.0 drives the chip's AES accelerator behind it): microseconds for an APDU,
 * so no worker round trip; the result is still delivered in a later turn, as the contract says.
 *
 * SHA-256 is native too, through the same FFI and PSA Crypto (the ESP32-S3's SHA accelerator), synchronous.
 */
import type FFI from "mc/ffi";
import Worker from "worker";
import Timer from "timer";
import { aesGcmLengthsOk, type CryptoService, SECRETBOX_OPEN_OP, SECRETBOX_SEAL_OP, type Sha256 } from "../system.js";


/** The worker's answer: `valid` for a verification; the output's place in `buffer` for a secretbox, absent when it failed. */
interface Reply {
  id: number;
  valid?: boolean;
  buffer?: ArrayBuffer;
  offset?: number;
  length?: number;
}

/**
 * The worker's own XS machine: tweetnacl's verify needs little heap (60 slots retained, §10.3); a
 * secretbox of SECRETBOX_MAX_BYTES holds about 3 × 4 KiB of chunks at its peak (the request's bytes and
 * tweetnacl's two working buffers), 12.4 KiB of the 32 (docs/memory.md "fit-crypto").
 */
const WORKER_CREATION = Object.freeze({ static: 32768, stack: 256 });

/** manifests/ffi/board.c BOARD_SHA256_CONTEXT_BYTES. */
const SHA256_CONTEXT_BYTES = 256;

class FfiSha256 implements Sha256 {
  readonly #ffi: FFI;
  readonly #context = new ArrayBuffer(SHA256_CONTEXT_BYTES);
  #done = false;
  constructor(ffi: FFI) {
    this.#ffi = ffi;
    if (ffi.board_sha256_start(this.#context) !== 0) throw new Error("sha256 failed");
  }
  update(bytes: Uint8Array): void {
    if (this.#done) throw new Error("digest taken");
    if (this.#ffi.board_sha256_update(this.#context, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength) !== 0) throw new Error("sha256 failed");
  }
  digest(): Uint8Array {
    if (this.#done) throw new Error("digest taken");
    this.#done = true;
    const out = new ArrayBuffer(32);
    if (this.#ffi.board_sha256_finish(this.#context, out) !== 0) throw new Error("sha256 failed");
    return new Uint8Array(out);
  }
}

export class WorkerCrypto implements CryptoService {
  readonly #ffi: FFI;
  readonly #worker: Worker;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #next = 1;

  constructor(ffi: FFI) {
    this.#ffi = ffi;
    this.#worker = new Worker("crypto-worker", WORKER_CREATION);
    this.#worker.onmessage = (reply: Reply) => {
      const cb = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      cb?.(reply);
    };
  }

  #ask(request: object, callback: (reply: Reply) => void): void {
    const id = this.#next++;
    this.#pending.set(id, callback);
    this.#worker.postMessage({ ...request, id });
  }

  aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number, callback: (sealed: Uint8Array | undefined) => void): void {
    const out = aesGcmLengthsOk(key, iv, tagLength) ? this.#gcm(true, key, iv, aad, plaintext, plaintext.length + tagLength, tagLength) : undefined;
    Timer.set(() => callback(out), 0);
  }

  aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, tagLength: number, callback: (plaintext: Uint8Array | undefined) => void): void {
    const ok = aesGcmLengthsOk(key, iv, tagLength) && sealed.length >= tagLength;
    const out = ok ? this.#gcm(false, key, iv, aad, sealed, sealed.length - tagLength, tagLength) : undefined;
    Timer.set(() => callback(out), 0);
  }

  /** One AES-128-GCM operation in native code: the output, or undefined when it fails (or the tag does not authenticate). */
  #gcm(encrypt: boolean, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, input: Uint8Array, outputLength: number, tagLength: number): Uint8Array | undefined {
    // Whole buffers of their own: the native side takes a buffer's first byte as the data's.
    const output = new ArrayBuffer(Math.max(outputLength, 1));
    const n = this.#ffi.board_aes_gcm(encrypt ? 1 : 0, copy(key), copy(iv), copy(aad), aad.length, copy(input), input.length, output, outputLength, tagLength);
    return n === outputLength ? new Uint8Array(output, 0, n) : undefined;
  }

  verifyEd25519(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, callback: (valid: boolean) => void): void {
    // Copies: the worker's machine does not share this one's heap.
    this.#ask({ message: copy(message), signature: copy(signature), publicKey: copy(publicKey) }, (r) => callback(r.valid === true));
  }

  secretboxSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, callback: (box: Uint8Array | undefined) => void): void {
    this.#ask({ op: SECRETBOX_SEAL_OP, data: copy(plaintext), nonce: copy(nonce), key: copy(key) }, (r) => callback(outputOf(r)));
  }

  secretboxOpen(key: Uint8Array, nonce: Uint8Array, box: Uint8Array, callback: (plaintext: Uint8Array | undefined) => void): void {
    this.#ask({ op: SECRETBOX_OPEN_OP, data: copy(box), nonce: copy(nonce), key: copy(key) }, (r) => callback(outputOf(r)));
  }

  sha256(): Sha256 {
    return new FfiSha256(this.#ffi);
  }
}

/** A secretbox answer's output: a view of the buffer the worker sent (a copy of tweetnacl's). */
function outputOf(r: Reply): Uint8Array | undefined {
  return r.buffer && r.offset !== undefined && r.length !== undefined ? new Uint8Array(r.buffer, r.offset, r.length) : undefined;
}

/** The bytes of a view as an ArrayBuffer of their own (the native code takes whole buffers). */
function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}
