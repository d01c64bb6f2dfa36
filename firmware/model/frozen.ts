/**
 * Tables and enumerations are frozen where they are declared, deeply when they nest. On the device
 * they are preloaded into flash, and a preloaded object that is not frozen costs a RAM pointer in
 * every XS machine, in case it is ever written (the XS linker's "not frozen" warning; docs/device.md).
 * Freezing also makes a write to a table throw on the host, where the tests see it, instead of only on
 * the device.
 */

/** `value`, with every plain object and array reachable through its own properties frozen. */
export function frozen<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    for (const key of Object.keys(value)) frozen((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
