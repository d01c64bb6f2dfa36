/**
 * A contact watched through its edges (the concentrator's cabinet door and tamper switch on digital
 * inputs): an opening is raised once the contact has stayed open for its type's debounce time
 * (catalogue.ts), so a bouncing or brushed switch raises nothing; the event manager's hold-off then
 * keeps a chattering one to one alarm.
 */
import type { TimerId, Timers } from "../../hal/clock.js";
import type { EventType } from "../model/records.js";
import { policyOf } from "./catalogue.js";
import type { EventManager } from "./event-manager.js";

export class ContactWatcher {
  readonly #timers: Timers;
  readonly #events: EventManager;
  readonly #type: EventType;
  readonly #subject: number;
  #pending: TimerId | undefined;

  constructor(o: { timers: Timers; events: EventManager; type: EventType; subject: number }) {
    this.#timers = o.timers;
    this.#events = o.events;
    this.#type = o.type;
    this.#subject = o.subject;
  }

  /** The contact's level now (1 open). */
  change(level: 0 | 1): void {
    if (this.#pending !== undefined) this.#timers.clear(this.#pending);
    this.#pending = undefined;
    if (level !== 1) return;
    this.#pending = this.#timers.set(() => {
      this.#pending = undefined;
      this.#events.pulse(this.#type, this.#subject);
    }, policyOf(this.#type).debounceMs);
  }
}
