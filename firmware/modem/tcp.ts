/**
 * TCP sockets over the modem's own TCP/IP stack, as the `StreamConnector` / `ByteStream` contract of
 * firmware/net/byte-stream.ts describes them.
 *
 * A socket's life:
 *
 *   waiting ──modem ready, a link id free──▶ opening ──"CONNECT OK" / "+QIOPEN: n,0"──▶ open
 *      │                                        │                                        │
 *      └─ connectWaitMs ─▶ closed("network")    └─ fail / openTimeout ─▶ closed(reason)  └─▶ closed(reason)
 *
 * - `connect` never waits: the socket waits for the modem (bring-up, recovery) for `connectWaitMs`.
 * - `write` copies into a fixed send buffer; one send command per socket is in flight, at most the
 *   stack's send size (1460 bytes), and the engine feeds it to the UART in FIFO-sized chunks. Bytes
 *   the modem did not take ("DATA ACCEPT" with fewer bytes, Quectel "SEND FAIL") are sent again.
 * - Received data is read when the modem announces it and handed to `onData` as it comes off the UART.
 * - Close reasons: "closed" (owner or peer), "refused" (connect failed), "timeout" (no answer from the
 *   stack), "reset" (the stack reported the connection failed: SEND FAIL on SIM800, ERROR on a send),
 *   "network" (PDP context or registration lost, or the modem gave up), "modem" (the modem restarted).
 */
import type { TimerId, Timers } from "../../hal/clock.js";
import type { ByteStream, ByteStreamCloseReason, ByteStreamHandlers, StreamConnector } from "../net/byte-stream.js";
import type { AtEngine } from "./at/engine.js";
import { isValidHost, type Dialect, type ModemEvent } from "./drivers/dialect.js";

export interface TcpOptions {
  /** Sockets open at the same time (also bounded by the stack's link ids). Default 2. */
  maxSockets?: number;
  /** Bytes a socket buffers between `write` and the modem, per socket. Default 2048. */
  sendBufferBytes?: number;
  /** How long `connect` waits for the modem to be ready before giving up with "network", ms. Default 180 s
   * (a full bring-up with a power cycle: boot, 20 s SIM, 60 s registration, attach and PDP). */
  connectWaitMs?: number;
  /**
   * Bytes asked for per read command (AT+CIPRXGET=2 / AT+QIRD), at most the stack's maximum (SIM800
   * 1460, BG96 1500). Default that maximum. A small read keeps the whole answer inside the UART's
   * 128-byte receive FIFO (64 bytes of data and ≤ 34 of framing), so that no turn of the application,
   * however long, can lose modem bytes: the ESP32 port has no software buffer (docs/modem.md).
   */
  readChunkBytes?: number;
}

export interface TcpCounters {
  opened: number;
  openFailures: number;
  remoteCloses: number;
  bytesSent: number;
  bytesReceived: number;
  partialSends: number;
  sendRetries: number;
  sendFailures: number;
  handlerErrors: number;
}

/** What the sockets need from the modem manager. */
export interface TcpHost {
  readonly engine: AtEngine;
  readonly dialect: Dialect;
  readonly timers: Timers;
  /** True while the PDP context is up. */
  readonly ready: boolean;
  /** An open was refused and the context turned out to be down: rebuild it. */
  packetFault(): void;
  /** A send found the modem silent (no prompt, no result). */
  suspectUnresponsive(): void;
  /** An open got no outcome from the stack in time (its URCs may be lost), or one succeeded. */
  openOutcome(timedOut: boolean): void;
}

type SocketState = "waiting" | "opening" | "open" | "closed";

/** Quectel SEND FAIL (buffer full) is retried this many times, `sendRetryMs` apart (ours). */
const MAX_SEND_RETRIES = 10;
/** A read that failed (garbled answer, timeout) is repeated this many times before the data is left (ours). */
const MAX_READ_RETRIES = 3;

class ModemSocket implements ByteStream {
  state: SocketState = "waiting";
  id = -1;
  readonly tx: Uint8Array;
  txStart = 0;
  txEnd = 0;
  /** Bytes of the send command in flight (0: none). */
  inFlight = 0;
  wantWritable = false;
  dataWaiting = false;
  reading = false;
  remoteClosed = false;
  openRetried = false;
  sendRetries = 0;
  readFailures = 0;
  timer: TimerId | undefined;
  retryTimer: TimerId | undefined;
  finished = false;

  constructor(
    readonly owner: ModemTcp,
    readonly host: string,
    readonly port: number,
    readonly handlers: ByteStreamHandlers,
    bufferBytes: number,
  ) {
    this.tx = new Uint8Array(bufferBytes);
  }

