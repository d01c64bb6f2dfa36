/**
 * Clock, timers and wall clock on the Moddable `timer` and `time` modules (the ESP32 device manifest
 * preloads both). `Time.ticks` is milliseconds since boot; the RTC is the ESP32 system time, which
 * `Time.set(seconds)` sets (settimeofday). The ESP32 keeps it across a software reset but not across
 * a power cut, so `valid` starts false until the head-end or the console sets it.
 */
import Timer from "timer";
import Time from "time";
import type { MonotonicClock, TimerId, Timers, WallClock } from "../clock.js";

export class ModdableClock implements MonotonicClock, Timers {
  #next = 1;
  readonly #timers = new Map<TimerId, Timer>();

  now(): number {
    return Time.ticks;
  }

  set(callback: () => void, delayMs: number, repeatMs?: number): TimerId {
    if (!(delayMs >= 0)) throw new RangeError("invalid delay");
    if (repeatMs !== undefined && !(repeatMs > 0)) throw new RangeError("invalid repeat");
    const id = this.#next++;
    const timer = Timer.set(
      () => {
        if (repeatMs === undefined) this.#timers.delete(id);
        callback();
      },
      delayMs,
      repeatMs,
    );
    this.#timers.set(id, timer);
    return id;
  }

  clear(id: TimerId): void {
    const timer = this.#timers.get(id);
    if (!timer) return;
    Timer.clear(timer);
    this.#timers.delete(id);
  }
}

/** Before this instant (2024-01-01) the system time cannot have been set. */
const EARLIEST_VALID_MS = Date.UTC(2024, 0, 1);

export class ModdableWallClock implements WallClock {
  now(): number {
    return Date.now();
  }

  set(epochMs: number): void {
    Time.set(Math.floor(epochMs / 1000));
  }

  get valid(): boolean {
    return Date.now() >= EARLIEST_VALID_MS;
  }
}
