/**
 * The head-end's commands, carried out by the concentrator (firmware/uplink/ports.ts CommandHandlers).
 * The uplink has authenticated each command, checked that it is fresh and addressed to us, and
 * persisted its counter before calling here. Every handler answers exactly once and never throws.
 */
import { isDlmsAddress } from "../dlms/integration/config.js";
import { ChangeResult, ChangeSource } from "../store/audit.js";
import type { ConfigStore } from "../store/config.js";
import type { ControlMode } from "../latch/disconnect-control.js";
import type { LatchManager, LatchOutcome, TriggerSource } from "../latch/latch-manager.js";
import type { LoadLimit } from "../model/load-limit.js";
import type { OtaUpdater } from "../ota/updater.js";
import { Priority, type Poller } from "../poll/poller.js";
import type { Topology } from "../poll/topology.js";
import { ResultCode, type ConfigChange, type SwitchWindow } from "../uplink/messages.js";
import type { CommandHandlers, CommandOutcome } from "../uplink/ports.js";
import type { CatchUp } from "../poll/backfill/catch-up.js";
import { PROFILE_PERIOD_S } from "../poll/backfill/holdings.js";

/** Slots a profile command may ask for: a day. */
const MAX_PROFILE_SLOTS = 96;

/**
 * What the commands reach of the concentrator, and nothing more: the concentrator implements it
 * (firmware/app/concentrator.ts), and this module does not depend on the concentrator's module.
 */
export interface CommandTarget {
  readonly topology: Pick<Topology, "meterLocation">;
  readonly poller: Pick<Poller, "readNow">;
  readonly ota: Pick<OtaUpdater, "offer"> | undefined;
  /** Undefined while the wall clock is not set (profile slots are wall-clock intervals). */
  readonly catchUp: Pick<CatchUp, "readRange"> | undefined;
  readonly latch: Pick<LatchManager, "setMode" | "setLimiter">;
  readonly config: Pick<ConfigStore, "set">;
  latchTrigger(consumer: number, trigger: "remoteDisconnect" | "remoteReconnect", source: TriggerSource): LatchOutcome;
  /** Applies configuration that the running parts read once, after `config.set`. */
  applyConfiguration(): void;
  /** Sets the wall clock; returns the offset applied, in ms. */
  setWallClock(epochMs: number, source: ChangeSource): number;
}

export class ConcentratorCommands implements CommandHandlers {
  readonly #c: CommandTarget;

  constructor(concentrator: CommandTarget) {
    this.#c = concentrator;
  }

  read(meters: readonly number[], _registers: readonly number[], done: (o: CommandOutcome) => void): void {
    const modules = new Set<number>();
    for (const meter of meters) {
      const at = this.#c.topology.meterLocation(meter);
      if (!at) return done({ code: ResultCode.rejected, detail: `unknown meter ${meter}` });
      modules.add(at.module.number);
    }
    // The readings reach the head-end through the store like any other (acquired, checked, stored).
    this.#c.poller.readNow([...modules], (results) => {
      const failed = results.filter((r) => !r.ok).length;
      done(failed === 0 ? { code: ResultCode.ok, detail: results.length } : { code: ResultCode.failed, detail: `${failed} of ${results.length} modules did not answer` });
    });
  }

  /** A meter's load profile over a range of at most a day (audits): every value the meter gives, in the result; missing slots are stored too. */
  profile(meter: number, fromS: number, toS: number, done: (o: CommandOutcome) => void): void {
    const catchUp = this.#c.catchUp;
    const at = this.#c.topology.meterLocation(meter);
    if (!catchUp) return done({ code: ResultCode.unsupported, detail: "wall clock not set" });
    if (!at || isDlmsAddress(at.module.address)) return done({ code: ResultCode.rejected, detail: `unknown meter ${meter}` });
    const from = Math.ceil(fromS / PROFILE_PERIOD_S);
    const to = Math.floor(toS / PROFILE_PERIOD_S);
    if (to < from || to - from >= MAX_PROFILE_SLOTS) return done({ code: ResultCode.rejected, detail: "range: one interval to a day" });
    catchUp.readRange(at.module.number, from, to, Priority.onDemand, (r) => {
      const readings = r.readings.filter((x) => x.meter === meter);
      done(r.ok ? { code: ResultCode.ok, detail: readings.length, readings } : { code: ResultCode.failed, detail: "the module did not answer", readings });
    });
  }

  update(head: Uint8Array, window: SwitchWindow | undefined, done: (o: CommandOutcome) => void): void {
    const ota = this.#c.ota;
    if (!ota) return done({ code: ResultCode.unsupported });
    ota.offer(head, window, (o) => done({ code: o.code as CommandOutcome["code"], ...(o.detail !== undefined ? { detail: o.detail } : {}) }));
  }

  disconnect(meter: number, done: (o: CommandOutcome) => void): void {
    done(latchOutcome(this.#c.latchTrigger(meter, "remoteDisconnect", "head-end")));
  }

  reconnect(meter: number, done: (o: CommandOutcome) => void): void {
    done(latchOutcome(this.#c.latchTrigger(meter, "remoteReconnect", "head-end")));
  }

  setMode(meter: number, mode: number, done: (o: CommandOutcome) => void): void {
    done(latchOutcome(this.#c.latch.setMode(meter, mode as ControlMode, "head-end")));
  }

  setLimit(meter: number, limit: LoadLimit | undefined, done: (o: CommandOutcome) => void): void {
    done(latchOutcome(this.#c.latch.setLimiter(meter, limit, "head-end")));
  }

  configure(changes: readonly ConfigChange[], commandId: number, done: (o: CommandOutcome) => void): void {
    const refused: string[] = [];
    for (const ch of changes) {
      const value = typeof ch.value === "boolean" ? (ch.value ? 1 : 0) : ch.value;
      const entry = this.#c.config.set(ch.key, value, ChangeSource.headEnd);
      if (entry.result !== ChangeResult.applied) refused.push(ch.key);
    }
    this.#c.applyConfiguration();
    done(refused.length === 0 ? { code: ResultCode.ok, detail: commandId } : { code: ResultCode.rejected, detail: `refused: ${refused.join(",")}`.slice(0, 64) });
  }

  setTime(epochMs: number, done: (o: CommandOutcome) => void): void {
    if (!(Number.isFinite(epochMs) && epochMs > Date.UTC(2020, 0, 1))) return done({ code: ResultCode.rejected, detail: "implausible time" });
    const offsetMs = this.#c.setWallClock(epochMs, ChangeSource.headEnd);
    done({ code: ResultCode.ok, detail: Math.round(offsetMs) });
  }
}

/** A latch outcome as a command result: the new control state, or why it was refused. */
function latchOutcome(r: LatchOutcome): CommandOutcome {
  return r.code === "ok" ? { code: ResultCode.ok, detail: r.state } : { code: ResultCode.rejected, detail: r.reason };
}
