/**
 * A module's own event log (P.98, docs/d0.md) as the concentrator reads it: once a day and after a
 * module restarts, so that what happened between two readouts (a tamper contact opened and closed
 * again, wrong passwords tried on the module) still becomes an event. Only entries after the last one
 * seen are used; the first read after boot only sets that mark, so an old log is not raised again.
 */
import { eventLogEntries, readEventLog, type ModuleLogEntry } from "../bus/local-module.js";
import { EventType } from "../model/records.js";
import type { ModuleAccess } from "./module-access.js";
import { Priority } from "./poller.js";

/** Module log codes (docs/d0.md) and the concentrator event each one becomes. */
const LOG_EVENTS: Record<number, EventType> = {
  0x10: EventType.tamper,
  0x12: EventType.door,
  0x40: EventType.passwordGuessing,
  0x41: EventType.passwordGuessing,
  0x50: EventType.batteryLow,
};

export class ModuleLogReader {
  readonly #access: ModuleAccess;
  readonly #pulse: (type: EventType, subject: number, detail: number) => void;
  /** Last entry seen per module; undefined: never read since boot. */
  readonly #mark = new Map<number, ModuleLogEntry>();
  readonly #busy = new Set<number>();
  readonly counters = { reads: 0, failed: 0, entries: 0 };

  constructor(access: ModuleAccess, pulse: (type: EventType, subject: number, detail: number) => void) {
    this.#access = access;
    this.#pulse = pulse;
  }

  read(module: number): void {
    if (this.#busy.has(module)) return;
    this.#busy.add(module);
    this.counters.reads++;
    this.#access.session(module, [readEventLog()], Priority.scheduled, (r) => {
      this.#busy.delete(module);
      const result = r.ok ? r.results[0] : undefined;
      if (!result?.ok) {
        this.counters.failed++;
        return;
      }
      this.#process(module, eventLogEntries(result.dataSets));
    });
  }

  #process(module: number, entries: ModuleLogEntry[]): void {
    const mark = this.#mark.get(module);
    const last = entries[entries.length - 1];
    if (last) this.#mark.set(module, last);
    if (!mark) return;
    let from = 0;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.time === mark.time && e.code === mark.code && e.detail === mark.detail) {
        from = i + 1;
        break;
      }
    }
    for (const e of entries.slice(from)) {
      this.counters.entries++;
      const type = LOG_EVENTS[e.code];
      if (type !== undefined) this.#pulse(type, module, e.detail);
    }
  }
}