  write(bytes: Uint8Array): boolean {
    return this.owner.write(this, bytes);
  }

  close(): void {
    this.owner.close(this);
  }
}

/** A link id that is being closed: reserved until the close command has answered. */
const CLOSING = "closing";

export class ModemTcp implements StreamConnector {
  readonly counters: TcpCounters = {
    opened: 0,
    openFailures: 0,
    remoteCloses: 0,
    bytesSent: 0,
    bytesReceived: 0,
    partialSends: 0,
    sendRetries: 0,
    sendFailures: 0,
    handlerErrors: 0,
  };
  readonly #host: TcpHost;
  readonly #bufferBytes: number;
  readonly #connectWaitMs: number;
  readonly #readBytes: number;
  readonly #links: Array<ModemSocket | typeof CLOSING | undefined>;
  readonly #waiting: ModemSocket[] = [];

  constructor(host: TcpHost, options: TcpOptions = {}) {
    const maxSockets = options.maxSockets ?? 2;
    const bufferBytes = options.sendBufferBytes ?? 2048;
    const waitMs = options.connectWaitMs ?? 180_000;
    if (!(Number.isInteger(maxSockets) && maxSockets >= 1)) throw new RangeError("invalid maxSockets");
    if (!(Number.isInteger(bufferBytes) && bufferBytes >= 1)) throw new RangeError("invalid sendBufferBytes");
    if (!(waitMs >= 0)) throw new RangeError("invalid connectWaitMs");
    const readBytes = options.readChunkBytes ?? host.dialect.maxReadBytes;
    if (!(Number.isInteger(readBytes) && readBytes >= 1 && readBytes <= host.dialect.maxReadBytes)) throw new RangeError("invalid readChunkBytes");
    this.#readBytes = readBytes;
    this.#host = host;
    this.#bufferBytes = bufferBytes;
    this.#connectWaitMs = waitMs;
    this.#links = new Array(Math.min(maxSockets, host.dialect.socketIds)).fill(undefined);
  }

  /** Sockets not yet closed. */
  get active(): number {
    return this.#waiting.length + this.#links.filter((l) => l instanceof ModemSocket).length;
  }

