/**
 * One DLMS/COSEM association as an exchange on the RS485 bus master (firmware/bus): from the first
 * frame to the last it holds the bus, as a programming session does.
 *
 *   [mode E: "/?addr!" at 300 Bd 7E1, identification with \2, ACK 2 Z 2, switch to Z, 8N1]
 *   SNRM → UA (HDLC parameters)
 *   AARQ → AARE (no security, LLS password, or HLS: CtoS challenge, StoC back)
 *   [HLS pass 3 and 4: ACTION reply_to_HLS_authentication with f(StoC); the meter's f(CtoS) checked]
 *   the script's requests: GET (normal, with-list; long answers in data blocks), SET, ACTION
 *   DISC → UA
 *
 * With HLS every APDU after the AARQ is ciphered (security suite 0, authenticated and encrypted), with
 * the client's invocation counter, and every answer must carry a counter above the last one accepted
 * from the meter; both counters are persisted (InvocationCounters). An answer whose tag fails or whose
 * counter is used is dropped: nothing of it is used, it is counted, and the association ends.
 *
 * Frame-level recovery is the link's (hdlc/link.ts): a time-out sends the last frame again, up to
 * `frameRetries` times; after that the attempt fails and the bus master retries the whole session,
 * after this exchange has sent DISC so the meter is not left associated. Nothing here throws out of a
 * turn: malformed answers fail the attempt with a typed failure.
 */
import type { CryptoService, RandomSource } from "../../../hal/system.js";
import type { Exchange, ExchangePort } from "../../bus/exchange.js";
import { concatBytes } from "../../store/bytes.js";
import type { Failure } from "../../bus/types.js";
import { encodeOptionSelect, encodeRequest } from "../../d0/encoder.js";
import { parseIdentification } from "../../d0/identification.js";
import { INITIAL_BAUD, negotiateModeC } from "../../d0/modes.js";
import { AssociationResult, Context, decodeAare, encodeAarq, Mechanism, UserDiagnostic } from "../apdu/acse.js";
import {
  ApduTag,
  CLIENT_CONFORMANCE,
  decodeInitiateAnswer,
  decodeListResults,
  decodeResponse,
  encodeActionNormal,
  encodeGetNext,
  encodeGetNormal,
  encodeGetWithList,
  encodeInitiateRequest,
  encodeSetNormal,
  type GetResult,
  type Response,
} from "../apdu/xdlms.js";
import { ArrayStream, decode, DecodeError } from "../axdr/codec.js";
import { bytesOf, octets } from "../axdr/data.js";
import { ClassId, Method } from "../cosem/classes.js";
import { Obis } from "../cosem/obis.js";
import { HdlcDecoder, type HdlcDecoderEvents } from "../hdlc/decoder.js";
import type { Frame } from "../hdlc/frame.js";
import { HdlcClientLink, type LinkEvent } from "../hdlc/link.js";
import { checkHlsResponse, hlsResponse, isCiphered, openApdu, parseCiphered, sealApdu } from "../security/ciphering.js";
import type { Endpoint, InvocationCounters, Request, Result, Script, SessionCounters } from "./types.js";
import { frozen } from "../../model/frozen.js";

export interface SessionDeps {
  crypto: CryptoService;
  random: RandomSource;
  /** The meter's invocation counters (HLS only). */
  counters?: InvocationCounters;
  /** Where this client counts what went wrong. */
  stats: SessionCounters;
  /** Sends of one frame after a time-out before the attempt fails. Default 2. */
  frameRetries?: number;
}

type Phase = "sign-on" | "link" | "associate" | "hls" | "request" | "release" | "done";

const HLS_CHALLENGE_BYTES = 16;
/** HLS pass 3 goes to the current association's reply_to_HLS_authentication. */
const HLS_REPLY = frozen({ classId: ClassId.associationLn, ln: Obis.currentAssociation, index: Method.replyToHlsAuthentication });
/** How long an aborted session waits for the meter's answer to its DISC, ms (a meter's reaction time and a UA). */
const DISC_ANSWER_MS = 300;

