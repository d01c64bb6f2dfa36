/**
 * How long a relay step takes on a bridge's medium, from what the bridge says of itself (INFO,
 * docs/bridge.md §Messages): the lower bound the poll-cycle figures compare with, and the expected
 * time the transport's polls and deadlines start from.
 *
 * A step sends `sendBytes` of D0 from the bridge to the remote node over `hops` links, the node talks to
 * its module on its RS485 segment, and `answerBytes` come back the same way.
 */
import { characterTimeMs } from "../../hal/serial.js";
import { TR_MIN_MS } from "../d0/modes.js";
import type { BridgeInfo } from "./messages.js";

export interface StepShape {
  /** Links crossed: repeaters + 1. */
  readonly hops: number;
  readonly rateBps: number;
  readonly sendBytes: number;
  readonly answerBytes: number;
  /** D0 rates on the segment, Bd. */
  readonly sendBaud: number;
  readonly listenBaud: number;
}

/** Air time of `bytes` at `rateBps`, ms. */
export function airMs(bytes: number, rateBps: number): number {
  return (bytes * 8000) / rateBps;
}

/** D0 wire time on the segment plus the module's tr, ms. */
function segmentMs(s: StepShape): number {
  return s.sendBytes * characterTimeMs(s.sendBaud) + s.answerBytes * characterTimeMs(s.listenBaud) + (s.answerBytes > 0 ? TR_MIN_MS : 0);
}

/**
 * The shortest a step can take: its D0 bytes at the medium's rate over every hop, each way, and on the
 * segment at the D0 rate, plus tr. No frame overhead, acknowledgements or latency: those are the cost
 * of the medium, which the ratio to this bound shows.
 */
export function stepLowerBoundMs(s: StepShape): number {
  return s.hops * airMs(s.sendBytes + s.answerBytes, s.rateBps) + segmentMs(s);
}

/** One hop of `bytes` without loss: frames with their overhead, acknowledgements and latencies, ms. */
export function hopMs(info: BridgeInfo, bytes: number, rateBps: number): number {
  const frames = Math.max(1, Math.ceil(bytes / info.framePayloadBytes));
  return frames * (2 * info.hopLatencyMs + airMs(info.frameOverheadBytes + info.ackBytes, rateBps)) + airMs(bytes, rateBps);
}

/** A step without loss, as the bridge's medium works: ms. The remote node adds 10 quiet characters after an answer. */
export function expectedStepMs(info: BridgeInfo, s: StepShape): number {
  return s.hops * (hopMs(info, s.sendBytes, s.rateBps) + hopMs(info, s.answerBytes, s.rateBps)) + segmentMs(s) + 10 * characterTimeMs(s.listenBaud);
}
