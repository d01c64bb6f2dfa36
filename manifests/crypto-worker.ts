// The crypto worker (hal/moddable/crypto.ts): Ed25519 verification in its own XS machine.
import nacl from "tweetnacl";

interface Request {
  id: number;
  message: ArrayBuffer;
  signature: ArrayBuffer;
  publicKey: ArrayBuffer;
}

self.onmessage = (r: Request) => {
  const signature = new Uint8Array(r.signature);
  const publicKey = new Uint8Array(r.publicKey);
  const valid = signature.length === nacl.sign.signatureLength && publicKey.length === nacl.sign.publicKeyLength && nacl.sign.detached.verify(new Uint8Array(r.message), signature, publicKey);
  self.postMessage({ id: r.id, valid });
};
