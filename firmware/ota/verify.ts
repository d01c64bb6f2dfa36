/**
 * The rules a concentrator applies to an offered package's head, in order (docs/ota.md "Verification
 * rules"): its signatures first, so that every reason reported afterwards is about authentic metadata,
 * then its policy fields. The table and the chunks are checked later, as they arrive (updater.ts).
 *
 * Signatures (each Ed25519 verify runs in the crypto service, off the main loop: seconds on an ESP32):
 *   1. no signature at all                                         → unsigned
 *   2. a signature by a key of the set that does not verify        → badSignature
 *   3. fewer distinct keys of the set with a valid signature than
 *      its threshold (signatures by unknown keys are ignored)      → threshold
 * Policy, on the authentic head:
 *   4. another hardware id                                         → hardware
 *   5. wall clock not set                                          → noTime
 *   6. expiry time passed                                          → expired
 *   7. security counter below the unit's                           → securityCounter
 *   8. image: sequence not above the last installed (unless it is
 *      the update in progress); keys: sequence (the new key set's
 *      version) not exactly the current one + 1                     → replayed
 *   9. image larger than the slot                                  → tooLarge
 *  10. chunk size other than the slot's sector                     → unsupported
 */
import type { Timers } from "../../hal/clock.js";
import type { CryptoService } from "../../hal/system.js";
import { KEY_ID_BYTES, OtaReason, PackageKind, type KeySet, type PackageHead } from "./format.js";

/** What the unit knows when it judges a head. */
export interface Judge {
  hardwareId: string;
  /** Wall-clock time in s since 1970, or undefined when the clock is not set. */
  nowS: number | undefined;
  securityCounter: number;
  sequenceFloor: number;
  /** The sequence of the update in progress (resumed, not replayed), if any. */
  inProgress?: number;
  capacity: number;
  blockSize: number;
  /** The version of the key set in force. */
  keySetVersion: number;
}

/** Rules 4-10: the first one broken, or undefined. */
export function policyReason(h: PackageHead, j: Judge): OtaReason | undefined {
  if (h.hardwareId !== j.hardwareId) return OtaReason.hardware;
  if (j.nowS === undefined) return OtaReason.noTime;
  if (j.nowS > h.expiresS) return OtaReason.expired;
  if (h.securityCounter < j.securityCounter) return OtaReason.securityCounter;
  if (h.kind === PackageKind.keys && h.sequence !== j.keySetVersion + 1) return OtaReason.replayed;
  if (h.kind === PackageKind.image) {
    if (h.sequence <= j.sequenceFloor && h.sequence !== j.inProgress) return OtaReason.replayed;
    if (h.imageLength > j.capacity) return OtaReason.tooLarge;
    if (h.chunkBytes !== j.blockSize) return OtaReason.unsupported;
  }
  return undefined;
}

/** The key ids of a key set (format.ts: the first 8 bytes of each public key's SHA-256). */
export function keyIds(keys: readonly Uint8Array[], crypto: CryptoService): Uint8Array[] {
  return keys.map((k) => {
    const h = crypto.sha256();
    h.update(k);
    return h.digest().subarray(0, KEY_ID_BYTES);
  });
}

const sameId = (a: Uint8Array, b: Uint8Array) => a.every((x, i) => x === b[i]);

/**
 * Rules 1-3: checks the head's signatures against `set` (whose key ids are `ids`), one verify per
 * signature by a key of the set, all in flight at once; `done` runs once, in a later turn, with
 * undefined (authentic) or the reason.
 */
export function checkSignatures(h: PackageHead, set: KeySet, ids: readonly Uint8Array[], crypto: CryptoService, timers: Timers, done: (reason: OtaReason | undefined) => void): void {
  const later = (reason: OtaReason) => void timers.set(() => done(reason), 0);
  if (h.signatures.length === 0) return later(OtaReason.unsigned);
  const checks: Array<{ key: number; signature: Uint8Array }> = [];
  for (const s of h.signatures) {
    const key = ids.findIndex((id) => sameId(id, s.keyId));
    if (key >= 0) checks.push({ key, signature: s.signature });
  }
  if (checks.length === 0) return later(OtaReason.threshold);
  let left = checks.length;
  let bad = false;
  const valid = new Set<number>();
  for (const c of checks) {
    crypto.verifyEd25519(h.signed, c.signature, set.keys[c.key]!, (ok) => {
      if (ok) valid.add(c.key);
      else bad = true;
      if (--left > 0) return;
      done(bad ? OtaReason.badSignature : valid.size < set.threshold ? OtaReason.threshold : undefined);
    });
  }
}
