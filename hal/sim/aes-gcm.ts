/**
 * AES-128-GCM in software for the simulated board and the simulated DLMS meters: @noble/ciphers
 * (audited, pure ECMAScript, runs in XS), with the tag truncated to `tagLength` bytes as DLMS security
 * suite 0 uses it (12). GCM is CTR mode plus a tag over the ciphertext, so opening with a truncated tag
 * recovers the plaintext through the cipher and checks the tag that sealing it again gives.
 */
import { gcm } from "@noble/ciphers/aes";
import { aesGcmLengthsOk } from "../system.js";

export function aesGcmSealSync(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number): Uint8Array | undefined {
  if (!aesGcmLengthsOk(key, iv, tagLength)) return undefined;
  const full = gcm(key, iv, aad).encrypt(plaintext);
  return full.slice(0, plaintext.length + tagLength);
}

export function aesGcmOpenSync(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, tagLength: number): Uint8Array | undefined {
  if (!aesGcmLengthsOk(key, iv, tagLength) || sealed.length < tagLength) return undefined;
  const ciphertext = sealed.subarray(0, sealed.length - tagLength);
  // CTR is its own inverse: "encrypting" the ciphertext yields the plaintext (its tag is discarded).
  const plaintext = gcm(key, iv, aad).encrypt(ciphertext).slice(0, ciphertext.length);
  const again = aesGcmSealSync(key, iv, aad, plaintext, tagLength)!;
  let diff = 0;
  for (let i = 0; i < sealed.length; i++) diff |= again[i]! ^ sealed[i]!;
  return diff === 0 ? plaintext : undefined;
}
