/**
 * A module's own event log (P.98, docs/d0.md) as the concentrator reads it: once a day, after a
 * module restarts and at the first readout after the concentrator boots, so that what happened between
 * two readouts or while the concentrator was down (a tamper contact opened and closed again, wrong
 * passwords tried on the module) still becomes an event.
 *
 * Only entries after the last one taken are news, and that mark is persisted (`marks`) after the
 * events are stored: what a module logged while the concentrator was down is raised at the next read,
 * with the time the module logged it, and a cut between the two raises it again rather than never.
 * A module read for the first time has no mark: the entries logged since this boot are news (module
 * clocks are kept within a few seconds of ours), older ones are history from before it was ours.
 * A happening a readout already raised from the module's status (`reported`) is in the log too: the
 * next read skips that many of its entries, so one tamper opening is one alarm.
 */
import { eventLogEntries, readEventLog, type ModuleLogEntry } from "../bus/local-module.js";
import { EventType } from "../model/records.js";
import type { ModuleAccess } from "./module-access.js";
import { Priority } from "./poller.js";

/** Module log codes (docs/d0.md) and the concentrator event each one becomes. */
const LOG_EVENTS: Record<number, EventType> = Object.freeze({
  0x10: EventType.tamper,
  0x12: EventType.door,
  0x40: EventType.passwordGuessing,
  0x41: EventType.passwordGuessing,
  0x50: EventType.batteryLow,
});

/** The last log entry taken per module, kept across reboots. `set` is durable when it returns. */
export interface LogMarkStore {
  get(module: number): ModuleLogEntry | undefined;
  set(module: number, entry: ModuleLogEntry): void;
}

export interface ModuleLogOptions {
  access: ModuleAccess;
  /** Raises an event that happened at `timeS` (the module's clock). */
  pulse(type: EventType, subject: number, detail: number, timeS: number): void;
  marks: LogMarkStore;
  /** Wall-clock seconds of the boot; undefined when the wall clock was not valid (a first read then only sets the mark). */
  bootS: number | undefined;
}

/**
 * Log reads on the paths at once. The others wait here as module numbers: at the first readouts
 * after a boot every module asks for its log, and a queued transaction with its callbacks is some
 * 20 slots on the device, a waiting number 16 B of a chunk (docs/memory.md).
 */
const IN_FLIGHT = 2;

export class ModuleLogReader {
  readonly #o: ModuleLogOptions;
  /** Modules whose log read is waiting or running. */
  readonly #busy = new Set<number>();
  /** Modules whose log read waits for one of the IN_FLIGHT, in the order asked. */
  readonly #waiting: number[] = [];
  #running = 0;
  /**
   * Events raised from modules' status since their log was last read: one number per event, the
   * module × 256 + its type (a handful at a time; a Map of Maps was some 10 slots per module).
   */
  readonly #reported: number[] = [];
  readonly counters = { reads: 0, failed: 0, entries: 0 };

  constructor(options: ModuleLogOptions) {
    this.#o = options;
  }

  /** A readout raised `type` for `module` from its status: its log entry is not news. */
  reported(module: number, type: EventType): void {
    this.#reported.push(module * 256 + type);
  }

  /** Reads the log of a module whose log was taken before (it has a mark): at the first readout after a boot. */
  catchUp(module: number): void {
    if (this.#o.marks.get(module)) this.read(module);
  }

  read(module: number): void {
    if (this.#busy.has(module)) return;
    this.#busy.add(module);
    this.counters.reads++;
    this.#waiting.push(module);
    this.#start();
  }

  #start(): void {
    while (this.#running < IN_FLIGHT && this.#waiting.length > 0) {
      const module = this.#waiting.shift()!;
      this.#running++;
      // A session always ends in a later turn (ModuleAccess), so the next starts from its callback.
      this.#o.access.session(module, [readEventLog()], Priority.scheduled, (r) => {
        this.#running--;
        this.#busy.delete(module);
        try {
          const result = r.ok ? r.results[0] : undefined;
          if (!result?.ok) this.counters.failed++;
          else this.#process(module, eventLogEntries(result.dataSets));
        } finally {
          this.#start();
        }
      });
    }
  }

  #process(module: number, entries: ModuleLogEntry[]): void {
    const mark = this.#o.marks.get(module);
    const last = entries[entries.length - 1];
    // This module's reported events, as their types; the others' stay.
    const reported: EventType[] = [];
    let kept = 0;
    for (const code of this.#reported) {
      if (Math.floor(code / 256) === module) reported.push((code % 256) as EventType);
      else this.#reported[kept++] = code;
    }
    this.#reported.length = kept;
    let news: ModuleLogEntry[];
    if (mark) {
      let from = 0;
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        if (sameEntry(e, mark)) {
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
      const already = reported.indexOf(type);
      if (already >= 0) reported.splice(already, 1);
      else this.#o.pulse(type, module, e.detail, e.time);
    }
    const next = last ?? mark ?? EMPTY_LOG;
    if (!(mark && sameEntry(next, mark))) this.#o.marks.set(module, next);
  }
}

/** The mark of a log read empty: no entry matches it, so every later entry is news. */
const EMPTY_LOG: ModuleLogEntry = Object.freeze({ time: 0, code: 0, detail: 0 });

function sameEntry(a: ModuleLogEntry, b: ModuleLogEntry): boolean {
  return a.time === b.time && a.code === b.code && a.detail === b.detail;
}
