/**
 * The Quectel QI* TCP/IP stack as the emulator runs it (BG96 TCP/IP Application Note; domain.md §4.3):
 * context 1, sockets 0..11 in buffer access mode, "recv" URCs only when a buffer was read empty
 * (AN §2.3.2), "closed" leaving a socket in Closing until AT+QICLOSE (AN §2.3.1), "incoming full"
 * when a receive buffer is full, "pdpdeact" when the network drops the context. Direct push and
 * transparent modes are not emulated: they answer ERROR.
 */
import type { NetConnection } from "./packet-network.js";
import { RxBuffer, type AtCall, type ModemStack, type StackHost } from "./stack.js";

interface Socket {
  /** AN AT+QISTATE <socket_state>: 1 opening, 2 connected, 4 closing (remote closed, not yet QICLOSEd). */
  state: "opening" | "connected" | "closing";
  conn: NetConnection | undefined;
  readonly rx: RxBuffer;
  sent: number;
  read: number;
  notified: boolean;
  full: boolean;
}

const SOCKETS = 12;
const MAX_SEND = 1460;
const MAX_READ = 1500;
const CONTEXT = 1;

export class QuectelStack implements ModemStack {
  readonly #host: StackHost;
  #apn: string | undefined;
  #active = false;
  readonly #sockets: Array<Socket | undefined> = new Array(SOCKETS).fill(undefined);

  constructor(host: StackHost) {
    this.#host = host;
  }

  get pdpActive(): boolean {
    return this.#active;
  }

  get sockets(): number {
    return this.#sockets.filter((s) => s !== undefined).length;
  }

  reset(): void {
    for (let i = 0; i < SOCKETS; i++) this.#drop(i);
    this.#active = false;
    this.#apn = undefined;
  }

