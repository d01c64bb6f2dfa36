/**
 * The CBOR subset our messages use (RFC 8949): integers, byte and text strings, arrays, false, true,
 * null and floats, with definite lengths only, one top-level item and nothing after it.
 *
 * Bytes are checked against it before cbor-x decodes them, for two reasons. cbor-x acts on tags:
 * record definitions (tags 0xdffe/0xdfff) persist in the decoder across calls and compile readers
 * with `new Function`, tag 27 constructs objects; no message of ours has a tag, so none may reach
 * it. And the walk bounds depth and item count, so a small hostile body cannot build a deep or huge
 * object graph in a 150 KB heap.
 */

export interface CborLimits {
  /** Deepest array nesting. */
  maxDepth: number;
  /** Data items in total (every integer, string, array, ...). */
  maxItems: number;
}

/* Initial byte: major type in bits 7-5, additional information in bits 4-0 (RFC 8949 §3) */
const MAJOR_SHIFT = 5;
const INFO_MASK = 0x1f;
const MAJOR_UNSIGNED = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_SIMPLE = 7;
/* Major type 7 values allowed: false, true, null (§3.3), half/single/double floats */
const SIMPLE_FALSE = 20;
const SIMPLE_NULL = 22;
const FLOAT16 = 25;
const FLOAT64 = 27;

/** True when `bytes` is exactly one item of the subset within `limits`. */
export function isCborSubset(bytes: Uint8Array, limits: CborLimits): boolean {
  let pos = 0;
  let items = 0;
  /** Reads an argument of `info` (§3): 0-23 inline, 24-27 one to eight bytes; -1 if invalid. */
  const argument = (info: number): number => {
    if (info < 24) return info;
    if (info > 27) return -1; // 28-30 reserved, 31 indefinite length: not in the subset
    const n = 1 << (info - 24);
    if (pos + n > bytes.length) return -1;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[pos + i]!;
    pos += n;
    return Number.isSafeInteger(v) ? v : n === 8 ? Number.MAX_SAFE_INTEGER : -1;
  };
  const item = (depth: number): boolean => {
    if (pos >= bytes.length || ++items > limits.maxItems) return false;
    const b = bytes[pos++]!;
    const major = b >> MAJOR_SHIFT;
    const info = b & INFO_MASK;
    switch (major) {
      case MAJOR_UNSIGNED:
      case MAJOR_NEGATIVE:
        return argument(info) >= 0;
      case MAJOR_BYTES:
      case MAJOR_TEXT: {
        const n = argument(info);
        if (n < 0 || pos + n > bytes.length) return false;
        pos += n;
        return true;
      }
      case MAJOR_ARRAY: {
        const n = argument(info);
        if (n < 0 || depth >= limits.maxDepth || n > bytes.length - pos) return false; // each element takes ≥ 1 byte
        for (let i = 0; i < n; i++) if (!item(depth + 1)) return false;
        return true;
      }
      case MAJOR_SIMPLE: {
        if (info >= SIMPLE_FALSE && info <= SIMPLE_NULL) return true;
        if (info < FLOAT16 || info > FLOAT64) return false;
        const n = 2 << (info - FLOAT16);
        if (pos + n > bytes.length) return false;
        pos += n;
        return true;
      }
      default:
        return false; // maps (5) and tags (6) are not in the subset
    }
  };
  return item(0) && pos === bytes.length;
}