export class DlmsSession<T> implements Exchange, HdlcDecoderEvents {
  readonly #port: ExchangePort;
  readonly #e: Endpoint;
  readonly #d: SessionDeps;
  readonly #newScript: () => Script<T>;
  /** The script of the current attempt: every attempt starts from the beginning. */
  #script: Script<T>;
  readonly #link: HdlcClientLink;
  readonly #decoder: HdlcDecoder;
  #phase: Phase = "link";
  #baud: number;
  /** Bumped at each attempt and abort: a crypto answer for an older one is ignored. */
  #epoch = 0;
  #retries = 0;
  #invoke = 0;
  /** Set while an aborted attempt waits for the answer to its DISC. */
  #aborting: (() => void) | undefined;
  #attemptBytes = 0;
  #signOn = "";
  #reactionMs = 0;
  #ctos = new Uint8Array(0);
  #serverTitle: Uint8Array | undefined;
  /**
   * What the request in flight asked (its kind; undefined: none) and for how many attributes: what its
   * answer is checked against. The request itself, with its values and access selections, is not kept
   * once encoded (a profile's range is some 40 slots). Then the blocks of a long answer to it.
   */
  #asked: Request["kind"] | undefined;
  #askedCount = 0;
  #blocks: Uint8Array[] = [];
  /** A long answer to a single attribute that is an array (a profile buffer): decoded block by block. */
  #stream: ArrayStream | undefined;
  #nextBlock = 1;

  constructor(port: ExchangePort, endpoint: Endpoint, deps: SessionDeps, script: () => Script<T>) {
    this.#port = port;
    this.#e = endpoint;
    this.#d = deps;
    this.#newScript = script;
    this.#script = script();
    this.#baud = endpoint.baud;
    this.#link = new HdlcClientLink({ clientSap: endpoint.clientSap, server: endpoint.server, ...(endpoint.link ? { proposed: endpoint.link } : {}) });
    // The session takes the decoder's events itself: two closures per session otherwise (docs/memory.md).
    this.#decoder = new HdlcDecoder(this);
  }

