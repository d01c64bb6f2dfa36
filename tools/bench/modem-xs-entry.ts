/**
 * Evaluated inside XS by tools/bench/modem-xs.ts: the firmware's modem code alone (AT engine, a driver,
 * a socket, the PDU codec) against an in-memory serial port that answers at once, so the XS meter of a
 * crank is the firmware's own cost. Pure ECMAScript.
 *
 * Commands (JSON, one per crank): {op:"noop"} | {op:"setup", bench} | {op:"run", n}
 * Benches: "command" (AT+CSQ answered by "+CSQ: 21,0" and OK), "urc" (a +QIURC line), "send" (a
 * 1460-byte CIPSEND: prompt, FIFO-sized writes, DATA ACCEPT), "receive" (a 1460-byte CIPRXGET read
 * delivered in 120-byte FIFO pieces), "fifo" (one 128-byte FIFO of response lines), "pdu" (encode an
 * SMS-SUBMIT and decode an SMS-DELIVER), "modem" (a started Modem, for its heap).
 */
import type { TimerId, Timers } from "../../hal/clock.js";
import type { SerialOptions, SerialPort, SerialPortProvider } from "../../hal/serial.js";
import { AtEngine, UrcVerdict, type UrcHandler } from "../../firmware/modem/at/engine.js";
import { quectel } from "../../firmware/modem/drivers/quectel.js";
import { sim800 } from "../../firmware/modem/drivers/sim800.js";
import { ModemTcp, type TcpHost } from "../../firmware/modem/tcp.js";
import { decodePdu, encodeSubmit } from "../../firmware/modem/sms/pdu.js";
import { appElement, AppKind } from "../../firmware/modem/sms/app-header.js";
import { hexDecode } from "../../firmware/modem/ascii.js";
import { Modem } from "../../firmware/modem/modem.js";
import { serveJsonCommands } from "../xs/json-commands.js";

/** Timers that run only when `drain` is called (no clock: the bench is about code cost). */
class ManualTimers implements Timers {
  #next = 1;
  readonly #due = new Map<TimerId, () => void>();
  set(callback: () => void, delayMs: number): TimerId {
    const id = this.#next++;
    if (delayMs === 0) this.#due.set(id, callback);
    return id;
  }
  clear(id: TimerId): void {
    this.#due.delete(id);
  }
  /** Runs zero-delay work (deferred callbacks); long timeouts never fire in a bench. */
  drain(): void {
    for (const [id, fn] of [...this.#due]) {
      this.#due.delete(id);
      fn();
    }
  }
}

const bytes = (s: string) => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
};

/** A port whose far end answers each command line through `respond`. Answers wait for `flush` (the
 * next turn, as the HAL contract wants callbacks) and arrive in 120-byte FIFO pieces. */
