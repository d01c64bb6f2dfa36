import assert from "node:assert/strict";
import fc from "fast-check";
import { characterTimeMs, FLOW_CONTROL_RX_THRESHOLD, UART_FIFO_BYTES } from "../../hal/serial.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SerialLink } from "../../hal/sim/serial-link.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import { SimUart } from "../../hal/sim/uart.js";

function link(seed = "1", noise = {}) {
  const s = new Scheduler();
  const prng = new Prng(seed);
  const d = new PowerDomain(s, "bench");
  const a = new SimUart(d, "a", prng.fork("a"));
  const b = new SimUart(d, "b", prng.fork("b"));
  const line = new SerialLink(s, prng, a, b, { noise });
  d.powerOn();
  return { s, d, a, b, line };
}

describe("sim UART and serial link", () => {
  it("delivers each character exactly 10 bit times after the previous one, at any baud rate", () => {
    fc.assert(
      fc.property(fc.constantFrom(300, 1200, 2400, 4800, 9600, 19200, 115200), fc.integer({ min: 1, max: 128 }), (baud, n) => {
        const { s, a, b } = link();
        const arrivals: number[] = [];
        const rx = b.open({ baud, onReadable: () => rx.read() });
        // Observe the wire: wrap receive to timestamp each character.
        const receive = b.receive.bind(b);
        b.receive = (byte, from) => {
          arrivals.push(s.now);
          receive(byte, from);
        };
        const tx = a.open({ baud });
        assert.equal(tx.write(new Uint8Array(n)), true);
        s.runUntil(1e7);
        assert.equal(arrivals.length, n);
        arrivals.forEach((t, i) => assert.ok(Math.abs(t - (i + 1) * characterTimeMs(baud)) < 1e-9, `char ${i} at ${t}`));
      }),
    );
  });

  it("refuses a write larger than the free FIFO space and writes nothing of it", () => {
    const { a } = link();
    const tx = a.open({ baud: 9600 });
    assert.equal(tx.write(new Uint8Array(100)), true);
    assert.equal(tx.writable, UART_FIFO_BYTES - 99); // one character already in the shift register
    assert.equal(tx.write(new Uint8Array(30)), false);
    assert.equal(tx.writable, UART_FIFO_BYTES - 99);
  });

  it("calls onWritable at open and again when the FIFO has drained to its threshold", () => {
    const { s, a } = link();
    const calls: Array<[number, number]> = [];
    const tx = a.open({ baud: 9600, onWritable: (n) => calls.push([s.now, n]) });
    s.runUntil(1);
    assert.deepEqual(calls, [[0, 128]]);
    tx.write(new Uint8Array(20));
    s.runUntil(100);
    // 20 bytes: the first moves to the shift register at once; 4 remain in the FIFO after 15 more.
    assert.equal(calls.length, 2);
    assert.ok(Math.abs(calls[1]![0] - 1 - 15 * characterTimeMs(9600)) < 1e-9);
    assert.equal(calls[1]![1], 124);
  });

  it("loses what arrives while the receive FIFO is full and counts it as overruns", () => {
    const { s, a, b } = link();
    const rx = b.open({ baud: 115200 }); // nobody reads
    const tx = a.open({ baud: 115200 });
    for (let i = 0; i < 3; i++) {
      tx.write(new Uint8Array(100));
      s.runUntil(s.now + 100);
    }
    assert.equal(rx.overruns, 300 - UART_FIFO_BYTES);
    assert.equal(rx.read()!.length, UART_FIFO_BYTES);
  });

  describe("RTS/CTS flow control", () => {
    /** `a` sends `n` bytes as fast as its FIFO takes them; `b` reads only every `readEveryMs` (a long turn). */
    function slowReader(n: number, readEveryMs: number, flow: { a: boolean; b: boolean }) {
      const { s, a, b } = link();
      const got: number[] = [];
      const rx = b.open({ baud: 115200, flowControl: flow.b });
      const readAll = (): void => {
        for (let c = rx.read(); c; c = rx.read()) got.push(...c);
        if (got.length < n) s.after(readEveryMs, readAll);
      };
      s.after(readEveryMs, readAll);
      const data = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
      let sent = 0;
      const tx = a.open({
        baud: 115200,
        onWritable: (free) => {
          const k = Math.min(free, n - sent);
          if (k > 0 && tx.write(data.subarray(sent, sent + k))) sent += k;
        },
      });
      if (flow.a) a.setFlowControl(true);
      s.runUntil(10_000);
      return { got, data, rx, s };
    }

    it("holds the sender while the receive FIFO is at the threshold, so a reader 50 ms late loses nothing", () => {
      const { got, data, rx } = slowReader(1000, 50, { a: true, b: true });
      assert.equal(rx.overruns, 0);
      assert.deepEqual(got, Array.from(data));
    });

    it("loses characters to the same late reader when the sender ignores RTS (the control case)", () => {
      const { got, rx } = slowReader(1000, 50, { a: false, b: true });
      assert.ok(rx.overruns > 0);
      assert.ok(got.length < 1000);
    });

    it("drops RTS at the threshold and raises it again once the owner reads", () => {
      const { s, a, b } = link();
      const rx = b.open({ baud: 9600, flowControl: true });
      const tx = a.open({ baud: 9600, flowControl: true });
      tx.write(new Uint8Array(UART_FIFO_BYTES));
      s.runUntil(1000);
      assert.equal(b.readyToReceive, false);
      const first = rx.read()!;
      assert.equal(first.length, FLOW_CONTROL_RX_THRESHOLD, "the sender stopped at the threshold");
      assert.equal(b.readyToReceive, true);
      s.runUntil(2000);
      assert.equal(rx.read()!.length, UART_FIFO_BYTES - FLOW_CONTROL_RX_THRESHOLD);
      assert.equal(rx.overruns, 0);
    });
  });

  it("turns characters sent at another baud rate into garbage", () => {
    const { s, a, b } = link();
    const got: number[] = [];
    const rx = b.open({ baud: 9600, onReadable: () => got.push(...rx.read()!) });
    a.open({ baud: 300 }).write(new Uint8Array(50).fill(0x41));
    s.runUntil(10_000);
    assert.equal(got.length, 50);
    assert.ok(got.filter((c) => c === 0x41).length < 5);
  });

  it("stops callbacks and drops FIFOs when the port is closed, and can be reopened at another baud", () => {
    const { s, a, b } = link();
    let calls = 0;
    const rx = b.open({ baud: 300, onReadable: () => calls++ });
    a.open({ baud: 300 }).write(new Uint8Array(10));
    s.runUntil(100);
    rx.close();
    s.runUntil(10_000);
    assert.equal(calls, 0);
    assert.throws(() => rx.read(), /closed/);
    const rx2 = b.open({ baud: 9600 });
    assert.equal(rx2.read(), undefined);
  });

  it("throws 'in use' when a port is opened twice", () => {
    const { a } = link();
    a.open({ baud: 9600 });
    assert.throws(() => a.open({ baud: 9600 }), /in use/);
  });

  it("applies noise at the configured per-character rates (within 4 standard deviations)", () => {
    const rates = { flip: 0.01, drop: 0.005, extra: 0.002 };
    const { s, a, b, line } = link("noise", rates);
    const rx = b.open({ baud: 115200, onReadable: () => rx.read() });
    const tx = a.open({ baud: 115200, onWritable: () => tx.write(new Uint8Array(100)) });
    s.runUntil(20_000); // ≈ 230k characters
    const c = line.noise.counters;
    assert.ok(c.characters > 200_000);
    // drop is drawn first; flip and extra only for characters that were not dropped.
    const expect = { dropped: rates.drop * c.characters, flipped: rates.flip * (c.characters - c.dropped), extra: rates.extra * (c.characters - c.dropped) };
    for (const k of ["dropped", "flipped", "extra"] as const) {
      const n = c.characters;
      const p = expect[k] / n;
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(c[k] - expect[k]) < 4 * sd, `${k}: ${c[k]} vs ${expect[k]}`);
    }
  });
});

