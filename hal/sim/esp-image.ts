/**
 * The ESP32 application image format, as ESP-IDF's bootloader and esp_ota_set_boot_partition check it
 * (esp_image_format.h, esp_app_desc.h; ESP-IDF in docs/sources.md), for the simulated board: its
 * firmware slots hold such images, its bootloader boots only one that checks, and the simulator's
 * images are built here. All integers little-endian.
 *
 *   image   = header (24) · segment* · padding · checksum (1) · [SHA-256 (32) if hash_appended]
 *   header  = magic 0xE9 (1) · segment_count (1) · spi_mode (1) · spi_speed/size (1) · entry_addr (4) ·
 *             wp_pin (1) · spi_pin_drv (3) · chip_id (2) · min_chip_rev (1) · min_chip_rev_full (2) ·
 *             max_chip_rev_full (2) · reserved (4) · hash_appended (1)
 *   segment = load_addr (4) · data_len (4) · data (data_len, a multiple of 4)
 *
 * The padding makes the image, checksum included, a multiple of 16 bytes; the checksum is 0xEF XOR
 * every byte of every segment's data; the appended SHA-256 covers everything before it. The first
 * segment starts with the application descriptor (esp_app_desc_t, 256 bytes), whose `version` and
 * `secure_version` the firmware reads as its own.
 *
 * Simulator images: segment 0 is the descriptor, segment 1 a build note (`SIMNOTE` and JSON: what
 * the simulated board does when it boots the image, e.g. a defect), segment 2 the firmware bundle.
 */
import { sha256, SoftSha256 } from "./sha256.js";

export const ESP_IMAGE_MAGIC = 0xe9;
export const APP_DESC_MAGIC = 0xabcd5432;
/** esp_chip_id_t of the ESP32-S3 (ESP_CHIP_ID_ESP32S3). */
export const CHIP_ESP32S3 = 0x0009;
const HEADER_BYTES = 24;
const SEGMENT_HEADER_BYTES = 8;
const MAX_SEGMENTS = 16;
const CHECKSUM_SEED = 0xef;
const APP_DESC_BYTES = 256;
const NOTE_MAGIC = "SIMNOTE";

/** What the simulated board does with an image when it boots it (tools/site). */
export interface SimBuildNote {
  /**
   * A defect of this build: "uplink" (configured for a broker port nobody listens on: its messages
   * never reach the head-end), "bus" (its RS485 driver never answers), "hang" (its main loop never
   * returns: the watchdog resets the board).
   */
  defect?: "uplink" | "bus" | "hang";
}

export interface EspImageInfo {
  /** Total length, checksum and hash included. */
  byteLength: number;
  chipId: number;
  version: string;
  securityVersion: number;
  projectName: string;
  note: SimBuildNote;
}

export interface EspImageOptions {
  version: string;
  securityVersion?: number;
  projectName?: string;
  chipId?: number;
  note?: SimBuildNote;
  /** The firmware: the last segment. */
  bundle: Uint8Array;
}

const ascii = (s: string, n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < s.length && i < n - 1; i++) out[i] = s.charCodeAt(i) & 0x7f;
  return out;
};