  connect(host: string, port: number, handlers: ByteStreamHandlers): ByteStream {
    if (!isValidHost(host)) throw new RangeError("invalid host");
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new RangeError("invalid port");
    const s = new ModemSocket(this, host, port, handlers, this.#bufferBytes);
    this.#waiting.push(s);
    s.timer = this.#host.timers.set(() => {
      s.timer = undefined;
      if (s.state !== "waiting") return;
      this.#waiting.splice(this.#waiting.indexOf(s), 1);
      this.finish(s, "network");
    }, this.#connectWaitMs);
    if (this.#host.ready) this.openWaiting();
    return s;
  }

  // ---- from the modem manager (modem.ts) ----

  /** The PDP context is up: open the sockets that wait. */
  up(): void {
    this.openWaiting();
  }

  /** The PDP context or the modem is gone: every opening or open socket closes with `reason`. Waiting
   * sockets keep waiting. Link ids are free again (the stack dropped them). */
  down(reason: ByteStreamCloseReason): void {
    for (let id = 0; id < this.#links.length; id++) {
      const s = this.#links[id];
      this.#links[id] = undefined;
      if (s instanceof ModemSocket) this.finish(s, reason);
    }
  }

  /** The modem manager is stopping: everything closes. */
  stop(): void {
    this.down("network");
    for (const s of this.#waiting.splice(0)) this.finish(s, "network");
  }

  event(e: ModemEvent): void {
    switch (e.type) {
      case "socket-opened":
        return this.#opened(e.id);
      case "socket-open-failed":
        return this.openFailed(e.id, e.reason);
      case "socket-closed":
        return this.#remoteClosed(e.id);
      case "socket-data":
        return this.#dataWaiting(this.socketAt(e.id));
      case "socket-buffer-full":
        for (const s of this.#links) if (s instanceof ModemSocket) this.#dataWaiting(s);
        return;
    }
  }

  // ---- from the sockets ----

  /** @internal ByteStream.write of socket `s`. */
  write(s: ModemSocket, bytes: Uint8Array): boolean {
    if (s.state === "closed") return false;
    if (bytes.length === 0) return true;
    const pending = s.txEnd - s.txStart;
    if (bytes.length > s.tx.length - pending || (s.txEnd + bytes.length > s.tx.length && s.inFlight > 0)) {
      // No room, or room only by moving bytes the engine is still writing to the UART.
      s.wantWritable = true;
      return false;
    }
    if (s.txEnd + bytes.length > s.tx.length) {
      s.tx.copyWithin(0, s.txStart, s.txEnd);
      s.txEnd = pending;
      s.txStart = 0;
    }
    s.tx.set(bytes, s.txEnd);
    s.txEnd += bytes.length;
    this.pumpSend(s);
    return true;
  }

  /** @internal ByteStream.close of socket `s`. */
  close(s: ModemSocket): void {
    if (s.state === "closed") return;
    if (s.state === "waiting") {
      this.#waiting.splice(this.#waiting.indexOf(s), 1);
      this.finish(s, "closed");
      return;
    }
    const id = s.id;
    this.finish(s, "closed");
    this.closeLink(id);
  }

  // ---- internals ----

  private socketAt(id: number): ModemSocket | undefined {
    const s = this.#links[id];
    return s instanceof ModemSocket ? s : undefined;
  }

  private openWaiting(): void {
    while (this.#host.ready && this.#waiting.length > 0) {
      const id = this.#links.indexOf(undefined);
      if (id < 0) return;
      const s = this.#waiting.shift()!;
      this.clearTimers(s);
      s.state = "opening";
      s.id = id;
      this.#links[id] = s;
      s.timer = this.#host.timers.set(() => {
        s.timer = undefined;
        if (s.state !== "opening") return;
        this.counters.openFailures++;
        this.finish(s, "timeout");
        this.closeLink(id);
        this.#host.openOutcome(true);
      }, this.#host.dialect.openTimeoutMs);
      this.sendOpen(s);
    }
  }

  private sendOpen(s: ModemSocket): void {
    const { engine, dialect } = this.#host;
    engine.send(
      dialect.open(s.id, s.host, s.port, (failure) => {
        if (!failure || s.state !== "opening" || this.#links[s.id] !== s) return;
        if (failure.code === "aborted" || failure.code === "closed") return; // the modem went down: down() closes it
        if (failure.code === "timeout") {
          this.counters.openFailures++;
          this.finish(s, "timeout");
          this.closeLink(s.id);
          this.#host.suspectUnresponsive();
          return;
        }
        // A bare ERROR: in the wrong state (domain.md §4.6 item 4) or a bad request. Ask the stack.
        engine.send(
          dialect.packetState((up) => {
            if (s.state !== "opening") return;
            this.counters.openFailures++;
            if (up === false) {
              this.finish(s, "network");
              this.#host.packetFault();
            } else {
              this.finish(s, "refused");
              this.#links[s.id] = undefined;
              this.openWaiting();
            }
          }),
        );
      }),
    );
  }

  #opened(id: number): void {
    const s = this.socketAt(id);
    if (!s || s.state !== "opening") return;
    this.clearTimers(s);
    s.state = "open";
    this.counters.opened++;
    this.#host.openOutcome(false);
    this.call(() => s.handlers.onConnect());
    this.pumpSend(s);
  }

  private openFailed(id: number, reason: "refused" | "in-use" | "packet-down" | "timeout"): void {
    const s = this.socketAt(id);
    if (!s || s.state !== "opening") return;
    if (reason === "in-use" && !s.openRetried) {
      // A link left open by an earlier boot of the concentrator: close it and open again.
      s.openRetried = true;
      this.#host.engine.send(this.#host.dialect.close(id, () => s.state === "opening" && this.sendOpen(s)));
      return;
    }
    this.counters.openFailures++;
    this.finish(s, reason === "packet-down" ? "network" : reason === "timeout" ? "timeout" : "refused");
    if (reason === "packet-down") this.#host.packetFault();
    else if (this.#host.dialect.closeAfterRemoteClose) this.closeLink(id);
    else {
      this.#links[id] = undefined;
      this.openWaiting();
    }
  }

  #remoteClosed(id: number): void {
    const s = this.socketAt(id);
    if (!s) {
      // Nobody's socket (left over from an earlier boot): release it where the stack needs that.
      if (this.#links[id] === undefined && this.#host.dialect.closeAfterRemoteClose && id < this.#links.length) this.closeLink(id);
      return;
    }
    if (s.state === "opening") {
      this.counters.openFailures++;
      this.finish(s, "refused");
      this.releaseAfterRemoteClose(id);
      return;
    }
    s.remoteClosed = true;
    if (!s.reading && !s.dataWaiting) this.endRemoteClose(s);
  }

  private endRemoteClose(s: ModemSocket): void {
    if (s.state === "closed") return;
    this.counters.remoteCloses++;
    const id = s.id;
    this.finish(s, "closed");
    this.releaseAfterRemoteClose(id);
  }

  private releaseAfterRemoteClose(id: number): void {
    if (this.#host.dialect.closeAfterRemoteClose) this.closeLink(id);
    else {
      this.#links[id] = undefined;
      this.openWaiting();
    }
  }

  #dataWaiting(s: ModemSocket | undefined): void {
    if (!s || s.state !== "open") return;
    s.dataWaiting = true;
    this.#read(s);
  }

  #read(s: ModemSocket): void {
    if (s.reading || !s.dataWaiting) return;
    s.reading = true;
    s.dataWaiting = false;
    const { engine, dialect } = this.#host;
    engine.send(
      dialect.read(
        s.id,
        this.#readBytes,
        (bytes) => {
          if (s.state !== "open") return;
          this.counters.bytesReceived += bytes.length;
          this.call(() => s.handlers.onData(bytes));
        },
        (outcome) => {
          s.reading = false;
          if (s.state !== "open") return;
          if ("got" in outcome) {
            s.readFailures = 0;
            if (outcome.more) s.dataWaiting = true;
          } else if (outcome.failure.code !== "aborted" && outcome.failure.code !== "closed" && ++s.readFailures <= MAX_READ_RETRIES) {
            // Quectel announces no more data until its buffer has been read empty (AN §2.3.2): try again.
            s.dataWaiting = true;
          }
          if (s.dataWaiting) this.#read(s);
          else if (s.remoteClosed) this.endRemoteClose(s);
        },
      ),
    );
  }

  private pumpSend(s: ModemSocket): void {
    if (s.state !== "open" || s.inFlight > 0 || s.retryTimer !== undefined || s.txStart === s.txEnd) return;
    const { engine, dialect } = this.#host;
    const n = Math.min(s.txEnd - s.txStart, dialect.maxSendBytes);
    s.inFlight = n;
    engine.send(
      dialect.send(s.id, s.tx.subarray(s.txStart, s.txStart + n), (outcome) => {
        s.inFlight = 0;
        if (s.state !== "open") return;
        if ("accepted" in outcome) {
          s.txStart += outcome.accepted;
          if (s.txStart === s.txEnd) s.txStart = s.txEnd = 0;
          s.sendRetries = 0;
          this.counters.bytesSent += outcome.accepted;
          if (outcome.accepted < n) this.counters.partialSends++;
          if (s.wantWritable) {
            s.wantWritable = false;
            this.call(() => s.handlers.onWritable());
          }
          this.pumpSend(s);
          return;
        }
        switch (outcome.failed) {
          case "retry":
            if (++s.sendRetries > MAX_SEND_RETRIES) return this.abort(s, "timeout");
            this.counters.sendRetries++;
            s.retryTimer = this.#host.timers.set(() => {
              s.retryTimer = undefined;
              this.pumpSend(s);
            }, dialect.sendRetryMs);
            return;
          case "reset":
            this.counters.sendFailures++;
            return this.abort(s, "reset");
          case "timeout":
          case "no-prompt":
            this.counters.sendFailures++;
            this.abort(s, "timeout");
            this.#host.suspectUnresponsive();
            return;
          case "aborted":
            return; // the modem went down: down() closes the socket
        }
      }),
    );
  }

