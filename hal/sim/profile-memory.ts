/**
 * A simulated module's load-profile memory (docs/backfill.md): every 15 minutes of its own clock it
 * records one row, the energy registers of each of its meters (import and, for serial meters, export,
 * in Wh) with a status of what happened in the interval, in a ring of `depth` rows, as the meters
 * the site simulates (L+G ZMD/ZMF, Iskra MT174/MT382, EMH LZQJ, Elster A1800) keep their P.01 profile.
 * An R5 `P.01(from;to)` read answers the rows whose time is in the range, oldest first, in the EMH
 * shape firmware/d0/load-profile.ts reads: a header `P.01(0yymmddhhmm)(ss)(15)(z)(code)(unit)…` and
 * one `(v1)…(vz)` line per row, a new header after a gap in the times or a change of status.
 *
 * Rows are kept in typed arrays (the simulation runs inside XS too); they grow by doubling up to `depth`.
 */

/** Minutes per row (the registration period of the profile). */
export const PROFILE_PERIOD_MIN = 15;
const PERIOD_S = PROFILE_PERIOD_MIN * 60;

/** Status bits of a row (the vendor map of docs/backfill.md, after the EMH/DLMS profile status). */
export const ProfileRowStatus = Object.freeze({
  /** The module lost its bus supply or restarted in the interval. */
  powerFailure: 0x01,
  /** The module's clock was set in the interval. */
  clockSet: 0x02,
  /** A value of the row is not valid (pulses lost while the module was down). */
  invalid: 0x04,
} as const);

export interface ProfileChannel {
  /** OBIS code of the channel as sent, e.g. "1-2:2.8.0". */
  readonly code: string;
  /** The register's value now, Wh. */
  value(): number;
}

export class SimProfileMemory {
  readonly depth: number;
  readonly #channels: readonly ProfileChannel[];
  #times = new Uint32Array(0);
  #status = new Uint8Array(0);
  #values = new Uint32Array(0);
  /** Index of the oldest row, and rows held. */
  #head = 0;
  #count = 0;

  constructor(depth: number, channels: readonly ProfileChannel[]) {
    this.depth = depth;
    this.#channels = channels;
  }

  get rows(): number {
    return this.#count;
  }

  /** Module-clock time of the oldest row held, s (undefined when empty). */
  get oldestS(): number | undefined {
    return this.#count ? this.#times[this.#head] : undefined;
  }

  /** Records a row at module time `timeS` (an interval's end), with the interval's status. */
  record(timeS: number, status: number): void {
    if (this.depth <= 0 || timeS < 0 || timeS > 0xffffffff) return;
    if (this.#count === this.#times.length && this.#times.length < this.depth) this.#grow();
    const z = this.#channels.length;
    const at = (this.#head + this.#count) % this.#times.length;
    if (this.#count === this.#times.length) this.#head = (this.#head + 1) % this.#times.length;
    else this.#count++;
    this.#times[at] = timeS;
    this.#status[at] = status;
    for (let c = 0; c < z; c++) this.#values[at * z + c] = Math.max(0, Math.min(0xffffffff, this.#channels[c]!.value()));
  }

  /** The data lines answering `P.01(from;to)` (module-clock seconds, both included), or [] when no row is in range. */
  answer(fromS: number, toS: number): string[] {
    const lines: string[] = [];
    const z = this.#channels.length;
    const n = this.#times.length;
    let prevTime = -1;
    let prevStatus = -1;
    for (let k = 0; k < this.#count; k++) {
      const i = (this.#head + k) % n;
      const t = this.#times[i]!;
      if (t < fromS || t > toS) continue;
      const s = this.#status[i]!;
      if (t !== prevTime + PERIOD_S || s !== prevStatus) lines.push(this.#header(t, s));
      prevTime = t;
      prevStatus = s;
      let row = "";
      for (let c = 0; c < z; c++) row += `(${kwh(this.#values[i * z + c]!)})`;
      lines.push(row);
    }
    return lines;
  }

  #header(timeS: number, status: number): string {
    let h = `P.01(0${stamp(timeS)})(${status.toString(16).toUpperCase().padStart(2, "0")})(${PROFILE_PERIOD_MIN})(${this.#channels.length})`;
    for (const c of this.#channels) h += `(${c.code})(kWh)`;
    return h;
  }

  #grow(): void {
    const size = Math.min(this.depth, Math.max(96, this.#times.length * 2));
    const z = this.#channels.length;
    const times = new Uint32Array(size);
    const status = new Uint8Array(size);
    const values = new Uint32Array(size * z);
    // Full and not yet at depth: the ring is in order from index 0 (it only wraps at depth).
    times.set(this.#times);
    status.set(this.#status);
    values.set(this.#values);
    this.#times = times;
    this.#status = status;
    this.#values = values;
  }
}

/** The end of the profile interval at or before module time `timeS`. */
export function intervalEnd(timeS: number): number {
  return Math.floor(timeS / PERIOD_S) * PERIOD_S;
}

/** Parses `syymmddhhmm` as module-clock seconds (UTC), or undefined. */
export function parseStamp(text: string): number | undefined {
  const m = /^[0-9]([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(2000 + y, mo - 1, d, h, mi);
  return mo >= 1 && mo <= 12 && new Date(ms).getUTCDate() === d && h < 24 && mi < 60 ? ms / 1000 : undefined;
}

function stamp(timeS: number): string {
  const t = new Date(timeS * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return two(t.getUTCFullYear() % 100) + two(t.getUTCMonth() + 1) + two(t.getUTCDate()) + two(t.getUTCHours()) + two(t.getUTCMinutes());
}

/** Wh as kWh with 3 decimals and 7 integer digits, as Iskra and L+G meters show it: 0008048.375. */
export function kwh(wh: number): string {
  return `${String(Math.floor(wh / 1000)).padStart(7, "0")}.${String(wh % 1000).padStart(3, "0")}`;
}
