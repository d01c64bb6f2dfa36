/** Deterministic key pairs for simulations and tests: the same label always gives the same pair. */
import nacl from "tweetnacl";
import { Prng } from "../../hal/sim/prng.js";

/** An X25519 key pair (NaCl box) whose secret key is drawn from a PRNG seeded with `label`. */
export function keyPairOf(label: string): nacl.BoxKeyPair {
  const seed = new Uint8Array(32);
  new Prng(label).fill(seed);
  return nacl.box.keyPair.fromSecretKey(seed);
}

/** An Ed25519 signing key pair (NaCl sign) whose seed is drawn from a PRNG seeded with `label`. */
export function signingKeyPairOf(label: string): nacl.SignKeyPair {
  const seed = new Uint8Array(32);
  new Prng(label).fill(seed);
  return nacl.sign.keyPair.fromSeed(seed);
}
