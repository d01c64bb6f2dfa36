/**
 * A reliable, ordered byte stream to a host: what the uplink (MQTT) needs from the modem driver's TCP
 * socket (AT+CIPSTART/CIPSEND on SIM800, AT+QIOPEN/QISEND on Quectel), and what a simulated or test
 * endpoint provides.
 *
 * Contract:
 * - `connect` returns at once; the outcome arrives later, exactly once, as `onConnect` or `onClose`.
 * - `write` is all-or-nothing: false (nothing queued) when the socket cannot take the bytes now;
 *   `onWritable` follows when it can. Bytes accepted by `write` are sent in order, but acceptance is
 *   not delivery: only an application-level acknowledgement proves the peer has them.
 * - `onData` delivers bytes in order, in chunks of any size.
 * - `onClose(reason)` runs exactly once per stream, after which no callback runs; `close()` by the
 *   owner also ends with `onClose("closed")`. Reasons are short words: "closed", "refused",
 *   "timeout", "reset", "network" (bearer lost), "modem" (modem restarted).
 * - All callbacks run in their own event-loop turn, never inside `connect`, `write` or `close`.
 */
export interface ByteStreamHandlers {
  onConnect(): void;
  onData(bytes: Uint8Array): void;
  onWritable(): void;
  onClose(reason: ByteStreamCloseReason): void;
}

export type ByteStreamCloseReason = "closed" | "refused" | "timeout" | "reset" | "network" | "modem";

export interface ByteStream {
  write(bytes: Uint8Array): boolean;
  close(): void;
}

export interface StreamConnector {
  connect(host: string, port: number, handlers: ByteStreamHandlers): ByteStream;
}
