/**
 * A module's own event log (P.98, docs/d0.md) as the concentrator reads it: once a day and after a
 * module restarts, so that what happened between two readouts (a tamper contact opened and closed
 * again, wrong passwords tried on the module) still becomes an event.
 *
 * Only entries after the last one seen are news. The first read after boot takes the entries logged
 * since the boot (module clocks are kept within a few seconds of ours): older ones were the previous
 * boot's. A happening a readout already raised from the module's status (`reported`) is in the log
 * too: the next read skips that many of its entries, so one tamper opening is one alarm.
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

export interface ModuleLogOptions {
  access: ModuleAccess;
  pulse(type: EventType, subject: number, detail: number): void;
  /** Wall-clock seconds of the boot; undefined when the wall clock was not valid (the first read then only sets the mark). */
  bootS: number | undefined;
}

export class ModuleLogReader {
  readonly #o: ModuleLogOptions;
  /** Last entry seen per module; undefined: never read since boot. */
  readonly #mark = new Map<number, ModuleLogEntry>();
  readonly #busy = new Set<number>();
  /** Per module, events raised from its status since its log was last read, by type. */
  readonly #reported = new Map<number, Map<EventType, number>>();
  readonly counters = { reads: 0, failed: 0, entries: 0 };

  constructor(options: ModuleLogOptions) {
    this.#o = options;
  }

  /** A readout raised `type` for `module` from its status: its log entry is not news. */
  reported(module: number, type: EventType): void {
    let m = this.#reported.get(module);
    if (!m) this.#reported.set(module, (m = new Map()));
    m.set(type, (m.get(type) ?? 0) + 1);
  }

  read(module: number): void {
    if (this.#busy.has(module)) return;
    this.#busy.add(module);
    this.counters.reads++;
    this.#o.access.session(module, [readEventLog()], Priority.scheduled, (r) => {
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
    const reported = this.#reported.get(module);
    this.#reported.delete(module);
    let news: ModuleLogEntry[];
    if (mark) {
      let from = 0;
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        if (e.time === mark.time && e.code === mark.code && e.detail === mark.detail) {
          from = i + 1;
          break;
        }
      }
      news = entries.slice(from);
    } else {
      const bootS = this.#o.bootS;
      news = bootS === undefined ? [] : entries.filter((e) => e.time >= bootS);
    }
    for (const e of news) {
      this.counters.entries++;
      const type = LOG_EVENTS[e.code];
      if (type === undefined) continue;
      const already = reported?.get(type) ?? 0;
      if (already > 0) reported!.set(type, already - 1);
      else this.#o.pulse(type, module, e.detail);
    }
  }
}
