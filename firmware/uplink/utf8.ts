/**
 * UTF-8 without the TextEncoder/TextDecoder globals (they are modules on the device, not globals).
 * MQTT strings must be well-formed UTF-8 [MQTT-1.5.3-1]: the decoder rejects overlong forms,
 * surrogates and code points above U+10FFFF instead of replacing them.
 */

export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3; // BMP character, or a lone surrogate written as U+FFFD
  }
  return n;
}

/** Writes `text` at `offset`; returns the offset after it. Lone surrogates become U+FFFD. */
export function utf8Write(text: string, out: Uint8Array, offset: number): number {
  let o = offset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out[o++] = 0xf0 | (cp >> 18);
        out[o++] = 0x80 | ((cp >> 12) & 0x3f);
        out[o++] = 0x80 | ((cp >> 6) & 0x3f);
        out[o++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    out[o++] = 0xe0 | (c >> 12);
    out[o++] = 0x80 | ((c >> 6) & 0x3f);
    out[o++] = 0x80 | (c & 0x3f);
  }
  return o;
}

export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(utf8Length(text));
  utf8Write(text, out, 0);
  return out;
}

/** Decodes `bytes[start, end)`; undefined when it is not well-formed UTF-8. */
export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string | undefined {
  let s = "";
  let i = start;
  while (i < end) {
    const b = bytes[i]!;
    let cp: number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      s += String.fromCharCode(b);
      i++;
      continue;
    } else if ((b & 0xe0) === 0xc0) (cp = b & 0x1f), (need = 1), (min = 0x80);
    else if ((b & 0xf0) === 0xe0) (cp = b & 0x0f), (need = 2), (min = 0x800);
    else if ((b & 0xf8) === 0xf0) (cp = b & 0x07), (need = 3), (min = 0x10000);
    else return undefined;
    if (i + need >= end) return undefined; // truncated sequence
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    s += cp >= 0x10000 ? String.fromCharCode(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)) : String.fromCharCode(cp);
    i += need + 1;
  }
  return s;
}
