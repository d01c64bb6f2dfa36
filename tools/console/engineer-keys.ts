/**
 * Engineers' console keys (docs/console.md "Keys"): an Ed25519 key pair per engineer, made by
 * `npm run keys -- --dir DIR --engineer NAME`.
 *
 *   <dir>/engineer-<name>.json  { engineer, publicKey, secretKey }   the engineer's own file (mode 0600)
 *   <dir>/engineers.json        { "<name>": publicKey, ... }         what the units trust
 *   <dir>/engineers.bin         the same, as the unit's NVS key "engineers" (domain "keys") holds it
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nacl from "tweetnacl";
import { encodeEngineerKeys } from "../../firmware/console/engineer-keys.js";
import { ENGINEER_ID, type EngineerKey } from "../../firmware/console/session.js";

export interface EngineerKeyFile {
  engineer: string;
  publicKey: Uint8Array;
  /** Ed25519 secret key (64 bytes: seed and public key, as tweetnacl keeps it). */
  secretKey: Uint8Array;
}

function bytes(s: unknown, length: number, what: string): Uint8Array {
  const b = typeof s === "string" ? new Uint8Array(Buffer.from(s, "base64")) : new Uint8Array(0);
  if (b.length !== length) throw new TypeError(`"${what}" is not a ${length}-byte base64 key`);
  return b;
}

export function readEngineerKey(path: string): EngineerKeyFile {
  const j = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  if (typeof j.engineer !== "string" || !ENGINEER_ID.test(j.engineer)) throw new TypeError('"engineer" is not an engineer name (1 to 16 of A-Z a-z 0-9 . _ -)');
  return { engineer: j.engineer, publicKey: bytes(j.publicKey, 32, "publicKey"), secretKey: bytes(j.secretKey, 64, "secretKey") };
}

/** The engineers a unit trusts, from an engineers.json. */
export function readEngineers(path: string): EngineerKey[] {
  const j = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  return Object.entries(j).map(([id, key]) => {
    if (!ENGINEER_ID.test(id)) throw new TypeError(`"${id}" is not an engineer name`);
    return { id, publicKey: bytes(key, 32, id) };
  });
}

/** Creates a key pair for each new engineer and rewrites the trust files; returns the files written. */
export function provisionEngineers(dir: string, names: readonly string[]): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const registry = join(dir, "engineers.json");
  const trusted = existsSync(registry) ? readEngineers(registry) : [];
  const written: string[] = [];
  for (const name of names) {
    if (!ENGINEER_ID.test(name)) throw new RangeError(`"${name}" is not an engineer name (1 to 16 of A-Z a-z 0-9 . _ -)`);
    const path = join(dir, `engineer-${name}.json`);
    if (existsSync(path)) continue;
    const kp = nacl.sign.keyPair();
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
    writeFileSync(path, JSON.stringify({ engineer: name, publicKey: b64(kp.publicKey), secretKey: b64(kp.secretKey) }, null, 2) + "\n", { mode: 0o600 });
    written.push(path);
    const i = trusted.findIndex((e) => e.id === name);
    if (i >= 0) trusted.splice(i, 1);
    trusted.push({ id: name, publicKey: kp.publicKey });
  }
  const json: Record<string, string> = {};
  for (const e of trusted) json[e.id] = Buffer.from(e.publicKey).toString("base64");
  writeFileSync(registry, JSON.stringify(json, null, 2) + "\n");
  writeFileSync(join(dir, "engineers.bin"), encodeEngineerKeys(trusted));
  written.push(registry, join(dir, "engineers.bin"));
  return written;
}