  private abort(s: ModemSocket, reason: ByteStreamCloseReason): void {
    const id = s.id;
    this.finish(s, reason);
    this.closeLink(id);
  }

  /** Closes link `id` on the modem; the id is reused once the modem has answered. */
  private closeLink(id: number): void {
    if (id < 0 || id >= this.#links.length) return;
    this.#links[id] = CLOSING;
    this.#host.engine.send(
      this.#host.dialect.close(id, () => {
        if (this.#links[id] !== CLOSING) return;
        this.#links[id] = undefined;
        this.openWaiting();
      }),
    );
  }

  private finish(s: ModemSocket, reason: ByteStreamCloseReason): void {
    if (s.finished) return;
    s.finished = true;
    s.state = "closed";
    s.wantWritable = false;
    s.txStart = s.txEnd = 0;
    this.clearTimers(s);
    if (s.id >= 0 && this.#links[s.id] === s) this.#links[s.id] = undefined;
    // onClose runs in a turn of its own, never inside connect, write or close (byte-stream.ts).
    this.#host.timers.set(() => this.call(() => s.handlers.onClose(reason)), 0);
  }

  private clearTimers(s: ModemSocket): void {
    if (s.timer !== undefined) this.#host.timers.clear(s.timer);
    if (s.retryTimer !== undefined) this.#host.timers.clear(s.retryTimer);
    s.timer = s.retryTimer = undefined;
  }

  /** Runs an owner's callback; its exception is the owner's bug, counted, and must not stop the modem. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch {
      this.counters.handlerErrors++;
    }
  }
}
