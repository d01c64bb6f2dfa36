/**
 * The engineers a unit trusts, as provisioned into its NVS (domain "keys", key "engineers"): for each
 * engineer one byte of name length, the name (ASCII), the 32-byte Ed25519 public key. At most
 * MAX_ENGINEERS. A blob that does not parse whole gives no engineer at all (a unit never trusts half
 * of a damaged list).
 */
import { ENGINEER_ID, type EngineerKey } from "./session.js";

export const MAX_ENGINEERS = 16;

export function encodeEngineerKeys(engineers: readonly EngineerKey[]): Uint8Array {
  if (engineers.length > MAX_ENGINEERS) throw new RangeError(`at most ${MAX_ENGINEERS} engineers`);
  const out: number[] = [];
  for (const e of engineers) {
    if (!ENGINEER_ID.test(e.id) || e.publicKey.length !== 32) throw new RangeError(`invalid engineer ${e.id}`);
    out.push(e.id.length);
    for (let i = 0; i < e.id.length; i++) out.push(e.id.charCodeAt(i));
    out.push(...e.publicKey);
  }
  return new Uint8Array(out);
}

export function decodeEngineerKeys(blob: Uint8Array): EngineerKey[] {
  const out: EngineerKey[] = [];
  let i = 0;
  while (i < blob.length) {
    const n = blob[i++]!;
    if (i + n + 32 > blob.length || out.length >= MAX_ENGINEERS) return [];
    let id = "";
    for (let k = 0; k < n; k++) id += String.fromCharCode(blob[i + k]!);
    if (!ENGINEER_ID.test(id)) return [];
    out.push({ id, publicKey: blob.slice(i + n, i + n + 32) });
    i += n + 32;
  }
  return out;
}
