/**
 * The OTA package format, version 1 (docs/ota.md "Package format" is the specification; this module
 * is its one implementation, used by the concentrator and the host tools alike). All integers are
 * little-endian; text fields are ASCII, NUL-padded.
 *
 *   package   = head · table · payload
 *   head      = signed part (128 bytes) · signature count (1) · signature entry (72) × count
 *   signature = key id (8: the first 8 bytes of SHA-256 of the Ed25519 public key) · signature (64)
 *   table     = image:  unit id (u32) × unitCount · chunk entry (18) × chunkCount
 *               keys:   key set version (u32) · threshold (u8) · key count (u8) · public key (32) × count
 *   chunk     = stored length (u16; bit 15 set: raw DEFLATE, else the image bytes as they are) ·
 *               the first 16 bytes of SHA-256 of the chunk's image bytes (16)
 *   payload   = every chunk's stored bytes, in order
 *
 * Ed25519 signatures cover the 128-byte signed part, which holds the SHA-256 of the table and of the
 * whole image: the table holds each chunk's hash, so every byte of the image is covered.
 *
 * Parsing never throws: it returns the structure or an OtaReason.
 */
import { ByteReader, ByteWriter, getU16, setU16 } from "../store/bytes.js";
import { frozen } from "../model/frozen.js";

export const PACKAGE_MAGIC = 0x544f434d; // "MCOT", little-endian
export const FORMAT_VERSION = 1;
export const SIGNED_BYTES = 128;
export const KEY_ID_BYTES = 8;
export const SIGNATURE_BYTES = 64;
export const SIGNATURE_ENTRY_BYTES = KEY_ID_BYTES + SIGNATURE_BYTES;
export const MAX_SIGNATURES = 8;
export const CHUNK_ENTRY_BYTES = 18;
export const CHUNK_HASH_BYTES = 16;
/** Stored-length bit of a chunk whose bytes are raw DEFLATE. */
export const DEFLATED = 0x8000;
const STORED_LENGTH_MASK = 0x7fff;
export const HARDWARE_ID_BYTES = 16;
export const PUBLIC_KEY_BYTES = 32;
/** Keys a key set may hold (one state journal value: 6 + 6 × 32 bytes ≤ 224). */
export const MAX_KEYS = 6;
/** Unit ids an image package may list (4 KiB of its table). */
export const MAX_UNITS = 1024;

export const PackageKind = frozen({
  /** A firmware image for the inactive slot. */
  image: 1,
  /** A new release key set, signed by the current one. */
  keys: 2,
} as const);
export type PackageKind = (typeof PackageKind)[keyof typeof PackageKind];

/** Flags of the signed part. */
export const PackageFlags = frozen({
  /** Some chunks are stored as raw DEFLATE (their table entry says which). */
  deflate: 1,
} as const);

/**
 * Why an update was refused or undone. Stable numbers: they are the detail of the OTA events the
 * head-end receives (docs/ota.md "Reasons").
 */
