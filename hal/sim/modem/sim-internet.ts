/**
 * The simulated internet behind the modem's TCP/IP stack: servers listen on "host:port", each byte
 * takes a one-way latency to cross, and a connection to nobody is refused after one round trip.
 * Servers are plain objects (`SimPeer`): an echo server, or whatever a scenario scripts.
 *
 * With a `radio` link, the last hop is a GPRS-like radio link: each direction has its bandwidth, data
 * crosses it as TCP segments, and a segment lost (probability `lossRate`, each transmission on its
 * own) is sent again after TCP's retransmission timeout, doubled at each further loss of it (RFC 6298
 * §5.5); segments are delivered in order, so a loss delays those behind it. `air` counts what the
 * radio carried: segments with their 40 bytes of TCP/IP headers, resent ones too, and a 40-byte ACK
 * every two segments the other way (RFC 1122 §4.2.3.2). A model of TCP's cost, not an implementation
 * of it: no congestion window.
 */
import type { Prng } from "../prng.js";
import type { Scheduler } from "../scheduler.js";
import type { NetCloseReason, NetConnection, NetHandlers, PacketNetwork } from "./packet-network.js";

export interface SimInternetOptions {
  /** One-way delay of every packet, ms. Default 300: GPRS round trips are typically 0.5-1 s. */
  latencyMs?: number;
  /** The radio hop's bandwidth and losses; without it bytes take only the latency. */
  radio?: RadioLinkOptions;
}

export interface RadioLinkOptions {
  /** Bytes per second towards the modem, and from it. */
  downBytesPerSecond: number;
  upBytesPerSecond: number;
  /** Probability that one transmission of a segment is lost, 0..0.9. Default 0. */
  lossRate?: number;
  /** TCP payload per segment, bytes. Default 1,360 (a GPRS MTU of 1,400 less 40 bytes of headers). */
  segmentBytes?: number;
  /** TCP's retransmission timeout at the first loss of a segment, ms. Default 1,500. */
  rtoMs?: number;
  prng: Prng;
}

/** What the radio hop carried, bytes, and how many segments were sent again. */
export interface AirCounters {
  down: number;
  up: number;
  retransmissions: number;
}

const TCP_IP_HEADER_BYTES = 40;

/** One direction of the radio hop: its queue, and the in-order delivery of what crosses it. */
class RadioPipe {
  #busyUntil = 0;
  #lastArrival = 0;

  /** When the last segment sent so far arrives. */
  get lastArrival(): number {
    return this.#lastArrival;
  }
  constructor(
    readonly net: SimInternet,
    readonly radio: RadioLinkOptions,
    readonly bytesPerSecond: number,
    readonly up: boolean,
  ) {}

