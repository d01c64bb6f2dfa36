/**
 * The concentrator's configuration parameters (firmware/store ConfigStore): what the head-end and the
 * console may change, each audited. Keys are stored: never reuse one for another parameter.
 * Wiring that depends on the hardware (buses, bridges, address ranges, keys) is the site configuration,
 * not here.
 */
import type { ConfigSchema } from "../store/config.js";
import { ChangeSource } from "../store/audit.js";
import { INTERVALS_MIN } from "../poll/schedule.js";
import { frozen } from "../model/frozen.js";

const HE = [ChangeSource.headEnd];
const ANY = [ChangeSource.headEnd, ChangeSource.console, ChangeSource.local];

export const CONFIG_SCHEMA: ConfigSchema = frozen({
  /** Interval readings of the default group, minutes (a divisor of 60). */
  "poll.intervalMin": { key: 0, type: "int", default: 15, min: 1, max: 60, allowed: INTERVALS_MIN, writableBy: ANY },
  /** Window of the default group, minutes of the local day; equal values mean no window. */
  "poll.windowFromMin": { key: 1, type: "int", default: 0, min: 0, max: 1439, writableBy: ANY },
  "poll.windowToMin": { key: 2, type: "int", default: 0, min: 0, max: 1439, writableBy: ANY },
  /** Daily billing snapshot, minute of the local day. */
  "billing.atMin": { key: 3, type: "int", default: 0, min: 0, max: 1439, writableBy: ANY },
  /** Local time offset from UTC, minutes. */
  "site.utcOffsetMin": { key: 4, type: "int", default: 0, min: -720, max: 840, writableBy: HE },
  /** Module clocks further off than this are set, s. */
  "clock.maxDriftS": { key: 5, type: "int", default: 20, min: 2, max: 3600, writableBy: ANY },
  /** Balance alarm: loss above this percentage of the balance energy … */
  "balance.thresholdPct": { key: 6, type: "int", default: 5, min: 0, max: 100, writableBy: HE },
  /** … lasting this long, minutes. */
  "balance.minDurationMin": { key: 7, type: "int", default: 60, min: 0, max: 1440, writableBy: HE },
  /** Orderly shutdown below this battery voltage on battery power, mV. */
  "power.lowBatteryMv": { key: 8, type: "int", default: 3550, min: 3300, max: 4100, writableBy: HE },
  /** IC 70 control mode of consumers without a latch record (DLMS Blue Book, IC 70 control_mode). */
  "latch.defaultMode": { key: 9, type: "int", default: 2, min: 1, max: 6, writableBy: HE },
  /** Tariff switching times the meters apply (T1 from, T2 from), minutes of the local day; kept and audited for the head-end. */
  "tariff.t1FromMin": { key: 10, type: "int", default: 360, min: 0, max: 1439, writableBy: HE },
  "tariff.t2FromMin": { key: 11, type: "int", default: 1320, min: 0, max: 1439, writableBy: HE },
  /** P1 password of the local modules (8 characters). */
  "module.password": { key: 12, type: "text", default: "00000000", maxLength: 8, writableBy: HE },
  /** IC 71 emergency profile in force: limiters whose groups name it apply their emergency threshold (0: none) … */
  "limiter.emergencyProfile": { key: 13, type: "int", default: 0, min: 0, max: 0xffff, writableBy: HE },
  /** … until this wall time, s since 1970 (the profile's activation is when it is set). */
  "limiter.emergencyUntilS": { key: 14, type: "int", default: 0, min: 0, max: 0xffffffff, writableBy: HE },
});