  /** A whole, checked frame from the decoder (HdlcDecoderEvents). */
  onFrame(frame: Frame): void {
    this.onEvent(this.#link.receive(frame));
  }

  /** A bad frame the decoder skipped (HdlcDecoderEvents). */
  onError(): void {
    this.#d.stats.parseFailed++;
  }

  /** Whom the session talks to, as configured (the rate before a mode E sign-on). */
  get endpoint(): Endpoint {
    return this.#e;
  }

  get reactionMs(): number {
    return this.#reactionMs;
  }

  /** Bytes sent and received by the current (or last) attempt. */
  get attemptBytes(): number {
    return this.#attemptBytes;
  }

  start(): void {
    this.#epoch++;
    this.#d.stats.sessions++;
    this.#script = this.#newScript();
    this.#attemptBytes = 0;
    this.#decoder.reset();
    this.#retries = 0;
    if (this.#e.modeE) {
      this.#phase = "sign-on";
      this.#signOn = "";
      this.#send(encodeRequest(this.#e.modeE.deviceAddress), INITIAL_BAUD, "7E1");
      return;
    }
    this.#connect();
  }

  data(bytes: Uint8Array): void {
    this.#d.stats.bytesReceived += bytes.length;
    this.#attemptBytes += bytes.length;
    this.contained(() => (this.#phase === "sign-on" ? this.onSignOnBytes(bytes) : this.#decoder.push(bytes)));
  }

  message(): void {
    // Never called: `data` takes the bytes.
  }

  error(): void {
    // Never called: `data` takes the bytes.
  }

  timeout(): boolean {
    if (this.#phase === "sign-on" || this.#phase === "done" || this.#retries >= (this.#d.frameRetries ?? 2)) return false;
    this.#retries++;
    this.#d.stats.frameRetransmissions++;
    this.#decoder.reset();
    this.transmit(this.#link.retransmit());
    return true;
  }

  abort(then: () => void): void {
    this.#epoch++;
    const linked = this.#phase !== "sign-on" && this.#phase !== "link" && this.#phase !== "done";
    this.#phase = "done";
    if (!linked) return then();
    // Leave the meter free for the next attempt (it would otherwise keep this association until its
    // inactivity time-out), and let its UA or DM go by before the bus is anyone else's.
    let called = false;
    const finish = () => {
      if (called) return;
      called = true;
      this.#aborting = undefined;
      then();
    };
    this.#aborting = finish;
    this.#decoder.reset();
    const disc = this.#link.disconnect();
    this.#d.stats.bytesSent += disc.length;
    this.#port.send(disc, this.#baud, () => this.#port.wait(DISC_ANSWER_MS, finish), "8N1");
  }

  // ---- sign-on (mode E) and the link ----

  private onSignOnBytes(bytes: Uint8Array): void {
    for (const b of bytes) this.#signOn += String.fromCharCode(b);
    const end = this.#signOn.indexOf("\r\n");
    if (end < 0) {
      if (this.#signOn.length > 40) this.#fail({ code: "malformed", detail: "identification too long" }, true);
      return;
    }
    const text = this.#signOn.slice(this.#signOn.indexOf("/") + 1, end);
    const id = this.#signOn.includes("/") ? parseIdentification(text) : undefined;
    if (!id || id.mode !== "E") return this.#fail({ code: "malformed", detail: `not a mode E identification: ${text}` }, true);
    this.#reactionMs = id.reactionMs;
    const { ackBaudChar, baud } = negotiateModeC(id.baudChar, this.#e.baud);
    const epoch = this.#epoch;
    this.#port.wait(id.reactionMs, () =>
      this.#port.send(encodeOptionSelect("2", ackBaudChar, "2"), INITIAL_BAUD, () => {
        if (epoch !== this.#epoch) return;
        // Both sides switch to the agreed rate, 8N1; the meter needs its reaction time to do so.
        this.#baud = baud;
        this.#port.wait(id.reactionMs, () => this.#connect());
      }, "7E1"),
    );
  }

  #connect(): void {
    this.#phase = "link";
    this.transmit(this.#link.connect());
  }

  private onEvent(e: LinkEvent): void {
    switch (e.kind) {
      case "connected":
        this.#retries = 0;
        return this.associate();
      case "send":
        this.#retries = 0;
        return this.transmit(e.bytes);
      case "apdu":
        this.#retries = 0;
        return this.onApdu(e.apdu);
      case "disconnected":
        if (this.#aborting) return this.#aborting();
        if (this.#phase === "release") return this.done();
        return this.#fail({ code: "link", detail: `disconnected (${e.how}) during ${this.#phase}` }, true);
      case "failed":
        return this.#fail({ code: "link", detail: e.reason }, true);
      case "ignored":
        return; // the time-out recovers
    }
  }

  // ---- association ----

  private associate(): void {
    this.#phase = "associate";
    const s = this.#e.security;
    const initiate = encodeInitiateRequest({ conformance: CLIENT_CONFORMANCE, maxReceivePduSize: this.#e.maxPdu ?? 512 });
    if (s.level === "none") return this.sendApdu(encodeAarq({ context: Context.logicalName, mechanism: Mechanism.none, userInformation: initiate }), false);
    if (s.level === "lls") {
      return this.sendApdu(encodeAarq({ context: Context.logicalName, mechanism: Mechanism.lls, authenticationValue: s.password, userInformation: initiate }), false);
    }
    this.#ctos = new Uint8Array(HLS_CHALLENGE_BYTES);
    this.#d.random.fill(this.#ctos);
    const epoch = this.#epoch;
    this.#port.hold?.();
    sealApdu(this.#d.crypto, s.keys, s.clientSystemTitle, this.#counters().next(), initiate, (ciphered) =>
      this.contained(() => {
        if (epoch !== this.#epoch) return;
        if (!ciphered) return this.#fail({ code: "association-refused", detail: "unusable keys" }, false);
        this.sendApdu(encodeAarq({ context: Context.logicalNameCiphered, mechanism: Mechanism.hlsGmac, systemTitle: s.clientSystemTitle, authenticationValue: this.#ctos, userInformation: ciphered }), false);
      }),
    );
  }

  private onAare(apdu: Uint8Array): void {
    const aare = decodeAare(apdu);
    const s = this.#e.security;
    const accepted = aare.result === AssociationResult.accepted;
    const hlsPending = accepted && aare.diagnostic === UserDiagnostic.authenticationRequired;
    if (!accepted || (s.level === "hls") !== hlsPending) {
      this.#d.stats.refused++;
      return this.#fail({ code: "association-refused", detail: `result ${aare.result}, ${aare.diagnosticSource} diagnostic ${aare.diagnostic}` }, false);
    }
    const info = aare.userInformation;
    if (!info) return this.#fail({ code: "malformed", detail: "AARE without user information" }, true);
    if (s.level !== "hls") return this.onInitiateAnswer(info);
    if (!aare.systemTitle || aare.systemTitle.length !== 8 || !aare.authenticationValue || aare.mechanism !== Mechanism.hlsGmac) {
      return this.#fail({ code: "association-refused", detail: "AARE lacks the server's title or challenge" }, false);
    }
    this.#serverTitle = aare.systemTitle;
    const stoc = aare.authenticationValue;
    this.unwrap(info, (plain) => {
      if (!this.initiated(plain)) return;
      // HLS pass 3: f(StoC) to the current association's reply_to_HLS_authentication.
      const epoch = this.#epoch;
      hlsResponse(this.#d.crypto, s.keys, s.clientSystemTitle, this.#counters().next(), stoc, (f) =>
        this.contained(() => {
          if (epoch !== this.#epoch) return;
          if (!f) return this.#fail({ code: "association-refused", detail: "unusable keys" }, false);
          this.#phase = "hls";
          this.#asked = "action";
          this.#askedCount = 1;
          this.sendApdu(encodeActionNormal(this.nextInvoke(), HLS_REPLY, octets(f)), true);
        }),
      );
    });
  }

  private onInitiateAnswer(plain: Uint8Array): void {
    if (this.initiated(plain)) this.nextRequest(undefined);
  }

  /** True when the user information is an InitiateResponse; otherwise the attempt has failed. */
  private initiated(plain: Uint8Array): boolean {
    const answer = decodeInitiateAnswer(plain);
    if (answer.ok) return true;
    this.#d.stats.refused++;
    this.#fail({ code: "association-refused", detail: `${answer.error.service} error ${answer.error.code}` }, false);
    return false;
  }

  /** HLS pass 4: the meter's f(CtoS) proves it holds the keys. */
  private onHlsAnswer(r: Response): void {
    const s = this.#e.security;
    const f = r.kind === "action" && r.result === 0 && r.data?.ok ? bytesOf(r.data.data) : undefined;
    if (s.level !== "hls" || !f) {
      this.#d.stats.refused++;
      return this.#fail({ code: "association-refused", detail: "HLS authentication refused" }, false);
    }
    const epoch = this.#epoch;
    checkHlsResponse(this.#d.crypto, s.keys, this.#serverTitle!, this.#ctos, f, (ic) => this.contained(() => {
      if (epoch !== this.#epoch) return;
      // f(CtoS) answers this association's fresh challenge, so it cannot be a replay; the APDU that
      // carried it passed the counter check already.
      if (ic === undefined) {
        this.#d.stats.authFailed++;
        return this.#fail({ code: "security", detail: "the meter's f(CtoS) does not authenticate" }, false);
      }
      this.nextRequest(undefined);
    }));
  }

  // ---- requests ----

  private nextRequest(previous: Result | undefined): void {
    this.#phase = "request";
    const request = this.#script.next(previous);
    this.#asked = request?.kind;
    this.#askedCount = request?.kind === "get" ? request.refs.length : 1;
    if (!request) return this.release();
    this.#blocks = [];
    this.#stream = undefined;
    this.#nextBlock = 1;
    const id = this.nextInvoke();
    let apdu: Uint8Array;
    if (request.kind === "get") apdu = request.refs.length === 1 ? encodeGetNormal(id, request.refs[0]!) : encodeGetWithList(id, request.refs);
    else if (request.kind === "set") apdu = encodeSetNormal(id, request.ref, request.value);
    else apdu = encodeActionNormal(id, request.ref, request.parameter);
    this.sendApdu(apdu, this.#e.security.level === "hls");
  }

  private onResponse(r: Response): void {
    const asked = this.#asked;
    if (r.kind === "exception") return this.#fail({ code: "service-error", detail: `exception: state ${r.stateError}, service ${r.serviceError}` }, false);
    if (!asked || r.invokeId !== this.#invoke) return this.#fail({ code: "malformed", detail: "answer to another request" }, true);
    if (r.kind === "get-block") return this.onBlock(r);
    if (r.kind !== asked) return this.#fail({ code: "malformed", detail: `${r.kind} answer to a ${asked} request` }, true);
    if (r.kind === "get" && r.results.length !== this.#askedCount) return this.#fail({ code: "malformed", detail: "result count" }, true);
    this.nextRequest(r.kind === "get" ? { kind: "get", results: r.results } : r.kind === "set" ? { kind: "set", result: r.result } : { kind: "action", result: r.result, data: r.data });
  }

  /** One block of a long GET answer: ask for the next, or put them together at the last. */
  private onBlock(r: Extract<Response, { kind: "get-block" }>): void {
    const count = this.#askedCount;
    if (this.#asked !== "get" || r.block !== this.#nextBlock) return this.#fail({ code: "malformed", detail: `data block ${r.block}, expected ${this.#nextBlock}` }, true);
    if (!r.raw) return this.nextRequest({ kind: "get", results: Array.from({ length: count }, (): GetResult => ({ ok: false, result: r.result })) });
    if (r.block === 1 && count === 1 && ArrayStream.starts(r.raw)) this.#stream = new ArrayStream();
    if (this.#stream) this.#stream.push(r.raw);
    else this.#blocks.push(r.raw);
    if (!r.last) {
      this.#nextBlock++;
      return this.sendApdu(encodeGetNext(this.#invoke, r.block), this.#e.security.level === "hls");
    }
    const results: GetResult[] = this.#stream
      ? [{ ok: true, data: this.#stream.finish() }]
      : count === 1
        ? [{ ok: true, data: decode(concatBytes(this.#blocks)) }]
        : decodeListResults(concatBytes(this.#blocks));
    if (results.length !== count) return this.#fail({ code: "malformed", detail: "result count" }, true);
    this.nextRequest({ kind: "get", results });
  }

  private release(): void {
    this.#phase = "release";
    this.transmit(this.#link.disconnect());
  }

  private done(): void {
    this.#phase = "done";
    this.#port.succeed(this.#script.result());
  }

  // ---- APDUs in and out ----

  private sendApdu(plain: Uint8Array, cipher: boolean): void {
    const s = this.#e.security;
    if (!cipher || s.level !== "hls") return this.transmit(this.#link.send(plain));
    const epoch = this.#epoch;
    this.#port.hold?.();
    sealApdu(this.#d.crypto, s.keys, s.clientSystemTitle, this.#counters().next(), plain, (ciphered) =>
      this.contained(() => {
        if (epoch !== this.#epoch) return;
        if (!ciphered) return this.#fail({ code: "security", detail: "unusable keys" }, false);
        this.transmit(this.#link.send(ciphered));
      }),
    );
  }

  private onApdu(apdu: Uint8Array): void {
    try {
      if (this.#phase === "associate") return this.onAare(apdu);
      if (this.#e.security.level === "hls" && !isCiphered(apdu) && apdu[0] !== ApduTag.exceptionResponse) {
        this.#d.stats.authFailed++;
        return this.#fail({ code: "security", detail: "an unciphered answer in a ciphered association" }, false);
      }
      this.unwrap(apdu, (plain) => this.handle(plain));
    } catch (e) {
      this.malformed(e);
    }
  }

  private handle(plain: Uint8Array): void {
    try {
      const r = decodeResponse(plain);
      if (this.#phase === "hls") return this.onHlsAnswer(r);
      this.onResponse(r);
    } catch (e) {
      this.malformed(e);
    }
  }

  /** The plain APDU of an answer: deciphered (tag, then counter checked) when ciphered. */
  private unwrap(apdu: Uint8Array, then: (plain: Uint8Array) => void): void {
    const s = this.#e.security;
    if (!isCiphered(apdu)) return then(apdu);
    if (s.level !== "hls" || !this.#serverTitle) {
      this.#d.stats.authFailed++;
      return this.#fail({ code: "security", detail: "a ciphered answer without keys" }, false);
    }
    const parts = parseCiphered(apdu);
    const epoch = this.#epoch;
    this.#port.hold?.();
    openApdu(this.#d.crypto, s.keys, this.#serverTitle, parts, (opened) => this.contained(() => {
      if (epoch !== this.#epoch) return;
      if (!opened.ok) {
        this.#d.stats.authFailed++;
        return this.#fail({ code: "security", detail: `answer dropped: ${opened.reason}` }, false);
      }
      if (!this.#counters().acceptServer(parts.ic)) {
        this.#d.stats.replayed++;
        return this.#fail({ code: "security", detail: `answer dropped: invocation counter ${parts.ic} already used` }, false);
      }
      try {
        then(opened.apdu);
      } catch (e) {
        this.malformed(e);
      }
    }));
  }

  private malformed(e: unknown): void {
    if (!(e instanceof DecodeError)) throw e;
    this.#d.stats.parseFailed++;
    this.#fail({ code: "malformed", detail: e.message }, true);
  }

  /**
   * Runs `fn` so that nothing it throws leaves the turn: an error of this code fails the attempt (the
   * bus master retries, the meter is left with DISC). A simulated power loss still unwinds the turn.
   */
  private contained(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof Error && e.name === "PowerLossError") throw e;
      this.#fail({ code: "malformed", detail: `internal: ${e instanceof Error ? e.message : String(e)}` }, true);
    }
  }

  // ---- the wire ----

  private transmit(frame: Uint8Array): void {
    this.#send(frame, this.#baud, "8N1");
  }

  #send(bytes: Uint8Array, baud: number, frame: "8N1" | "7E1"): void {
    this.#d.stats.bytesSent += bytes.length;
    this.#attemptBytes += bytes.length;
    const epoch = this.#epoch;
    this.#port.send(bytes, baud, () => {
      if (epoch === this.#epoch) this.#port.listen();
    }, frame);
  }

  #fail(failure: Failure, retry: boolean): void {
    if (this.#phase === "done") return;
    this.#port.fail(failure, retry);
  }

  private nextInvoke(): number {
    this.#invoke = (this.#invoke % 15) + 1;
    return this.#invoke;
  }

  #counters(): InvocationCounters {
    const c = this.#d.counters;
    if (!c) throw new Error("HLS without invocation counters");
    return c;
  }
}
