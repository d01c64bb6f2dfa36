/**
 * What the modem emulator's TCP/IP stack reaches: "open a TCP connection to host:port and exchange
 * bytes". Two implementations: `SimInternet` (simulated endpoints, pure ECMAScript, runs in XS) and
 * tools/net/node-packet-network.ts (real sockets on loopback, in Node).
 *
 * Contract for implementers:
 * - `connect` returns at once. The outcome comes later, exactly once: `onOpen`, or `onClose` with the
 *   reason the connection could not be made ("refused", "unreachable", "timeout").
 * - After `onOpen`, `onData` delivers the peer's bytes in order; `onClose` ends the connection exactly
 *   once ("closed": the peer closed; "reset": it failed), and nothing follows it.
 * - `send` queues bytes for the peer (TCP buffers them; the emulator enforces the modem's own limits).
 *   `close` closes our side; no callback follows it.
 * - `pause` stops `onData` until `resume` (the modem's receive buffer is full: TCP flow control).
 * - Every callback runs as its own scheduler event (in Node: delivered into the scheduler at the current
 *   virtual time), never inside `connect`, `send`, `close`, `pause` or `resume`.
 */

export type NetCloseReason = "closed" | "reset" | "refused" | "unreachable" | "timeout";

export interface NetHandlers {
  onOpen(): void;
  onData(bytes: Uint8Array): void;
  onClose(reason: NetCloseReason): void;
}

export interface NetConnection {
  send(bytes: Uint8Array): void;
  close(): void;
  pause(): void;
  resume(): void;
}

export interface PacketNetwork {
  connect(host: string, port: number, handlers: NetHandlers): NetConnection;
}
