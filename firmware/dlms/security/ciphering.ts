/**
 * DLMS/COSEM security suite 0 (IEC 62056-5-3 §9.2, the Green Book's AES-GCM-128): xDLMS APDUs
 * protected with the global unicast encryption key (EK) and the authentication key (AK) of a meter,
 * and the HLS GMAC (mechanism 5) challenge responses.
 *
 *   ciphered APDU = glo-tag | length | SC | IC (4, big-endian) | ciphertext | tag (12)
 *   IV  = the sender's system title (8) | IC (4)
 *   AAD = SC | AK                (authenticated and encrypted, SC 0x30)
 *         SC | AK | APDU         (authenticated only, SC 0x10: the "ciphertext" is the APDU itself)
 *   HLS f(challenge) = SC 0x10 | IC | GMAC(SC | AK | challenge)
 *
 * The AES work goes through the HAL crypto service (asynchronous, never in the caller's turn).
 */
import type { CryptoService } from "../../../hal/system.js";
import { ApduTag } from "../apdu/xdlms.js";
import { ByteCursor, ByteSink, DecodeError } from "../axdr/codec.js";
import { frozen } from "../../model/frozen.js";

const TAG_LENGTH = 12;
/** Security control byte: suite in bits 0-3, authentication bit 4, encryption bit 5. */
const SecurityControl = frozen({ authenticated: 0x10, encrypted: 0x20, suite0: 0x00 } as const);
const AUTHENTICATED_ENCRYPTED = SecurityControl.authenticated | SecurityControl.encrypted;

/** The glo-ciphered tag of each plain request and response this client exchanges. */
const GLO_OF: Readonly<Record<number, number>> = frozen({
  [ApduTag.initiateRequest]: ApduTag.gloInitiateRequest,
  [ApduTag.initiateResponse]: ApduTag.gloInitiateResponse,
  [ApduTag.getRequest]: ApduTag.gloGetRequest,
  [ApduTag.setRequest]: ApduTag.gloSetRequest,
  [ApduTag.actionRequest]: ApduTag.gloActionRequest,
  [ApduTag.getResponse]: ApduTag.gloGetResponse,
  [ApduTag.setResponse]: ApduTag.gloSetResponse,
  [ApduTag.actionResponse]: ApduTag.gloActionResponse,
});
const GLO_TAGS: ReadonlySet<number> = new Set(Object.values(GLO_OF));

export interface SuiteKeys {
  /** Global unicast encryption key (block cipher key), 16 bytes. */
  readonly encryptionKey: Uint8Array;
  /** Authentication key, 16 bytes. */
  readonly authenticationKey: Uint8Array;
}

export function isCiphered(apdu: Uint8Array): boolean {
  return apdu.length > 0 && GLO_TAGS.has(apdu[0]!);
}

function iv(systemTitle: Uint8Array, ic: number): Uint8Array {
  const out = new Uint8Array(12);
  out.set(systemTitle.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, ic >>> 0);
  return out;
}

function aad(sc: number, ak: Uint8Array, extra?: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + ak.length + (extra?.length ?? 0));
  out[0] = sc;
  out.set(ak, 1);
  if (extra) out.set(extra, 1 + ak.length);
  return out;
}

/**
 * Seals a plain APDU (authenticated and encrypted) from `systemTitle` with invocation counter `ic`;
 * `done` gets the glo-ciphered APDU, or undefined when the keys are unusable.
 */
export function sealApdu(crypto: CryptoService, keys: SuiteKeys, systemTitle: Uint8Array, ic: number, apdu: Uint8Array, done: (ciphered: Uint8Array | undefined) => void): void {
  const glo = GLO_OF[apdu[0]!];
  if (glo === undefined) return done(undefined);
  const sc = AUTHENTICATED_ENCRYPTED;
  crypto.aesGcmSeal(keys.encryptionKey, iv(systemTitle, ic), aad(sc, keys.authenticationKey), apdu, TAG_LENGTH, (sealed) => {
    if (!sealed) return done(undefined);
    const out = new ByteSink().u8(glo).len(5 + sealed.length).u8(sc).uint(ic >>> 0, 4).bytes(sealed);
    done(out.done());
  });
}

