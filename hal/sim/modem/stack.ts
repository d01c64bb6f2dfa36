/**
 * The interface between the modem emulator's core (power, UART, command line, 3GPP commands, SMS)
 * and a family's TCP/IP stack (sim800-stack.ts, quectel-stack.ts).
 */
import type { Prng } from "../prng.js";
import type { PacketNetwork } from "./packet-network.js";

/** One command of a command line: "+CIPSTART=0,"TCP","h",80" → name "+CIPSTART", form "set", args. */
export interface AtCall {
  /** Upper case: "+CIPSTART", "E", "&W". */
  readonly name: string;
  readonly form: "exec" | "read" | "test" | "set";
  /** Parameters with quotes removed ("" for an empty one). */
  readonly args: readonly string[];
}

/** Faults the tests inject into the TCP/IP stack, shared by both families. */
export interface StackFaults {
  /** The next sends fail: "send-fail" (SEND FAIL), "no-prompt" (the command is swallowed), "error"
   * (ERROR instead of the prompt), "partial" (SIM800: DATA ACCEPT with half the bytes; Quectel: SEND FAIL). */
  sendFaults: Array<"send-fail" | "no-prompt" | "error" | "partial">;
}

export interface StackHost {
  readonly network: PacketNetwork;
  readonly prng: Prng;
  readonly faults: StackFaults;
  /** Registered for packet service and attached (AT+CGATT=1 done). */
  readonly attached: boolean;
  /** APN the network accepts; undefined: any. */
  readonly apn: string | undefined;
  /** Bytes a socket's receive buffer holds before the stack stops reading from the network. */
  readonly receiveBufferBytes: number;
  /** Runs `fn` after `ms` while the modem keeps power. */
  after(ms: number, fn: () => void): void;
  /** A typical reply delay for a local command, ms. */
  latency(): number;
  /** An information line of the running command: "\r\n<text>\r\n". */
  line(text: string): void;
  /** Raw output (already framed). */
  raw(bytes: Uint8Array | string): void;
  /** Ends the running command with a final result line ("OK", "ERROR", "SHUT OK"…) after `delayMs`. */
  finish(final: string, delayMs?: number, lines?: readonly string[]): void;
  /** Ends the running command without output (a prompt that never comes). */
  swallow(): void;
  /** Sends the data prompt and takes exactly `count` bytes as data. */
  prompt(count: number, onData: (bytes: Uint8Array) => void): void;
  /** An unsolicited result code, if URCs go to the UART. */
  urc(line: string): void;
}

export interface ModemStack {
  /** Executes a command of this stack; false when the command is not one of its own. */
  execute(call: AtCall): boolean;
  /** The network deactivated the PDP context; `silent`: without telling the host. */
  dropPdp(silent: boolean): void;
  /** Power-off or reset: every connection and context is gone. */
  reset(): void;
  readonly pdpActive: boolean;
  /** Sockets in use. */
  readonly sockets: number;
}

/**
 * A socket's receive buffer in the module: holds at most `capacity` bytes; what arrives beyond that
 * waits outside (as TCP's window would keep it at the sender) and moves in as the host reads.
 */
export class RxBuffer {
  readonly #capacity: number;
  readonly #inside: Uint8Array[] = [];
  readonly #outside: Uint8Array[] = [];
  #bytes = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Bytes the host can read now. */
  get bytes(): number {
    return this.#bytes;
  }

  get full(): boolean {
    return this.#bytes >= this.#capacity;
  }

  /** Takes arriving bytes; true when the buffer is full afterwards (the network should pause). */
  push(data: Uint8Array): boolean {
    this.#outside.push(data);
    this.#fill();
    return this.full;
  }

  /** Up to `max` bytes from the front. */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.#bytes);
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.#inside[0]!;
      const k = Math.min(head.length, n - at);
      out.set(head.subarray(0, k), at);
      at += k;
      if (k === head.length) this.#inside.shift();
      else this.#inside[0] = head.subarray(k);
    }
    this.#bytes -= n;
    this.#fill();
    return out;
  }

  #fill(): void {
    while (this.#outside.length && this.#bytes < this.#capacity) {
      const head = this.#outside[0]!;
      const k = Math.min(head.length, this.#capacity - this.#bytes);
      this.#inside.push(head.subarray(0, k));
      this.#bytes += k;
      if (k === head.length) this.#outside.shift();
      else this.#outside[0] = head.subarray(k);
    }
  }
}
