// Fault injection beyond the XS scenarios: power-key logic, SIM PIN, registration, board resets,
// a stack that stops reporting, and the ByteStream contract of the sockets. Both families.
import assert from "node:assert/strict";
import type { ByteStreamCloseReason } from "../../firmware/net/byte-stream.js";
import { ECHO_HOST, ECHO_PORT, echoClient, modemRig, pattern, type Rig, type RigOptions } from "../../tools/sim/modem-rig.js";

const MINUTE = 60_000;
const ready = (rig: Rig) => () => rig.fw.state === "ready";

function readyRig(family: "sim800" | "quectel", options: Partial<RigOptions> = {}): Rig {
  const rig = modemRig({ family, seed: `recovery-${family}`, ...options });
  assert.ok(rig.until(ready(rig), 3 * MINUTE), `ready (${rig.fw.state})`);
  return rig;
}

function echoWorks(rig: Rig, bytes = 700): void {
  const c = echoClient(rig, pattern(bytes, 3));
  rig.until(() => c.complete || c.closed !== undefined, 5 * MINUTE);
  assert.deepEqual(c.received, Array.from(pattern(bytes, 3)), `echo (closed: ${c.closed})`);
  c.close();
}

for (const family of ["sim800", "quectel"] as const) {
  describe(`modem recovery (${family})`, () => {
    it("uses a module that is already on without pressing the key", () => {
      const rig = readyRig(family, { modemOn: true });
      assert.equal(rig.fw.counters.powerKeyPresses, 0);
    });

    it("switches a module left on and hung off with the first press and on with the second", () => {
      const rig = modemRig({ family, seed: "hung-at-start", modemOn: true });
      rig.modem.hang();
      assert.ok(rig.until(ready(rig), 5 * MINUTE));
      assert.equal(rig.fw.counters.powerKeyPresses, 2);
      echoWorks(rig);
    });

    it("backs off between power cycles of a module that never answers, without throwing", () => {
      const rig = modemRig({ family, seed: "dead" });
      rig.modem.dead = true;
      const presses: number[] = [];
      rig.board.modemPowerKey.watch((level) => level === 1 && presses.push(rig.scheduler.now));
      rig.scheduler.runFor(3 * 60 * MINUTE);
      const gaps = presses.slice(1).map((t, i) => t - presses[i]!);
      assert.ok(presses.length >= 6 && presses.length <= 30, `${presses.length} presses in 3 h`);
      assert.ok(Math.max(...gaps) >= 15 * MINUTE, `the pause between cycles grows towards the 30-minute cap (${gaps.map((g) => Math.round(g / 1000)).join(" s, ")} s)`);
      assert.equal(rig.fw.status.lastFailure, "unresponsive");
      assert.equal(rig.fw.counters.internalErrors, 0);
    });

    it("enters the configured SIM PIN once and gets ready", () => {
      const rig = readyRig(family, { modem: { sim: "pin", pin: "4321" }, firmware: { simPin: "4321" } });
      echoWorks(rig);
    });

    it("reports a SIM that wants a PIN it was not given as locked, and never guesses", () => {
      const rig = modemRig({ family, seed: "pin", modem: { sim: "pin", pin: "4321" }, firmware: { simPin: "1111" } });
      rig.scheduler.runFor(20 * MINUTE);
      assert.equal(rig.fw.status.lastFailure, "sim-locked");
      assert.notEqual(rig.fw.state, "ready");
    });

    it("waits out 40 s of searching for the network without counting a failure", () => {
      const rig = modemRig({ family, seed: "searching", modem: { coverage: "searching" } });
      rig.scheduler.after(40_000, () => rig.modem.setCoverage("home"));
      assert.ok(rig.until(ready(rig), 2 * MINUTE));
      assert.equal(rig.fw.counters.failures, 0);
      assert.ok(rig.statuses.some((s) => s.registration === "searching"));
    });

    it("closes sockets with 'network' when registration is lost while ready, and carries on when it returns", () => {
      const rig = readyRig(family);
      const c = echoClient(rig, pattern(300));
      rig.until(() => c.complete, MINUTE);
      rig.modem.setCoverage("none");
      rig.until(() => c.closed !== undefined, 2 * MINUTE);
      assert.equal(c.closed, "network");
      rig.scheduler.after(MINUTE, () => rig.modem.setCoverage("home"));
      assert.ok(rig.until(() => rig.fw.state !== "ready", MINUTE));
      assert.ok(rig.until(ready(rig), 10 * MINUTE));
      echoWorks(rig);
    });

    it("after a board reset finds the module still on, clears the sockets the old boot left, and connects", () => {
      const rig = readyRig(family);
      const old = echoClient(rig, pattern(300));
      rig.until(() => old.complete, MINUTE);
      assert.equal(rig.modem.sockets, 1);
      rig.board.reset("watchdog");
      rig.scheduler.runFor(1000);
      assert.ok(rig.modem.on, "the module kept its power");
      assert.ok(rig.until(ready(rig), 3 * MINUTE));
      assert.equal(rig.fw.counters.powerKeyPresses, 0, "the new boot found it answering");
      echoWorks(rig);
      rig.scheduler.runFor(5_000);
      assert.equal(rig.modem.sockets, 0, "only the new socket was used, and it is closed");
    });

    it("loses the module with the board's power and switches it on again when power returns", () => {
      const rig = readyRig(family);
      rig.board.cutPower();
      assert.equal(rig.modem.on, false);
      rig.scheduler.runFor(MINUTE);
      rig.board.powerOn();
      assert.ok(rig.until(ready(rig), 3 * MINUTE));
      echoWorks(rig);
    });

    it("stop() ends every socket with 'network' and start() brings the modem back", () => {
      const rig = readyRig(family);
      const c = echoClient(rig, pattern(300));
      rig.until(() => c.complete, MINUTE);
      rig.fw.stop();
      assert.equal(rig.fw.state, "stopped");
      rig.scheduler.runFor(10);
      assert.equal(c.closed, "network");
      rig.fw.start();
      assert.ok(rig.until(ready(rig), 3 * MINUTE));
      echoWorks(rig);
    });
  });
}