/** A glo-ciphered APDU's parts. Throws DecodeError when it is not one. */
export function parseCiphered(bytes: Uint8Array): { tag: number; sc: number; ic: number; sealed: Uint8Array } {
  const c = new ByteCursor(bytes);
  const tag = c.u8();
  if (!GLO_TAGS.has(tag)) throw new DecodeError("tag", 0);
  const length = c.length();
  if (length !== c.left || length < 5 + TAG_LENGTH) throw new DecodeError("length", 1);
  const sc = c.u8();
  const ic = c.uint(4);
  return { tag, sc, ic, sealed: c.take(c.left) };
}

export type Opened = { ok: true; apdu: Uint8Array } | { ok: false; reason: "security-control" | "authentication" };

/**
 * Opens a ciphered APDU's parts from the sender `systemTitle`: the plain APDU, or why not. Suite 0
 * only; authenticated-only APDUs (SC 0x10) are accepted as well as authenticated and encrypted ones.
 */
export function openApdu(crypto: CryptoService, keys: SuiteKeys, systemTitle: Uint8Array, parts: { sc: number; ic: number; sealed: Uint8Array }, done: (r: Opened) => void): void {
  const { sc, ic, sealed } = parts;
  if ((sc & 0x0f) !== SecurityControl.suite0 || !(sc & SecurityControl.authenticated) || sc & 0xc0) return done({ ok: false, reason: "security-control" });
  if (sc & SecurityControl.encrypted) {
    crypto.aesGcmOpen(keys.encryptionKey, iv(systemTitle, ic), aad(sc, keys.authenticationKey), sealed, TAG_LENGTH, (plain) => done(plain ? { ok: true, apdu: plain } : { ok: false, reason: "authentication" }));
    return;
  }
  const apdu = sealed.subarray(0, sealed.length - TAG_LENGTH);
  crypto.aesGcmOpen(keys.encryptionKey, iv(systemTitle, ic), aad(sc, keys.authenticationKey, apdu), sealed.subarray(apdu.length), TAG_LENGTH, (plain) =>
    done(plain ? { ok: true, apdu: apdu.slice() } : { ok: false, reason: "authentication" }),
  );
}

/** HLS GMAC: f(challenge) = SC | IC | GMAC, computed by the holder of `systemTitle` with `ic`. */
export function hlsResponse(crypto: CryptoService, keys: SuiteKeys, systemTitle: Uint8Array, ic: number, challenge: Uint8Array, done: (f: Uint8Array | undefined) => void): void {
  const sc = SecurityControl.authenticated;
  crypto.aesGcmSeal(keys.encryptionKey, iv(systemTitle, ic), aad(sc, keys.authenticationKey, challenge), new Uint8Array(0), TAG_LENGTH, (tag) => {
    if (!tag) return done(undefined);
    done(new ByteSink().u8(sc).uint(ic >>> 0, 4).bytes(tag).done());
  });
}

/** Checks the server's f(CtoS): its IC (returned for the replay check) when the GMAC is right. */
export function checkHlsResponse(crypto: CryptoService, keys: SuiteKeys, serverTitle: Uint8Array, challenge: Uint8Array, f: Uint8Array, done: (ic: number | undefined) => void): void {
  if (f.length !== 5 + TAG_LENGTH || f[0] !== SecurityControl.authenticated) return done(undefined);
  const ic = new DataView(f.buffer, f.byteOffset).getUint32(1);
  hlsResponse(crypto, keys, serverTitle, ic, challenge, (expected) => {
    let diff = expected ? 0 : 1;
    for (let i = 0; expected && i < f.length; i++) diff |= expected[i]! ^ f[i]!;
    done(diff === 0 ? ic : undefined);
  });
}
