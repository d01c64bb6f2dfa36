/**
 * The simulation's discrete-event loop: one virtual clock for everything simulated (boards, buses,
 * modules, modems). An event is one event-loop turn. Events at the same time run in the order they
 * were scheduled, so a run is a pure function of its inputs and seed.
 *
 * Time is in milliseconds as a double. Wire-time arithmetic (10 bits at 2400 Bd = 4.1666… ms) is
 * done from the start of a burst, never by accumulating rounded steps.
 */
export interface ScheduledEvent {
  readonly time: number;
  /** Set by `cancel`; a cancelled event is skipped. */
  cancelled: boolean;
}

/**
 * An event in the queue: what happens at `time` is its `run` method. A kind of event that the
 * simulation posts often (a circuit's timer, a call on a circuit) is a subclass that keeps what it
 * needs in fields: one small object per event, where a closure per event (with its environment and
 * captured variables) would cost several times as much in XS.
 */
export abstract class SimEvent implements ScheduledEvent {
  time = 0;
  seq = 0;
  cancelled = false;
  /** Who posted it, for `cancelOwnedBy` (a power domain). */
  readonly owner: object | undefined;

  constructor(owner: object | undefined) {
    this.owner = owner;
  }

  /** What happens at `time` (one turn). */
  abstract run(): void;

  /** Cancelled: lets go of what it would have run, at once (the event may wait in the queue until its time). */
  abstract drop(): void;
}

/** What a cancelled event runs in place of its callback. */
export const NOTHING = (): void => undefined;

/** An event that runs a function. */
class Call extends SimEvent {
  fn: () => void;

  constructor(fn: () => void, owner: object | undefined) {
    super(owner);
    this.fn = fn;
  }

  run(): void {
    this.fn();
  }

  drop(): void {
    this.fn = NOTHING;
  }
}

export class Scheduler {
  #now = 0;
  #seq = 0;
  #heap: SimEvent[] = [];
  #turns = 0;

  /** Current virtual time in milliseconds. */
  get now(): number {
    return this.#now;
  }

  /** Number of events run so far. */
  get turns(): number {
    return this.#turns;
  }

  /** Events waiting (including cancelled ones not yet discarded). */
  get pending(): number {
    return this.#heap.length;
  }

  /** Runs `run` at absolute time `time` (not before now); `owner` can cancel it with every other it posted (`cancelOwnedBy`). */
  at(time: number, run: () => void, owner?: object): ScheduledEvent {
    return this.post(new Call(run, owner), time);
  }

  /** Queues `event` to run at absolute time `time` (not before now): a new event, or one that has run and comes again (a repeating timer). */
  post<E extends SimEvent>(event: E, time: number): E {
    event.time = time >= this.#now ? time : this.#now;
    event.seq = this.#seq++;
    this.#push(event);
    return event;
  }

  /** Runs `run` after `delayMs` (≥ 0). */
  after(delayMs: number, run: () => void, owner?: object): ScheduledEvent {
    return this.at(this.#now + (delayMs > 0 ? delayMs : 0), run, owner);
  }

  /** Skips `event`, and lets go of its callback at once (a cancelled event waits in the queue until its time). */
  cancel(event: ScheduledEvent | undefined): void {
    if (!event) return;
    event.cancelled = true;
    (event as SimEvent).drop();
  }

  /** Cancels every event `owner` posted (a circuit losing power): their callbacks are let go at once. */
  cancelOwnedBy(owner: object): void {
    for (const e of this.#heap) if (e.owner === owner) this.cancel(e);
  }

  /** Time of the next live event, or undefined. */
  peek(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.time;
  }

  /** Runs the next event (one turn). False when nothing is left. */
  step(): boolean {
    this.#dropCancelled();
    const e = this.#pop();
    if (!e) return false;
    this.#now = e.time;
    this.#turns++;
    e.run();
    return true;
  }

  /** Runs every event up to and including `time`, then advances the clock to `time`. */
  runUntil(time: number): void {
    for (;;) {
      const next = this.peek();
      if (next === undefined || next > time) break;
      this.step();
    }
    if (time > this.#now) this.#now = time;
  }

  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  /** Runs turns until `done()` holds (checked before each turn) or `limitMs` of virtual time pass. True if done. */
  runUntilTrue(done: () => boolean, limitMs: number): boolean {
    const end = this.#now + limitMs;
    while (!done()) {
      const next = this.peek();
      if (next === undefined || next > end) {
        if (end > this.#now) this.#now = end;
        return done();
      }
      this.step();
    }
    return true;
  }

  #dropCancelled(): void {
    while (this.#heap.length && this.#heap[0]!.cancelled) this.#pop();
  }

  #less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  #push(e: SimEvent): void {
    const h = this.#heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  #pop(): SimEvent | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (!top || !last || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.#less(h[r]!, h[l]!) ? r : l;
      if (!this.#less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
