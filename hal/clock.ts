/**
 * Time: a monotonic clock with timers, and a settable wall clock.
 *
 * Contract:
 * - `now()` is milliseconds since boot, never decreasing, possibly fractional. It restarts at 0 on
 *   every reset of the board, so it orders events within one boot only; what must survive a reset is
 *   keyed by sequence numbers, not by times.
 * - Timer callbacks run in their own event-loop turn, never inside `set`. A timer fires no earlier than
 *   its delay. A repeating timer keeps its phase (`repeatMs` after each scheduled firing), so a late turn
 *   does not accumulate drift. Clearing a timer that has fired or was cleared is harmless.
 * - The shape is that of the Moddable `timer` module (`Timer.set(cb, ms, repeat)`), which the ESP32
 *   preloads; there is no setTimeout on the device.
 */

export type TimerId = number;

export interface MonotonicClock {
  /** Milliseconds since boot. */
  now(): number;
}

export interface Timers {
  /** Calls `callback` after `delayMs` (≥ 0), then every `repeatMs` if given (> 0). */
  set(callback: () => void, delayMs: number, repeatMs?: number): TimerId;
  /** Cancels a timer. No callback of it runs after this returns. */
  clear(id: TimerId): void;
}

/**
 * Wall-clock (calendar) time in milliseconds since 1970-01-01T00:00:00Z (UTC).
 * The board's RTC may have lost time across a power cut: `valid` is false until `set` is called or
 * the RTC kept time. Setting may move time backwards; nothing may rely on it increasing.
 */
export interface WallClock {
  now(): number;
  set(epochMs: number): void;
  readonly valid: boolean;
}
