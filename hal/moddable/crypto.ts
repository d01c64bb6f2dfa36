/**
 * The asynchronous crypto service on a Worker (documentation/base/worker.md): Ed25519 verification
 * costs ~44 M XS units, seconds on an ESP32, so it runs in a second XS machine on the other core while
 * the main loop keeps the UART FIFOs drained (tweetnacl measured in xsnap: docs/uplink.md). The worker is
 * manifests/crypto-worker.ts; requests and answers carry an id, so callbacks find their request.
 * SHA-256 is native, through the board's FFI (mbedtls on the ESP32-S3's SHA accelerator), synchronous.
 */
import type FFI from "mc/ffi";
import Worker from "worker";
import type { CryptoService, Sha256 } from "../system.js";

/** The worker's own XS machine: tweetnacl's verify needs little heap (60 slots retained, §10.3). */
const WORKER_CREATION = { static: 32768, stack: 256 };

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
  readonly #worker: Worker;
  readonly #ffi: FFI;
  readonly #pending = new Map<number, (valid: boolean) => void>();
  #next = 1;

  constructor(ffi: FFI) {
    this.#ffi = ffi;
    this.#worker = new Worker("crypto-worker", WORKER_CREATION);
    this.#worker.onmessage = (reply: { id: number; valid: boolean }) => {
      const cb = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      cb?.(reply.valid === true);
    };
  }

  verifyEd25519(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, callback: (valid: boolean) => void): void {
    const id = this.#next++;
    this.#pending.set(id, callback);
    // Copies: the worker's machine does not share this one's heap.
    this.#worker.postMessage({ id, message: message.slice().buffer, signature: signature.slice().buffer, publicKey: publicKey.slice().buffer });
  }

  sha256(): Sha256 {
    return new FfiSha256(this.#ffi);
  }
}
