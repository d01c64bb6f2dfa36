/**
 * The simulated internet behind the modem's TCP/IP stack: servers listen on "host:port", each byte
 * takes a one-way latency to cross, and a connection to nobody is refused after one round trip.
 * Servers are plain objects (`SimPeer`): an echo server, or whatever a scenario scripts.
 */
import type { Scheduler } from "../scheduler.js";
import type { NetCloseReason, NetConnection, NetHandlers, PacketNetwork } from "./packet-network.js";

export interface SimInternetOptions {
  /** One-way delay of every packet, ms. Default 300: GPRS round trips are typically 0.5-1 s. */
  latencyMs?: number;
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
  ) {}

  send(bytes: Uint8Array): void {
    if (this.ended) return;
    const copy = bytes.slice();
    this.net.later(() => !this.ended && this.peer.onData?.(copy));
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
    this.net.later(() => {
      if (this.ended) return;
      this.held.push(copy);
      this.#flush();
    });
  }

  /** The server closes: bytes it sent before still arrive first, as TCP delivers them before the FIN. */
  peerClose(reason: NetCloseReason): void {
    if (this.ended || this.closing) return;
    this.closing = reason;
    this.net.later(() => this.#flush());
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
  readonly #servers = new Map<string, Accept>();
  readonly #links = new Set<Link>();
  /** Connections opened since the start. */
  connections = 0;

  constructor(scheduler: Scheduler, options: SimInternetOptions = {}) {
    this.scheduler = scheduler;
    this.latencyMs = options.latencyMs ?? 300;
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
