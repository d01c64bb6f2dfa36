// Fuzz campaign: random, garbage, truncated and interleaved modem output never makes the AT engine or
// the modem driver throw, every command is answered exactly once, and the state stays usable.
import assert from "node:assert/strict";
import fc from "fast-check";
import { AtEngine, UrcVerdict, type AtCommand } from "../../firmware/modem/at/engine.js";
import { quectel } from "../../firmware/modem/drivers/quectel.js";
import { sim800 } from "../../firmware/modem/drivers/sim800.js";
import type { SerialOptions, SerialPort, SerialPortProvider } from "../../hal/serial.js";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { echoClient, modemRig, pattern, type EchoClient } from "../../tools/sim/modem-rig.js";

/** A serial port in memory: whatever the test pushes is readable at once; writes always fit. */
class MemoryPort implements SerialPortProvider {
  #options: SerialOptions | undefined;
  #rx: Uint8Array[] = [];
  written = 0;
  open(options: SerialOptions): SerialPort {
    this.#options = options;
    return {
      read: () => this.#rx.shift(),
      write: (b) => ((this.written += b.length), true),
      writable: 128,
      overruns: 0,
      close: () => (this.#options = undefined),
    };
  }
  push(bytes: Uint8Array): void {
    this.#rx.push(bytes);
    this.#options?.onReadable?.(bytes.length);
  }
}

/** Lines a modem might say, right or wrong for the command at hand. */
const CORPUS = [
  "OK", "ERROR", "+CME ERROR: 14", "+CME ERROR: x", "+CMS ERROR: 500", "NO CARRIER", "SHUT OK", "SEND OK", "SEND FAIL",
  "DATA ACCEPT:0,5", "DATA ACCEPT:9,99999", "0, CLOSE OK", "0, CLOSED", "0, CONNECT OK", "3, CONNECT FAIL", "1, ALREADY CONNECT",
  "+CIPRXGET: 1,0", "+CIPRXGET: 2,0,5,0", "+CIPRXGET: 2,0,99999,0", "+CIPRXGET: 2,", "+QIRD: 5", "+QIRD: 0", "+QIRD: -1", "+QIRD: 5,5,0",
  '+QIURC: "recv",0', '+QIURC: "closed",0', '+QIURC: "pdpdeact",1', '+QIURC: "incoming full"', '+QIURC: "', "+QIOPEN: 0,0", "+QIOPEN: 0,563",
  "+CSQ: 21,0", "+CSQ: 99,99", "+CSQ:", "+CREG: 0,1", "+CREG: 0,3", "+CREG: ,", "+CGREG: 0,5", "+CPIN: READY", "+CPIN: NOT READY", "+CPIN: SIM PIN",
  "+CMTI: \"SM\",1", "+CMTI: \"SM\",", "+CDS: 25", "+CMT: ,24", "+CMGS: 7", "+CMGR: 0,,24", "+CMGL: 1,0,,24", "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
  "RDY", "Call Ready", "SMS Ready", "APP RDY", "+PDP: DEACT", "NORMAL POWER DOWN", "POWERED DOWN", "UNDER-VOLTAGE WARNNING", "10.1.2.3", "> ",
  "AT+CSQ", "+IPR: 0", "+QIACT: 1,1,1,\"10.0.0.1\"", "STATE: IP STATUS", "RING",
];

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** One piece of modem output. */
const fragment = fc.oneof(
  fc.constantFrom(...CORPUS).map((l) => enc(`\r\n${l}\r\n`)), // a whole line
  fc.constantFrom(...CORPUS).chain((l) => fc.nat(l.length).map((n) => enc(l.slice(0, n)))), // truncated
  fc.constantFrom(">", "> ", "\r", "\n", "\r\n").map(enc), // prompts and bare line ends
  fc.uint8Array({ maxLength: 40 }), // garbage
  fc.uint8Array({ maxLength: 700 }), // a long burst (raw data, or an overflowing line)
);

/** Commands the fuzz keeps queued: every shape the drivers use; `answered` counts each one's answers. */
function commands(answered: Map<AtCommand, number>): AtCommand[] {
  const list: AtCommand[] = [
    { text: "AT", timeoutMs: 200, done: () => undefined },
    { text: "AT+CSQ", timeoutMs: 1000, info: "+CSQ:", done: () => undefined },
    sim800.send(0, new Uint8Array(5), () => undefined),
    sim800.read(0, 1460, () => undefined, () => undefined),
    quectel.read(0, 1500, () => undefined, () => undefined),
    quectel.send(1, new Uint8Array(3), () => undefined),
    sim800.open(0, "h", 1, () => undefined),
    sim800.packetState(() => undefined),
    { text: "AT+CMGS=20", timeoutMs: 2000, promptTimeoutMs: 500, payload: enc("0011\x1a"), info: "+CMGS:", done: () => undefined },
  ];
  return list.map((c) => {
    const counted: AtCommand = { ...c, done: () => answered.set(counted, (answered.get(counted) ?? 0) + 1) };
    return counted;
  });
}

describe("fuzz: AT engine", () => {
  it("answers every command exactly once and never throws, whatever the modem says (20,000 inputs)", () => {
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 30 }), fc.array(fc.nat(3000), { maxLength: 30 }), fc.nat(8), (pieces, gaps, queued) => {
        const s = new Scheduler();
        const d = new PowerDomain(s, "fuzz");
        d.powerOn();
        const port = new MemoryPort();
        let urcs = 0;
        const engine = new AtEngine({
          serial: port,
          timers: new SimClock(d),
          urcs: {
            urc: (l) => {
              const sms = l.startsWith("+CDS:") || l.startsWith("+CMT:");
              const known = sms || sim800.classify(l) !== undefined || quectel.classify(l) !== undefined;
              if (known) urcs++;
              return sms ? UrcVerdict.HandledWithBody : known ? UrcVerdict.Handled : UrcVerdict.NotUrc;
            },
            urcBody: () => undefined,
          },
        });
        engine.open();
        const answers = new Map<AtCommand, number>();
        const all: AtCommand[] = [];
        const queue = (n: number) => {
          for (const c of commands(answers).slice(0, n)) {
            all.push(c);
            engine.send(c);
          }
        };
        queue(1 + queued);
        pieces.forEach((p, i) => s.at((gaps[i] ?? 0) + i, () => port.push(p)));
        s.at(2000, () => queue(3));
        s.runUntil(600_000); // longer than every queued timeout together
        assert.equal(engine.counters.internalErrors, 0);
        assert.equal(engine.pending, 0, "nothing left running");
        for (const c of all) assert.equal(answers.get(c), 1, `${c.text} answered once`);
        // Consistent afterwards: a clean exchange works.
        let ok = false;
        engine.send({ text: "AT+CSQ", timeoutMs: 1000, info: "+CSQ:", done: (r) => (ok = r.ok && r.lines[0] === "+CSQ: 5,0") });
        s.after(10, () => port.push(enc("\r\n+CSQ: 5,0\r\n\r\nOK\r\n")));
        s.runFor(2000);
        assert.ok(ok, "a clean exchange after the fuzz");
        assert.ok(urcs >= 0);
      }),
      {
        numRuns: 20_000,
        examples: [
          // Found by CI: a +CDS header cut off after the last command; its awaited body ate the next answer.
          [[...["OK", "OK"].map((l) => enc(`\r\n${l}\r\n`)), ...Array.from({ length: 4 }, () => new Uint8Array(0)), enc("\r\nOK\r\n"), enc(">"), enc("\r\n+CDS: 25\r\n")], [2401, 0, 0, 0, 0, 0, 2395, 0, 2393], 0],
        ],
      },
    );
  });
});

