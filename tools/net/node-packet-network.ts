/**
 * The modem emulator's network on real TCP sockets (node:net): with it, the simulated concentrator's
 * modem connects to real servers on this host (an MQTT broker, the head-end, a test's echo server).
 * Every socket event enters the simulation through the runner (`deliver`), at the current virtual time;
 * the runner paces virtual time against real time while a socket is open or connecting (`busy`).
 *
 * Implements the PacketNetwork contract of hal/sim/modem/packet-network.ts.
 */
import { connect as tcpConnect, type Socket } from "node:net";
import type { NetCloseReason, NetConnection, NetHandlers, PacketNetwork } from "../../hal/sim/modem/packet-network.js";
import type { RealIo, RealTimeRunner } from "./realtime-runner.js";

export interface NodePacketNetworkOptions {
  /** Host names the simulation uses, mapped to real addresses ("broker.test" → "127.0.0.1"). */
  hosts?: Record<string, string>;
  /** A connection attempt that takes longer fails with "timeout", real ms. Default 10 000. */
  connectTimeoutMs?: number;
}

/** node:net error codes, as the emulator's stack would report them. */
function reasonOf(code: string | undefined, opened: boolean): NetCloseReason {
  switch (code) {
    case "ECONNREFUSED":
      return "refused";
    case "ETIMEDOUT":
      return "timeout";
    case "ENOTFOUND":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EAI_AGAIN":
      return "unreachable";
    case undefined:
      return opened ? "closed" : "refused";
    default:
      return "reset";
  }
}

export class NodePacketNetwork implements PacketNetwork, RealIo {
  readonly #runner: RealTimeRunner;
  readonly #hosts: Record<string, string>;
  readonly #connectTimeoutMs: number;
  readonly #sockets = new Set<Socket>();
  /** Connections opened since the start. */
  connections = 0;

  constructor(runner: RealTimeRunner, options: NodePacketNetworkOptions = {}) {
    this.#runner = runner;
    this.#hosts = options.hosts ?? {};
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    runner.watch(this);
  }

  get busy(): boolean {
    return this.#sockets.size > 0;
  }

  connect(host: string, port: number, handlers: NetHandlers): NetConnection {
    const socket = tcpConnect({ host: this.#hosts[host] ?? host, port, noDelay: true, timeout: this.#connectTimeoutMs });
    this.#sockets.add(socket);
    let opened = false;
    let ours = true; // false once the emulator closed its side: no callback follows close()
    let errorCode: string | undefined;
    const deliver = (fn: () => void) => this.#runner.deliver(() => ours && fn());
    socket.on("connect", () => {
      opened = true;
      this.connections++;
      socket.setTimeout(0);
      deliver(() => handlers.onOpen());
    });
    socket.on("timeout", () => {
      errorCode = "ETIMEDOUT";
      socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.byteLength);
      bytes.set(chunk);
      deliver(() => handlers.onData(bytes));
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      errorCode ??= e.code ?? "EIO";
    });
    socket.on("close", () => {
      this.#sockets.delete(socket);
      const reason = reasonOf(errorCode, opened);
      deliver(() => {
        ours = false;
        handlers.onClose(reason);
      });
    });
    return {
      send: (bytes) => {
        if (ours && !socket.destroyed) socket.write(Uint8Array.from(bytes));
      },
      close: () => {
        ours = false;
        socket.end();
      },
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    };
  }

  /** Closes every socket at once (end of a test). */
  destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
  }
}