/** A NUL-terminated field (erased flash, 0xFF, ends it too). */
export function text(b: Uint8Array): string {
  let s = "";
  for (const c of b) {
    if (c === 0 || c === 0xff) break;
    s += String.fromCharCode(c);
  }
  return s;
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
export const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
export const put32 = (b: Uint8Array, o: number, v: number) => {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
};

const pad4 = (b: Uint8Array): Uint8Array => {
  if (b.length % 4 === 0) return b;
  const out = new Uint8Array(b.length + 4 - (b.length % 4));
  out.set(b);
  return out;
};

/** Builds an image with an appended SHA-256. */
export function buildEspImage(o: EspImageOptions): Uint8Array {
  const desc = new Uint8Array(APP_DESC_BYTES);
  put32(desc, 0, APP_DESC_MAGIC);
  put32(desc, 4, o.securityVersion ?? 0);
  desc.set(ascii(o.version, 32), 16);
  desc.set(ascii(o.projectName ?? "concentrator", 32), 48);
  desc.set(ascii("00:00:00", 16), 80);
  desc.set(ascii("Jan  1 2026", 16), 96);
  desc.set(ascii("v6.0", 32), 112);
  const noteText = NOTE_MAGIC + JSON.stringify(o.note ?? {});
  const note = ascii(noteText, noteText.length + 1).subarray(0, noteText.length);
  const segments = [desc, pad4(note), pad4(o.bundle)];
  const body = HEADER_BYTES + segments.reduce((n, s) => n + SEGMENT_HEADER_BYTES + s.length, 0);
  const length = Math.ceil((body + 1) / 16) * 16;
  const image = new Uint8Array(length + 32);
  image[0] = ESP_IMAGE_MAGIC;
  image[1] = segments.length;
  image[2] = 2; // DIO
  image[3] = 0x2f; // 80 MHz, 8 MB
  put32(image, 4, 0x40378000);
  image[8] = 0xee; // WP pin disabled
  image[12] = (o.chipId ?? CHIP_ESP32S3) & 0xff;
  image[13] = (o.chipId ?? CHIP_ESP32S3) >> 8;
  image[23] = 1; // hash appended
  let at = HEADER_BYTES;
  let checksum = CHECKSUM_SEED;
  segments.forEach((s, i) => {
    put32(image, at, 0x3c000020 + i * 0x100000);
    put32(image, at + 4, s.length);
    image.set(s, at + SEGMENT_HEADER_BYTES);
    for (const b of s) checksum ^= b;
    at += SEGMENT_HEADER_BYTES + s.length;
  });
  image[length - 1] = checksum;
  image.set(sha256(image.subarray(0, length)), length);
  return image;
}

/**
 * Checks an image as esp_image_verify does: header, segments within `byteLength` (and the slot),
 * the chip id, the checksum and the appended SHA-256; reads its descriptor. Undefined when it does not
 * check. `read(offset, length)` reads the slot.
 */
export function verifyEspImage(read: (offset: number, length: number) => Uint8Array, byteLength: number, chipId = CHIP_ESP32S3): EspImageInfo | undefined {
  if (!(byteLength >= HEADER_BYTES + SEGMENT_HEADER_BYTES + APP_DESC_BYTES + 1)) return undefined;
  const header = read(0, HEADER_BYTES);
  if (header[0] !== ESP_IMAGE_MAGIC || u16(header, 12) !== chipId) return undefined;
  const count = header[1]!;
  if (count < 1 || count > MAX_SEGMENTS) return undefined;
  const hash = new SoftSha256();
  hash.update(header);
  let at = HEADER_BYTES;
  let checksum = CHECKSUM_SEED;
  let desc: Uint8Array | undefined;
  let note: SimBuildNote = {};
  for (let i = 0; i < count; i++) {
    if (at + SEGMENT_HEADER_BYTES > byteLength) return undefined;
    const sh = read(at, SEGMENT_HEADER_BYTES);
    const len = u32(sh, 4);
    if (len % 4 !== 0 || at + SEGMENT_HEADER_BYTES + len > byteLength) return undefined;
    hash.update(sh);
    const data = read(at + SEGMENT_HEADER_BYTES, len);
    hash.update(data);
    for (const b of data) checksum ^= b;
    if (i === 0) desc = data;
    if (i === 1 && text(data.subarray(0, NOTE_MAGIC.length)) === NOTE_MAGIC) note = parseNote(text(data.subarray(NOTE_MAGIC.length)));
    at += SEGMENT_HEADER_BYTES + len;
  }
  const length = Math.ceil((at + 1) / 16) * 16;
  const hashed = header[23] === 1;
  if (length + (hashed ? 32 : 0) !== byteLength) return undefined;
  const tail = read(at, length - at + (hashed ? 32 : 0));
  if (tail[length - at - 1] !== checksum) return undefined;
  if (hashed) {
    hash.update(tail.subarray(0, length - at));
    const digest = hash.digest();
    for (let k = 0; k < 32; k++) if (digest[k] !== tail[length - at + k]) return undefined;
  }
  if (!desc || desc.length < APP_DESC_BYTES || u32(desc, 0) !== APP_DESC_MAGIC) return undefined;
  return {
    byteLength,
    chipId,
    version: text(desc.subarray(16, 48)),
    securityVersion: u32(desc, 4),
    projectName: text(desc.subarray(48, 80)),
    note,
  };
}

function parseNote(json: string): SimBuildNote {
  try {
    const v = JSON.parse(json) as SimBuildNote;
    return typeof v === "object" && v !== null ? v : {};
  } catch {
    return {};
  }
}

/**
 * The length of the image at the start of a slot (header and segment headers walked, nothing
 * checked), or undefined when it does not look like one: how the bootloader finds an image's end.
 */
export function espImageLength(read: (offset: number, length: number) => Uint8Array, capacity: number): number | undefined {
  const header = read(0, HEADER_BYTES);
  if (header[0] !== ESP_IMAGE_MAGIC || header[1]! < 1 || header[1]! > MAX_SEGMENTS) return undefined;
  let at = HEADER_BYTES;
  for (let i = 0; i < header[1]!; i++) {
    if (at + SEGMENT_HEADER_BYTES > capacity) return undefined;
    at += SEGMENT_HEADER_BYTES + u32(read(at, SEGMENT_HEADER_BYTES), 4);
  }
  const length = Math.ceil((at + 1) / 16) * 16 + (header[23] === 1 ? 32 : 0);
  return length <= capacity ? length : undefined;
}
