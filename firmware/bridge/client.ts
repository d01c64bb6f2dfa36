/**
 * The concentrator's end of the bridge protocol on the RS485 side (docs/bridge.md): each request is a
 * frame transaction on the bus master of the bridge's bus, so bridge frames share the bus, its queue and
 * its statistics with the local modules' readouts, and are retried by it when an answer is lost or
 * damaged (every request is safe to repeat: RELAY by its sequence number, the others are reads).
 *
 * Every call completes through its callback, in a later turn, exactly once: with the parsed answer, or
 * with a failure ("bridge": no valid answer after the bus master's retries, or an answer that breaks the
 * protocol).
 */
import type { BusHandle, BusMaster } from "../bus/bus-master.js";
import { withOverrides, type Failure, type FrameAnswer, type Timing } from "../bus/types.js";
import { encodeFetch, encodeRelay, encodeTableRequest, parseEntry, parseInfo, parseOutcome, responseStatus, type BridgeInfo, type Parsed, type RelayOutcome, type RelayRequest, type Status, type TableEntry } from "./messages.js";
import { BRIDGE_BAUD, FrameDecoder, FrameType, encodeFrame, type Frame, type FrameDecoderOptions, type FrameError, type FrameTypeCode } from "./protocol.js";

export type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: Failure };

export interface BridgeClientOptions {
  /** The bus master of the bus the bridge is on. */
  bus: Pick<BusMaster, "enqueueFrame">;
  /** The bridge's bus address, 1..254. */
  address: number;
  /**
   * Priority of the bridge's frames on the bus. Default 100: above every module transaction (firmware/poll
   * goes up to 30), since a frame holds the bus for a few tens of ms and a whole remote transaction waits on it.
   */
  priority?: number;
  /** Frame timing; defaults in `FRAME_TIMING`. */
  timing?: Partial<Timing>;
}

/**
 * The bridge answers within 50 ms of a request's last byte (docs/bridge.md §Messages, timing); the first-character
 * time-out adds the UART's delivery after 4 idle characters (4.2 ms at 9600 Bd) and margin. Frames are
 * sent back to back: 50 ms of silence inside one ends it. Two retries, as for modules.
 */
export const FRAME_TIMING: Partial<Timing> = Object.freeze({ firstCharTimeoutMs: 100, interCharTimeoutMs: 50, retries: 2, backoffMs: 20 });

export class BridgeClient {
  readonly address: number;
  readonly #o: BridgeClientOptions;
  readonly #timing: Partial<Timing>;
  #seq = 0;

  constructor(options: BridgeClientOptions) {
    if (!(Number.isInteger(options.address) && options.address >= 1 && options.address <= 254)) throw new RangeError("invalid address");
    this.#o = options;
    this.address = options.address;
    this.#timing = withOverrides(FRAME_TIMING, options.timing);
  }

  info(done: (a: Answer<BridgeInfo>) => void): BusHandle {
    return this.#request(FrameType.info, new Uint8Array(0), parseInfo, done);
  }

  /** Table entry `index`; the value is undefined past the table's end. */
  entry(index: number, done: (a: Answer<TableEntry | undefined>) => void): BusHandle {
    return this.#request(FrameType.table, encodeTableRequest(index), parseEntry, done);
  }

  /** Starts a relay. `seq` names it for `fetch`; `status` is the bridge's answer: ok (accepted), busy, no-route or bad-request. */
  relay(request: RelayRequest, done: (a: Answer<{ seq: number; status: Status }>) => void): BusHandle {
    return this.#request(FrameType.relay, encodeRelay(request), parseRelayStatus, (a, seq) => done(a.ok ? { ok: true, value: { seq, status: a.value } } : a));
  }

  /** Part `part` of relay `seq`'s outcome, or "pending"/"unknown". */
  fetch(seq: number, part: number, done: (a: Answer<RelayOutcome>) => void): BusHandle {
    return this.#request(FrameType.fetch, encodeFetch(seq, part), parseOutcome, done);
  }

  #request<T>(type: FrameTypeCode, payload: Uint8Array, parse: (p: Uint8Array) => Parsed<T>, done: (a: Answer<T>, seq: number) => void): BusHandle {
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xff;
    const request = encodeFrame({ address: this.address, response: false, type, seq, payload });
    return this.#o.bus.enqueueFrame({
      kind: "frame",
      address: `bridge-${this.address}`,
      priority: this.#o.priority ?? 100,
      timing: this.#timing,
      baud: BRIDGE_BAUD,
      request,
      answer: new ResponseReader(this.address, type, seq, parse),
      onDone: (r) => done(r.ok ? { ok: true, value: r.value } : { ok: false, failure: bridgeFailure(r.failure) }, seq),
    });
  }
}

/** What the bus master's failure means for the bridge: it did not answer, or not soundly. */
function bridgeFailure(f: Failure): Failure {
  if (f.code === "cancelled" || f.code === "closed") return f;
  return { code: "bridge", detail: f.detail ? `${f.code}: ${f.detail}` : f.code };
}

/** RELAY's answer: its status alone. A module-level function, not a closure made per relay. */
function parseRelayStatus(p: Uint8Array): Parsed<Status> {
  const s = responseStatus(p);
  return p.length === 1 && (s === "ok" || s === "busy" || s === "no-route" || s === "bad-request") ? { ok: true, value: s } : { ok: false, reason: "status" };
}

/**
 * The answer to one request, judged as it arrives: the first sound frame decides. Noise before it is
 * skipped; a damaged frame (CRC, address) fails the attempt at once, so the bus master retries without
 * waiting for a time-out; a sound frame that is not the answer to this request breaks the protocol.
 */
class ResponseReader<T> implements FrameAnswer<T>, FrameDecoderOptions {
  readonly #decoder: FrameDecoder;
  readonly #address: number;
  readonly #type: number;
  readonly #seq: number;
  readonly #parse: (p: Uint8Array) => Parsed<T>;
  #verdict: ReturnType<FrameAnswer<T>["push"]>;

  /** The reader is its decoder's listener (onFrame, onError): no callbacks made per request. */
  constructor(address: number, type: number, seq: number, parse: (p: Uint8Array) => Parsed<T>) {
    this.#address = address;
    this.#type = type;
    this.#seq = seq;
    this.#parse = parse;
    this.#decoder = new FrameDecoder(this);
  }

  onFrame(f: Frame): void {
    if (this.#verdict) return;
    if (!f.response || f.address !== this.#address || f.type !== this.#type || f.seq !== this.#seq) {
      this.#verdict = { ok: false, failure: { code: "malformed", detail: `unexpected frame ${f.type}/${f.seq}` } };
      return;
    }
    const p = this.#parse(f.payload);
    this.#verdict = p.ok ? { ok: true, value: p.value } : { ok: false, failure: { code: "malformed", detail: p.reason } };
  }

  onError(e: FrameError): void {
    if (this.#verdict || e.code === "garbage" || e.code === "truncated") return;
    this.#verdict = { ok: false, failure: { code: "bad-bcc", detail: `${e.code} at ${e.offset}` } };
  }

  reset(): void {
    this.#decoder.reset();
    this.#verdict = undefined;
  }

  push(bytes: Uint8Array): ReturnType<FrameAnswer<T>["push"]> {
    if (!this.#verdict) this.#decoder.push(bytes);
    return this.#verdict;
  }
}
