/**
 * The security envelope: authenticated encryption of one message body between a concentrator and
 * the head-end (NaCl secretbox: XSalsa20-Poly1305, tweetnacl), under the key both derive from their
 * key pairs (X25519, `nacl.box.before`). docs/uplink.md "Envelope" has the byte diagram.
 *
 *   0      1      2              6                    12                 28
 *   +------+------+--------------+--------------------+------------------+----------------+
 *   | ver  | dir  | concentrator | counter            | Poly1305 tag     | ciphertext     |
 *   | 0x01 | 1, 2 | id, u32 BE   | u48 BE             | 16 bytes         | body length    |
 *   +------+------+--------------+--------------------+------------------+----------------+
 *
 * The nonce is the 12-byte header followed by 12 zero bytes, so the header is authenticated without
 * being sent twice: change any header bit and the tag fails. A (key, nonce) pair must never repeat:
 * each direction has its own counter, strictly increasing and persisted (channel.ts).
 *
 * Cost in XS (measured in xsnap, docs/uplink.md): secretbox of 1 KiB ≈ 0.31 M units; the key derivation
 * ≈ 12 M units, so it is done once, at provisioning or before the firmware opens its UARTs.
 */
import nacl from "tweetnacl";

export const ENVELOPE_VERSION = 1;
export const HEADER_BYTES = 12;
export const TAG_BYTES = 16; // nacl.secretbox.overheadLength
export const OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES;
/** Counters are 48-bit: exact in a JavaScript number, and 2^48 messages outlive any device. */
export const COUNTER_MAX = 2 ** 48 - 1;
export const KEY_BYTES = 32;

export const Direction = Object.freeze({
  /** Concentrator → head-end. */
  up: 1,
  /** Head-end → concentrator. */
  down: 2,
} as const);
export type Direction = (typeof Direction)[keyof typeof Direction];

export interface EnvelopeHeader {
  direction: Direction;
  /** The concentrator's id (u32): the sender of an up message, the addressee of a down message. */
  concentrator: number;
  counter: number;
}

/** Why an envelope was dropped: not an envelope at all, meant for another concentrator, or forged. */
export type EnvelopeRejection = "malformed" | "foreign" | "authentication";

export type OpenResult = { ok: true; header: EnvelopeHeader; body: Uint8Array } | { ok: false; reason: EnvelopeRejection };

/** The shared key of two parties (X25519 + HSalsa20): ≈ 12 M XS units, compute it once. */
export function deriveSharedKey(mySecretKey: Uint8Array, theirPublicKey: Uint8Array): Uint8Array {
  if (mySecretKey.length !== nacl.box.secretKeyLength || theirPublicKey.length !== nacl.box.publicKeyLength) throw new RangeError("invalid key length");
  return nacl.box.before(theirPublicKey, mySecretKey);
}

function writeHeader(h: EnvelopeHeader, out: Uint8Array): void {
  out[0] = ENVELOPE_VERSION;
  out[1] = h.direction;
  out[2] = h.concentrator >>> 24;
  out[3] = (h.concentrator >>> 16) & 0xff;
  out[4] = (h.concentrator >>> 8) & 0xff;
  out[5] = h.concentrator & 0xff;
  const hi = Math.floor(h.counter / 2 ** 24);
  const lo = h.counter % 2 ** 24;
  out[6] = hi >>> 16;
  out[7] = (hi >>> 8) & 0xff;
  out[8] = hi & 0xff;
  out[9] = lo >>> 16;
  out[10] = (lo >>> 8) & 0xff;
  out[11] = lo & 0xff;
}

function readHeader(b: Uint8Array): EnvelopeHeader {
  return {
    direction: b[1] as Direction,
    concentrator: ((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0,
    counter: ((b[6]! << 16) | (b[7]! << 8) | b[8]!) * 2 ** 24 + ((b[9]! << 16) | (b[10]! << 8) | b[11]!),
  };
}

/** The 24-byte nonce of an envelope whose header starts `header`. */
export function nonceOf(header: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(nacl.secretbox.nonceLength);
  nonce.set(header.subarray(0, HEADER_BYTES));
  return nonce;
}

/** The 12 header bytes of an envelope to seal; throws RangeError for a counter or concentrator out of range. */
export function headerBytes(header: EnvelopeHeader): Uint8Array {
  if (!(Number.isInteger(header.counter) && header.counter >= 1 && header.counter <= COUNTER_MAX)) throw new RangeError("invalid counter");
  if (!(Number.isInteger(header.concentrator) && header.concentrator >= 0 && header.concentrator <= 0xffffffff)) throw new RangeError("invalid concentrator");
  const head = new Uint8Array(HEADER_BYTES);
  writeHeader(header, head);
  return head;
}

/** The envelope: its header followed by the secretbox (tag and ciphertext) sealed under the header's nonce. */
export function envelopeOf(head: Uint8Array, box: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + box.length);
  out.set(head);
  out.set(box, HEADER_BYTES);
  return out;
}

/** Seals `body`. The caller guarantees the counter was never used with this key and direction. */
export function seal(key: Uint8Array, header: EnvelopeHeader, body: Uint8Array): Uint8Array {
  if (key.length !== KEY_BYTES) throw new RangeError("invalid key length");
  const head = headerBytes(header);
  return envelopeOf(head, nacl.secretbox(body, nonceOf(head), key));
}

/**
 * Reads the header of `bytes` without authenticating it: for routing and the cheap checks only
 * (the head-end picks the key by concentrator id). Undefined if it is not an envelope.
 */
export function peekHeader(bytes: Uint8Array): EnvelopeHeader | undefined {
  if (bytes.length < OVERHEAD_BYTES || bytes[0] !== ENVELOPE_VERSION || (bytes[1] !== Direction.up && bytes[1] !== Direction.down)) return undefined;
  return readHeader(bytes);
}

/**
 * The checks before any crypto: an envelope ("malformed" otherwise) with the expected direction and
 * concentrator ("foreign" otherwise). Its header when it passes.
 */
export function addressed(bytes: Uint8Array, expect: { direction: Direction; concentrator: number }): EnvelopeHeader | EnvelopeRejection {
  const header = peekHeader(bytes);
  if (!header || header.counter === 0) return "malformed";
  if (header.direction !== expect.direction || header.concentrator !== expect.concentrator) return "foreign";
  return header;
}

/**
 * Opens an envelope sent to us: the direction and concentrator must be the expected ones ("foreign"
 * otherwise, checked before any crypto), and the tag must verify ("authentication"). Never throws.
 */
export function open(key: Uint8Array, bytes: Uint8Array, expect: { direction: Direction; concentrator: number }): OpenResult {
  const header = addressed(bytes, expect);
  if (typeof header === "string") return { ok: false, reason: header };
  const body = nacl.secretbox.open(bytes.subarray(HEADER_BYTES), nonceOf(bytes), key);
  if (!body) return { ok: false, reason: "authentication" };
  return { ok: true, header, body };
}
