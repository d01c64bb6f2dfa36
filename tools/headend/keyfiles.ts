/**
 * Key files shared by the key tool, the head-end and the simulated concentrator (docs/uplink.md
 * "Keys"). X25519 key pairs (NaCl box), base64 in small JSON files; secret files are mode 0600.
 *
 *   <dir>/headend.json        { publicKey, secretKey }                         the head-end's pair
 *   <dir>/concentrators.json  { "<id>": publicKey, ... }                        the head-end's registry
 *   <dir>/mc-<id>.json        { concentratorId, publicKey, secretKey, headendPublicKey }  one device
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nacl from "tweetnacl";
import type { HeadendKeys } from "./core.js";

export interface KeyPairFile {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface DeviceKeyFile extends KeyPairFile {
  concentratorId: number;
  headendPublicKey: Uint8Array;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const unb64 = (s: unknown, what: string): Uint8Array => {
  const b = typeof s === "string" ? new Uint8Array(Buffer.from(s, "base64")) : new Uint8Array(0);
  if (b.length !== 32) throw new TypeError(`"${what}" is not a 32-byte base64 key`);
  return b;
};

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

export const headendKeyPath = (dir: string) => join(dir, "headend.json");
export const registryPath = (dir: string) => join(dir, "concentrators.json");
export const deviceKeyPath = (dir: string, id: number) => join(dir, `mc-${id}.json`);

export function readHeadendKeys(dir: string): KeyPairFile {
  const j = readJson(headendKeyPath(dir));
  return { publicKey: unb64(j.publicKey, "publicKey"), secretKey: unb64(j.secretKey, "secretKey") };
}

/** Registered concentrators: id → public key. */
export function readRegistry(dir: string): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (!existsSync(registryPath(dir))) return out;
  for (const [id, key] of Object.entries(readJson(registryPath(dir)))) out.set(Number(id), unb64(key, `concentrators.${id}`));
  return out;
}

/** The head-end core's keys from a key directory: its secret key, and the registered concentrators' public keys. */
export function headendKeysOf(dir: string): HeadendKeys {
  const registry = readRegistry(dir);
  return { secretKey: readHeadendKeys(dir).secretKey, concentratorPublicKey: (id) => registry.get(id) };
}

export function readDeviceKeys(path: string): DeviceKeyFile {
  const j = readJson(path);
  const id = j.concentratorId;
  if (!(typeof id === "number" && Number.isInteger(id) && id >= 0 && id <= 0xffffffff)) throw new TypeError('"concentratorId" is not a u32');
  return { concentratorId: id, publicKey: unb64(j.publicKey, "publicKey"), secretKey: unb64(j.secretKey, "secretKey"), headendPublicKey: unb64(j.headendPublicKey, "headendPublicKey") };
}

/**
 * Creates the head-end's key pair if the directory has none, then a key pair per concentrator id
 * (kept if it exists), its device file, and its entry in the registry. Returns the files written.
 * Key pairs come from `newKeyPair` (random by default; a simulation passes its seeded ones).
 */
export function provision(dir: string, ids: readonly number[], newKeyPair: (owner: "headend" | number) => KeyPairFile = () => nacl.box.keyPair()): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  if (!existsSync(headendKeyPath(dir))) {
    const kp = newKeyPair("headend");
    writeFileSync(headendKeyPath(dir), JSON.stringify({ publicKey: b64(kp.publicKey), secretKey: b64(kp.secretKey) }, null, 2) + "\n", { mode: 0o600 });
    written.push(headendKeyPath(dir));
  }
  const he = readHeadendKeys(dir);
  const registry = readRegistry(dir);
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id <= 0xffffffff)) throw new RangeError(`invalid concentrator id ${id}`);
    const path = deviceKeyPath(dir, id);
    if (existsSync(path)) continue;
    const kp = newKeyPair(id);
    writeFileSync(
      path,
      JSON.stringify({ concentratorId: id, publicKey: b64(kp.publicKey), secretKey: b64(kp.secretKey), headendPublicKey: b64(he.publicKey) }, null, 2) + "\n",
      { mode: 0o600 },
    );
    registry.set(id, kp.publicKey);
    written.push(path);
  }
  const reg: Record<string, string> = {};
  for (const [id, key] of [...registry].sort((a, b) => a[0] - b[0])) reg[String(id)] = b64(key);
  writeFileSync(registryPath(dir), JSON.stringify(reg, null, 2) + "\n");
  written.push(registryPath(dir));
  return written;
}
