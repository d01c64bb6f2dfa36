/**
 * Sets of store sequence numbers as sorted runs, the form in which messages carry the records they
 * cover and acknowledgements name what the head-end stored. On the wire (docs/uplink.md, "Sequence
 * sets") a set is a flat list of integers: first, length, then (gap, length) pairs, where a gap is
 * the distance from the end of the previous run. A backlog of consecutive records costs two integers.
 */

/** One run of consecutive sequence numbers: [first, first + count). */
export interface SeqRun {
  first: number;
  count: number;
}

/** Sorted, non-overlapping, non-adjacent runs of sequence numbers. */
export type SeqSet = SeqRun[];

/** The set of the given sequence numbers (any order, duplicates allowed). */
export function seqSetOf(seqs: readonly number[]): SeqSet {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: SeqSet = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s < last.first + last.count) continue;
    if (last && s === last.first + last.count) last.count++;
    else out.push({ first: s, count: 1 });
  }
  return out;
}

export function seqSetSize(set: SeqSet): number {
  let n = 0;
  for (const r of set) n += r.count;
  return n;
}

export function seqSetHas(set: SeqSet, seq: number): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = set[mid]!;
    if (seq < r.first) hi = mid - 1;
    else if (seq >= r.first + r.count) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Every sequence number of the set, ascending. */
export function seqSetValues(set: SeqSet): number[] {
  const out: number[] = [];
  for (const r of set) for (let i = 0; i < r.count; i++) out.push(r.first + i);
  return out;
}

/** The wire form: [first, count, gap, count, ...]. */
export function seqSetToWire(set: SeqSet): number[] {
  const out: number[] = [];
  let end = 0;
  for (let i = 0; i < set.length; i++) {
    const r = set[i]!;
    out.push(i === 0 ? r.first : r.first - end, r.count);
    end = r.first + r.count;
  }
  return out;
}

/**
 * Parses the wire form; undefined unless it is an even-length list of safe integers with counts ≥ 1
 * and gaps ≥ 1 (so runs are sorted and never touch), holding at most `maxSize` numbers.
 */
export function seqSetFromWire(wire: unknown, maxSize: number): SeqSet | undefined {
  if (!Array.isArray(wire) || wire.length % 2 !== 0) return undefined;
  const out: SeqSet = [];
  let end = 0;
  let size = 0;
  for (let i = 0; i < wire.length; i += 2) {
    const a = wire[i] as unknown;
    const count = wire[i + 1] as unknown;
    if (typeof a !== "number" || typeof count !== "number" || !Number.isSafeInteger(a) || !Number.isSafeInteger(count)) return undefined;
    if (count < 1 || (i === 0 ? a < 0 : a < 1)) return undefined;
    const first = i === 0 ? a : end + a;
    size += count;
    if (size > maxSize || !Number.isSafeInteger(first + count)) return undefined;
    out.push({ first, count });
    end = first + count;
  }
  return out;
}
