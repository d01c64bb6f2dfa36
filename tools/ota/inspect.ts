/**
 * What a package holds and whether it is sound, as the concentrator would judge it (docs/ota.md
 * "Verification rules"): every field of its head, its signatures (against a key set when given),
 * its table, every chunk (inflated and hashed), the whole image's SHA-256, and the image's own
 * descriptor. Host code: Node's zlib inflates.
 */
import { inflateRawSync } from "node:zlib";
import nacl from "tweetnacl";
import { CHUNK_HASH_BYTES, packageIdHex, PackageKind, decodeKeySet, type KeySet } from "../../firmware/ota/format.js";
import { verifyEspImage } from "../../hal/sim/esp-image.js";
import { sha256 } from "../../hal/sim/sha256.js";
import { keyIdOf, splitPackage } from "./package.js";

export interface PackageReport {
  packageId: string;
  kind: "image" | "keys";
  version: string;
  hardwareId: string;
  sequence: number;
  securityCounter: number;
  expires: string;
  imageBytes: number;
  chunkBytes: number;
  chunks: number;
  deflatedChunks: number;
  units: number[];
  tableBytes: number;
  payloadBytes: number;
  packageBytes: number;
  signatures: Array<{ keyId: string; valid: boolean | "unknown key" }>;
  /** Signatures by distinct keys of the set that verify, and the set's threshold (with a key set). */
  threshold?: { valid: number; needed: number };
  /** The new key set of a key-rotation package. */
  keySet?: { version: number; threshold: number; keys: number };
  /** Everything that is wrong; empty when the package is sound. */
  problems: string[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function inspectPackage(bytes: Uint8Array, set?: KeySet): PackageReport {
  const p = splitPackage(bytes);
  const h = p.head;
  const problems: string[] = [];
  const ids = set?.keys.map((k) => hex(keyIdOf(k)));
  const valid = new Set<number>();
  const signatures = h.signatures.map((s) => {
    const at = ids?.indexOf(hex(s.keyId)) ?? -1;
    if (ids && at < 0) return { keyId: hex(s.keyId), valid: "unknown key" as const };
    const key = set ? set.keys[at]! : undefined;
    const ok = key ? nacl.sign.detached.verify(h.signed, s.signature, key) : false;
    if (ok) valid.add(at);
    if (key && !ok) problems.push(`signature by ${hex(s.keyId)} does not verify`);
    return { keyId: hex(s.keyId), valid: key ? ok : ("unknown key" as const) };
  });
  if (h.signatures.length === 0) problems.push("unsigned");
  if (set && valid.size < set.threshold) problems.push(`${valid.size} valid signatures by keys of the set, ${set.threshold} needed`);
  if (p.table.length !== h.tableLength) problems.push(`table: ${p.table.length} of ${h.tableLength} bytes (truncated)`);
  else if (hex(sha256(p.table)) !== hex(h.tableSha256)) problems.push("table: SHA-256 differs from the head's");
  const units: number[] = [];
  let deflated = 0;
  let keySet: PackageReport["keySet"];
  if (h.kind === PackageKind.image && p.chunks) {
    const t = p.chunks;
    for (let i = 0; i < h.unitCount; i++) units.push(new DataView(p.table.buffer, p.table.byteOffset + 4 * i, 4).getUint32(0, true));
    const image = new Uint8Array(h.imageLength);
    for (let k = 0; k < t.chunkCount; k++) {
      const from = t.offset(k);
      const stored = p.payload.subarray(from, from + t.storedLength(k));
      if (from + t.storedLength(k) > p.payload.length) {
        problems.push(`payload truncated at chunk ${k} of ${t.chunkCount}`);
        break;
      }
      let plain: Uint8Array = stored;
      if (t.deflated(k)) {
        deflated++;
        try {
          plain = new Uint8Array(inflateRawSync(stored));
        } catch {
          problems.push(`chunk ${k}: not raw DEFLATE`);
          continue;
        }
      }
      if (hex(sha256(plain).subarray(0, CHUNK_HASH_BYTES)) !== hex(t.hash(k))) problems.push(`chunk ${k}: hash differs from the table's`);
      image.set(plain.subarray(0, image.length - k * h.chunkBytes), k * h.chunkBytes);
    }
    if (!problems.some((x) => x.startsWith("payload") || x.startsWith("chunk"))) {
      if (hex(sha256(image)) !== hex(h.imageSha256)) problems.push("image: SHA-256 differs from the head's");
      const info = verifyEspImage((o, n) => image.subarray(o, o + n), image.length);
      if (!info) problems.push("image: not an ESP32-S3 application image that checks (esp_image_verify)");
      else if (info.version !== h.version) problems.push(`image: its descriptor says ${info.version}, the head ${h.version}`);
    }
  } else if (h.kind === PackageKind.image) problems.push("table: does not match the head");
  else {
    const k = decodeKeySet(p.table);
    if (!k) problems.push("table: not a key set");
    else {
      keySet = { version: k.version, threshold: k.threshold, keys: k.keys.length };
      if (k.version !== h.sequence) problems.push(`key set version ${k.version}, the head's sequence ${h.sequence}`);
    }
  }
  return {
    packageId: packageIdHex(p.digest),
    kind: h.kind === PackageKind.image ? "image" : "keys",
    version: h.version,
    hardwareId: h.hardwareId,
    sequence: h.sequence,
    securityCounter: h.securityCounter,
    expires: new Date(h.expiresS * 1000).toISOString(),
    imageBytes: h.imageLength,
    chunkBytes: h.chunkBytes,
    chunks: h.chunkCount,
    deflatedChunks: deflated,
    units,
    tableBytes: h.tableLength,
    payloadBytes: h.payloadLength,
    packageBytes: bytes.length,
    signatures,
    ...(set ? { threshold: { valid: valid.size, needed: set.threshold } } : {}),
    ...(keySet ? { keySet } : {}),
    problems,
  };
}
