/**
 * Assertions for scenarios that run both under mocha and inside XS: pure ECMAScript, no node:assert.
 * A failure throws CheckError with a message that names what differed.
 */
export class CheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckError";
  }
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `[${Array.from(v).join(",")}]`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function ok(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckError(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) throw new CheckError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function near(actual: number, expected: number, tolerance: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new CheckError(`${what}: expected ${expected} ± ${tolerance}, got ${actual}`);
  }
}

export function deepEqual(actual: unknown, expected: unknown, what: string): void {
  const a = show(actual);
  const e = show(expected);
  if (a !== e) throw new CheckError(`${what}: expected ${e}, got ${a}`);
}

export function throws(fn: () => unknown, errorClass: abstract new (...args: never[]) => Error, what: string): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof errorClass) return e;
    throw new CheckError(`${what}: expected ${errorClass.name}, got ${String(e)}`);
  }
  throw new CheckError(`${what}: expected ${errorClass.name}, nothing was thrown`);
}
