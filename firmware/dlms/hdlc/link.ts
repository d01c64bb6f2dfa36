/**
 * The client (primary station) side of an HDLC link in normal response mode, as DLMS/COSEM uses it on
 * a multi-drop bus (IEC 62056-46): SNRM/UA with parameter negotiation, I-frames numbered modulo 8,
 * segmentation of long APDUs in both directions (the S bit; each segment polled, acknowledged with RR),
 * DISC/UA or DM, and retransmission on a time-out.
 *
 * Sans I/O: the caller feeds received frames and time-outs in, and gets frames to send and events out.
 * Timing and retries belong to the caller (firmware/dlms/client).
 *
 * Recovery rules (the primary polls, the secondary only answers):
 * - Nothing came back: send the last frame again (an I-frame keeps its N(S); a server that had taken
 *   it answers again), at most the caller's retries.
 * - An I-frame whose N(S) is the one before V(R) is the server's answer to a poll it already answered
 *   (our RR was lost): ignored, our RR is sent again. Any other N(S) or N(R) out of sequence is ignored
 *   and counted; the caller's time-out resends the poll.
 * - Frames not from this server to this client (another meter on the bus) are ignored and counted.
 */
import { encodeClient, encodeServer, readAddress, sameServer, serverFromGroups, type ServerAddress } from "./address.js";
import { concatBytes, sameBytes } from "../../store/bytes.js";
import { encodeFrame, unnumbered, type Frame } from "./frame.js";
import { decodeParameters, DEFAULT_PARAMETERS, encodeParameters, negotiate, type LinkParameters } from "./parameters.js";
import { frozen } from "../../model/frozen.js";

/** LLC header of an APDU from the client (IEC 62056-46 §8.2: destination LSAP 0xE6, source LSAP 0xE6 command, quality 0). */
const LLC_REQUEST = frozen([0xe6, 0xe6, 0x00]);
/** … and of one from the server (source LSAP 0xE7: response). */
const LLC_RESPONSE = frozen([0xe6, 0xe7, 0x00]);

export type LinkState = "idle" | "connecting" | "connected" | "sending" | "receiving" | "disconnecting" | "closed";

export type LinkEvent =
  | { readonly kind: "connected"; readonly parameters: LinkParameters }
  /** A frame the caller must send now (the next segment, or an RR asking for the next one). */
  | { readonly kind: "send"; readonly bytes: Uint8Array }
  | { readonly kind: "apdu"; readonly apdu: Uint8Array }
  | { readonly kind: "disconnected"; readonly how: "ua" | "dm" }
  /** Not for us, a duplicate, or out of sequence: nothing to do (the time-out recovers). */
  | { readonly kind: "ignored"; readonly reason: "foreign" | "duplicate" | "sequence" | "unexpected" }
  /** The server refused the connection (DM to SNRM), rejected a frame (FRMR), or broke the protocol. */
  | { readonly kind: "failed"; readonly reason: string };

export interface LinkOptions {
  clientSap: number;
  server: ServerAddress;
  /** What this client proposes in its SNRM. Default: the HDLC defaults (128 bytes, window 1). */
  proposed?: LinkParameters;
  /** Longest APDU accepted from the server, bytes. Default 4096. */
  maxApdu?: number;
}

export class HdlcClientLink {
  readonly #client: Uint8Array;
  readonly #server: Uint8Array;
  readonly #serverAddress: ServerAddress;
  readonly #proposed: LinkParameters;
  readonly #maxApdu: number;
  #state: LinkState = "idle";
  #params: LinkParameters = DEFAULT_PARAMETERS;
  #vs = 0;
  #vr = 0;
  /** The last frame sent: what a time-out sends again. */
  #last: Uint8Array = new Uint8Array(0);
  /** Segments of the APDU being sent, the next one to send. */
  #segments: Uint8Array[] = [];
  #segment = 0;
  /** The APDU being received. */
  #rx: Uint8Array[] = [];
  #rxLength = 0;
  readonly counters = { framesSent: 0, framesReceived: 0, retransmissions: 0, foreign: 0, duplicates: 0, outOfSequence: 0 };

  constructor(o: LinkOptions) {
    this.#client = encodeClient(o.clientSap);
    this.#server = encodeServer(o.server);
    this.#serverAddress = o.server;
    this.#proposed = o.proposed ?? DEFAULT_PARAMETERS;
    this.#maxApdu = o.maxApdu ?? 4096;
  }

  get state(): LinkState {
    return this.#state;
  }

  get parameters(): LinkParameters {
    return this.#params;
  }

