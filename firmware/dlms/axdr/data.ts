/**
 * The COSEM `Data` type (IEC 62056-6-2 §4.1.5, the CHOICE every attribute value and method parameter
 * is), as values of this firmware: a tag and what it carries. Integers up to 32 bits are numbers;
 * 64-bit ones are bigints (XS has BigInt), so nothing a meter sends is rounded.
 */
import { frozen } from "../../model/frozen.js";

/** The Data CHOICE tags. */
export const Tag = frozen({
  null: 0,
  array: 1,
  structure: 2,
  boolean: 3,
  bitString: 4,
  doubleLong: 5,
  doubleLongUnsigned: 6,
  octetString: 9,
  visibleString: 10,
  utf8String: 12,
  bcd: 13,
  integer: 15,
  long: 16,
  unsigned: 17,
  longUnsigned: 18,
  compactArray: 19,
  long64: 20,
  long64Unsigned: 21,
  enum: 22,
  float32: 23,
  float64: 24,
  dateTime: 25,
  date: 26,
  time: 27,
  deltaInteger: 28,
  deltaLong: 29,
  deltaDoubleLong: 30,
  deltaUnsigned: 31,
  deltaLongUnsigned: 32,
  deltaDoubleLongUnsigned: 33,
  dontCare: 255,
} as const);

type TagOf<K extends keyof typeof Tag> = (typeof Tag)[K];

/** Fixed-width integers that fit a double exactly. */
export type IntegerTag =
  | TagOf<"doubleLong" | "doubleLongUnsigned" | "bcd" | "integer" | "long" | "unsigned" | "longUnsigned" | "enum">
  | TagOf<"deltaInteger" | "deltaLong" | "deltaDoubleLong" | "deltaUnsigned" | "deltaLongUnsigned" | "deltaDoubleLongUnsigned">;

export type Data =
  | { readonly tag: TagOf<"null" | "dontCare"> }
  | { readonly tag: TagOf<"array" | "structure">; readonly items: readonly Data[] }
  | { readonly tag: TagOf<"boolean">; readonly value: boolean }
  | { readonly tag: TagOf<"bitString">; readonly bits: number; readonly bytes: Uint8Array }
  | { readonly tag: IntegerTag; readonly value: number }
  | { readonly tag: TagOf<"long64" | "long64Unsigned">; readonly value: bigint }
  | { readonly tag: TagOf<"float32" | "float64">; readonly value: number }
  | { readonly tag: TagOf<"octetString" | "visibleString" | "utf8String">; readonly bytes: Uint8Array }
  /** 12, 5 and 4 bytes (cosem/date-time.ts reads them). */
  | { readonly tag: TagOf<"dateTime" | "date" | "time">; readonly bytes: Uint8Array };

/** Byte width and signedness of each fixed-width integer tag. */
export const INTEGER_WIDTH: Readonly<Record<number, readonly [bytes: number, signed: boolean]>> = frozen({
  [Tag.doubleLong]: [4, true],
  [Tag.doubleLongUnsigned]: [4, false],
  [Tag.bcd]: [1, true],
  [Tag.integer]: [1, true],
  [Tag.long]: [2, true],
  [Tag.unsigned]: [1, false],
  [Tag.longUnsigned]: [2, false],
  [Tag.enum]: [1, false],
  [Tag.deltaInteger]: [1, true],
  [Tag.deltaLong]: [2, true],
  [Tag.deltaDoubleLong]: [4, true],
  [Tag.deltaUnsigned]: [1, false],
  [Tag.deltaLongUnsigned]: [2, false],
  [Tag.deltaDoubleLongUnsigned]: [4, false],
});

// ---- constructors ----

export const NULL: Data = { tag: Tag.null };

export function structure(...items: Data[]): Data {
  return { tag: Tag.structure, items };
}

export function array(items: Data[]): Data {
  return { tag: Tag.array, items };
}

export function octets(bytes: Uint8Array): Data {
  return { tag: Tag.octetString, bytes };
}

export function int(tag: IntegerTag, value: number): Data {
  return { tag, value };
}

export function bool(value: boolean): Data {
  return { tag: Tag.boolean, value };
}

// ---- readers: the value of a Data when it has the expected shape, else undefined ----

/** Any integer tag, 64-bit ones included while they fit a double exactly. */
export function integerOf(d: Data | undefined): number | undefined {
  if (!d) return undefined;
  if (d.tag === Tag.long64 || d.tag === Tag.long64Unsigned) {
    const v = d.value;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  return d.tag in INTEGER_WIDTH ? (d as { value: number }).value : undefined;
}

/** An integer as exact decimal digits (64-bit ones beyond 2^53 too). */
export function integerText(d: Data | undefined): string | undefined {
  if (!d) return undefined;
  if (d.tag === Tag.long64 || d.tag === Tag.long64Unsigned) return d.value.toString();
  const n = integerOf(d);
  return n === undefined ? undefined : String(n);
}

export function bytesOf(d: Data | undefined): Uint8Array | undefined {
  return d && (d.tag === Tag.octetString || d.tag === Tag.visibleString || d.tag === Tag.utf8String) ? d.bytes : undefined;
}

export function itemsOf(d: Data | undefined): readonly Data[] | undefined {
  return d && (d.tag === Tag.structure || d.tag === Tag.array) ? d.items : undefined;
}

export function booleanOf(d: Data | undefined): boolean | undefined {
  return d?.tag === Tag.boolean ? d.value : undefined;
}

/** A visible string's text (ISO 646), or undefined. */
export function textOf(d: Data | undefined): string | undefined {
  const b = bytesOf(d);
  if (!b) return undefined;
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}
