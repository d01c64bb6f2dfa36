/**
 * Transactions waiting for their line: highest priority first, arrival order within a priority. The
 * bus master and the bridge transport (firmware/bridge) both queue this way. Queues are short (a few
 * dozen transactions), so a stable insertion into an array is cheaper than a heap. An item is a job
 * holding its transaction, whose `priority` (types.ts, default 0) orders it: read from it, not through
 * a function given per queue (a closure is 11 slots in XS, docs/memory.md).
 */
export interface Queued {
  readonly tx: { readonly priority?: number };
}

export class TransactionQueue<T extends Queued> {
  readonly #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  /** Adds `item` after every item of the same or a higher priority. */
  push(item: T): void {
    const p = item.tx.priority ?? 0;
    let i = this.#items.length;
    while (i > 0 && (this.#items[i - 1]!.tx.priority ?? 0) < p) i--;
    this.#items.splice(i, 0, item);
  }

  shift(): T | undefined {
    return this.#items.shift();
  }

  /** Removes `item`; false when it is not queued (it has started, ended or was removed). */
  remove(item: T): boolean {
    const at = this.#items.indexOf(item);
    if (at < 0) return false;
    this.#items.splice(at, 1);
    return true;
  }

  /** Empties the queue and returns what it held, in order. */
  takeAll(): T[] {
    return this.#items.splice(0, this.#items.length);
  }
}