class ScriptedPort implements SerialPortProvider {
  options: SerialOptions | undefined;
  readonly #rx: Uint8Array[] = [];
  readonly #pending: Uint8Array[] = [];
  #line = "";
  #dataLeft = 0;
  respond: (line: string) => Uint8Array | undefined = () => undefined;
  afterData: () => Uint8Array | undefined = () => undefined;
  written = 0;
  open(options: SerialOptions): SerialPort {
    this.options = options;
    return {
      read: () => this.#rx.shift(),
      write: (b) => {
        this.written += b.length;
        this.#take(b);
        return true;
      },
      writable: 128,
      overruns: 0,
      close: () => undefined,
    };
  }
  push(data: Uint8Array): void {
    for (let i = 0; i < data.length; i += 120) {
      this.#rx.push(data.subarray(i, Math.min(data.length, i + 120)));
      this.options!.onReadable!(this.#rx[this.#rx.length - 1]!.length);
    }
  }
  /** Delivers the far end's answers, and what they lead to, until it is quiet. */
  flush(timers: ManualTimers): void {
    for (let guard = 0; guard < 1000 && this.#pending.length; guard++) {
      this.push(this.#pending.shift()!);
      timers.drain();
    }
  }
  expectData(n: number): void {
    this.#dataLeft = n;
  }
  #take(b: Uint8Array): void {
    for (let i = 0; i < b.length; i++) {
      if (this.#dataLeft > 0) {
        // Payload bytes are only counted (no per-byte work: the bench prices the firmware, not the port).
        const n = Math.min(this.#dataLeft, b.length - i);
        this.#dataLeft -= n;
        i += n - 1;
        if (this.#dataLeft === 0) {
          const reply = this.afterData();
          if (reply) this.#pending.push(reply);
        }
        continue;
      }
      const c = b[i]!;
      if (c !== 13) {
        this.#line += String.fromCharCode(c);
        continue;
      }
      const reply = this.respond(this.#line);
      this.#line = "";
      if (reply) this.#pending.push(reply);
    }
  }
}

let run: (n: number) => unknown = () => undefined;
/** What a bench keeps alive between cranks (the "modem" bench prices its heap). */
let kept: unknown;

function setup(bench: string): void {
  const port = new ScriptedPort();
  const timers = new ManualTimers();
  let tcp: ModemTcp | undefined;
  const urcs: UrcHandler =
    bench === "urc"
      ? { urc: (l) => (quectel.classify(l) ? UrcVerdict.Handled : UrcVerdict.NotUrc), urcBody: () => undefined }
      : {
          // Socket URCs go to the sockets, as the modem manager routes them.
          urc: (l) => {
            const e = sim800.classify(l);
            if (!e) return UrcVerdict.NotUrc;
            tcp?.event(e);
            return UrcVerdict.Handled;
          },
          urcBody: () => undefined,
        };
  const engine = new AtEngine({ serial: port, timers, urcs });
  engine.open();
  switch (bench) {
    case "modem": {
      // A started driver with its engine, sockets and SMS channel, as the application would hold it.
      kept = new Modem({
        port: { serial: port, powerKey: { write: () => undefined, read: () => 0 } },
        timers,
        clock: { now: () => 0 },
        random: { fill: (b) => b.fill(7) },
        family: "sim800",
        apn: "internet",
        sms: { whitelist: ["+40700000900", "+40700000901"] },
      });
      (kept as Modem).start();
      run = () => kept !== undefined;
      return;
    }
    case "command": {
      port.respond = () => bytes("\r\n+CSQ: 21,0\r\n\r\nOK\r\n");
      run = (n) => {
        let ok = 0;
        for (let i = 0; i < n; i++) {
          engine.send({ text: "AT+CSQ", timeoutMs: 1000, info: "+CSQ:", done: (r) => r.ok && ok++ });
          port.flush(timers);
        }
        return ok;
      };
      return;
    }
    case "urc": {
      const line = bytes('\r\n+QIURC: "recv",0\r\n');
      run = (n) => {
        for (let i = 0; i < n; i++) port.push(line);
        return engine.counters.urcs;
      };
      return;
    }
    case "fifo": {
      const fifo = bytes("\r\n+CREG: 0,1\r\n\r\nOK\r\n\r\n+CSQ: 21,0\r\n\r\nOK\r\n\r\n+CGREG: 0,1\r\n\r\nOK\r\n\r\n+QIURC: \"recv\",0\r\n\r\n+CMTI: \"SM\",3\r\n\r\nRING\r\n\r\nOK\r\n\r\n+CSQ: 9,0\r\n");
      run = (n) => {
        for (let i = 0; i < n; i++) port.push(fifo.subarray(0, 128));
        return engine.counters.lines;
      };
      return;
    }
    case "send":
    case "receive": {
      let received = 0;
      const host: TcpHost = { engine, dialect: sim800, timers, ready: true, packetFault: () => undefined, suspectUnresponsive: () => undefined, openOutcome: () => undefined };
      tcp = new ModemTcp(host, { sendBufferBytes: 16 * 1460 });
      const sockets = tcp;
      const chunk = new Uint8Array(1460);
      const data = new Uint8Array(1460).fill(0x55);
      const readAnswer = new Uint8Array([...bytes("\r\n+CIPRXGET: 2,0,1460,0\r\n"), ...data, ...bytes("\r\nOK\r\n")]);
      const dataUrc = bytes("\r\n+CIPRXGET: 1,0\r\n");
      port.respond = (l) => {
        if (l.startsWith("AT+CIPSTART")) return bytes("\r\nOK\r\n\r\n0, CONNECT OK\r\n");
        if (l.startsWith("AT+CIPSEND")) {
          port.expectData(Number(l.split(",")[1]));
          return bytes("> ");
        }
        if (l.startsWith("AT+CIPRXGET=2")) return readAnswer;
        return bytes("\r\nOK\r\n");
      };
      port.afterData = () => bytes("\r\nDATA ACCEPT:0,1460\r\n");
      const s = tcp.connect("bench", 1, { onConnect: () => undefined, onData: (b) => (received += b.length), onWritable: () => undefined, onClose: () => undefined });
      port.flush(timers);
      run = (n) => {
        for (let i = 0; i < n; i++) {
          if (bench === "send") {
            s.write(chunk);
          } else port.push(dataUrc);
          port.flush(timers);
        }
        return bench === "send" ? sockets.counters.bytesSent : received;
      };
      return;
    }
    case "pdu": {
      const deliver = hexDecode("07910407000001F0440B910407000009F000046210203040500009058003011234434D44")!;
      run = (n) => {
        let ok = 0;
        for (let i = 0; i < n; i++) {
          encodeSubmit({ to: "+40700000900", data: new Uint8Array(120), header: [appElement({ kind: AppKind.dataConfirm, ref: i })], statusReport: true });
          if (decodePdu(deliver).ok) ok++;
        }
        return ok;
      };
      return;
    }
  }
  throw new Error(`unknown bench ${bench}`);
}

type Command = { op: "noop" } | { op: "setup"; bench: string } | { op: "run"; n: number };

serveJsonCommands((cmd: Command) => {
  if (cmd.op === "setup") setup(cmd.bench);
  else if (cmd.op === "run") return { result: run(cmd.n) };
  return {};
});
