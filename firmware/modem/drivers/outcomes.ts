/**
 * How an AT failure of a send command reads for a socket, shared by the dialects: only the meaning of
 * "SEND FAIL" differs (SIM800: the connection failed; BG96: the send buffer is full, try again).
 */
import type { AtFailure } from "../at/response.js";
import type { SendOutcome } from "./dialect.js";

export function sendOutcomeOf(failure: AtFailure, sendFail: "retry" | "reset"): SendOutcome {
  switch (failure.code) {
    case "no-prompt":
      return { failed: "no-prompt" };
    case "timeout":
      return { failed: "timeout" };
    case "busy":
      return { failed: "retry" };
    case "aborted":
    case "closed":
      return { failed: "aborted" };
    default:
      return { failed: failure.line !== undefined && failure.line.endsWith("SEND FAIL") ? sendFail : "reset" };
  }
}