describe("modem recovery (quectel): a stack that stops reporting", () => {
  it("runs the bring-up again when socket opens keep getting no outcome (URCs routed to USB)", () => {
    const rig = readyRig("quectel");
    rig.modem.factoryReset(); // URCs now go to the USB port: +QIOPEN never reaches the UART
    const reasons: Array<ByteStreamCloseReason | undefined> = [];
    for (let i = 0; i < 2; i++) {
      const c = echoClient(rig, pattern(100));
      rig.until(() => c.closed !== undefined, 5 * MINUTE);
      reasons.push(c.closed);
    }
    assert.deepEqual(reasons, ["timeout", "timeout"]);
    assert.ok(rig.until(ready(rig), 3 * MINUTE));
    assert.equal(rig.fw.status.lastFailure, "stack-silent");
    echoWorks(rig);
  });
});

describe("TCP sockets: the ByteStream contract", () => {
  it("calls onClose in a later turn, never inside close()", () => {
    const rig = readyRig("sim800");
    let closed: string | undefined;
    const s = rig.fw.tcp.connect(ECHO_HOST, ECHO_PORT, { onConnect() {}, onData() {}, onWritable() {}, onClose: (r) => (closed = r) });
    s.close();
    assert.equal(closed, undefined);
    rig.scheduler.runFor(1);
    assert.equal(closed, "closed");
    s.close();
    rig.scheduler.runFor(10);
    assert.equal(rig.fw.tcp.active, 0);
  });

  it("refuses a write that does not fit the send buffer, then calls onWritable when it can", () => {
    const rig = readyRig("quectel", { firmware: { tcp: { sendBufferBytes: 1000 } } });
    let writable = 0;
    let connected = false;
    const s = rig.fw.tcp.connect(ECHO_HOST, ECHO_PORT, { onConnect: () => (connected = true), onData() {}, onWritable: () => writable++, onClose() {} });
    rig.until(() => connected, MINUTE);
    assert.equal(s.write(new Uint8Array(600)), true);
    assert.equal(s.write(new Uint8Array(600)), false);
    assert.equal(writable, 0);
    rig.until(() => writable > 0, MINUTE);
    assert.equal(s.write(new Uint8Array(600)), true);
    assert.equal(s.write(new Uint8Array(0)), true);
  });

  it("waits for the modem and gives up with 'network' after connectWaitMs", () => {
    const rig = modemRig({ family: "sim800", seed: "wait", modem: { coverage: "denied" }, firmware: { tcp: { connectWaitMs: 90_000 } } });
    let closed: string | undefined;
    rig.fw.tcp.connect(ECHO_HOST, ECHO_PORT, { onConnect() {}, onData() {}, onWritable() {}, onClose: (r) => (closed = r) });
    rig.until(() => closed !== undefined, 5 * MINUTE);
    assert.equal(closed, "network");
    assert.ok(Math.abs(rig.scheduler.now - 90_000) < 2, `gave up at ${rig.scheduler.now}`);
  });

  it("reports 'refused' when nobody listens, and a bad host or port with RangeError", () => {
    const rig = readyRig("quectel");
    let closed: string | undefined;
    rig.fw.tcp.connect("nobody.test", 1, { onConnect() {}, onData() {}, onWritable() {}, onClose: (r) => (closed = r) });
    rig.until(() => closed !== undefined, 3 * MINUTE);
    assert.equal(closed, "refused");
    const h = { onConnect() {}, onData() {}, onWritable() {}, onClose() {} };
    assert.throws(() => rig.fw.tcp.connect('a"b', 1, h), RangeError);
    assert.throws(() => rig.fw.tcp.connect("a", 0, h), RangeError);
    assert.throws(() => rig.fw.tcp.connect("a", 65536, h), RangeError);
  });

  it("opens no more sockets than allowed: the third waits for a free link", () => {
    const rig = readyRig("sim800");
    const a = echoClient(rig, pattern(100));
    const b = echoClient(rig, pattern(100));
    const c = echoClient(rig, pattern(100, 9));
    rig.until(() => a.complete && b.complete, MINUTE);
    rig.scheduler.runFor(5_000);
    assert.equal(c.connected, false);
    a.close();
    rig.until(() => c.complete, MINUTE);
    assert.deepEqual(c.received, Array.from(pattern(100, 9)));
  });

  it("contains an exception thrown by the owner's callback", () => {
    const rig = readyRig("sim800");
    let got = 0;
    const s = rig.fw.tcp.connect(ECHO_HOST, ECHO_PORT, {
      onConnect: () => s.write(new Uint8Array(200)),
      onData: (b) => {
        got += b.length;
        throw new Error("owner bug");
      },
      onWritable() {},
      onClose() {},
    });
    rig.until(() => got >= 200, MINUTE);
    assert.equal(got, 200);
    assert.ok(rig.fw.tcp.counters.handlerErrors > 0);
    echoWorks(rig);
  });

  for (const family of ["sim800", "quectel"] as const) {
    it(`reads at most readChunkBytes per read command, and the stream stays whole (${family})`, () => {
      const rig = readyRig(family, { firmware: { tcp: { readChunkBytes: 64 } } });
      const chunks: number[] = [];
      const s = rig.fw.tcp.connect(ECHO_HOST, ECHO_PORT, {
        onConnect: () => s.write(pattern(1500, 4)),
        onData: (b) => chunks.push(b.length),
        onWritable() {},
        onClose() {},
      });
      rig.until(() => chunks.reduce((a, b) => a + b, 0) >= 1500, 5 * MINUTE);
      assert.equal(chunks.reduce((a, b) => a + b, 0), 1500);
      assert.ok(chunks.length >= 1500 / 64 && chunks.every((n) => n <= 64), JSON.stringify(chunks));
    });
  }

  it("rejects invalid settings at construction", () => {
    assert.throws(() => modemRig({ family: "sim800", seed: "x", firmware: { apn: 'bad"apn' } }), RangeError);
    assert.throws(() => modemRig({ family: "sim800", seed: "x", firmware: { simPin: "12" } }), RangeError);
    assert.throws(() => modemRig({ family: "sim800", seed: "x", firmware: { tcp: { maxSockets: 0 } } }), RangeError);
    assert.throws(() => modemRig({ family: "sim800", seed: "x", firmware: { tcp: { readChunkBytes: 1461 } } }), RangeError);
  });
});
