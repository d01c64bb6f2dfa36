import assert from "node:assert/strict";
import { AtEngine, STALE_ANSWER_GUARD_MS, URC_BODY_TIMEOUT_MS, UrcVerdict, type AtCommand, type AtResult } from "../../firmware/modem/at/engine.js";
import type { SerialOptions, SerialPort, SerialPortProvider } from "../../hal/serial.js";
import { UART_FIFO_BYTES } from "../../hal/serial.js";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SerialLink } from "../../hal/sim/serial-link.js";
import { SimUart } from "../../hal/sim/uart.js";

/** The engine on one end of a 115200 Bd link, a scripted modem on the other. */
function bench() {
  const s = new Scheduler();
  const prng = new Prng("engine");
  const board = new PowerDomain(s, "board");
  const peerDomain = new PowerDomain(s, "peer");
  const a = new SimUart(board, "a", prng.fork("a"));
  const b = new SimUart(peerDomain, "b", prng.fork("b"));
  new SerialLink(s, prng, a, b);
  board.powerOn();
  peerDomain.powerOn();
  const writes: Array<{ bytes: number; free: number }> = [];
  const spied: SerialPortProvider = {
    open(o: SerialOptions): SerialPort {
      const port = a.open(o);
      return {
        read: (n) => port.read(n),
        write: (bytes) => {
          writes.push({ bytes: bytes.length, free: port.writable });
          return port.write(bytes);
        },
        get writable() {
          return port.writable;
        },
        get overruns() {
          return port.overruns;
        },
        close: () => port.close(),
      };
    },
  };
  const received: number[] = [];
  const commands: string[] = [];
  let line = "";
  let onCommand: (line: string) => void = () => undefined;
  const out: number[] = [];
  const peer = b.open({
    baud: 115_200,
    onReadable: () => {
      for (const x of peer.read() ?? []) {
        received.push(x);
        if (x === 13) {
          commands.push(line);
          const l = line;
          line = "";
          onCommand(l);
        } else line += String.fromCharCode(x);
      }
    },
    onWritable: () => pump(),
  });
  const pump = () => {
    while (out.length) {
      const n = Math.min(peer.writable, out.length);
      if (n <= 0 || !peer.write(new Uint8Array(out.splice(0, n)))) return;
    }
  };
  const urcs: string[] = [];
  const bodies: string[] = [];
  let echoes = 0;
  const engine = new AtEngine({
    serial: spied,
    timers: new SimClock(board),
    urcs: {
      urc: (l) => {
        if (l.startsWith("+CDS:")) {
          urcs.push(l);
          return UrcVerdict.HandledWithBody;
        }
        if (l === "RING" || l.startsWith("+CMTI:")) {
          urcs.push(l);
          return UrcVerdict.Handled;
        }
        return UrcVerdict.NotUrc;
      },
      urcBody: (l) => bodies.push(l),
    },
    onEcho: () => echoes++,
  });
  engine.open();
  return {
    s,
    engine,
    writes,
    received,
    commands,
    urcs,
    bodies,
    get echoes() {
      return echoes;
    },
    /** The modem writes `text` (or bytes) now. */
    say(text: string | number[]) {
      for (const c of typeof text === "string" ? Array.from(text, (x) => x.charCodeAt(0)) : text) out.push(c);
      pump();
    },
    onCommand(fn: (line: string) => void) {
      onCommand = fn;
    },
  };
}

function send(engine: AtEngine, command: Omit<AtCommand, "done">): { result?: AtResult } {
  const box: { result?: AtResult } = {};
  engine.send({ ...command, done: (r) => (box.result = r) });
  return box;
}

