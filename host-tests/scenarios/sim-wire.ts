/**
 * Scenarios for the simulated wires: exact character timing on a point-to-point link, and an RS485
 * request/response exchange with direction control, echo and a collision.
 */
import { characterTimeMs, type SerialPort } from "../../hal/serial.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SerialLink } from "../../hal/sim/serial-link.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import { SimUart } from "../../hal/sim/uart.js";
import { Trace } from "../../hal/sim/trace.js";
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";

/** Streams `bytes` into a port in FIFO-sized chunks from onWritable, as firmware must on the ESP32. */
export function streamWriter(bytes: Uint8Array) {
  let sent = 0;
  let port: SerialPort | undefined;
  return {
    attach(p: SerialPort) {
      port = p;
    },
    onWritable(free: number) {
      if (!port || sent >= bytes.length) return;
      const n = Math.min(free, bytes.length - sent);
      if (port.write(bytes.subarray(sent, sent + n))) sent += n;
    },
    get sent() {
      return sent;
    },
  };
}

export const linkTiming: Scenario = {
  name: "sim: a 1000-byte burst at 2400 Bd takes exactly 1000 character times",
  start(seed) {
    const s = new Scheduler();
    const prng = new Prng(seed);
    const d = new PowerDomain(s, "bench");
    const a = new SimUart(d, "a", prng.fork("a"));
    const b = new SimUart(d, "b", prng.fork("b"));
    new SerialLink(s, prng, a, b);
    d.powerOn();
    const payload = new Uint8Array(1000).map((_, i) => (i * 7) & 0x7f);
    const writer = streamWriter(payload);
    const received: number[] = [];
    let lastDelivery = 0;
    const rx = b.open({
      baud: 2400,
      frame: "7E1",
      onReadable() {
        const got = rx.read();
        if (got) received.push(...got);
        lastDelivery = s.now;
      },
    });
    writer.attach(a.open({ baud: 2400, frame: "7E1", onWritable: (n) => writer.onWritable(n) }));
    return {
      scheduler: s,
      limitMs: 10_000,
      done: () => received.length >= payload.length,
      check() {
        check.deepEqual(received, Array.from(payload), "bytes received");
        // Last character ends at 1000 character times; the RX idle timeout adds 4 more.
        check.near(lastDelivery, 1004 * characterTimeMs(2400), 1e-6, "delivery time of the last byte (ms)");
        check.equal(rx.overruns, 0, "overruns");
      },
    };
  },
};

export const rs485Exchange: Scenario = {
  name: "sim: RS485 request/response with direction control, echo and a collision",
  start(seed) {
    const s = new Scheduler();
    const prng = new Prng(seed);
    const trace = new Trace(64);
    const bus = new Rs485Bus(s, prng, { trace });
    const node = (name: string, echo: boolean) => {
      const d = new PowerDomain(s, name);
      const uart = new SimUart(d, name, prng.fork(name));
      const de = new SimDigitalOutput(d);
      bus.attach({ uart, de, echo });
      d.powerOn();
      return { uart, de };
    };
    const master = node("master", true);
    const slaves = ["1", "2", "3"].map((addr) => ({ addr, ...node(`slave${addr}`, false) }));
    const baud = 9600;
    const t = characterTimeMs(baud);
    // Driver release waits one bit time after the last stop bit: there is no TX-complete event.
    const guard = t / 10;
    const echoes: number[] = [];
    const answers: string[] = [];

    // Each slave answers "<addr>OK" when it hears "?<addr>"; slaves 2 and 3 both answer "?*" (a collision).
    for (const sl of slaves) {
      let heard = "";
      const port = sl.uart.open({
        baud,
        onReadable() {
          const got = port.read();
          if (!got) return;
          heard += String.fromCharCode(...got);
          const wanted = heard.endsWith(`?${sl.addr}`) || (heard.endsWith("?*") && sl.addr !== "1");
          if (!wanted) return;
          heard = "";
          const reply = new TextEncoderLite(`${sl.addr}OK`).bytes;
          sl.de.write(1);
          port.write(reply);
          s.after(reply.length * t + guard, () => sl.de.write(0));
        },
      });
    }

    const requests = ["?1", "?3", "?*"];
    let phase = 0;
    let inbox = "";
    const send = () => {
      const bytes = new TextEncoderLite(requests[phase]!).bytes;
      master.de.write(1);
      mport.write(bytes);
      s.after(bytes.length * t + guard, () => {
        echoes.push(...Array.from(mport.read() ?? []));
        master.de.write(0);
      });
      s.after(bytes.length * t + 50, () => {
        answers.push(inbox);
        inbox = "";
        if (++phase < requests.length) send();
      });
    };
    const mport = master.uart.open({
      baud,
      onReadable() {
        if (master.de.level === 1) return; // our own echo, collected when the driver is released
        inbox += String.fromCharCode(...(mport.read() ?? []));
      },
    });
    send();
    return {
      scheduler: s,
      limitMs: 1_000,
      done: () => answers.length === requests.length,
      check() {
        check.equal(answers[0], "1OK", "answer of module 1");
        check.equal(answers[1], "3OK", "answer of module 3");
        check.equal(answers[2]!.length, 3, "colliding answers still occupy three characters");
        check.ok(answers[2] !== "2OK" && answers[2] !== "3OK", "colliding answers are garbled");
        check.equal(bus.counters.collisions, 6, "characters garbled by the collision (3 from each module)");
        check.equal(String.fromCharCode(...echoes.slice(0, 2)), "?1", "master hears its own echo");
      },
    };
  },
};

/** ASCII encoder: TextEncoder is a module, not a global, on the device. */
class TextEncoderLite {
  readonly bytes: Uint8Array;
  constructor(text: string) {
    this.bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) this.bytes[i] = text.charCodeAt(i) & 0xff;
  }
}

export const scenarios: Scenario[] = [linkTiming, rs485Exchange];
