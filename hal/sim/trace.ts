/**
 * A record of what happened on simulated wires, for determinism checks and debugging: every line is
 * folded into a running FNV-1a hash, and the last `keep` lines are kept as text.
 */
export class Trace {
  #hash = 0x811c9dc5;
  #count = 0;
  readonly #lines: string[] = [];
  readonly #keep: number;

  constructor(keep = 0) {
    this.#keep = keep;
  }

  record(line: string): void {
    let h = this.#hash;
    for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193);
    this.#hash = Math.imul(h ^ 10, 0x01000193) >>> 0;
    this.#count++;
    if (this.#keep > 0) {
      this.#lines.push(line);
      if (this.#lines.length > this.#keep) this.#lines.shift();
    }
  }

  /** FNV-1a 32-bit hash of every line recorded, as 8 hex digits. */
  get digest(): string {
    return (this.#hash >>> 0).toString(16).padStart(8, "0");
  }

  get count(): number {
    return this.#count;
  }

  get lines(): readonly string[] {
    return this.#lines;
  }
}

/** Virtual time formatted to the microsecond, for trace lines. */
export function traceTime(ms: number): string {
  return ms.toFixed(3);
}
