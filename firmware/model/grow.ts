/**
 * How the firmware's typed-array tables grow (KeyedRows' index, the topology's rows, the string
 * indexes' bytes): by half again, not by doubling, which left up to half of a large table's bytes
 * unused (docs/memory.md). One native copy per growth, nothing rehashed in script.
 */

type Grown = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/**
 * `array` when `index` is within it, else a new array of the same kind with room for `index` (half
 * again as long as `array`, or more when `index` needs it), `array`'s elements copied and the new ones
 * `fill` (0 unless told).
 */
export function withRoom<T extends Grown>(array: T, index: number, fill = 0): T {
  if (index < array.length) return array;
  const length = Math.max(index + 1, array.length + (array.length >> 1), 8);
  const to = new (array.constructor as new (length: number) => T)(length);
  to.set(array);
  if (fill !== 0) to.fill(fill, array.length);
  return to;
}
