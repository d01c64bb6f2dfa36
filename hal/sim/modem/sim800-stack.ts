/**
 * The SIM800's CIP* TCP/IP stack as the emulator runs it (SIM800 Series AT Command Manual V1.09,
 * pp. 215-227, 350-352; domain.md §4.2): the IP state machine of the manual, multi-IP links 0..5,
 * quick send (AT+CIPQSEND=1) and manual receive (AT+CIPRXGET=1). Single-IP mode and automatic receive
 * are not emulated: they answer ERROR.
 *
 *   IP INITIAL ─CSTT─▶ IP START ─CIICR─▶ IP GPRSACT ─CIFSR─▶ IP STATUS ─CIPSTART─▶ IP PROCESSING
 *        ▲                                                                              │
 *        └──────────────────────── CIPSHUT (from any state) ◀── PDP DEACT ◀── network ──┘
 */
import type { NetConnection } from "./packet-network.js";
import { RxBuffer, type AtCall, type ModemStack, type StackHost } from "./stack.js";

type IpState = "IP INITIAL" | "IP START" | "IP CONFIG" | "IP GPRSACT" | "IP STATUS" | "IP PROCESSING" | "PDP DEACT";

interface Link {
  state: "connecting" | "connected" | "closed";
  conn: NetConnection | undefined;
  readonly rx: RxBuffer;
  /** "+CIPRXGET: 1,<n>" was sent and the buffer has not been read empty since. */
  notified: boolean;
}

/** Multi-IP link numbers 0..5 (manual, AT+CIPSTART). */
const LINKS = 6;
/** AT+CIPSEND? <size> on GPRS; AT+CIPRXGET=2 <reqlength> 1..1460. */
const MAX_SEND = 1460;
const MAX_READ = 1460;

export class Sim800Stack implements ModemStack {
  readonly #host: StackHost;
  #ip: IpState = "IP INITIAL";
  #mux = 0;
  #quickSend = 0;
  #manualReceive = 0;
  #apn: string | undefined;
  readonly #links: Array<Link | undefined> = new Array(LINKS).fill(undefined);

  constructor(host: StackHost) {
    this.#host = host;
  }

  get pdpActive(): boolean {
    return this.#ip === "IP GPRSACT" || this.#ip === "IP STATUS" || this.#ip === "IP PROCESSING";
  }

  get sockets(): number {
    return this.#links.filter((l) => l && l.state !== "closed").length;
  }

  reset(): void {
    this.#closeAll();
    this.#ip = "IP INITIAL";
    this.#mux = this.#quickSend = this.#manualReceive = 0;
    this.#apn = undefined;
  }

