/**
 * The COSEM object model of a simulated DLMS electricity meter: what an IDIS/DSMR-style meter offers a
 * data concentrator (IEC 62056-6-2 classes, OBIS codes of IEC 62056-6-1):
 *
 *   0.0.42.0.0.255  logical device name (IC 1)        0.0.96.1.0.255  serial number (IC 1)
 *   0.0.1.0.0.255   clock (IC 8: time, zone, status)   0.0.96.7.21.255 power failures (IC 1)
 *   1.0.1.8.0/1/2.255, 1.0.2.8.0.255 energy (IC 3, Wh with a per-meter scaler)
 *   1.0.1.7.0.255 power (IC 3, W), 1.0.32.7.0.255 voltage (IC 3, 0.1 V), 1.0.31.7.0.255 current (IC 3, 0.01 A)
 *   1.0.1.6.0.255   maximum demand with its time (IC 4)  1.0.1.4.0.255 current average demand (IC 5)
 *   1.0.99.1.0.255  load profile (IC 7, 15 min: clock, status, A+, A−)
 *   0.0.99.98.0.255 standard event log, 0.0.99.98.1.255 fraud detection log (IC 7: clock, event code)
 *   0.0.96.3.10.255 disconnect control (IC 70)          0.0.17.0.0.255  limiter (IC 71)
 *   0.0.43.1.0.255  invocation counter of the management client (IC 1)
 *
 * The disconnect control follows the state table of IC 70 (transitions a-h per control mode); its
 * output drives the meter's relay. The limiter watches the power and disconnects locally (g) when it
 * stays over the active threshold; in modes 5 and 6 it reconnects locally (h) once under it.
 * Event codes are those of the DSMR/IDIS standard and fraud logs (1 power down, 2 power up, 4/5 clock
 * adjusted, 40/41 terminal cover, 46 failed login).
 */
import type { MeterModel } from "../meters.js";
import { AxdrReader, dateTimeBytes, dateTimeSeconds, x, type X } from "./codec.js";

export const DAR = { success: 0, readWriteDenied: 3, objectUndefined: 4, typeUnmatched: 12, otherReason: 250 } as const;

export const MeterEvent = { powerDown: 1, powerUp: 2, clockOld: 4, clockNew: 5, terminalCoverOpen: 40, terminalCoverClosed: 41, failedLogin: 46 } as const;

const CAPTURE_S = 900;
const PROFILE_ENTRIES = 96 * 40;
const LOG_ENTRIES = 100;

interface ProfileEntry {
  t: number;
  status: number;
  import: number;
  export: number;
}

export interface LimiterConfig {
  normal: number;
  emergency: number;
  minOverS: number;
  minUnderS: number;
  emergencyId: number;
  emergencyStartS: number;
  emergencyDurationS: number;
  groups: number[];
}

export interface ObjectsOptions {
  serial: string;
  manufacturer: string;
  meter: MeterModel;
  /** Energy registers are sent as value × 10^scaler Wh. */
  energyScaler: number;
  controlMode: number;
  deviationMin: number;
  /** UTC seconds now on the meter's clock. */
  clockS(): number;
  setClockS(s: number): void;
  clockValid(): boolean;
  /** The meter's power failures so far. */
  powerFailures(): number;
  /** The management client's last invocation counter (0.0.43.1.0.255). */
  lastClientIc(): number;
  /** Brings the meter's registers up to now. */
  advance(): void;
}

const ln = (s: string) => s.split(".").map(Number);
const key = (b: ArrayLike<number>) => Array.from(b).join(".");

