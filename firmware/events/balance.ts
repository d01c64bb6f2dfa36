/**
 * Balance monitoring (seeds: "Balance Meter assignment for certain Group(s)"; "Consumption monitoring by
 * using Balance Meters"): per group and per interval, the energy through the group's balance meter
 * against the sum of its consumers' energy. The difference is technical loss plus anything taken
 * between the balance meter and the consumers' meters (an illegal tap). An alarm is raised when the
 * loss stays above the threshold for the configured time, and cleared when it falls back below it.
 *
 * An interval is judged only when every member delivered its delta: a missing consumer reading would
 * otherwise look exactly like theft.
 */

export interface BalanceGroupConfig {
  id: number;
  /** Meter number of the balance meter. */
  balanceMeter: number;
  /** Meter numbers of the consumers behind it. */
  consumers: readonly number[];
  /** Loss above this percentage of the balance energy counts as an imbalance. */
  thresholdPercent: number;
  /** The imbalance must last this long (sum of consecutive judged intervals) before the alarm, ms. */
  minDurationMs: number;
  /** Intervals whose balance energy is below this are not judged (noise dominates), Wh. */
  minBalanceWh: number;
}

export interface IntervalBalance {
  group: number;
  /** Interval end, caller's time unit (epoch seconds in the concentrator). */
  intervalEnd: number;
  balanceWh: number;
  consumersWh: number;
  lossWh: number;
  /** Loss as a percentage of the balance energy; NaN when the interval was not judged. */
  lossPercent: number;
  judged: boolean;
}

export type BalanceAlarmChange = "raised" | "cleared" | undefined;

export class BalanceMonitor {
  readonly #config: BalanceGroupConfig;
  readonly #members: Set<number>;
  /** Deltas of the interval being collected, by meter. */
  #pending = new Map<number, number>();
  #pendingEnd: number | undefined;
  #imbalanceMs = 0;
  #alarm = false;

  constructor(config: BalanceGroupConfig) {
    if (!(config.thresholdPercent >= 0 && config.minDurationMs >= 0 && config.minBalanceWh >= 0)) throw new RangeError("invalid balance config");
    if (config.consumers.includes(config.balanceMeter)) throw new RangeError("balance meter is also a consumer");
    this.#config = config;
    this.#members = new Set([config.balanceMeter, ...config.consumers]);
  }

  get alarm(): boolean {
    return this.#alarm;
  }

  /** True when `meter` belongs to this group (as balance meter or consumer). */
  has(meter: number): boolean {
    return this.#members.has(meter);
  }

  /**
   * Records one member's energy delta (Wh) for the interval ending at `intervalEnd`. When every member
   * has reported, returns the interval's balance and the alarm change it caused.
   * A delta for a newer interval closes the older one unjudged.
   */
  add(meter: number, intervalEnd: number, deltaWh: number, intervalMs: number): { balance?: IntervalBalance; change: BalanceAlarmChange } {
    if (!this.#members.has(meter)) return { change: undefined };
    if (this.#pendingEnd !== undefined && intervalEnd < this.#pendingEnd) return { change: undefined };
    let closed: IntervalBalance | undefined;
    if (this.#pendingEnd !== undefined && intervalEnd > this.#pendingEnd) closed = this.close(false, intervalMs);
    this.#pendingEnd = intervalEnd;
    this.#pending.set(meter, deltaWh);
    if (this.#pending.size < this.#members.size) return closed ? { balance: closed, change: undefined } : { change: undefined };
    const before = this.#alarm;
    const balance = this.close(true, intervalMs);
    return { balance, change: this.#alarm === before ? undefined : this.#alarm ? "raised" : "cleared" };
  }

  private close(complete: boolean, intervalMs: number): IntervalBalance {
    const c = this.#config;
    const balanceWh = this.#pending.get(c.balanceMeter) ?? 0;
    let consumersWh = 0;
    for (const m of c.consumers) consumersWh += this.#pending.get(m) ?? 0;
    const judged = complete && balanceWh >= c.minBalanceWh && balanceWh > 0;
    const lossWh = balanceWh - consumersWh;
    const lossPercent = judged ? (lossWh * 100) / balanceWh : Number.NaN;
    if (judged) {
      if (lossPercent > c.thresholdPercent) {
        this.#imbalanceMs += intervalMs;
        if (this.#imbalanceMs >= c.minDurationMs) this.#alarm = true;
      } else {
        this.#imbalanceMs = 0;
        this.#alarm = false;
      }
    }
    const result: IntervalBalance = { group: c.id, intervalEnd: this.#pendingEnd ?? 0, balanceWh, consumersWh, lossWh, lossPercent, judged };
    this.#pending = new Map();
    this.#pendingEnd = undefined;
    return result;
  }
}
