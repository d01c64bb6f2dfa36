/**
 * The relays of local modules as the latch manager drives them: a programming session that writes the
 * disconnector (0-0:96.3.10) and reads it back in the same session, and a readout to check it
 * (docs/d0.md, register map). Both at alarm priority: a latch goes before any scheduled reading.
 */
import { readRelay, relayState, writeRelay } from "../bus/local-module.js";
import type { ReadoutResult, SessionResult } from "../bus/types.js";
import type { ModuleAccess } from "../poll/module-access.js";
import { observeModule } from "../poll/module-readout.js";
import { Priority } from "../poll/poller.js";
import type { RelayActuator, RelayResult } from "./latch-manager.js";

export class ModuleRelays implements RelayActuator {
  readonly #access: ModuleAccess;

  constructor(access: ModuleAccess) {
    this.#access = access;
  }

  setRelay(module: number, connected: boolean, to: { relaySet(module: number, r: RelayResult): void }): void {
    this.#access.session(module, [writeRelay(connected), readRelay()], Priority.alarm, (r) => to.relaySet(module, relayWritten(r)));
  }

  readRelay(module: number, to: { relayRead(module: number, r: RelayResult): void }): void {
    this.#access.readout(module, Priority.alarm, (r) => to.relayRead(module, relayObserved(r)));
  }
}

/** The state a write session read back. */
function relayWritten(r: SessionResult): RelayResult {
  if (!r.ok) return { ok: false, failure: r.failure };
  const readBack = r.results[1];
  const state = readBack?.ok ? relayState(readBack.dataSets) : undefined;
  return state === undefined ? { ok: false, failure: { code: "malformed", detail: "relay state not read back" } } : { ok: true, connected: state };
}

/** The state a readout reports. */
function relayObserved(r: ReadoutResult): RelayResult {
  if (!r.ok) return { ok: false, failure: r.failure };
  const state = observeModule(r.readout.dataSets).relayConnected;
  return state === undefined ? { ok: false, failure: { code: "malformed", detail: "no relay state in readout" } } : { ok: true, connected: state };
}
