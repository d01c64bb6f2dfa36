/**
 * The asynchronous crypto service on a Worker (documentation/base/worker.md): Ed25519 verification
 * costs ~44 M XS units, seconds on an ESP32, so it runs in a second XS machine on the other core while
 * the main loop keeps the UART FIFOs drained (tweetnacl measured in xsnap: docs/uplink.md). The worker is
 * manifests/crypto-worker.ts; requests and answers carry an id, so callbacks find their request.
 *
 * AES-GCM (DLMS security suite 0) runs in this machine through the SDK's native AES and GHASH
 * (modules/crypt: BlockCipher "AES", etc/gcm.js): a few microseconds for an APDU, so no worker round
 * trip; the result is still delivered in a later turn, as the contract says.
 */
import Worker from "worker";
import Timer from "timer";
import { BlockCipher } from "crypt";
import GCM from "gcm";
import { aesGcmLengthsOk, type CryptoService } from "../system.js";

/** The worker's own XS machine: tweetnacl's verify needs little heap (60 slots retained, §10.3). */
const WORKER_CREATION = { static: 32768, stack: 256 };

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

  aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number, callback: (sealed: Uint8Array | undefined) => void): void {
    const out = aesGcmLengthsOk(key, iv, tagLength) ? gcmOf(key, tagLength).process(copy(plaintext), undefined, copy(iv), copy(aad), true) : undefined;
    Timer.set(() => callback(out ? new Uint8Array(out) : undefined), 0);
  }

  aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, tagLength: number, callback: (plaintext: Uint8Array | undefined) => void): void {
    const ok = aesGcmLengthsOk(key, iv, tagLength) && sealed.length >= tagLength;
    const out = ok ? gcmOf(key, tagLength).process(new Uint8Array(copy(sealed)), undefined, copy(iv), copy(aad), false) : undefined;
    Timer.set(() => callback(out ? new Uint8Array(out) : undefined), 0);
  }

  verifyEd25519(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, callback: (valid: boolean) => void): void {
    const id = this.#next++;
    this.#pending.set(id, callback);
    // Copies: the worker's machine does not share this one's heap.
    this.#worker.postMessage({ id, message: message.slice().buffer, signature: signature.slice().buffer, publicKey: publicKey.slice().buffer });
  }
}

function gcmOf(key: Uint8Array, tagLength: number): GCM {
  return new GCM(new BlockCipher("AES", copy(key)), tagLength);
}

/** The bytes of a view as an ArrayBuffer of their own (the native code takes whole buffers). */
function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}