export class MeterObjects {
  readonly o: ObjectsOptions;
  /** IC 70: 0 disconnected, 1 connected, 2 ready for reconnection (kept in the meter's flash). */
  controlState = 1;
  controlMode: number;
  limiter: LimiterConfig = { normal: 0, emergency: 0, minOverS: 60, minUnderS: 60, emergencyId: 0, emergencyStartS: 0, emergencyDurationS: 0, groups: [] };
  #overSince: number | undefined;
  #underSince: number | undefined;
  readonly profile: ProfileEntry[] = [];
  readonly logs = new Map<string, Array<{ t: number; code: number }>>([
    ["0.0.99.98.0.255", []],
    ["0.0.99.98.1.255", []],
  ]);
  #pendingStatus = 0;
  #maxDemandW = 0;
  #maxDemandT = 0;
  readonly onRelay: Array<(connected: boolean) => void> = [];
  /** Called when the limiter's normal threshold is written (the meter runs the limiter only while one is set). */
  onLimiter: (active: boolean) => void = () => undefined;

  constructor(o: ObjectsOptions) {
    this.o = o;
    this.controlMode = o.controlMode;
  }

  get outputState(): boolean {
    return this.controlState === 1;
  }

  /** Flags the next profile entry (power down, clock adjusted). */
  flagNext(bits: number): void {
    this.#pendingStatus |= bits;
  }

  logEvent(code: number): void {
    const log = this.logs.get(code >= 40 ? "0.0.99.98.1.255" : "0.0.99.98.0.255")!;
    log.push({ t: this.o.clockS(), code });
    if (log.length > LOG_ENTRIES) log.shift();
  }

