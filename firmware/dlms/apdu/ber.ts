/**
 * The BER (ISO/IEC 8825-1) subset the ACSE APDUs use (AARQ, AARE, RLRQ, RLRE: IEC 62056-5-3 §8):
 * single-byte tags, definite lengths (short form, or 0x81/0x82 long form), nested TLVs.
 */
import { ByteCursor, ByteSink, DecodeError } from "../axdr/codec.js";

export interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
}

/** The TLVs of `bytes`, in order. Throws DecodeError on a truncated one. */
export function readTlvs(bytes: Uint8Array): Tlv[] {
  const c = new ByteCursor(bytes);
  const out: Tlv[] = [];
  while (c.left > 0) {
    const tag = c.u8();
    const at = c.pos;
    const first = c.u8();
    let length = first;
    if (first >= 0x80) {
      const n = first & 0x7f;
      if (n < 1 || n > 2) throw new DecodeError("length", at);
      length = c.uint(n);
    }
    out.push({ tag, value: c.take(length) });
  }
  return out;
}

export function tlv(out: ByteSink, tag: number, value: Uint8Array): ByteSink {
  out.u8(tag);
  if (value.length < 0x80) out.u8(value.length);
  else if (value.length < 0x100) out.u8(0x81).u8(value.length);
  else out.u8(0x82).uint(value.length, 2);
  return out.bytes(value);
}

export function tlvBytes(tag: number, value: Uint8Array): Uint8Array {
  return tlv(new ByteSink(), tag, value).done();
}

export function find(tlvs: readonly Tlv[], tag: number): Uint8Array | undefined {
  return tlvs.find((t) => t.tag === tag)?.value;
}

/** The value of a BER INTEGER of at most 4 bytes (a result or diagnostic). */
export function berInteger(value: Uint8Array | undefined): number | undefined {
  if (!value || value.length < 1 || value.length > 4) return undefined;
  let v = 0;
  for (const b of value) v = v * 256 + b;
  return v;
}