export const OtaReason = frozen({
  /** The head or the table is not in the format (a truncated head included). */
  malformed: 1,
  /** The head carries no signature. */
  unsigned: 2,
  /** A signature by a key of the set does not verify: tampered with, or garbled. */
  badSignature: 3,
  /** Fewer valid signatures by distinct keys of the set than its threshold. */
  threshold: 4,
  /** Built for other hardware. */
  hardware: 5,
  /** Its unit list does not name this concentrator. */
  notForUnit: 6,
  /** Its expiry time has passed (a freeze attack, or a package held back too long). */
  expired: 7,
  /** The wall clock is not set: the expiry cannot be checked. */
  noTime: 8,
  /** Its security counter is below the one this concentrator has reached. */
  securityCounter: 9,
  /** Its sequence is not above the last one installed: metadata of an older campaign. */
  replayed: 10,
  /** The image is larger than the slot. */
  tooLarge: 11,
  /** A chunk or the table is longer or shorter than the head says. */
  length: 12,
  /** A chunk still fails its hash after every re-fetch. */
  corruptChunk: 13,
  /** The head-end cannot serve a part the head lists: the package it holds is truncated. */
  truncated: 14,
  /** The whole image in the slot does not have the head's SHA-256. */
  imageHash: 15,
  /** The slot's own image check (esp_image_verify) refused the image. */
  imageCheck: 16,
  /** The image's own version (its descriptor) is not the head's. */
  versionMismatch: 17,
  /** A format version, kind or chunk size this firmware does not handle. */
  unsupported: 18,
  /** An update is in progress, or the running image is still on trial. */
  busy: 19,
  /** This package's image already failed here (self-test, watchdog, crash): not tried again. */
  failedBefore: 20,
  /** Rolled back: the self-test found the store not recovered. */
  selfTestStore: 32,
  /** Rolled back: no RS485 bus answered during the self-test. */
  selfTestBus: 33,
  /** Rolled back: the head-end did not acknowledge anything during the self-test. */
  selfTestUplink: 34,
  /** Rolled back: the watchdog reset the new image before it confirmed itself. */
  watchdog: 35,
  /** Rolled back: the new image crashed (panic) before it confirmed itself. */
  crashed: 36,
  /** Rolled back: the power failed before the new image confirmed itself. */
  powerLost: 37,
  /** Rolled back: the new image restarted before it confirmed itself. */
  restarted: 38,
  /** The new image never ran: the boot choice did not take, or the bootloader refused the image. */
  notBooted: 39,
  /** The head-end cancelled the update. */
  cancelled: 40,
} as const);
export type OtaReason = (typeof OtaReason)[keyof typeof OtaReason];

const REASON_NAMES = new Map<number, string>(Object.entries(OtaReason).map(([k, v]) => [v, k]));

/** The name of a reason code ("securityCounter"), or "reason N". */
export function reasonName(code: number): string {
  return REASON_NAMES.get(code) ?? `reason ${code}`;
}

/** Reasons after which the same package is not tried again on this unit (the image itself failed). */
export function isImageFailure(reason: number): boolean {
  return reason === OtaReason.selfTestStore || reason === OtaReason.selfTestBus || reason === OtaReason.selfTestUplink || reason === OtaReason.watchdog || reason === OtaReason.crashed;
}

export interface SignatureEntry {
  keyId: Uint8Array;
  signature: Uint8Array;
}

/** The fields of the signed part. */
export interface HeadFields {
  kind: PackageKind;
  flags: number;
  /**
   * Image: the release sequence, raised by each signing; a unit takes none at or below the last it
   * installed. Key rotation: the new key set's version, exactly one above the unit's.
   */
  sequence: number;
  /** Anti-rollback counter (the image's esp_app_desc_t.secure_version): never below the unit's. */
  securityCounter: number;
  /** Seconds since 1970 UTC after which the package is refused. */
  expiresS: number;
  /** Target hardware, e.g. "MC-ESP32S3-R1" (at most 15 ASCII characters). */
  hardwareId: string;
  /** "major.minor.patch": the image's esp_app_desc_t.version. */
  version: string;
  imageLength: number;
  imageSha256: Uint8Array;
  /** Bytes of image per chunk (a power of two, 4096 in version 1: one flash sector). */
  chunkBytes: number;
  chunkCount: number;
  tableLength: number;
  tableSha256: Uint8Array;
  payloadLength: number;
  /** Unit ids listed in the table; 0: every unit of the hardware. */
  unitCount: number;
}

export interface PackageHead extends HeadFields {
  /** The signed part, as received (what the signatures cover). */
  signed: Uint8Array;
  signatures: SignatureEntry[];
}

/** Version "major.minor.patch" as one integer (major 8 bits, minor 8, patch 16); -1 if not one. */
export function packVersion(version: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,5})$/.exec(version);
  if (!m) return -1;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major > 255 || minor > 255 || patch > 65535) return -1;
  return major * 2 ** 24 + minor * 2 ** 16 + patch;
}

export function unpackVersion(packed: number): string {
  return `${Math.floor(packed / 2 ** 24)}.${Math.floor(packed / 2 ** 16) & 0xff}.${packed & 0xffff}`;
}

export const PACKAGE_ID_BYTES = 6;