  /** Sends `bytes` across; `deliver` runs for each segment when it arrives, in order. */
  send(bytes: Uint8Array, deliver: (segment: Uint8Array) => void): void {
    const r = this.radio;
    const s = this.net.scheduler;
    const mss = r.segmentBytes ?? 1360;
    const air = this.net.air;
    for (let at = 0; at < bytes.length; at += mss) {
      const segment = bytes.subarray(at, Math.min(bytes.length, at + mss));
      const wire = segment.length + TCP_IP_HEADER_BYTES;
      const txMs = (wire * 1000) / this.bytesPerSecond;
      let losses = 0;
      while (losses < 8 && r.prng.chance(r.lossRate ?? 0)) losses++;
      let arrival = Math.max(s.now, this.#busyUntil) + txMs + this.net.latencyMs;
      for (let i = 0; i < losses; i++) arrival += (r.rtoMs ?? 1500) * 2 ** i + txMs;
      this.#busyUntil = Math.max(s.now, this.#busyUntil) + txMs * (1 + losses);
      arrival = Math.max(arrival, this.#lastArrival);
      this.#lastArrival = arrival;
      const sent = wire * (1 + losses) + (TCP_IP_HEADER_BYTES * (1 + losses)) / 2; // the segment, and half an ACK the other way
      if (this.up) air.up += sent;
      else air.down += sent;
      air.retransmissions += losses;
      s.at(arrival, () => deliver(segment));
    }
  }
}

/** The server's end of one connection. */
export interface SimPeer {
  readonly remote: string;
  send(bytes: Uint8Array): void;
  /** Closes the connection from the server side ("closed" at the modem). */
  close(): void;
  /** Bytes from the modem. */
  onData?: (bytes: Uint8Array) => void;
  /** The modem side closed. */
  onClose?: () => void;
}

type Accept = (peer: SimPeer) => void;

/** The server's end of a link. */
class PeerEnd implements SimPeer {
  onData?: (bytes: Uint8Array) => void;
  onClose?: () => void;
  constructor(readonly link: Link) {}
  get remote(): string {
    return this.link.remote;
  }
  send(bytes: Uint8Array): void {
    this.link.peerSend(bytes);
  }
  close(): void {
    this.link.peerClose("closed");
  }
}

/** One connection: the modem's end is the link itself, the server's end is `peer`. */
class Link implements NetConnection {
  readonly peer: PeerEnd = new PeerEnd(this);
  readonly #up: RadioPipe | undefined;
  readonly #down: RadioPipe | undefined;
  ended = false;
  paused = false;
  /** The server closed (or the network failed): delivered once the bytes before it are. */
  closing: NetCloseReason | undefined;
  /** Bytes that reached the modem while it was paused. */
  readonly held: Uint8Array[] = [];

  constructor(
    readonly net: SimInternet,
    readonly handlers: NetHandlers,
    readonly remote: string,
  ) {
    const radio = net.radio;
    this.#up = radio && new RadioPipe(net, radio, radio.upBytesPerSecond, true);
    this.#down = radio && new RadioPipe(net, radio, radio.downBytesPerSecond, false);
  }

  send(bytes: Uint8Array): void {
    if (this.ended) return;
    const copy = bytes.slice();
    if (this.#up) this.#up.send(copy, (segment) => !this.ended && this.peer.onData?.(segment));
    else this.net.later(() => !this.ended && this.peer.onData?.(copy));
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.net.forget(this);
    this.net.later(() => this.peer.onClose?.());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.net.scheduler.after(0, () => this.#flush());
  }

  peerSend(bytes: Uint8Array): void {
    if (this.ended || this.closing) return;
    const copy = bytes.slice();
    const arrive = (segment: Uint8Array) => {
      if (this.ended) return;
      this.held.push(segment);
      this.#flush();
    };
    if (this.#down) this.#down.send(copy, arrive);
    else this.net.later(() => arrive(copy));
  }

  /** The server closes: bytes it sent before still arrive first, as TCP delivers them before the FIN. */
  peerClose(reason: NetCloseReason): void {
    if (this.ended || this.closing) return;
    this.closing = reason;
    const s = this.net.scheduler;
    s.at(Math.max(s.now + this.net.latencyMs, this.#down?.lastArrival ?? 0), () => this.#flush());
  }

  #flush(): void {
    while (!this.paused && !this.ended && this.held.length) this.handlers.onData(this.held.shift()!);
    if (this.closing && !this.ended && this.held.length === 0) {
      this.ended = true;
      this.net.forget(this);
      this.handlers.onClose(this.closing);
    }
  }
}

export class SimInternet implements PacketNetwork {
  readonly scheduler: Scheduler;
  readonly latencyMs: number;
  readonly radio: RadioLinkOptions | undefined;
  readonly air: AirCounters = { down: 0, up: 0, retransmissions: 0 };
  readonly #servers = new Map<string, Accept>();
  readonly #links = new Set<Link>();
  /** Connections opened since the start. */
  connections = 0;

  constructor(scheduler: Scheduler, options: SimInternetOptions = {}) {
    this.scheduler = scheduler;
    this.latencyMs = options.latencyMs ?? 300;
    this.radio = options.radio;
  }

  /** Accepts connections to host:port; `accept` gets each new connection's server end. */
  listen(host: string, port: number, accept: Accept): void {
    this.#servers.set(`${host}:${port}`, accept);
  }

  unlisten(host: string, port: number): void {
    this.#servers.delete(`${host}:${port}`);
  }

  /** Open connections. */
  get open(): number {
    return this.#links.size;
  }

  connect(host: string, port: number, handlers: NetHandlers): NetConnection {
    const link = new Link(this, handlers, `${host}:${port}`);
    // SYN there and SYN-ACK back: one round trip either way.
    this.scheduler.after(2 * this.latencyMs, () => {
      const accept = this.#servers.get(link.remote);
      if (link.ended) return;
      if (!accept) {
        link.ended = true;
        handlers.onClose("refused");
        return;
      }
      this.connections++;
      this.#links.add(link);
      accept(link.peer);
      handlers.onOpen();
    });
    return link;
  }

  /** Every server closes its connections (an orderly close: "closed" at the modem). */
  closeAll(): void {
    for (const link of [...this.#links]) link.peerClose("closed");
  }

  /** Every open connection fails at once (a core-network outage): "reset" at the modem. */
  resetAll(): void {
    for (const link of [...this.#links]) link.peerClose("reset");
  }

  /** @internal */
  later(fn: () => void): void {
    this.scheduler.after(this.latencyMs, fn);
  }

  /** @internal */
  forget(link: Link): void {
    this.#links.delete(link);
  }
}

/** A server that sends back whatever it receives. */
export function echoServer(peer: SimPeer): void {
  peer.onData = (bytes) => peer.send(bytes);
}
