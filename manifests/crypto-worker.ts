// The crypto worker (hal/moddable/crypto.ts): Ed25519 verification and secretbox in its own XS machine.
import nacl from "tweetnacl";
import { SECRETBOX_OPEN_OP, SECRETBOX_SEAL_OP, secretboxLengthsOk } from "../hal/system.js";

type Request =
  | { id: number; op?: undefined; message: ArrayBuffer; signature: ArrayBuffer; publicKey: ArrayBuffer }
  | { id: number; op: typeof SECRETBOX_SEAL_OP | typeof SECRETBOX_OPEN_OP; data: ArrayBuffer; nonce: ArrayBuffer; key: ArrayBuffer };

function verify(message: ArrayBuffer, sig: ArrayBuffer, pub: ArrayBuffer): boolean {
  const signature = new Uint8Array(sig);
  const publicKey = new Uint8Array(pub);
  return signature.length === nacl.sign.signatureLength && publicKey.length === nacl.sign.publicKeyLength && nacl.sign.detached.verify(new Uint8Array(message), signature, publicKey);
}

/**
 * Secretbox seal or open. The answer is tweetnacl's own buffer and where the output lies in it (no
 * copy: the worker's machine holds the input and tweetnacl's two working buffers, about 3 × the
 * message, docs/memory.md "fit-crypto"); nothing but the id when it fails.
 */
function secretbox(id: number, open: boolean, data: ArrayBuffer, n: ArrayBuffer, k: ArrayBuffer): { id: number; buffer?: ArrayBuffer; offset?: number; length?: number } {
  const nonce = new Uint8Array(n);
  const key = new Uint8Array(k);
  const input = new Uint8Array(data);
  if (!secretboxLengthsOk(key, nonce, input.length, open ? nacl.secretbox.overheadLength : 0)) return { id };
  const out = open ? nacl.secretbox.open(input, nonce, key) : nacl.secretbox(input, nonce, key);
  return out ? { id, buffer: out.buffer as ArrayBuffer, offset: out.byteOffset, length: out.length } : { id };
}

self.onmessage = (r: Request) => {
  if (r.op === undefined) self.postMessage({ id: r.id, valid: verify(r.message, r.signature, r.publicKey) });
  else self.postMessage(secretbox(r.id, r.op === SECRETBOX_OPEN_OP, r.data, r.nonce, r.key));
};
