/**
 * A fixed list of AT commands run one after another, stopping at the first failure: the shape of every
 * bring-up stage (configure, packet data up, packet data down).
 */
import type { AtEngine } from "./engine.js";
import type { AtFailure } from "./response.js";

export interface Step {
  /** The command line, e.g. "AT+CGATT=1". */
  readonly text: string;
  /** Time allowed for the final result code, ms (the source is cited where the step is defined). */
  readonly timeoutMs: number;
  /** Information lines to collect (a prefix or a predicate). */
  readonly info?: string | ((line: string) => boolean);
  /** Command-specific final result codes. */
  readonly final?: (line: string) => "ok" | "error" | undefined;
  /** A failure of this step does not stop the sequence (a clean-up that may find nothing to clean). */
  readonly optional?: boolean;
  /** Checks a successful answer; false turns it into a "bad-response" failure. */
  readonly accept?: (lines: readonly string[], final: string) => boolean;
}

export interface StepFailure {
  readonly step: Step;
  readonly failure: AtFailure;
}

/** Runs `steps` (at least one) in order; `done` is called once, in a later turn, with the first failure or nothing. */
export function runSequence(engine: AtEngine, steps: readonly Step[], done: (failed: StepFailure | undefined) => void): void {
  if (steps.length === 0) throw new RangeError("no steps");
  let index = 0;
  const next = (): void => {
    const step = steps[index++];
    if (!step) {
      done(undefined);
      return;
    }
    engine.send({
      text: step.text,
      timeoutMs: step.timeoutMs,
      info: step.info,
      final: step.final,
      done: (result) => {
        if (result.ok && (!step.accept || step.accept(result.lines, result.final))) next();
        else if (step.optional) next();
        else done({ step, failure: result.ok ? { code: "bad-response", line: result.final } : result.failure });
      },
    });
  };
  next();
}