describe("fuzz: the modem driver against a lying, noisy module", () => {
  // Each seed: a working modem and a TCP echo, then 3 minutes of lies (random URCs and final codes at
  // any moment, also inside responses), garbage bytes and line noise; then a clean line. The driver
  // must not throw, must come back to ready, and a new echo must be intact.
  for (let seed = 1; seed <= Number(process.env.MODEM_FUZZ_SEEDS ?? 32); seed++) {
    const family = seed % 2 ? "sim800" : "quectel";
    it(`recovers from 3 minutes of lies and noise (${family}, seed ${seed})`, () => {
      const rig = modemRig({ family, seed: `fuzz-${seed}` });
      const chaos = new Prng(`chaos-${seed}`);
      assert.ok(rig.until(() => rig.fw.state === "ready", 120_000));
      const clients: EchoClient[] = [echoClient(rig, pattern(2000, seed))];
      const start = rig.scheduler.now;
      const lie = () => {
        if (rig.scheduler.now - start > 180_000) return;
        const roll = chaos.int(6);
        const line = CORPUS[chaos.int(CORPUS.length)]!;
        if (roll === 0) rig.modem.injectUrc(line);
        else if (roll === 1) rig.modem.urcsInNextResponse.push(line);
        else if (roll === 2) {
          const junk = new Uint8Array(1 + chaos.int(60));
          chaos.fill(junk);
          rig.modem.injectGarbage(junk);
        } else if (roll === 3) rig.link.noise.set({ flip: 0.01, drop: 0.01, extra: 0.01 });
        else if (roll === 4) rig.link.noise.set({});
        else if (rig.fw.sms.ready && chaos.int(10) === 0) rig.fw.sms.send("+40700000900", pattern(20, seed));
        if (chaos.int(20) === 0 && clients.every((c) => c.closed !== undefined)) clients.push(echoClient(rig, pattern(500, seed + 1)));
        rig.scheduler.after(chaos.exponential(400), lie);
      };
      lie();
      rig.scheduler.runUntil(start + 180_000);
      rig.link.noise.set({});
      clients.forEach((c) => c.close());
      // Reconnect like the uplink does until an echo gets through: the ladder may need up to a
      // 30-minute backoff and a power cycle to clear what the lies left behind.
      const payload = pattern(1500, seed + 2);
      let client = echoClient(rig, payload);
      const deadline = rig.scheduler.now + 45 * 60_000;
      while (!client.complete && rig.scheduler.now < deadline) {
        rig.until(() => client.complete || client.closed !== undefined, deadline - rig.scheduler.now);
        if (!client.complete && client.closed !== undefined) {
          rig.scheduler.runFor(10_000);
          client = echoClient(rig, payload);
        }
      }
      assert.ok(client.complete, `an echo gets through again (${rig.fw.state}, ${JSON.stringify(rig.fw.status)})`);
      assert.deepEqual(client.received, Array.from(payload), "the echo is intact");
      assert.equal(rig.fw.at.internalErrors, 0, "AT engine exceptions");
      assert.equal(rig.fw.counters.internalErrors, 0, "modem manager exceptions");
      assert.equal(rig.fw.tcp.counters.handlerErrors, 0);
    });
  }
});
