/**
 * Release key files (docs/ota.md "Keys"): Ed25519 key pairs (NaCl sign), base64 in small JSON files,
 * created by `npm run ota -- keygen` outside the repository.
 *
 *   <dir>/release-<n>.json    { publicKey, secretKey }           one signer's pair, mode 0600
 *   <dir>/release-keys.json   { version, threshold, keys: [...] } the key set a build pins (public)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import nacl from "tweetnacl";
import { isValidKeySet, type KeySet } from "../../firmware/ota/format.js";

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

function bytes(s: unknown, length: number, what: string): Uint8Array {
  const b = typeof s === "string" ? new Uint8Array(Buffer.from(s, "base64")) : new Uint8Array(0);
  if (b.length !== length) throw new TypeError(`"${what}" is not a ${length}-byte base64 value`);
  return b;
}

export const keySetPath = (dir: string) => join(dir, "release-keys.json");
export const signerPath = (dir: string, n: number) => join(dir, `release-${n}.json`);

/** The git work tree `path` is in, if any. */
function workTreeOf(path: string): string | undefined {
  for (let d = resolve(path); ; d = dirname(d)) {
    if (existsSync(join(d, ".git"))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Creates `count` signing key pairs and the key set of `threshold` of them (version 1, or `version`).
 * Refuses a directory inside a git work tree (a release key committed by mistake is a lost key) and a
 * directory that has keys already. Returns the files written.
 */
export function keygen(dir: string, count: number, threshold: number, version = 1): string[] {
  const tree = workTreeOf(dir);
  if (tree) throw new RangeError(`${dir} is inside the git work tree ${tree}: release keys live outside any repository`);
  if (existsSync(keySetPath(dir))) throw new RangeError(`${keySetPath(dir)} exists: a directory holds one key set`);
  const pairs = Array.from({ length: count }, () => nacl.sign.keyPair());
  const set: KeySet = { version, threshold, keys: pairs.map((p) => p.publicKey) };
  if (!isValidKeySet(set)) throw new RangeError("1 ≤ threshold ≤ count ≤ 6");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  pairs.forEach((p, i) => {
    const path = signerPath(dir, i + 1);
    writeFileSync(path, JSON.stringify({ publicKey: b64(p.publicKey), secretKey: b64(p.secretKey) }, null, 2) + "\n", { mode: 0o600 });
    written.push(path);
  });
  writeKeySet(keySetPath(dir), set);
  written.push(keySetPath(dir));
  return written;
}

export function writeKeySet(path: string, set: KeySet): void {
  writeFileSync(path, JSON.stringify({ version: set.version, threshold: set.threshold, keys: set.keys.map(b64) }, null, 2) + "\n");
}

export function readKeySet(path: string): KeySet {
  const j = JSON.parse(readFileSync(path, "utf8")) as { version?: unknown; threshold?: unknown; keys?: unknown };
  const keys = Array.isArray(j.keys) ? j.keys.map((k, i) => bytes(k, 32, `keys[${i}]`)) : [];
  const set = { version: Number(j.version), threshold: Number(j.threshold), keys };
  if (!isValidKeySet(set)) throw new TypeError(`${path}: not a key set (version ≥ 1, 1 ≤ threshold ≤ keys ≤ 6)`);
  return set;
}

/** A signer's secret key (64 bytes, tweetnacl) from its file. */
export function readSigner(path: string): Uint8Array {
  const j = JSON.parse(readFileSync(path, "utf8")) as { secretKey?: unknown };
  return bytes(j.secretKey, 64, "secretKey");
}
