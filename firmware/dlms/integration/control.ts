/**
 * What the concentrator drives on a DLMS meter, as association scripts:
 *
 * - `DisconnectScript` brings the meter's disconnect control (IC 70) to the latch's control state and
 *   mode. The concentrator's latch is the authority (it persists, audits and re-asserts); the meter's
 *   own object mirrors it, so the meter's button and its limiter behave as the latch's mode says:
 *     disconnected (0): remote_disconnect (b, c);
 *     ready for reconnection (2): from 1 remote_disconnect, then remote_reconnect (d) in modes 1, 3, 5, 6,
 *       so the consumer's button reconnects (e); in modes 2 and 4 disconnected is as close as DLMS goes;
 *     connected (1): remote_reconnect, through mode 2 for a moment when the latch's mode would stop at
 *       "ready" (the latch has decided on the reconnection: a manual or local one it observed, or mode 0).
 *   It reads control_state and control_mode first and the three attributes last: the read-back is the
 *   result, whatever happened between.
 * - `LimiterScript` writes the consumer's load limit (IC 71 thresholds, durations, emergency profile
 *   and its groups) so the meter limits locally, continuously, not just at each read.
 * - `ClockScript` sets the clock (IC 8 time, at the meter's deviation) and reads it back.
 */
import { array, int, octets, structure, Tag, type Data } from "../axdr/data.js";
import type { GetResult } from "../apdu/xdlms.js";
import { Attr, ClassId, dateTimeOf, disconnectStateOf, Method, type DisconnectState } from "../cosem/classes.js";
import { encodeDateTime } from "../cosem/date-time.js";
import { Obis } from "../cosem/obis.js";
import type { Request, Result, Script } from "../client/types.js";
import type { LoadLimit } from "../../model/load-limit.js";
import { frozen } from "../../model/frozen.js";

export interface DisconnectTarget {
  readonly state: 0 | 1 | 2;
  readonly mode: number;
}

const dc = (index: number) => ({ classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index });
const ZERO: Data = frozen({ tag: Tag.integer, value: 0 });
const setMode = (mode: number): Request => ({ kind: "set", ref: dc(Attr.controlMode), value: { tag: Tag.enum, value: mode } });
const action = (method: number): Request => ({ kind: "action", ref: dc(method), parameter: ZERO });
const REMOTE_DIRECT = new Set([2, 4]);

function value(r: GetResult | undefined): Data | undefined {
  return r?.ok ? r.data : undefined;
}

export class DisconnectScript implements Script<DisconnectState | undefined> {
  readonly #target: DisconnectTarget;
  #plan: Request[] | undefined;
  #final: DisconnectState | undefined;
  #stage: "read" | "act" | "verify" | "done" = "read";

  constructor(target: DisconnectTarget) {
    this.#target = target;
  }

  next(previous: Result | undefined): Request | undefined {
    if (this.#stage === "read") {
      if (!previous) return { kind: "get", refs: [dc(Attr.controlState), dc(Attr.controlMode)] };
      const r = previous.kind === "get" ? previous.results : [];
      const state = value(r[0]);
      const mode = value(r[1]);
      this.#plan = plan(this.#target, state && "value" in state ? Number(state.value) : -1, mode && "value" in mode ? Number(mode.value) : -1);
      this.#stage = "act";
    }
    if (this.#stage === "act") {
      const step = this.#plan!.shift();
      if (step) return step;
      this.#stage = "verify";
      return { kind: "get", refs: [dc(Attr.outputState), dc(Attr.controlState), dc(Attr.controlMode)] };
    }
    if (this.#stage === "verify" && previous?.kind === "get") {
      const [o, s, m] = previous.results;
      this.#final = disconnectStateOf(value(o), value(s), value(m));
      this.#stage = "done";
    }
    return undefined;
  }

  result(): DisconnectState | undefined {
    return this.#final;
  }
}

