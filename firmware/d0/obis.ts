/**
 * OBIS codes as IEC 62056-21 readouts write them (IEC 62056-6-1 OBIS): the full form
 * `A-B:C.D.E*F`, and the short forms that leave out A-B, E or F (`1.8.0`, `32.7`, `1.8.0*00`,
 * `0-0:F.F.0*255`). The letters C, F, L and P stand for 96, 97, 98 and 99 (IEC 62056-61).
 */

export interface Obis {
  /** Medium (1 electricity); undefined when the address leaves it out. */
  readonly a: number | undefined;
  /** Channel; undefined when left out. */
  readonly b: number | undefined;
  readonly c: number;
  readonly d: number | undefined;
  readonly e: number | undefined;
  /** Billing period (255 = current); undefined when left out. */
  readonly f: number | undefined;
}

const LETTER: Record<string, number> = Object.freeze({ C: 96, F: 97, L: 98, P: 99 });

function group(text: string): number | undefined {
  const letter = LETTER[text];
  if (letter !== undefined) return letter;
  if (!/^[0-9]{1,3}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 255 ? n : undefined;
}

/** Parses a data-set address as OBIS; undefined when it is not one ("9.4" is, "P.01" is 99.1, "KZ" is not). */
export function parseObis(address: string): Obis | undefined {
  const m = /^(?:([0-9]{1,3})-([0-9]{1,3}):)?([0-9A-Z]{1,3})(?:\.([0-9A-Z]{1,3}))?(?:\.([0-9A-Z]{1,3}))?(?:\*([0-9]{1,3}))?$/.exec(address);
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => (p === undefined ? undefined : group(p)));
  for (let i = 0; i < 6; i++) if (parts[i] === undefined && [m[1], m[2], m[3], m[4], m[5], m[6]][i] !== undefined) return undefined;
  return { a: parts[0], b: parts[1], c: parts[2]!, d: parts[3], e: parts[4], f: parts[5] };
}

/** Two request addresses name the same device: leading zeros are ignored (§6.3.14 item 22). */
export function sameDeviceAddress(x: string, y: string): boolean {
  return x.replace(/^0+/, "") === y.replace(/^0+/, "");
}
