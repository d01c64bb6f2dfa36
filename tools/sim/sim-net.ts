/**
 * A simulated IP network on the simulation scheduler: TCP-like byte streams (the ByteStream contract
 * of firmware/net/byte-stream.ts) between clients and listening servers, with a one-way latency and
 * a bandwidth per direction (GPRS: hundreds of ms, a few kB/s), outages, and power domains.
 *
 * Pure ECMAScript: it runs in the XS scenarios too.
 */
import type { PowerDomain } from "../../hal/sim/power-domain.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import type { ByteStream, ByteStreamCloseReason, ByteStreamHandlers, StreamConnector } from "../../firmware/net/byte-stream.js";

export interface SimNetworkOptions {
  /** One-way latency, ms. Default 300 (GPRS). */
  latencyMs?: number;
  /** Bytes per second in each direction of each stream. Default 4,000 (≈ 32 kbit/s GPRS uplink). */
  bytesPerSecond?: number;
  /** Bytes a stream accepts before `write` returns false. Default 4,096. */
  sendBufferBytes?: number;
}

export type Accept = (stream: ByteStream) => ByteStreamHandlers;

export interface NetCounters {
  connects: number;
  refused: number;
  bytes: number;
}

/** One direction of a stream: serialisation at the bandwidth, then delivery after the latency. */
class Endpoint implements ByteStream {
  handlers: ByteStreamHandlers | undefined;
  peer!: Endpoint;
  open = true;
  /** Lost under its owner (reset, outage, power): bytes in flight are lost too; a close() keeps them. */
  reset = false;
  #busyUntil = 0;
  #queued = 0;
  #wantWritable = false;

  constructor(
    readonly net: SimNetwork,
    readonly domain: PowerDomain | undefined,
  ) {}

  write(bytes: Uint8Array): boolean {
    if (!this.open) return false;
    if (this.#queued > 0 && this.#queued + bytes.length > this.net.sendBufferBytes) {
      this.#wantWritable = true;
      return false;
    }
    const s = this.net.scheduler;
    const copy = bytes.slice();
    this.#queued += copy.length;
    const start = Math.max(s.now, this.#busyUntil);
    const sent = (this.#busyUntil = start + (copy.length * 1000) / this.net.bytesPerSecond);
    this.net.counters.bytes += copy.length;
    s.at(sent, () => {
      this.#queued -= copy.length;
      if (this.#wantWritable && this.#queued <= this.net.sendBufferBytes / 2 && this.open) {
        this.#wantWritable = false;
        this.call(() => this.handlers?.onWritable());
      }
    });
    s.at(sent + this.net.latencyMs, () => {
      if (!this.reset && this.peer.open) this.peer.call(() => this.peer.handlers?.onData(copy));
    });
    return true;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.call(() => this.handlers?.onClose("closed"), true);
    // The peer learns of it after the bytes already in flight.
    const s = this.net.scheduler;
    s.at(Math.max(s.now, this.#busyUntil) + this.net.latencyMs, () => this.peer.lose("closed"));
  }

  /** The connection is gone under this end (reset, outage, peer power loss). */
  lose(reason: ByteStreamCloseReason): void {
    this.reset = true;
    if (!this.open) return;
    this.open = false;
    this.call(() => this.handlers?.onClose(reason), true);
  }

  /** Runs a callback in its own turn, on this end's circuit (dropped if it lost power). */
  call(fn: () => void, evenIfClosed = false): void {
    const run = () => {
      if (this.open || evenIfClosed) fn();
    };
    if (this.domain) this.domain.after(0, run);
    else this.net.scheduler.after(0, run);
  }
}

export class SimNetwork {
  readonly scheduler: Scheduler;
  readonly latencyMs: number;
  readonly bytesPerSecond: number;
  readonly sendBufferBytes: number;
  readonly counters: NetCounters = { connects: 0, refused: 0, bytes: 0 };
  readonly #listeners = new Map<string, Accept>();
  #streams: Endpoint[] = [];
  #down = false;

  constructor(scheduler: Scheduler, o: SimNetworkOptions = {}) {
    this.scheduler = scheduler;
    this.latencyMs = o.latencyMs ?? 300;
    this.bytesPerSecond = o.bytesPerSecond ?? 4_000;
    this.sendBufferBytes = o.sendBufferBytes ?? 4_096;
  }

  /** A server at host:port; `accept` gives the handlers of each new server-side stream. */
  listen(host: string, port: number, accept: Accept): void {
    this.#listeners.set(`${host}:${port}`, accept);
  }

  /** Stops listening (connections are refused); open streams stay. */
  unlisten(host: string, port: number): void {
    this.#listeners.delete(`${host}:${port}`);
  }

  /** A connector whose streams belong to `domain` (a board): a power cut there drops them. */
  connector(domain?: PowerDomain): StreamConnector {
    domain?.onPowerOff(() => {
      for (const e of this.#streams) {
        if (e.domain === domain && e.open) {
          e.open = false;
          e.reset = true;
          this.scheduler.after(this.latencyMs * 4, () => e.peer.lose("reset"));
        }
      }
      this.#prune();
    });
    return { connect: (host, port, handlers) => this.#connect(domain, host, port, handlers) };
  }

  /** A network outage (GPRS bearer lost): every stream drops; connections fail until `restore`. */
  cut(): void {
    this.#down = true;
    for (const e of this.#streams) e.lose("network");
    this.#prune();
  }

  restore(): void {
    this.#down = false;
  }

  get down(): boolean {
    return this.#down;
  }

  #connect(domain: PowerDomain | undefined, host: string, port: number, handlers: ByteStreamHandlers): ByteStream {
    const client = new Endpoint(this, domain);
    client.handlers = handlers;
    const server = new Endpoint(this, undefined);
    client.peer = server;
    server.peer = client;
    this.scheduler.after(this.latencyMs, () => {
      if (!client.open) return;
      const accept = this.#listeners.get(`${host}:${port}`);
      if (this.#down || !accept) {
        this.counters.refused++;
        server.open = false;
        this.scheduler.after(this.latencyMs, () => client.lose(this.#down ? "network" : "refused"));
        return;
      }
      this.counters.connects++;
      server.handlers = accept(server);
      this.#prune();
      this.#streams.push(client, server);
      this.scheduler.after(this.latencyMs, () => {
        if (client.open) client.call(() => handlers.onConnect());
      });
    });
    return client;
  }

  #prune(): void {
    this.#streams = this.#streams.filter((e) => e.open);
  }
}
