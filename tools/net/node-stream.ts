/**
 * Host (Node) implementations of what the uplink runs on, for real brokers: a StreamConnector over
 * node:net (the ByteStream contract of firmware/net/byte-stream.ts), real-time clock and timers,
 * and random bytes from the OS.
 */
import { randomFillSync } from "node:crypto";
import { Socket } from "node:net";
import type { MonotonicClock, TimerId, Timers, WallClock } from "../../hal/clock.js";
import type { RandomSource } from "../../hal/system.js";
import type { ByteStream, ByteStreamCloseReason, ByteStreamHandlers, StreamConnector } from "../../firmware/net/byte-stream.js";

export interface NodeConnectorOptions {
  /** Bytes the socket may buffer before `write` returns false. Default 64 KiB. */
  highWaterBytes?: number;
  /** TCP connect timeout, ms. Default 15,000. */
  connectTimeoutMs?: number;
}

function reasonOf(err: NodeJS.ErrnoException | undefined): ByteStreamCloseReason {
  switch (err?.code) {
    case undefined:
      return "closed";
    case "ECONNREFUSED":
      return "refused";
    case "ETIMEDOUT":
      return "timeout";
    case "ECONNRESET":
    case "EPIPE":
      return "reset";
    default:
      return "network";
  }
}

/** TCP streams over node:net. Callbacks run in their own turn (setImmediate), as the contract asks. */
export class NodeConnector implements StreamConnector {
  readonly #o: Required<NodeConnectorOptions>;
  constructor(o: NodeConnectorOptions = {}) {
    this.#o = { highWaterBytes: 64 * 1024, connectTimeoutMs: 15_000, ...o };
  }

  connect(host: string, port: number, handlers: ByteStreamHandlers): ByteStream {
    const socket = new Socket();
    let closed = false;
    let wantWritable = false;
    let error: NodeJS.ErrnoException | undefined;
    const later = (fn: () => void) =>
      setImmediate(() => {
        if (!closed) fn();
      });
    socket.setNoDelay(true);
    socket.setTimeout(this.#o.connectTimeoutMs, () => {
      error = Object.assign(new Error("timeout"), { code: "ETIMEDOUT" });
      socket.destroy();
    });
    socket.on("connect", () => {
      socket.setTimeout(0);
      later(() => handlers.onConnect());
    });
    socket.on("data", (b: Buffer) => later(() => handlers.onData(new Uint8Array(b))));
    socket.on("drain", () => {
      if (!wantWritable) return;
      wantWritable = false;
      later(() => handlers.onWritable());
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (error = e));
    socket.on("close", () =>
      setImmediate(() => {
        if (closed) return;
        closed = true;
        handlers.onClose(reasonOf(error));
      }),
    );
    socket.connect(port, host);
    const hw = this.#o.highWaterBytes;
    return {
      write(bytes: Uint8Array): boolean {
        if (closed || socket.destroyed || socket.connecting) return false;
        if (socket.writableLength > 0 && socket.writableLength + bytes.length > hw) {
          wantWritable = true;
          return false;
        }
        socket.write(bytes);
        return true;
      },
      close(): void {
        socket.end();
        socket.destroy();
      },
    };
  }
}

/** Real time: a monotonic clock in ms since construction, and timers on setTimeout. */
export class RealTime implements MonotonicClock, Timers {
  readonly #origin = performance.now();
  #next = 1;
  readonly #live = new Map<TimerId, NodeJS.Timeout>();

  now(): number {
    return performance.now() - this.#origin;
  }

  set(callback: () => void, delayMs: number, repeatMs?: number): TimerId {
    const id = this.#next++;
    const fire = () => {
      if (repeatMs === undefined) this.#live.delete(id);
      else this.#live.set(id, setTimeout(fire, repeatMs));
      callback();
    };
    this.#live.set(id, setTimeout(fire, delayMs));
    return id;
  }

  clear(id: TimerId): void {
    clearTimeout(this.#live.get(id));
    this.#live.delete(id);
  }

  /** Clears every timer (a host program shutting down). */
  clearAll(): void {
    for (const t of this.#live.values()) clearTimeout(t);
    this.#live.clear();
  }
}

export class HostWallClock implements WallClock {
  #offset = 0;
  now(): number {
    return Date.now() + this.#offset;
  }
  set(epochMs: number): void {
    this.#offset = epochMs - Date.now();
  }
  get valid(): boolean {
    return true;
  }
}

export const hostRandom: RandomSource = { fill: (bytes) => void randomFillSync(bytes) };
