/**
 * The concentrator's tolerance for downlink messages that arrive after a later one: a fleet head-end
 * seals one concentrator's acknowledgements and commands in several workers, which publish them over
 * different broker connections, so a command may be overtaken by an acknowledgement sealed a moment
 * after it (docs/uplink.md "Counters and replay rules").
 *
 * It keeps the `size` highest counters accepted (ascending). A counter is fresh when it is above the
 * lowest of them and not one of them: every counter accepted above that lowest one is kept, so a
 * replay is always recognised. Counted in messages, not in counter distance, because the head-end's
 * counters jump with its clock (channel.ts `counterFloor`).
 *
 * Only RAM: at start it holds the persisted last accepted counter alone, so after a restart nothing
 * at or below it is fresh. A reboot cannot reopen the window, and a late message costs no flash
 * write (the last accepted counter is persisted, as before, only when it rises).
 */
export class LateWindow {
  readonly #size: number;
  readonly #kept: number[];

  constructor(size: number, lastAccepted: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError('invalid "size"');
    this.#size = size;
    this.#kept = [lastAccepted];
  }

  /** Whether `counter` was not accepted before and is recent enough to be told from a replay. */
  fresh(counter: number): boolean {
    const kept = this.#kept;
    if (counter <= kept[0]!) return false;
    for (let i = kept.length - 1; i > 0 && kept[i]! >= counter; i--) if (kept[i] === counter) return false;
    return true;
  }

  /** Records an accepted counter (after `fresh` said so and it was persisted if it is the highest). */
  record(counter: number): void {
    const kept = this.#kept;
    let i = kept.length;
    while (i > 0 && kept[i - 1]! > counter) i--;
    kept.splice(i, 0, counter);
    if (kept.length > this.#size) kept.shift();
  }
}