/** A package's id: the first 6 bytes of the SHA-256 of its signed part. */
export function packageIdOf(signedSha256: Uint8Array): Uint8Array {
  return signedSha256.slice(0, PACKAGE_ID_BYTES);
}

/** A package id as 12 hexadecimal digits (reports, the head-end's database). */
export function packageIdHex(id: Uint8Array): string {
  let s = "";
  for (let i = 0; i < PACKAGE_ID_BYTES; i++) s += (id[i]! < 16 ? "0" : "") + id[i]!.toString(16);
  return s;
}

const putAscii = (w: ByteWriter, s: string, n: number) => {
  for (let i = 0; i < n; i++) w.u8(i < s.length ? s.charCodeAt(i) : 0);
};

function getAscii(r: ByteReader, n: number): string | undefined {
  const b = r.raw(n);
  let s = "";
  let ended = false;
  for (const c of b) {
    if (c === 0) ended = true;
    else if (ended || c < 0x20 || c > 0x7e) return undefined;
    else s += String.fromCharCode(c);
  }
  return s;
}

/** The 128-byte signed part (what the release keys sign). Throws RangeError on fields out of range. */
export function encodeSigned(f: HeadFields): Uint8Array {
  const version = packVersion(f.version);
  if (f.kind === PackageKind.image && version < 0) throw new RangeError('invalid "version"');
  if (!/^[\x20-\x7e]{1,15}$/.test(f.hardwareId)) throw new RangeError('invalid "hardwareId"');
  if (f.imageSha256.length !== 32 || f.tableSha256.length !== 32) throw new RangeError("invalid digest");
  for (const [k, v] of Object.entries({ sequence: f.sequence, securityCounter: f.securityCounter, expiresS: f.expiresS, imageLength: f.imageLength, chunkCount: f.chunkCount, tableLength: f.tableLength, payloadLength: f.payloadLength })) {
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new RangeError(`invalid "${k}"`);
  }
  const log2 = Math.log2(f.chunkBytes);
  if (!(Number.isInteger(log2) && log2 >= 9 && log2 <= 15)) throw new RangeError('invalid "chunkBytes"');
  const out = new Uint8Array(SIGNED_BYTES);
  const w = new ByteWriter(out);
  w.u32(PACKAGE_MAGIC);
  w.u8(FORMAT_VERSION);
  w.u8(f.kind);
  w.u16(f.flags);
  w.u32(f.sequence);
  w.u32(f.securityCounter);
  w.u32(f.expiresS);
  putAscii(w, f.hardwareId, HARDWARE_ID_BYTES);
  w.u32(Math.max(0, version));
  w.u32(f.imageLength);
  w.raw(f.imageSha256);
  w.u8(log2);
  w.raw(new Uint8Array(3));
  w.u32(f.chunkCount);
  w.u32(f.tableLength);
  w.raw(f.tableSha256);
  w.u32(f.payloadLength);
  w.u16(f.unitCount);
  return out;
}

/** The head: the signed part followed by its signatures. */
export function encodeHead(signed: Uint8Array, signatures: readonly SignatureEntry[]): Uint8Array {
  if (signed.length !== SIGNED_BYTES || signatures.length > MAX_SIGNATURES) throw new RangeError("invalid head");
  const out = new Uint8Array(SIGNED_BYTES + 1 + SIGNATURE_ENTRY_BYTES * signatures.length);
  out.set(signed);
  out[SIGNED_BYTES] = signatures.length;
  signatures.forEach((s, i) => {
    if (s.keyId.length !== KEY_ID_BYTES || s.signature.length !== SIGNATURE_BYTES) throw new RangeError("invalid signature");
    out.set(s.keyId, SIGNED_BYTES + 1 + i * SIGNATURE_ENTRY_BYTES);
    out.set(s.signature, SIGNED_BYTES + 1 + i * SIGNATURE_ENTRY_BYTES + KEY_ID_BYTES);
  });
  return out;
}

/** Table bytes an image package of this shape has. */
export function imageTableLength(unitCount: number, chunkCount: number): number {
  return 4 * unitCount + CHUNK_ENTRY_BYTES * chunkCount;
}

