/**
 * A scenario written as a list of steps: each waits for its condition, then acts. The runner checks
 * the current condition before every event-loop turn (`done`), so a stuck scenario names the step it
 * is stuck at.
 */
import * as check from "./check.js";

export interface Step {
  /** What the step waits for, in words (reported when the scenario stops there). */
  readonly what: string;
  readonly until: () => boolean;
  readonly then?: () => void;
}

export class Steps {
  readonly #steps: Step[];
  #next = 0;

  constructor(steps: Step[]) {
    this.#steps = steps;
  }

  /** Advances through every step whose condition holds; true when all have run. */
  done(): boolean {
    while (this.#next < this.#steps.length && this.#steps[this.#next]!.until()) this.#steps[this.#next++]!.then?.();
    return this.#next === this.#steps.length;
  }

  /** Throws naming the first step that did not complete. */
  checkFinished(): void {
    const stuck = this.#steps[this.#next];
    check.ok(!stuck, `stopped while waiting for: ${stuck?.what}`);
  }
}
