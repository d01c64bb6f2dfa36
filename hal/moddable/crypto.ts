/**
 * The asynchronous crypto service on a Worker (documentation/base/worker.md): Ed25519 verification
 * costs ~44 M XS units, seconds on an ESP32, so it runs in a second XS machine on the other core while
 * the main loop keeps the UART FIFOs drained (tweetnacl measured in xsnap: docs/uplink.md). The worker is
 * manifests/crypto-worker.ts; requests and answers carry an id, so callbacks find their request.
 */
import Worker from "worker";
import type { CryptoService } from "../system.js";

/** The worker's own XS machine: tweetnacl's verify needs little heap (60 slots retained, §10.3). */
const WORKER_CREATION = Object.freeze({ static: 32768, stack: 256 });

export class WorkerCrypto implements CryptoService {
  readonly #worker: Worker;
  readonly #pending = new Map<number, (valid: boolean) => void>();
  #next = 1;

  constructor() {
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
}