/**
 * Parses a head and checks its structure (not its signatures): magic and version, a known kind,
 * lengths that agree with each other. The rules a verifier applies after it are in verify.ts.
 */
export function parseHead(bytes: Uint8Array): PackageHead | OtaReason {
  if (bytes.length < SIGNED_BYTES + 1) return OtaReason.malformed;
  const r = new ByteReader(bytes, 0, SIGNED_BYTES);
  if (r.u32() !== PACKAGE_MAGIC) return OtaReason.malformed;
  if (r.u8() !== FORMAT_VERSION) return OtaReason.unsupported;
  const kind = r.u8();
  if (kind !== PackageKind.image && kind !== PackageKind.keys) return OtaReason.unsupported;
  const flags = r.u16();
  const sequence = r.u32();
  const securityCounter = r.u32();
  const expiresS = r.u32();
  const hardwareId = getAscii(r, HARDWARE_ID_BYTES);
  const version = r.u32();
  const imageLength = r.u32();
  const imageSha256 = r.raw(32);
  const log2 = r.u8();
  r.skip(3);
  const chunkCount = r.u32();
  const tableLength = r.u32();
  const tableSha256 = r.raw(32);
  const payloadLength = r.u32();
  const unitCount = r.u16();
  if (r.error || hardwareId === undefined || hardwareId === "") return OtaReason.malformed;
  if (log2 < 9 || log2 > 15 || (flags & ~PackageFlags.deflate) !== 0) return OtaReason.unsupported;
  const chunkBytes = 2 ** log2;
  if (kind === PackageKind.image) {
    if (imageLength === 0 || chunkCount !== Math.ceil(imageLength / chunkBytes) || unitCount > MAX_UNITS) return OtaReason.malformed;
    if (tableLength !== imageTableLength(unitCount, chunkCount)) return OtaReason.malformed;
  } else if (imageLength !== 0 || chunkCount !== 0 || payloadLength !== 0 || unitCount !== 0 || (tableLength - 6) % PUBLIC_KEY_BYTES !== 0) {
    return OtaReason.malformed;
  }
  const count = bytes[SIGNED_BYTES]!;
  if (count > MAX_SIGNATURES || bytes.length !== SIGNED_BYTES + 1 + count * SIGNATURE_ENTRY_BYTES) return OtaReason.malformed;
  const signatures: SignatureEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = SIGNED_BYTES + 1 + i * SIGNATURE_ENTRY_BYTES;
    signatures.push({ keyId: bytes.slice(at, at + KEY_ID_BYTES), signature: bytes.slice(at + KEY_ID_BYTES, at + SIGNATURE_ENTRY_BYTES) });
  }
  return {
    signed: bytes.slice(0, SIGNED_BYTES),
    signatures,
    kind: kind as PackageKind,
    flags,
    sequence,
    securityCounter,
    expiresS,
    hardwareId,
    version: unpackVersion(version),
    imageLength,
    imageSha256,
    chunkBytes,
    chunkCount,
    tableLength,
    tableSha256,
    payloadLength,
    unitCount,
  };
}

/**
 * An image package's table, parsed: the units it names and its chunks, with each chunk's offset in
 * the payload. Costs 4 bytes of RAM per chunk besides the table itself (18 per chunk).
 */
export class ChunkTable {
  readonly #bytes: Uint8Array;
  readonly #units: number;
  readonly #offsets: Uint32Array;
  readonly chunkCount: number;

  private constructor(bytes: Uint8Array, units: number, offsets: Uint32Array) {
    this.#bytes = bytes;
    this.#units = units;
    this.#offsets = offsets;
    this.chunkCount = offsets.length - 1;
  }

