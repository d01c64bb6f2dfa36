/**
 * Transactions waiting for their line: highest priority first, arrival order within a priority. The
 * bus master and the bridge transport (firmware/bridge) both queue this way. Queues are short (a few
 * dozen transactions), so a stable insertion into an array is cheaper than a heap.
 */
export class TransactionQueue<T> {
  readonly #items: T[] = [];
  readonly #priority: (item: T) => number;

  /** `priority(item)`: higher runs first. */
  constructor(priority: (item: T) => number) {
    this.#priority = priority;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Adds `item` after every item of the same or a higher priority. */
  push(item: T): void {
    const p = this.#priority(item);
    let i = this.#items.length;
    while (i > 0 && this.#priority(this.#items[i - 1]!) < p) i--;
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