/** The requests that take a meter in `state` and `mode` to the target (see the file's comment). */
export function plan(target: DisconnectTarget, state: number, mode: number): Request[] {
  const out: Request[] = [];
  const t = target;
  if (t.mode === 0) return mode === 0 ? [] : [setMode(0)];
  if (t.state === 1) {
    if (state === 1) return mode === t.mode ? [] : [setMode(t.mode)];
    const via = REMOTE_DIRECT.has(t.mode) ? t.mode : 2;
    if (mode !== via) out.push(setMode(via));
    if (state === 2) out.push(action(Method.remoteDisconnect));
    out.push(action(Method.remoteReconnect));
    if (via !== t.mode) out.push(setMode(t.mode));
    return out;
  }
  if (mode !== t.mode) out.push(setMode(t.mode));
  if (t.state === 0) {
    if (state !== 0) out.push(action(Method.remoteDisconnect));
    return out;
  }
  // Ready for reconnection.
  if (state === 2) return out;
  if (state === 1) out.push(action(Method.remoteDisconnect));
  if (!REMOTE_DIRECT.has(t.mode)) out.push(action(Method.remoteReconnect));
  return out;
}

export interface Emergency {
  id: number;
  startS: number;
  durationS: number;
}

/** The limiter's attributes written, in order (IC 71). */
const LIMITER_ATTRIBUTES = frozen([Attr.thresholdNormal, Attr.thresholdEmergency, Attr.minOverThresholdDuration, Attr.minUnderThresholdDuration, Attr.emergencyProfile, Attr.emergencyProfileGroupIds]);

/**
 * The load limit (or none: threshold 0) and the emergency profile in force, to IC 71 attributes 4-9,
 * one SET each; the result is the first refusal's DataAccessResult, or 0. Each SET is made when it is
 * sent: a write waiting in the queue holds the settings, not six requests and their values.
 */
class LimiterScript implements Script<number> {
  readonly #limit: LoadLimit | undefined;
  readonly #emergency: Emergency | undefined;
  readonly #deviation: number;
  #step = 0;
  #result = 0;
  constructor(limit: LoadLimit | undefined, emergency: Emergency | undefined, deviation: number) {
    this.#limit = limit;
    this.#emergency = emergency;
    this.#deviation = deviation;
  }
  next(previous: Result | undefined): Request | undefined {
    if (previous?.kind === "set" && previous.result !== 0 && this.#result === 0) this.#result = previous.result;
    const index = LIMITER_ATTRIBUTES[this.#step++];
    return index === undefined ? undefined : { kind: "set", ref: { classId: ClassId.limiter, ln: Obis.limiter, index }, value: this.#value(index) };
  }
  result(): number {
    return this.#result;
  }
  #value(index: number): Data {
    const limit = this.#limit;
    const u32 = (v: number): Data => int(Tag.doubleLongUnsigned, Math.max(0, Math.min(0xffffffff, Math.round(v))));
    if (index === Attr.thresholdNormal) return u32(limit?.thresholdNormal ?? 0);
    if (index === Attr.thresholdEmergency) return u32(limit?.thresholdEmergency ?? 0);
    if (index === Attr.minOverThresholdDuration) return u32((limit?.minOverMs ?? 0) / 1000);
    if (index === Attr.minUnderThresholdDuration) return u32((limit?.minUnderMs ?? 0) / 1000);
    if (index === Attr.emergencyProfile) {
      const e = this.#emergency ?? { id: 0, startS: 0, durationS: 0 };
      return structure(int(Tag.longUnsigned, e.id & 0xffff), octets(encodeDateTime(e.startS, this.#deviation)), u32(e.durationS));
    }
    return array((limit?.emergencyGroups ?? []).map((g) => int(Tag.longUnsigned, g)));
  }
}

/** The load limit (or none: threshold 0) and the emergency profile in force, to IC 71 attributes 4-9. */
export function limiterScript(limit: LoadLimit | undefined, emergency: Emergency | undefined, deviation: number): Script<number> {
  return new LimiterScript(limit, emergency, deviation);
}

/** Sets the clock to `targetS` (UTC) shown at the meter's deviation, then reads it back: the result is the meter's time, s. */
export class ClockScript implements Script<number | undefined> {
  readonly #targetS: number;
  readonly #deviation: number;
  #read: number | undefined;
  constructor(targetS: number, deviation: number) {
    this.#targetS = targetS;
    this.#deviation = deviation;
  }
  next(previous: Result | undefined): Request | undefined {
    const ref = { classId: ClassId.clock, ln: Obis.clock, index: Attr.time };
    if (!previous) return { kind: "set", ref, value: octets(encodeDateTime(this.#targetS, this.#deviation)) };
    if (previous.kind === "set") return previous.result === 0 ? { kind: "get", refs: [ref] } : undefined;
    if (previous.kind === "get") this.#read = dateTimeOf(value(previous.results[0]))?.epochS;
    return undefined;
  }
  result(): number | undefined {
    return this.#read;
  }
}
