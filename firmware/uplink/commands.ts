/**
 * Runs authenticated, fresh commands through the concentrator's handlers and turns each outcome into
 * a result record in the store, from which the drain sends it (so a result survives an outage).
 */
import type { Command, CommandResult } from "./messages.js";
import { ResultCode } from "./messages.js";
import type { CommandHandlers, CommandOutcome, UplinkQueue } from "./ports.js";

export interface CommandCounters {
  received: number;
  completed: number;
  /** Completed with the result `rejected`: invalid for this concentrator (unknown meter, bad value). */
  rejected: number;
  /** Handlers that threw (a bug): reported to the head-end as `failed`. */
  handlerErrors: number;
}

export class CommandDispatcher {
  readonly counters: CommandCounters = { received: 0, completed: 0, rejected: 0, handlerErrors: 0 };
  readonly #handlers: CommandHandlers;
  readonly #queue: UplinkQueue;
  readonly #onResult: () => void;

  /** `onResult` runs after a result is stored (the drain's kick). */
  constructor(handlers: CommandHandlers, queue: UplinkQueue, onResult: () => void) {
    this.#handlers = handlers;
    this.#queue = queue;
    this.#onResult = onResult;
  }

  dispatch(c: Command): void {
    this.counters.received++;
    let finished = false;
    const done = (outcome: CommandOutcome) => {
      if (finished) return; // `done` is once; a second call is a handler bug and changes nothing
      finished = true;
      const result: CommandResult = { commandId: c.id, code: outcome.code };
      if (outcome.readings) result.readings = outcome.readings;
      if (outcome.detail !== undefined) result.detail = outcome.detail;
      this.#queue.appendResult(result);
      this.counters.completed++;
      if (outcome.code === ResultCode.rejected) this.counters.rejected++;
      this.#onResult();
    };
    try {
      const h = this.#handlers;
      switch (c.op) {
        case "read":
          return h.read(c.meters, c.registers, done);
        case "disconnect":
          return h.disconnect(c.meter, done);
        case "reconnect":
          return h.reconnect(c.meter, done);
        case "configure":
          return h.configure(c.changes, c.id, done);
        case "time":
          return h.setTime(c.epochMs, done);
        case "mode":
          return h.setMode(c.meter, c.mode, done);
        case "limit":
          return h.setLimit(c.meter, c.limit ?? undefined, done);
        case "update":
          if (!h.update) return done({ code: ResultCode.unsupported });
          return h.update(c.head, c.window ?? undefined, done);
        case "profile":
          if (!h.profile) return done({ code: ResultCode.unsupported });
          return h.profile(c.meter, c.fromS, c.toS, done);
      }
    } catch {
      this.counters.handlerErrors++;
      done({ code: ResultCode.failed, detail: "handler error" });
    }
  }
}
