/**
 * HDLC addresses of IEC 62056-46 §6.4.2.2: each address byte carries 7 bits and an extension bit in
 * its lowest bit (0: another byte follows, 1: last byte).
 *
 * - The client address is one byte: the client's SAP (16 public client, 1 management, …) << 1 | 1.
 * - The server address is the logical device (upper HDLC address, 1 = the management logical device)
 *   followed by the physical device (lower HDLC address, its place on a multi-drop bus). It takes 1
 *   byte (upper only), 2 bytes (upper and lower, 7 bits each) or 4 bytes (upper and lower, 14 bits each).
 *
 * Physical addresses on a bus are 0x10..0x3FFD (0x3FFF is the broadcast, 0x3FFE "calling" in
 * §6.4.2.2's reserved values); 0x00..0x0F are reserved.
 */

export interface ServerAddress {
  /** Upper HDLC address: the logical device, 0..0x3FFF (1 = management logical device). */
  readonly logical: number;
  /** Lower HDLC address: the physical device on the bus, 0..0x3FFF; undefined in the 1-byte form. */
  readonly physical: number | undefined;
  /** Bytes on the wire: 1, 2 or 4. */
  readonly size: 1 | 2 | 4;
}

export class AddressError extends RangeError {
  constructor(what: string) {
    super(`invalid ${what}`);
    this.name = "AddressError";
  }
}

/** The smallest form that holds both parts (2 bytes when both fit 7 bits). */
export function serverAddress(logical: number, physical: number | undefined, size?: 1 | 2 | 4): ServerAddress {
  const limit = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0x3fff;
  if (!limit(logical) || (physical !== undefined && !limit(physical))) throw new AddressError("server address");
  const fits7 = logical < 0x80 && (physical === undefined || physical < 0x80);
  const chosen = size ?? (physical === undefined ? (logical < 0x80 ? 1 : 4) : fits7 ? 2 : 4);
  if (chosen === 1 && (physical !== undefined || logical >= 0x80)) throw new AddressError("1-byte server address");
  if (chosen === 2 && !fits7) throw new AddressError("2-byte server address");
  return { logical, physical: chosen === 1 ? undefined : physical ?? 0, size: chosen };
}

/** The bytes of a client SAP (0..127). */
export function encodeClient(sap: number): Uint8Array {
  if (!(Number.isInteger(sap) && sap >= 0 && sap < 0x80)) throw new AddressError("client address");
  return Uint8Array.of((sap << 1) | 1);
}

export function encodeServer(a: ServerAddress): Uint8Array {
  const hi = (v: number) => (v >> 7) << 1;
  const lo = (v: number) => (v & 0x7f) << 1;
  const p = a.physical ?? 0;
  switch (a.size) {
    case 1:
      return Uint8Array.of((a.logical << 1) | 1);
    case 2:
      return Uint8Array.of(a.logical << 1, (p << 1) | 1);
    case 4:
      return Uint8Array.of(hi(a.logical), lo(a.logical), hi(p), lo(p) | 1);
  }
}

/**
 * The address starting at `at`: its raw value (the 7-bit groups joined, as `bytes` bytes), or
 * undefined when no byte within 4 ends it.
 */
export function readAddress(frame: Uint8Array, at: number, end: number): { bytes: number; groups: number[] } | undefined {
  const groups: number[] = [];
  for (let i = at; i < end && groups.length < 4; i++) {
    groups.push(frame[i]! >> 1);
    if (frame[i]! & 1) return groups.length === 3 ? undefined : { bytes: groups.length, groups };
  }
  return undefined;
}

/** A server address from the groups `readAddress` found. */
export function serverFromGroups(groups: readonly number[]): ServerAddress {
  if (groups.length === 1) return { logical: groups[0]!, physical: undefined, size: 1 };
  if (groups.length === 2) return { logical: groups[0]!, physical: groups[1]!, size: 2 };
  return { logical: (groups[0]! << 7) | groups[1]!, physical: (groups[2]! << 7) | groups[3]!, size: 4 };
}

export function sameServer(a: ServerAddress, b: ServerAddress): boolean {
  return a.logical === b.logical && (a.physical ?? -1) === (b.physical ?? -1);
}