  dropPdp(silent: boolean): void {
    if (!this.#active) return;
    this.#active = false;
    for (const s of this.#sockets) {
      if (!s || s.state === "closing") continue;
      s.state = "closing";
      s.conn?.close();
    }
    if (!silent) this.#host.urc(`+QIURC: "pdpdeact",${CONTEXT}`);
  }

  execute(call: AtCall): boolean {
    const h = this.#host;
    const args = call.args;
    switch (call.name) {
      case "+QICSGP":
        if (call.form !== "set" || Number(args[0]) !== CONTEXT || args.length < 3) return h.finish("ERROR"), true;
        this.#apn = args[2];
        h.finish("OK", h.latency());
        return true;
      case "+QIACT":
        if (call.form === "read") {
          h.finish("OK", h.latency(), this.#active ? [`+QIACT: ${CONTEXT},1,1,"10.64.12.35"`] : []);
          return true;
        }
        if (call.form !== "set" || Number(args[0]) !== CONTEXT) return h.finish("ERROR"), true;
        h.after(800 + h.prng.int(2200), () => {
          if (!h.attached || (h.apn !== undefined && h.apn !== this.#apn)) return h.finish("ERROR");
          this.#active = true;
          h.finish("OK");
        });
        return true;
      case "+QIDEACT":
        if (call.form !== "set" || Number(args[0]) !== CONTEXT) return h.finish("ERROR"), true;
        for (let i = 0; i < SOCKETS; i++) this.#drop(i);
        this.#active = false;
        h.finish("OK", 200 + h.prng.int(300));
        return true;
      case "+QIOPEN":
        this.#open(call);
        return true;
      case "+QISEND":
        this.#send(call);
        return true;
      case "+QIRD":
        this.#read(call);
        return true;
      case "+QICLOSE": {
        const id = Number(args[0]);
        if (call.form !== "set" || !(id >= 0 && id < SOCKETS)) return h.finish("ERROR"), true;
        this.#drop(id);
        h.finish("OK", h.latency());
        return true;
      }
    }
    return false;
  }

  #open(call: AtCall): void {
    const h = this.#host;
    const [ctx, idText, type, host, portText, , mode] = call.args;
    const id = Number(idText);
    const port = Number(portText);
    if (call.form !== "set" || Number(ctx) !== CONTEXT || !(id >= 0 && id < SOCKETS) || type !== "TCP" || !(port > 0) || (mode !== undefined && mode !== "0")) {
      return h.finish("ERROR");
    }
    h.finish("OK", h.latency());
    // AN chapter 4: 563 socket identity has been used, 561 PDP context opening failed, 566 connect failed.
    if (this.#sockets[id]) return h.after(h.latency() + 1, () => h.urc(`+QIOPEN: ${id},563`));
    if (!this.#active) return h.after(h.latency() + 1, () => h.urc(`+QIOPEN: ${id},561`));
    const s: Socket = { state: "opening", conn: undefined, rx: new RxBuffer(h.receiveBufferBytes), sent: 0, read: 0, notified: false, full: false };
    this.#sockets[id] = s;
    s.conn = h.network.connect(host!, port, {
      onOpen: () => {
        if (this.#sockets[id] !== s) return;
        s.state = "connected";
        h.urc(`+QIOPEN: ${id},0`);
      },
      onData: (bytes) => this.#received(id, s, bytes),
      onClose: () => {
        if (this.#sockets[id] !== s || s.state === "closing") return;
        if (s.state === "opening") {
          this.#sockets[id] = undefined;
          h.urc(`+QIOPEN: ${id},566`);
          return;
        }
        s.state = "closing";
        h.urc(`+QIURC: "closed",${id}`);
      },
    });
  }

  #send(call: AtCall): void {
    const h = this.#host;
    const id = Number(call.args[0]);
    const len = Number(call.args[1]);
    const s = this.#sockets[id];
    if (call.form !== "set" || !s || s.state !== "connected" || !(len >= 0 && len <= MAX_SEND)) return h.finish("ERROR");
    if (len === 0) return h.finish("OK", h.latency(), [`+QISEND: ${s.sent},${s.sent},0`]);
    const fault = h.faults.sendFaults.shift();
    if (fault === "no-prompt") return h.swallow();
    if (fault === "error") return h.finish("ERROR");
    h.prompt(len, (data) => {
      // BG96 AN: SEND FAIL = "the connection is established but the sending buffer is full".
      if (fault === "send-fail" || fault === "partial") return h.finish("SEND FAIL", h.latency());
      if (s.state !== "connected") return h.finish("ERROR");
      s.conn!.send(data);
      s.sent += len;
      h.finish("SEND OK", h.latency());
    });
  }

  #read(call: AtCall): void {
    const h = this.#host;
    const id = Number(call.args[0]);
    const s = this.#sockets[id];
    const want = call.args.length > 1 ? Number(call.args[1]) : MAX_READ;
    if (call.form !== "set" || !s || !(want >= 0 && want <= MAX_READ)) return h.finish("ERROR");
    if (want === 0) return h.finish("OK", h.latency(), [`+QIRD: ${s.read + s.rx.bytes},${s.read},${s.rx.bytes}`]);
    const data = s.rx.take(want);
    s.read += data.length;
    if (s.rx.bytes === 0) s.notified = false;
    if (!s.rx.full) {
      s.full = false;
      s.conn?.resume();
    }
    h.after(h.latency(), () => {
      h.raw(`\r\n+QIRD: ${data.length}\r\n`);
      if (data.length) {
        h.raw(data);
        h.raw("\r\n");
      }
      h.finish("OK");
    });
  }

  #received(id: number, s: Socket, bytes: Uint8Array): void {
    if (this.#sockets[id] !== s || s.state !== "connected") return;
    const full = s.rx.push(bytes);
    if (!s.notified) {
      s.notified = true;
      this.#host.urc(`+QIURC: "recv",${id}`);
    }
    if (full && !s.full) {
      s.full = true;
      s.conn?.pause();
      this.#host.urc('+QIURC: "incoming full"');
    }
  }

  #drop(id: number): void {
    const s = this.#sockets[id];
    if (!s) return;
    if (s.state !== "closing") s.conn?.close();
    this.#sockets[id] = undefined;
  }
}
