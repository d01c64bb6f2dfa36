/**
 * One relay step through a bridge, from RELAY to its outcome (docs/bridge.md §Messages, rules): send the RELAY,
 * wait while the bridge is busy with another one, poll with FETCH from when the outcome should be there,
 * then fetch every part of the answer. It ends exactly once (unless cancelled) with:
 *
 * - "outcome": what the bridge says happened (the module's answer, no answer, a route failure, the
 *   deadline passed), with the answer bytes when there are any;
 * - "no-route": the bridge does not know the node or a repeater of the path;
 * - "bridge": the bridge did not answer on the bus, was busy until it was too late, lost the relay
 *   (it restarted), gave no outcome in time, or broke the protocol.
 */
import type { MonotonicClock, Timers } from "../../hal/clock.js";
import type { Failure } from "../bus/types.js";
import type { BridgeClient } from "./client.js";
import type { RelayOutcome, RelayRequest } from "./messages.js";
import { concatBytes } from "../store/bytes.js";

/** A relay's outcome once it is over (not "pending" or "unknown"). */
export type Outcome = Extract<RelayOutcome, { readonly part: number }>;

export type RelayResult =
  | { readonly kind: "outcome"; readonly outcome: Outcome; readonly answer: Uint8Array }
  | { readonly kind: "no-route" }
  | { readonly kind: "bridge"; readonly failure: Failure; readonly retry: boolean };

export interface RelayPlan {
  readonly request: RelayRequest;
  /** The first poll, ms after the bridge accepted the relay: when its outcome should be there. */
  readonly firstPollMs: number;
  /** Polls after that, and retries of a RELAY refused as busy, ms apart. */
  readonly pollEveryMs: number;
  /** Monotonic time after which the bridge's silence about the relay is its failure. */
  readonly giveUpAt: number;
}

export interface RelayCounters {
  relays: number;
  polls: number;
  busy: number;
}

/** Its steps are prototype methods (TypeScript `private`, not `#`): XS gives every instance a slot per `#` method. */
export class Relay {
  readonly #client: BridgeClient;
  readonly #clock: MonotonicClock;
  readonly #timers: Timers;
  readonly #counters: RelayCounters;
  readonly #plan: RelayPlan;
  readonly #done: (r: RelayResult) => void;
  #over = false;
  #seq = 0;

  /** Starts at once; `done` runs in a later turn, once, unless `cancel` comes first. */
  constructor(o: { client: BridgeClient; clock: MonotonicClock; timers: Timers; counters: RelayCounters; plan: RelayPlan; done: (r: RelayResult) => void }) {
    this.#client = o.client;
    this.#clock = o.clock;
    this.#timers = o.timers;
    this.#counters = o.counters;
    this.#plan = o.plan;
    this.#done = o.done;
    o.counters.relays++;
    this.send();
  }

  /** No callback runs after this. Frames already queued on the bus go out; their answers are ignored. */
  cancel(): void {
    this.#over = true;
  }

  private end(r: RelayResult): void {
    if (this.#over) return;
    this.#over = true;
    this.#done(r);
  }

  private bridge(failure: Failure, retry = true): void {
    this.end({ kind: "bridge", failure: failure.code === "bridge" || failure.code === "closed" || failure.code === "cancelled" ? failure : { code: "bridge", detail: failure.code }, retry });
  }

  private later(fn: () => void, ms: number): void {
    this.#timers.set(() => !this.#over && fn(), ms);
  }

  private send(): void {
    this.#client.relay(this.#plan.request, (a) => {
      if (this.#over) return;
      if (!a.ok) return this.bridge(a.failure);
      this.#seq = a.value.seq;
      switch (a.value.status) {
        case "ok":
          return this.later(() => this.poll(), this.#plan.firstPollMs);
        case "busy":
          this.#counters.busy++;
          if (this.#clock.now() + this.#plan.pollEveryMs > this.#plan.giveUpAt) return this.bridge({ code: "bridge", detail: "busy" });
          return this.later(() => this.send(), this.#plan.pollEveryMs);
        case "no-route":
          return this.end({ kind: "no-route" });
        default:
          return this.bridge({ code: "bridge", detail: a.value.status }, false);
      }
    });
  }

  private poll(): void {
    this.#counters.polls++;
    this.#client.fetch(this.#seq, 0, (a) => {
      if (this.#over) return;
      if (!a.ok) return this.bridge(a.failure);
      const o = a.value;
      if ("part" in o) return this.parts(o, [o.data]);
      if (o.status === "unknown") return this.bridge({ code: "bridge", detail: "relay lost" });
      if (this.#clock.now() >= this.#plan.giveUpAt) return this.bridge({ code: "bridge", detail: "no outcome" });
      this.later(() => this.poll(), this.#plan.pollEveryMs);
    });
  }

  private parts(head: Outcome, parts: Uint8Array[]): void {
    if (parts.length >= head.parts) {
      const answer = concatBytes(parts);
      if (answer.length !== head.total) return this.bridge({ code: "bridge", detail: "answer length" });
      return this.end({ kind: "outcome", outcome: head, answer });
    }
    this.#counters.polls++;
    this.#client.fetch(this.#seq, parts.length, (a) => {
      if (this.#over) return;
      if (!a.ok) return this.bridge(a.failure);
      const o = a.value;
      if (!("part" in o) || o.status !== head.status || o.part !== parts.length || o.parts !== head.parts || o.total !== head.total) return this.bridge({ code: "bridge", detail: "parts disagree" });
      parts.push(o.data);
      this.parts(head, parts);
    });
  }
}