  /** A capture of the load profile at the meter's time `t` (a multiple of 15 min). */
  capture(t: number): void {
    this.o.advance();
    const m = this.o.meter;
    const status = this.#pendingStatus | (this.o.clockValid() ? 0 : 0x02);
    this.#pendingStatus = 0;
    this.profile.push({ t, status, import: m.importWh(), export: m.exportWh() });
    if (this.profile.length > PROFILE_ENTRIES) this.profile.shift();
    const p = Math.max(0, m.powerW);
    if (p >= this.#maxDemandW) [this.#maxDemandW, this.#maxDemandT] = [p, t];
  }

  // ---- IC 70 ----

  /** Applies a trigger of the IC 70 state table; false when the mode or state does not allow it. */
  trigger(kind: "remoteDisconnect" | "remoteReconnect" | "manualReconnect" | "manualDisconnect" | "localDisconnect" | "localReconnect"): boolean {
    const m = this.controlMode;
    const s = this.controlState;
    const letters = ["", "bcfgde", "bcfgae", "bcgde", "bcgae", "bcfgdeh", "bcgdeh"][m] ?? "";
    let letter = "";
    let to = s;
    if (kind === "remoteDisconnect" && s !== 0) [letter, to] = [s === 1 ? "b" : "c", 0];
    if (kind === "remoteReconnect" && s === 0) [letter, to] = m === 2 || m === 4 ? ["a", 1] : ["d", 2];
    if (kind === "manualDisconnect" && s === 1) [letter, to] = ["f", 2];
    if (kind === "localDisconnect" && s === 1) [letter, to] = ["g", 2];
    if (kind === "manualReconnect" && s === 2) [letter, to] = ["e", 1];
    if (kind === "localReconnect" && s === 2) [letter, to] = ["h", 1];
    if (!letter || !letters.includes(letter)) return false;
    const before = this.outputState;
    this.controlState = to;
    if (before !== this.outputState) for (const f of this.onRelay) f(this.outputState);
    return true;
  }

  // ---- IC 71 ----

  /** One look of the limiter at the power now (the meter runs it every few seconds). */
  limiterTick(nowS: number): void {
    const l = this.limiter;
    if (l.normal <= 0) return;
    const emergency = l.emergencyId !== 0 && l.groups.includes(l.emergencyId) && nowS >= l.emergencyStartS && nowS < l.emergencyStartS + l.emergencyDurationS;
    const threshold = emergency ? l.emergency : l.normal;
    this.o.advance();
    const over = this.o.meter.powerW > threshold;
    if (over) {
      this.#underSince = undefined;
      this.#overSince ??= nowS;
      if (nowS - this.#overSince >= l.minOverS && this.controlState === 1) this.trigger("localDisconnect");
    } else {
      this.#overSince = undefined;
      this.#underSince ??= nowS;
      if (nowS - this.#underSince >= l.minUnderS && this.controlState === 2) this.trigger("localReconnect");
    }
  }

  // ---- attribute access ----

  /** The value of an attribute, or a DataAccessResult. `access` is the selective access (selector, parameters). */
  get(classId: number, name: ArrayLike<number>, attr: number, access?: { selector: number; parameters: X }): X | number {
    const k = key(name);
    this.o.advance();
    const m = this.o.meter;
    const reg = (value: X, scaler: number, unit: number): X | number => (attr === 2 ? value : attr === 3 ? x.st(x.i8(scaler), x.enum(unit)) : DAR.objectUndefined);
    const energy = (wh: number) => reg(x.u32(Math.floor(wh / 10 ** this.o.energyScaler)), this.o.energyScaler, 30);
    if (attr === 1) return x.oct(name);
    switch (`${classId}/${k}`) {
      case "1/0.0.42.0.0.255":
        return attr === 2 ? x.oct(Array.from(this.o.manufacturer + this.o.serial, (c) => c.charCodeAt(0))) : DAR.objectUndefined;
      case "1/0.0.96.1.0.255":
        return attr === 2 ? x.vis(this.o.serial) : DAR.objectUndefined;
      case "1/0.0.96.7.21.255":
        return attr === 2 ? x.u16(this.o.powerFailures()) : DAR.objectUndefined;
      case "1/0.0.43.1.0.255":
        return attr === 2 ? x.u32(this.o.lastClientIc()) : DAR.objectUndefined;
      case "8/0.0.1.0.0.255":
        return attr === 2 ? x.oct(dateTimeBytes(this.o.clockS(), this.o.deviationMin, this.o.clockValid() ? 0 : 1)) : attr === 3 ? x.i16(-this.o.deviationMin) : attr === 4 ? x.u8(this.o.clockValid() ? 0 : 1) : DAR.objectUndefined;
      case "3/1.0.1.8.0.255":
        return energy(m.importWh());
      case "3/1.0.1.8.1.255":
        return energy(m.importWh(1));
      case "3/1.0.1.8.2.255":
        return energy(m.importWh(2));
      case "3/1.0.2.8.0.255":
        return energy(m.exportWh());
      case "3/1.0.1.7.0.255":
        return reg(x.i32(m.powerW), 0, 27);
      case "3/1.0.32.7.0.255":
        return reg(x.u16(m.voltageDeciV), -1, 35);
      case "3/1.0.31.7.0.255":
        return reg(x.u16(Math.round(m.currentMilliA / 10)), -2, 33);
      case "4/1.0.1.6.0.255":
        return attr === 2 ? x.u32(this.#maxDemandW) : attr === 3 ? x.st(x.i8(0), x.enum(27)) : attr === 4 ? x.u8(0) : attr === 5 ? x.oct(dateTimeBytes(this.#maxDemandT, this.o.deviationMin, 0)) : DAR.objectUndefined;
      case "5/1.0.1.4.0.255": {
        const avg = Math.max(0, m.powerW);
        const start = Math.floor(this.o.clockS() / CAPTURE_S) * CAPTURE_S;
        const values: Record<number, X> = { 2: x.u32(avg), 3: x.u32(avg), 4: x.st(x.i8(0), x.enum(27)), 5: x.u8(0), 6: x.oct(dateTimeBytes(this.o.clockS(), this.o.deviationMin, 0)), 7: x.oct(dateTimeBytes(start, this.o.deviationMin, 0)), 8: x.u32(CAPTURE_S), 9: x.u16(1) };
        return values[attr] ?? DAR.objectUndefined;
      }
      case "7/1.0.99.1.0.255":
        return this.#loadProfile(attr, access);
      case "7/0.0.99.98.0.255":
      case "7/0.0.99.98.1.255":
        return this.#eventLog(k, attr, access);
      case "70/0.0.96.3.10.255":
        return attr === 2 ? x.bool(this.outputState) : attr === 3 ? x.enum(this.controlState) : attr === 4 ? x.enum(this.controlMode) : DAR.objectUndefined;
      case "71/0.0.17.0.0.255":
        return this.#limiterAttr(attr);
    }
    return DAR.objectUndefined;
  }

  set(classId: number, name: ArrayLike<number>, attr: number, value: X): number {
    const k = `${classId}/${key(name)}/${attr}`;
    const num = (d: X) => (typeof d.v === "number" ? d.v : undefined);
    switch (k) {
      case "8/0.0.1.0.0.255/2": {
        const s = value.v instanceof Uint8Array ? dateTimeSeconds(value.v) : undefined;
        if (s === undefined) return DAR.typeUnmatched;
        this.logEvent(MeterEvent.clockOld);
        this.o.setClockS(s);
        this.logEvent(MeterEvent.clockNew);
        this.flagNext(0x20);
        return DAR.success;
      }
      case "70/0.0.96.3.10.255/4": {
        const v = num(value);
        if (value.t !== 22 || v === undefined || v > 6) return DAR.typeUnmatched;
        this.controlMode = v;
        if (v === 0 && this.controlState !== 1) {
          this.controlState = 1;
          for (const f of this.onRelay) f(true);
        }
        return DAR.success;
      }
      case "71/0.0.17.0.0.255/4":
      case "71/0.0.17.0.0.255/5":
      case "71/0.0.17.0.0.255/6":
      case "71/0.0.17.0.0.255/7": {
        const v = num(value);
        if (v === undefined || v < 0) return DAR.typeUnmatched;
        const field = ({ 4: "normal", 5: "emergency", 6: "minOverS", 7: "minUnderS" } as const)[Number(k.slice(-1)) as 4 | 5 | 6 | 7];
        this.limiter[field] = v;
        if (field === "normal") this.onLimiter(v > 0);
        return DAR.success;
      }
      case "71/0.0.17.0.0.255/8": {
        const f = Array.isArray(value.v) ? value.v : [];
        const start = f[1]?.v instanceof Uint8Array ? dateTimeSeconds(f[1].v) : undefined;
        if (f.length !== 3 || num(f[0]!) === undefined || start === undefined || num(f[2]!) === undefined) return DAR.typeUnmatched;
        Object.assign(this.limiter, { emergencyId: num(f[0]!), emergencyStartS: start, emergencyDurationS: num(f[2]!) });
        return DAR.success;
      }
      case "71/0.0.17.0.0.255/9": {
        const ids = Array.isArray(value.v) ? value.v.map(num) : undefined;
        if (!ids || ids.some((i) => i === undefined)) return DAR.typeUnmatched;
        this.limiter.groups = ids as number[];
        return DAR.success;
      }
    }
    return this.get(classId, name, attr) === DAR.objectUndefined ? DAR.objectUndefined : DAR.readWriteDenied;
  }

  action(classId: number, name: ArrayLike<number>, method: number): number {
    if (classId === 70 && key(name) === "0.0.96.3.10.255" && (method === 1 || method === 2)) {
      this.trigger(method === 1 ? "remoteDisconnect" : "remoteReconnect");
      // A trigger the mode does not allow is not an error of the call: the state simply stays (Blue Book IC 70).
      return DAR.success;
    }
    return DAR.objectUndefined;
  }

  #limiterAttr(attr: number): X | number {
    const l = this.limiter;
    const nowS = this.o.clockS();
    const emergency = l.emergencyId !== 0 && l.groups.includes(l.emergencyId) && nowS >= l.emergencyStartS && nowS < l.emergencyStartS + l.emergencyDurationS;
    const values: Record<number, X> = {
      2: x.st(x.u16(3), x.oct(ln("1.0.1.7.0.255")), x.i8(2)),
      3: x.u32(emergency ? l.emergency : l.normal),
      4: x.u32(l.normal),
      5: x.u32(l.emergency),
      6: x.u32(l.minOverS),
      7: x.u32(l.minUnderS),
      8: x.st(x.u16(l.emergencyId), x.oct(dateTimeBytes(l.emergencyStartS, this.o.deviationMin, 0)), x.u32(l.emergencyDurationS)),
      9: x.arr(l.groups.map((g) => x.u16(g))),
      10: x.bool(emergency),
    };
    return values[attr] ?? DAR.objectUndefined;
  }

  #loadProfile(attr: number, access?: { selector: number; parameters: X }): X | number {
    const col = (c: number, name: string, a: number) => x.st(x.u16(c), x.oct(ln(name)), x.i8(a), x.u16(0));
    if (attr === 3) return x.arr([col(8, "0.0.1.0.0.255", 2), col(1, "0.0.96.10.1.255", 2), col(3, "1.0.1.8.0.255", 2), col(3, "1.0.2.8.0.255", 2)]);
    if (attr === 4) return x.u32(CAPTURE_S);
    if (attr === 7) return x.u32(this.profile.length);
    if (attr === 8) return x.u32(PROFILE_ENTRIES);
    if (attr !== 2) return DAR.objectUndefined;
    const rows = select(this.profile, access);
    if (typeof rows === "number") return rows;
    const scale = (wh: number) => x.u32(Math.floor(wh / 10 ** this.o.energyScaler));
    return x.arr(rows.map((e) => x.st(x.oct(dateTimeBytes(e.t, this.o.deviationMin, 0)), x.u8(e.status), scale(e.import), scale(e.export))));
  }

  #eventLog(name: string, attr: number, access?: { selector: number; parameters: X }): X | number {
    const log = this.logs.get(name)!;
    const codeObject = name.endsWith("1.255") ? "0.0.96.11.1.255" : "0.0.96.11.0.255";
    if (attr === 3) return x.arr([x.st(x.u16(8), x.oct(ln("0.0.1.0.0.255")), x.i8(2), x.u16(0)), x.st(x.u16(1), x.oct(ln(codeObject)), x.i8(2), x.u16(0))]);
    if (attr === 7) return x.u32(log.length);
    if (attr !== 2) return DAR.objectUndefined;
    const rows = select(log, access);
    if (typeof rows === "number") return rows;
    return x.arr(rows.map((e) => x.st(x.oct(dateTimeBytes(e.t, this.o.deviationMin, 0)), x.u8(e.code))));
  }
}

/** Rows of a buffer by range of their time (selector 1) or by entry (selector 2); DataAccessResult on bad parameters. */
function select<T extends { t: number }>(rows: readonly T[], access?: { selector: number; parameters: X }): T[] | number {
  if (!access) return rows.slice();
  const p = Array.isArray(access.parameters.v) ? access.parameters.v : [];
  if (access.selector === 1) {
    const from = p[1]?.v instanceof Uint8Array ? dateTimeSeconds(p[1].v) : undefined;
    const to = p[2]?.v instanceof Uint8Array ? dateTimeSeconds(p[2].v) : undefined;
    if (p.length !== 4 || from === undefined || to === undefined) return DAR.typeUnmatched;
    return rows.filter((r) => r.t >= from && r.t <= to);
  }
  if (access.selector === 2) {
    const from = typeof p[0]?.v === "number" ? p[0].v : 1;
    const to = typeof p[1]?.v === "number" && p[1].v !== 0 ? p[1].v : rows.length;
    return rows.slice(Math.max(0, from - 1), to);
  }
  return DAR.typeUnmatched;
}

/** Reads the parameters of a selective access from a request (selector, then Data). */
export function readAccess(r: AxdrReader): { selector: number; parameters: X } | undefined {
  if (r.u8() === 0) return undefined;
  return { selector: r.u8(), parameters: r.data() };
}