describe("sim RS485 bus", () => {
  function bus() {
    const s = new Scheduler();
    const prng = new Prng("bus");
    const b = new Rs485Bus(s, prng);
    const node = (name: string, echo = false) => {
      const d = new PowerDomain(s, name);
      const uart = new SimUart(d, name, prng.fork(name));
      const de = new SimDigitalOutput(d);
      b.attach({ uart, de, echo });
      d.powerOn();
      return { d, uart, de };
    };
    return { s, b, node };
  }

  it("does not put characters on the bus while the driver is disabled", () => {
    const { s, b, node } = bus();
    const m = node("m"), r = node("r");
    const rx = r.uart.open({ baud: 9600 });
    m.uart.open({ baud: 9600 }).write(new Uint8Array([1, 2, 3]));
    s.runUntil(100);
    assert.equal(rx.read(), undefined);
    assert.equal(b.counters.characters, 0);
  });

  it("cuts off the character in flight when the driver is released too early", () => {
    const { s, b, node } = bus();
    const m = node("m"), r = node("r");
    const rx = r.uart.open({ baud: 9600 });
    m.de.write(1);
    m.uart.open({ baud: 9600 }).write(new Uint8Array([0x55, 0x55]));
    s.runUntil(characterTimeMs(9600) * 1.5);
    m.de.write(0);
    s.runUntil(100);
    assert.equal(b.counters.truncated, 1);
    const got = rx.read()!;
    assert.equal(got.length, 2);
    assert.equal(got[0], 0x55);
  });

  it("lets a node without echo not hear itself, and a node with echo hear itself", () => {
    const { s, node } = bus();
    const quiet = node("quiet"), loud = node("loud", true);
    const qp = quiet.uart.open({ baud: 9600 });
    const lp = loud.uart.open({ baud: 9600 });
    quiet.de.write(1);
    qp.write(new Uint8Array([7]));
    s.runUntil(10);
    quiet.de.write(0);
    loud.de.write(1);
    lp.write(new Uint8Array([9]));
    s.runUntil(20);
    loud.de.write(0);
    assert.deepEqual(Array.from(qp.read() ?? []), [9]);
    assert.deepEqual(Array.from(lp.read() ?? []), [7, 9]);
  });

  it("counts the bus busy time as the union of character times", () => {
    const { s, b, node } = bus();
    const x = node("x"), y = node("y");
    x.de.write(1);
    y.de.write(1);
    x.uart.open({ baud: 9600 }).write(new Uint8Array(10));
    s.runUntil(5 * characterTimeMs(9600));
    y.uart.open({ baud: 9600 }).write(new Uint8Array(10));
    s.runUntil(1000);
    assert.ok(Math.abs(b.busyMs - 15 * characterTimeMs(9600)) < 1e-9);
  });
});