  /** The SNRM that opens the link (sequence numbers restart). */
  connect(): Uint8Array {
    this.#state = "connecting";
    return this.emit(encodeFrame(unnumbered("SNRM", this.#server, this.#client, encodeParameters(this.#proposed))));
  }

  /** The first I-frame of `apdu` (LLC header added); the rest follow the server's RRs as "send" events. */
  send(apdu: Uint8Array): Uint8Array {
    if (this.#state !== "connected") throw new Error(`link ${this.#state}`);
    const whole = new Uint8Array(apdu.length + 3);
    whole.set(LLC_REQUEST);
    whole.set(apdu, 3);
    const size = this.#params.maxInfoTransmit;
    this.#segments = [];
    for (let at = 0; at < whole.length; at += size) this.#segments.push(whole.subarray(at, Math.min(whole.length, at + size)));
    this.#segment = 0;
    this.#rx = [];
    this.#rxLength = 0;
    this.#state = "sending";
    return this.nextSegment();
  }

  /** The DISC that closes the link. */
  disconnect(): Uint8Array {
    this.#state = "disconnecting";
    return this.emit(encodeFrame(unnumbered("DISC", this.#server, this.#client)));
  }

  /** What to send after a time-out: the last frame again. */
  retransmit(): Uint8Array {
    this.counters.retransmissions++;
    this.counters.framesSent++;
    return this.#last;
  }

  /** A frame received from the bus. */
  receive(f: Frame): LinkEvent {
    const src = readAddress(f.source, 0, f.source.length);
    if (!sameBytes(f.destination, this.#client) || !src || !sameServer(serverFromGroups(src.groups), this.#serverAddress)) {
      this.counters.foreign++;
      return { kind: "ignored", reason: "foreign" };
    }
    this.counters.framesReceived++;
    if (f.kind === "FRMR") return this.fail("frame rejected (FRMR)");
    switch (this.#state) {
      case "connecting":
        if (f.kind === "UA") {
          const ua = decodeParameters(f.info);
          if (!ua) return this.fail("malformed UA parameters");
          this.#params = negotiate(this.#proposed, ua);
          this.#vs = this.#vr = 0;
          this.#state = "connected";
          return { kind: "connected", parameters: this.#params };
        }
        if (f.kind === "DM") return this.fail("connection refused (DM)");
        break;
      case "disconnecting":
        if (f.kind === "UA" || f.kind === "DM") {
          this.#state = "closed";
          return { kind: "disconnected", how: f.kind === "UA" ? "ua" : "dm" };
        }
        break;
      case "sending":
      case "receiving":
        if (f.kind === "DM") {
          this.#state = "closed";
          return { kind: "disconnected", how: "dm" };
        }
        if (f.kind === "RR" && this.#state === "sending" && this.#segment < this.#segments.length) {
          if (f.receiveSeq !== this.#vs) return this.#outOfSequence();
          return { kind: "send", bytes: this.nextSegment() };
        }
        if (f.kind === "I") return this.onI(f);
        break;
    }
    return { kind: "ignored", reason: "unexpected" };
  }

  private onI(f: Frame): LinkEvent {
    if (f.sendSeq === ((this.#vr + 7) & 7) && this.#state === "receiving") {
      this.counters.duplicates++;
      return { kind: "ignored", reason: "duplicate" };
    }
    if (f.sendSeq !== this.#vr || f.receiveSeq !== this.#vs || (this.#state === "sending" && this.#segment < this.#segments.length)) return this.#outOfSequence();
    this.#vr = (this.#vr + 1) & 7;
    this.#state = "receiving";
    this.#rx.push(f.info);
    this.#rxLength += f.info.length;
    if (this.#rxLength > this.#maxApdu + 3) return this.fail("APDU too long");
    if (f.segmented) {
      if (!f.pollFinal) return { kind: "ignored", reason: "unexpected" }; // more frames of the window follow
      return { kind: "send", bytes: this.emit(encodeFrame({ kind: "RR", destination: this.#server, source: this.#client, pollFinal: true, sendSeq: 0, receiveSeq: this.#vr, segmented: false, info: new Uint8Array(0) })) };
    }
    const whole = concatBytes(this.#rx);
    this.#rx = [];
    this.#rxLength = 0;
    this.#state = "connected";
    if (whole.length < 3 || whole[0] !== LLC_RESPONSE[0] || whole[1] !== LLC_RESPONSE[1] || whole[2] !== LLC_RESPONSE[2]) return this.fail("no LLC header");
    return { kind: "apdu", apdu: whole.subarray(3) };
  }

  private nextSegment(): Uint8Array {
    const info = this.#segments[this.#segment++]!;
    const more = this.#segment < this.#segments.length;
    const frame = encodeFrame({ kind: "I", destination: this.#server, source: this.#client, pollFinal: true, sendSeq: this.#vs, receiveSeq: this.#vr, segmented: more, info });
    this.#vs = (this.#vs + 1) & 7;
    return this.emit(frame);
  }

  #outOfSequence(): LinkEvent {
    this.counters.outOfSequence++;
    return { kind: "ignored", reason: "sequence" };
  }

  private fail(reason: string): LinkEvent {
    this.#state = "closed";
    return { kind: "failed", reason };
  }

  private emit(bytes: Uint8Array): Uint8Array {
    this.counters.framesSent++;
    this.#last = bytes;
    return bytes;
  }
}