  dropPdp(silent: boolean): void {
    if (!this.pdpActive && this.#ip !== "IP START") return;
    this.#closeAll();
    this.#ip = "PDP DEACT";
    if (!silent) this.#host.urc("+PDP: DEACT");
  }

  execute(call: AtCall): boolean {
    const h = this.#host;
    const n = Number(call.args[0]);
    switch (call.name) {
      case "+CIPSHUT":
        this.#closeAll();
        this.#ip = "IP INITIAL";
        h.finish("SHUT OK", 100 + h.prng.int(400));
        return true;
      case "+CIPMUX":
        if (call.form === "read") h.finish("OK", h.latency(), [`+CIPMUX: ${this.#mux}`]);
        else if (call.form === "set" && this.#ip === "IP INITIAL" && (n === 0 || n === 1)) this.#set(() => (this.#mux = n));
        else h.finish("ERROR");
        return true;
      case "+CIPQSEND":
        if (call.form === "set" && (n === 0 || n === 1)) this.#set(() => (this.#quickSend = n));
        else h.finish("ERROR");
        return true;
      case "+CIPRXGET":
        this.#rxget(call);
        return true;
      case "+CSTT":
        if (call.form === "set" && this.#ip === "IP INITIAL") {
          this.#apn = call.args[0] ?? "";
          this.#ip = "IP START";
          h.finish("OK", h.latency());
        } else h.finish("ERROR");
        return true;
      case "+CIICR":
        this.#ciicr();
        return true;
      case "+CIFSR":
        if (this.pdpActive) {
          if (this.#ip === "IP GPRSACT") this.#ip = "IP STATUS";
          h.finish("10.64.12.34", h.latency()); // the address is the whole answer, no OK (domain.md §4.2)
        } else h.finish("ERROR");
        return true;
      case "+CIPSTART":
        this.#start(call);
        return true;
      case "+CIPSEND":
        this.#send(call);
        return true;
      case "+CIPCLOSE": {
        const link = this.#links[n];
        if (!link || link.state === "closed") return h.finish("ERROR"), true;
        link.state = "closed";
        link.conn?.close();
        h.finish(`${n}, CLOSE OK`, h.latency());
        return true;
      }
      case "+CIPSTATUS":
        h.finish("OK", h.latency());
        h.after(h.latency() + 2, () => h.raw(`\r\nSTATE: ${this.#ip}\r\n`));
        return true;
    }
    return false;
  }

  #set(apply: () => void): void {
    apply();
    this.#host.finish("OK", this.#host.latency());
  }

  #ciicr(): void {
    const h = this.#host;
    if (this.#ip !== "IP START") return h.finish("ERROR");
    this.#ip = "IP CONFIG";
    const took = 800 + h.prng.int(2200);
    h.after(took, () => {
      if (this.#ip !== "IP CONFIG") return;
      if (!h.attached || (h.apn !== undefined && h.apn !== this.#apn)) {
        // The network refuses the context: "+PDP: DEACT" can answer AT+CIICR (domain.md §4.2).
        this.#ip = "PDP DEACT";
        h.urc("+PDP: DEACT");
        h.finish("ERROR");
        return;
      }
      this.#ip = "IP GPRSACT";
      h.finish("OK");
    });
  }

  #start(call: AtCall): void {
    const h = this.#host;
    const n = Number(call.args[0]);
    const port = Number(call.args[3]);
    if (this.#mux !== 1 || call.args.length !== 4 || !(n >= 0 && n < LINKS) || call.args[1] !== "TCP" || !(port > 0)) return h.finish("ERROR");
    // Multi-IP: only in IP STATUS (or PROCESSING with other links up) (manual p.222).
    if (this.#ip !== "IP STATUS" && this.#ip !== "IP PROCESSING") return h.finish("ERROR");
    const old = this.#links[n];
    if (old && old.state !== "closed") {
      h.finish("OK", h.latency());
      h.after(h.latency() + 1, () => h.urc(`${n}, ALREADY CONNECT`));
      return;
    }
    const link: Link = { state: "connecting", conn: undefined, rx: new RxBuffer(h.receiveBufferBytes), notified: false };
    this.#links[n] = link;
    h.finish("OK", h.latency());
    link.conn = h.network.connect(call.args[2]!, port, {
      onOpen: () => {
        if (link.state !== "connecting") return;
        link.state = "connected";
        this.#ip = "IP PROCESSING";
        h.urc(`${n}, CONNECT OK`);
      },
      onData: (bytes) => this.#received(n, link, bytes),
      onClose: () => {
        if (link.state === "closed") return;
        const wasOpen = link.state === "connected";
        link.state = "closed";
        h.urc(wasOpen ? `${n}, CLOSED` : `${n}, CONNECT FAIL`);
      },
    });
  }

  #send(call: AtCall): void {
    const h = this.#host;
    const n = Number(call.args[0]);
    const len = Number(call.args[1]);
    const link = this.#links[n];
    if (call.form !== "set" || !link || link.state !== "connected" || !(len >= 1 && len <= MAX_SEND)) return h.finish("ERROR");
    const fault = h.faults.sendFaults.shift();
    if (fault === "no-prompt") return h.swallow();
    if (fault === "error") return h.finish("ERROR");
    h.prompt(len, (data) => {
      if (fault === "send-fail" || link.state !== "connected") return h.finish("SEND FAIL", 200);
      const accepted = fault === "partial" ? len >> 1 : len;
      link.conn!.send(data.subarray(0, accepted));
      h.finish(this.#quickSend ? `DATA ACCEPT:${n},${accepted}` : `${n}, SEND OK`, h.latency());
    });
  }

  #rxget(call: AtCall): void {
    const h = this.#host;
    const mode = Number(call.args[0]);
    if (call.form === "set" && call.args.length === 1 && (mode === 0 || mode === 1)) {
      this.#manualReceive = mode;
      return h.finish("OK", h.latency());
    }
    const n = Number(call.args[1]);
    const link = this.#links[n];
    if (call.form !== "set" || this.#manualReceive !== 1 || !link) return h.finish("ERROR");
    if (mode === 4) return h.finish("OK", h.latency(), [`+CIPRXGET: 4,${n},${link.rx.bytes}`]);
    const want = Number(call.args[2]);
    if (mode !== 2 || !(want >= 1 && want <= MAX_READ)) return h.finish("ERROR");
    if (link.state === "closed" && link.rx.bytes === 0) return h.finish("ERROR");
    const data = link.rx.take(want);
    if (link.rx.bytes === 0) link.notified = false;
    if (!link.rx.full) link.conn?.resume();
    h.after(h.latency(), () => {
      h.raw(`\r\n+CIPRXGET: 2,${n},${data.length},${link.rx.bytes}\r\n`);
      h.raw(data);
      h.finish("OK");
    });
  }

  #received(n: number, link: Link, bytes: Uint8Array): void {
    if (link.state !== "connected") return;
    if (link.rx.push(bytes)) link.conn?.pause();
    if (!link.notified) {
      link.notified = true;
      this.#host.urc(`+CIPRXGET: 1,${n}`);
    }
  }

  #closeAll(): void {
    for (let i = 0; i < LINKS; i++) {
      const link = this.#links[i];
      if (link && link.state !== "closed") link.conn?.close();
      this.#links[i] = undefined;
    }
  }
}