describe("AT engine", () => {
  it("answers a command with its information lines and OK", () => {
    const t = bench();
    t.onCommand((l) => l === "AT+CSQ" && t.say("\r\n+CSQ: 21,0\r\n\r\nOK\r\n"));
    const r = send(t.engine, { text: "AT+CSQ", timeoutMs: 1000, info: "+CSQ:" });
    t.s.runFor(100);
    assert.deepEqual(r.result, { ok: true, lines: ["+CSQ: 21,0"], final: "OK" });
  });

  it("hands a URC arriving between a response's lines to the URC handler, and the command still completes", () => {
    const t = bench();
    t.onCommand(() => t.say('\r\n+CSQ: 21,0\r\n\r\n+CMTI: "SM",3\r\n\r\nRING\r\n\r\nOK\r\n'));
    const r = send(t.engine, { text: "AT+CSQ", timeoutMs: 1000, info: "+CSQ:" });
    t.s.runFor(100);
    assert.deepEqual(r.result, { ok: true, lines: ["+CSQ: 21,0"], final: "OK" });
    assert.deepEqual(t.urcs, ['+CMTI: "SM",3', "RING"]);
  });

  it("gives the body of a two-line URC to the URC handler even inside a response", () => {
    const t = bench();
    t.onCommand(() => t.say("\r\n+CSQ: 9,0\r\n\r\n+CDS: 25\r\n0791AB\r\n\r\nOK\r\n"));
    const r = send(t.engine, { text: "AT+CSQ", timeoutMs: 1000, info: "+CSQ:" });
    t.s.runFor(100);
    assert.deepEqual(r.result?.ok && r.result.lines, ["+CSQ: 9,0"]);
    assert.deepEqual(t.bodies, ["0791AB"]);
  });

  it("stops waiting for a two-line URC's body after URC_BODY_TIMEOUT_MS: a cut-off header does not eat the next answer", () => {
    const t = bench();
    t.say("\r\n+CDS: 25\r\n"); // the body never comes
    while (t.urcs.length === 0) t.s.runFor(1);
    t.s.runFor(URC_BODY_TIMEOUT_MS - 1);
    assert.equal(t.engine.counters.missedUrcBodies, 0, "still waiting just before the bound");
    t.s.runFor(2);
    assert.equal(t.engine.counters.missedUrcBodies, 1);
    t.onCommand(() => t.say("\r\n+CSQ: 9,0\r\n\r\nOK\r\n"));
    const r = send(t.engine, { text: "AT+CSQ", timeoutMs: 1000, info: "+CSQ:" });
    t.s.runFor(100);
    assert.deepEqual(r.result?.ok && r.result.lines, ["+CSQ: 9,0"]);
    assert.deepEqual(t.bodies, []);
    assert.deepEqual(t.urcs, ["+CDS: 25"]);
  });

  it("fails a silent command with 'timeout' at its timeout and waits before the next command", () => {
    const t = bench();
    let answeredAt = -1;
    t.onCommand((l) => {
      if (l === "AT+SLOW") t.s.after(1500, () => t.say("\r\nOK\r\n")); // too late
      if (l === "AT") {
        answeredAt = t.s.now;
        t.say("\r\nERROR\r\n");
      }
    });
    const slow = send(t.engine, { text: "AT+SLOW", timeoutMs: 1000 });
    const next = send(t.engine, { text: "AT", timeoutMs: 1000 });
    t.s.runUntilTrue(() => slow.result !== undefined, 5000);
    const failedAt = t.s.now;
    t.s.runFor(3000);
    assert.deepEqual(slow.result, { ok: false, failure: { code: "timeout" }, lines: [] });
    assert.ok(Math.abs(failedAt - 1000) < 2, `timed out at ${failedAt}`);
    assert.ok(answeredAt >= failedAt + STALE_ANSWER_GUARD_MS, "the next command waited out the guard");
    assert.equal(next.result?.ok, false, "the late OK was not taken for the next command's answer");
  });

  it("writes a 1460-byte payload after the prompt in writes that fit the free FIFO space", () => {
    const t = bench();
    const payload = new Uint8Array(1460).map((_, i) => i & 0xff);
    let got = 0;
    t.onCommand((l) => {
      if (!l.startsWith("AT+CIPSEND")) return;
      t.say("> ");
      const start = t.received.length;
      const poll = () => {
        got = t.received.length - start;
        if (got >= 1460) t.say("\r\nDATA ACCEPT:0,1460\r\n");
        else t.s.after(5, poll);
      };
      poll();
    });
    const r = send(t.engine, { text: "AT+CIPSEND=0,1460", timeoutMs: 5000, payload, final: (l) => (l.startsWith("DATA ACCEPT:") ? "ok" : undefined) });
    t.s.runFor(1000);
    assert.deepEqual(r.result, { ok: true, lines: [], final: "DATA ACCEPT:0,1460" });
    assert.deepEqual(t.received.slice(-1460), Array.from(payload));
    for (const w of t.writes) assert.ok(w.bytes <= w.free && w.bytes <= UART_FIFO_BYTES, `a write of ${w.bytes} with ${w.free} free`);
    assert.ok(t.writes.length >= 1460 / UART_FIFO_BYTES, "the payload went out in several writes");
  });

  it("fails with 'no-prompt' and sends ESC when the prompt does not come; the payload is never sent", () => {
    const t = bench();
    const r = send(t.engine, { text: "AT+CMGS=20", timeoutMs: 5000, promptTimeoutMs: 3000, payload: new Uint8Array([0x7e, 0x7f]) });
    t.s.runFor(4000);
    assert.deepEqual(r.result, { ok: false, failure: { code: "no-prompt" }, lines: [] });
    assert.deepEqual(t.received.slice(-1), [0x1b]);
    assert.ok(!t.received.includes(0x7e));
  });

  it("fails a prompt command that gets an answer instead of the prompt", () => {
    const t = bench();
    t.onCommand(() => t.say("\r\n+CMS ERROR: 304\r\n"));
    const r = send(t.engine, { text: "AT+CMGS=20", timeoutMs: 5000, payload: new Uint8Array([1]) });
    t.s.runFor(100);
    assert.deepEqual(r.result, { ok: false, failure: { code: "cms", value: 304, line: "+CMS ERROR: 304" }, lines: [] });
  });

  it("delivers announced raw bytes to the command, even bytes that look like line ends, and completes on OK", () => {
    const t = bench();
    const data = [13, 10, 79, 75, 13, 10, 0, 62];
    t.onCommand(() => t.say([...Array.from("\r\n+QIRD: 8\r\n", (c) => c.charCodeAt(0)), ...data, ...Array.from("\r\n\r\nOK\r\n", (c) => c.charCodeAt(0))]));
    const got: number[] = [];
    const r = send(t.engine, { text: "AT+QIRD=0,1500", timeoutMs: 1000, info: "+QIRD:", onInfo: () => 8, onRaw: (b) => got.push(...b) });
    t.s.runFor(100);
    assert.deepEqual(got, data);
    assert.equal(r.result?.ok, true);
  });

  it("drops and counts the echo of its own command, and tells the owner", () => {
    const t = bench();
    t.onCommand((l) => t.say(`${l}\r\r\nOK\r\n`));
    const r = send(t.engine, { text: "ATE0", timeoutMs: 1000 });
    t.s.runFor(100);
    assert.equal(r.result?.ok, true);
    assert.equal(t.engine.counters.echoes, 1);
    assert.equal(t.echoes, 1);
  });

  it("runs commands one at a time, in order", () => {
    const t = bench();
    t.onCommand((l) => t.s.after(20, () => t.say(`\r\n${l.slice(2)}\r\n\r\nOK\r\n`)));
    const order: string[] = [];
    for (const c of ["+A", "+B", "+C"]) t.engine.send({ text: `AT${c}`, timeoutMs: 1000, info: "+", done: (r) => order.push(r.ok ? r.lines[0]! : "fail") });
    t.s.runFor(20);
    assert.deepEqual(t.commands, ["AT+A"], "the second waits for the first's answer");
    t.s.runFor(500);
    assert.deepEqual(order, ["+A", "+B", "+C"]);
  });

  it("answers 'busy' when the queue is full and 'closed' once closed, always in a later turn", () => {
    const t = bench();
    const results: string[] = [];
    for (let i = 0; i < 20; i++) t.engine.send({ text: "AT", timeoutMs: 10, done: (r) => results.push(r.ok ? "ok" : r.failure.code) });
    assert.deepEqual(results, [], "nothing inside send");
    t.s.runFor(1);
    assert.equal(results.filter((r) => r === "busy").length, 3, "1 running + 16 queued, 3 refused");
    t.engine.close();
    const late: string[] = [];
    t.engine.send({ text: "AT", timeoutMs: 10, done: (r) => late.push(r.ok ? "ok" : r.failure.code) });
    assert.deepEqual(late, []);
    t.s.runFor(1);
    assert.deepEqual(late, ["closed"]);
    assert.equal(results.length, 20, "every command answered exactly once");
  });

  it("abortAll fails the running and the queued commands exactly once each", () => {
    const t = bench();
    const results: string[] = [];
    for (let i = 0; i < 3; i++) t.engine.send({ text: "AT", timeoutMs: 1000, done: (r) => results.push(r.ok ? "ok" : r.failure.code) });
    t.engine.abortAll("aborted");
    t.s.runFor(5000);
    assert.deepEqual(results, ["aborted", "aborted", "aborted"]);
    assert.equal(t.engine.pending, 0);
  });

  it("counts an exception thrown by a handler, fails the command and keeps working", () => {
    const t = bench();
    t.onCommand(() => t.say("\r\n+X: 1\r\n\r\nOK\r\n"));
    const r = send(t.engine, {
      text: "AT+X",
      timeoutMs: 1000,
      info: "+X:",
      onInfo: () => {
        throw new Error("bug");
      },
    });
    t.s.runFor(300);
    assert.deepEqual(r.result?.ok ? "ok" : r.result?.failure.code, "aborted");
    assert.equal(t.engine.counters.internalErrors, 1);
    const after = send(t.engine, { text: "AT+X", timeoutMs: 1000, info: "+X:" });
    t.s.runFor(500);
    assert.equal(after.result?.ok, true);
  });

  it("counts lines nobody claims", () => {
    const t = bench();
    t.say("\r\nHELLO\r\n\r\nOK\r\n");
    t.s.runFor(100);
    assert.equal(t.engine.counters.unknownLines, 2, "an unknown line and a stray OK");
  });
});