  /** Parses a table against its head: lengths, stored lengths that fit a chunk, the payload's total. */
  static parse(head: HeadFields, bytes: Uint8Array): ChunkTable | OtaReason {
    if (bytes.length !== head.tableLength) return OtaReason.length;
    const offsets = new Uint32Array(head.chunkCount + 1);
    const base = 4 * head.unitCount;
    for (let k = 0; k < head.chunkCount; k++) {
      const stored = getU16(bytes, base + k * CHUNK_ENTRY_BYTES);
      const length = stored & STORED_LENGTH_MASK;
      const plain = k < head.chunkCount - 1 ? head.chunkBytes : head.imageLength - k * head.chunkBytes;
      const deflated = (stored & DEFLATED) !== 0;
      if (length === 0 || (!deflated && length !== plain) || (deflated && (head.flags & PackageFlags.deflate) === 0)) return OtaReason.length;
      offsets[k + 1] = offsets[k]! + length;
    }
    if (offsets[head.chunkCount] !== head.payloadLength) return OtaReason.length;
    return new ChunkTable(bytes, head.unitCount, offsets);
  }

  /** Whether the unit list is empty (every unit) or names `id`. */
  names(id: number): boolean {
    if (this.#units === 0) return true;
    const b = this.#bytes;
    for (let i = 0; i < this.#units; i++) if (((b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0) === id) return true;
    return false;
  }

  /** Where chunk `k`'s stored bytes are in the payload, and how many. */
  offset(k: number): number {
    return this.#offsets[k]!;
  }

  storedLength(k: number): number {
    return this.#offsets[k + 1]! - this.#offsets[k]!;
  }

  deflated(k: number): boolean {
    return (this.#bytes[4 * this.#units + k * CHUNK_ENTRY_BYTES + 1]! & (DEFLATED >> 8)) !== 0;
  }

  /** The first 16 bytes of the SHA-256 of chunk `k`'s image bytes (a view). */
  hash(k: number): Uint8Array {
    const at = 4 * this.#units + k * CHUNK_ENTRY_BYTES + 2;
    return this.#bytes.subarray(at, at + CHUNK_HASH_BYTES);
  }
}

/** Encodes an image package's table. */
export function encodeImageTable(units: readonly number[], chunks: ReadonlyArray<{ storedLength: number; deflated: boolean; hash: Uint8Array }>): Uint8Array {
  const out = new Uint8Array(imageTableLength(units.length, chunks.length));
  const w = new ByteWriter(out);
  for (const u of units) w.u32(u);
  for (const c of chunks) {
    if (!(c.storedLength > 0 && c.storedLength <= STORED_LENGTH_MASK) || c.hash.length < CHUNK_HASH_BYTES) throw new RangeError("invalid chunk");
    setU16(out, w.pos, c.storedLength | (c.deflated ? DEFLATED : 0));
    w.pos += 2;
    w.raw(c.hash.subarray(0, CHUNK_HASH_BYTES));
  }
  return out;
}

/** A release key set: the keys and how many of them must sign. */
export interface KeySet {
  /** Raised by one at each rotation. */
  version: number;
  threshold: number;
  keys: Uint8Array[];
}

export function isValidKeySet(k: KeySet): boolean {
  return (
    Number.isInteger(k.version) &&
    k.version >= 1 &&
    k.version <= 0xffffffff &&
    k.keys.length >= 1 &&
    k.keys.length <= MAX_KEYS &&
    Number.isInteger(k.threshold) &&
    k.threshold >= 1 &&
    k.threshold <= k.keys.length &&
    k.keys.every((key) => key.length === PUBLIC_KEY_BYTES)
  );
}

/** A key set as the table of a key-rotation package, and as the state journal keeps it. */
export function encodeKeySet(k: KeySet): Uint8Array {
  if (!isValidKeySet(k)) throw new RangeError("invalid key set");
  const out = new Uint8Array(6 + PUBLIC_KEY_BYTES * k.keys.length);
  const w = new ByteWriter(out);
  w.u32(k.version);
  w.u8(k.threshold);
  w.u8(k.keys.length);
  for (const key of k.keys) w.raw(key);
  return out;
}

export function decodeKeySet(bytes: Uint8Array): KeySet | undefined {
  const r = new ByteReader(bytes);
  const version = r.u32();
  const threshold = r.u8();
  const n = r.u8();
  if (r.error || r.remaining !== n * PUBLIC_KEY_BYTES) return undefined;
  const keys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) keys.push(r.raw(PUBLIC_KEY_BYTES).slice());
  const k = { version, threshold, keys };
  return isValidKeySet(k) ? k : undefined;
}
