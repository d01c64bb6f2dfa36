/**
 * The HDLC parameter negotiation carried by SNRM and UA (IEC 62056-46 §6.4.4.4.3.2, the ISO/IEC 13239
 * parameter field): format identifier 0x81, group identifier 0x80, group length, then parameters
 * `id, length, value` (big-endian): 0x05 maximum information field length transmit, 0x06 … receive,
 * 0x07 window size transmit, 0x08 … receive. Each side states its own transmit and receive; a value
 * left out is the default (128 bytes, window 1).
 */
import { frozen } from "../../model/frozen.js";

export interface LinkParameters {
  maxInfoTransmit: number;
  maxInfoReceive: number;
  windowTransmit: number;
  windowReceive: number;
}

export const DEFAULT_PARAMETERS: LinkParameters = frozen({ maxInfoTransmit: 128, maxInfoReceive: 128, windowTransmit: 1, windowReceive: 1 });

/** Largest information field an HDLC frame can carry with 4-byte addresses (2047 − 13 bytes of framing). */
const MAX_INFO_FIELD = 2030;

const IDS: Array<[number, keyof LinkParameters, number]> = frozen([
  [0x05, "maxInfoTransmit", 2],
  [0x06, "maxInfoReceive", 2],
  [0x07, "windowTransmit", 4],
  [0x08, "windowReceive", 4],
]);

/** The information field of an SNRM or UA; empty when every value is the default. */
export function encodeParameters(p: LinkParameters): Uint8Array {
  const body: number[] = [];
  for (const [id, key, width] of IDS) {
    const v = p[key];
    // The shortest big-endian form that holds the value (lengths: 1 or 2 bytes; windows: 4, as meters send them).
    const n = width === 4 ? 4 : v < 0x100 ? 1 : 2;
    body.push(id, n);
    for (let i = n - 1; i >= 0; i--) body.push((v >>> (8 * i)) & 0xff);
  }
  if (IDS.every(([, key]) => p[key] === DEFAULT_PARAMETERS[key])) return new Uint8Array(0);
  return Uint8Array.from([0x81, 0x80, body.length, ...body]);
}

/** The parameters an SNRM or UA information field states; undefined when it is malformed. */
export function decodeParameters(info: Uint8Array): LinkParameters | undefined {
  const p = { ...DEFAULT_PARAMETERS };
  if (info.length === 0) return p;
  if (info.length < 3 || info[0] !== 0x81 || info[1] !== 0x80 || info[2] !== info.length - 3) return undefined;
  for (let i = 3; i < info.length; ) {
    const id = info[i]!;
    const n = info[i + 1];
    if (n === undefined || n < 1 || n > 4 || i + 2 + n > info.length) return undefined;
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + info[i + 2 + k]!;
    const known = IDS.find(([x]) => x === id);
    if (known) p[known[1]] = v;
    i += 2 + n;
  }
  const sane = (v: number, max: number) => v >= 1 && v <= max;
  if (!sane(p.maxInfoTransmit, MAX_INFO_FIELD) || !sane(p.maxInfoReceive, MAX_INFO_FIELD) || !sane(p.windowTransmit, 7) || !sane(p.windowReceive, 7)) return undefined;
  return p;
}

/**
 * What the client uses after the server's UA: the client sends at most what the server can receive
 * and what the client proposed, and expects at most what the server says it transmits (never more
 * than the client can take).
 */
export function negotiate(proposed: LinkParameters, ua: LinkParameters): LinkParameters {
  return {
    maxInfoTransmit: Math.min(proposed.maxInfoTransmit, ua.maxInfoReceive),
    maxInfoReceive: Math.min(proposed.maxInfoReceive, ua.maxInfoTransmit),
    windowTransmit: Math.min(proposed.windowTransmit, ua.windowReceive),
    windowReceive: Math.min(proposed.windowReceive, ua.windowTransmit),
  };
}
