/**
 * Where every event of the concentrator goes through: the catalogue decides whether it is an alarm,
 * the debouncer whether it is raised now, and the sink (the store) keeps it until the head-end has it.
 * Counts what was raised, what was an alarm and what debouncing swallowed.
 */
import type { MonotonicClock, WallClock } from "../../hal/clock.js";
import type { EventType, MeterEvent } from "../model/records.js";
import { policyOf } from "./catalogue.js";
import { EventDebouncer } from "./debounce.js";

const YEAR_S = 365 * 86_400;

export interface EventSink {
  /** Stores the event (durable when it returns). */
  append(event: MeterEvent): void;
}

export class EventManager {
  readonly #sink: EventSink;
  readonly #clock: MonotonicClock;
  readonly #wallClock: WallClock;
  readonly #debouncer = new EventDebouncer();
  readonly counters = { raised: 0, alarms: 0, suppressed: 0 };
  readonly #listeners: Array<(e: MeterEvent) => void> = [];

  constructor(options: { sink: EventSink; clock: MonotonicClock; wallClock: WallClock }) {
    this.#sink = options.sink;
    this.#clock = options.clock;
    this.#wallClock = options.wallClock;
  }

  /** Called after each raised event (the uplink sends alarms at once). */
  onRaised(listener: (e: MeterEvent) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * A one-shot event: raised unless the same one for the same subject is held off. `timeS` is when it
   * happened, when that was before now (an entry of a module's own log); a time in the future or more
   * than a year back (a module clock reset) is replaced by now.
   */
  pulse(type: EventType, subject: number, detail = 0, timeS?: number): boolean {
    const v = this.#debouncer.pulse(type, subject, this.#clock.now());
    return v.raise ? this.emit(type, subject, detail, timeS) : this.swallow();
  }

  /** A condition seen present or absent at a read: raised once it has held for the debounce time. */
  condition(type: EventType, subject: number, asserted: boolean, detail = 0): boolean {
    const v = this.#debouncer.observe(type, subject, asserted, this.#clock.now());
    if (!asserted) return false;
    return v.raise ? this.emit(type, subject, detail) : false;
  }

  /** Stores an event exactly as given (already decided elsewhere, e.g. a latch change). */
  record(event: MeterEvent): void {
    this.store(event);
  }

  private emit(type: EventType, subject: number, detail: number, timeS?: number): true {
    const nowS = Math.floor(this.#wallClock.now() / 1000);
    const time = timeS !== undefined && timeS <= nowS && timeS >= nowS - YEAR_S ? timeS : nowS;
    this.store({ type, subject, time, alarm: policyOf(type).alarm, detail });
    return true;
  }

  private store(event: MeterEvent): void {
    this.#sink.append(event);
    this.counters.raised++;
    if (event.alarm) this.counters.alarms++;
    for (const l of this.#listeners) l(event);
  }

  private swallow(): false {
    this.counters.suppressed++;
    return false;
  }
}
