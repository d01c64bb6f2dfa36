/**
 * Builds, signs and reads OTA packages (firmware/ota/format.ts is the format, docs/ota.md its
 * specification). Pure ECMAScript: the CLI (tools/ota.ts), the head-end and the simulated site all
 * use it; compression is passed in (Node's zlib in the CLI, fflate where there is no Node).
 */
import nacl from "tweetnacl";
import {
  ChunkTable,
  CHUNK_HASH_BYTES,
  encodeHead,
  encodeImageTable,
  encodeKeySet,
  encodeSigned,
  KEY_ID_BYTES,
  PackageFlags,
  PackageKind,
  parseHead,
  SIGNED_BYTES,
  SIGNATURE_ENTRY_BYTES,
  type HeadFields,
  type KeySet,
  type PackageHead,
  type SignatureEntry,
} from "../../firmware/ota/format.js";
import { concatBytes } from "../../firmware/store/bytes.js";
import { sha256 } from "../../hal/sim/sha256.js";

/** Raw DEFLATE (RFC 1951) of `bytes`. */
export type Deflate = (bytes: Uint8Array) => Uint8Array;

export interface ImagePackageOptions {
  image: Uint8Array;
  /** The image's version ("1.2.3"): must be its descriptor's (the device checks). */
  version: string;
  hardwareId: string;
  sequence: number;
  securityCounter: number;
  expiresS: number;
  /** Concentrator ids the package is meant for; empty: every unit of the hardware. */
  units?: readonly number[];
  /** Compress the chunks (each on its own; a chunk DEFLATE does not shrink is stored as it is). */
  deflate?: Deflate;
  /** Image bytes per chunk. Default 4096 (one flash sector). */
  chunkBytes?: number;
  /** Ed25519 secret keys (64 bytes, tweetnacl) that sign it. */
  signers: readonly Uint8Array[];
}

export interface KeysPackageOptions {
  /** The new key set; its version is the package's sequence. */
  next: KeySet;
  hardwareId: string;
  securityCounter: number;
  expiresS: number;
  signers: readonly Uint8Array[];
}

/** The key id a signature names: the first 8 bytes of SHA-256 of the public key. */
export function keyIdOf(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, KEY_ID_BYTES);
}

/** Signs a signed part with each secret key. */
export function sign(signed: Uint8Array, signers: readonly Uint8Array[]): SignatureEntry[] {
  return signers.map((secret) => {
    const pair = nacl.sign.keyPair.fromSecretKey(secret);
    return { keyId: keyIdOf(pair.publicKey), signature: nacl.sign.detached(signed, secret) };
  });
}

export function buildImagePackage(o: ImagePackageOptions): Uint8Array {
  const chunkBytes = o.chunkBytes ?? 4096;
  const units = o.units ?? [];
  const chunks: Array<{ storedLength: number; deflated: boolean; hash: Uint8Array; bytes: Uint8Array }> = [];
  for (let at = 0; at < o.image.length; at += chunkBytes) {
    const plain = o.image.subarray(at, Math.min(o.image.length, at + chunkBytes));
    const packed = o.deflate?.(plain);
    const deflated = packed !== undefined && packed.length < plain.length;
    const bytes = deflated ? packed : plain;
    chunks.push({ storedLength: bytes.length, deflated, hash: sha256(plain).subarray(0, CHUNK_HASH_BYTES), bytes });
  }
  const table = encodeImageTable(units, chunks);
  const payload = concatBytes(chunks.map((c) => c.bytes));
  const fields: HeadFields = {
    kind: PackageKind.image,
    flags: chunks.some((c) => c.deflated) ? PackageFlags.deflate : 0,
    sequence: o.sequence,
    securityCounter: o.securityCounter,
    expiresS: o.expiresS,
    hardwareId: o.hardwareId,
    version: o.version,
    imageLength: o.image.length,
    imageSha256: sha256(o.image),
    chunkBytes,
    chunkCount: chunks.length,
    tableLength: table.length,
    tableSha256: sha256(table),
    payloadLength: payload.length,
    unitCount: units.length,
  };
  const signed = encodeSigned(fields);
  return concatBytes([encodeHead(signed, sign(signed, o.signers)), table, payload]);
}

export function buildKeysPackage(o: KeysPackageOptions): Uint8Array {
  const table = encodeKeySet(o.next);
  const signed = encodeSigned({
    kind: PackageKind.keys,
    flags: 0,
    sequence: o.next.version,
    securityCounter: o.securityCounter,
    expiresS: o.expiresS,
    hardwareId: o.hardwareId,
    version: "0.0.0",
    imageLength: 0,
    imageSha256: new Uint8Array(32),
    chunkBytes: 4096,
    chunkCount: 0,
    tableLength: table.length,
    tableSha256: sha256(table),
    payloadLength: 0,
    unitCount: 0,
  });
  return concatBytes([encodeHead(signed, sign(signed, o.signers)), table]);
}

/** A package split into its parts, as the head-end serves them. */
export interface PackageParts {
  head: PackageHead;
  headBytes: Uint8Array;
  /** SHA-256 of the signed part; its first 6 bytes are the package id. */
  digest: Uint8Array;
  table: Uint8Array;
  /** The chunks' stored bytes, in order (as many as the package holds: a truncated one has fewer). */
  payload: Uint8Array;
  /** Chunk offsets in the payload, for an image package whose table parses. */
  chunks: ChunkTable | undefined;
}

/** Splits a package file; throws RangeError when its head does not parse. */
export function splitPackage(bytes: Uint8Array): PackageParts {
  const count = bytes[SIGNED_BYTES] ?? 0;
  const headLength = SIGNED_BYTES + 1 + count * SIGNATURE_ENTRY_BYTES;
  const headBytes = bytes.slice(0, headLength);
  const head = parseHead(headBytes);
  if (typeof head === "number") throw new RangeError("not an OTA package (its head does not parse)");
  const table = bytes.slice(headLength, headLength + head.tableLength);
  const chunks = head.kind === PackageKind.image ? ChunkTable.parse(head, table) : undefined;
  return {
    head,
    headBytes,
    digest: sha256(head.signed),
    table,
    payload: bytes.subarray(headLength + head.tableLength),
    chunks: typeof chunks === "number" ? undefined : chunks,
  };
}
