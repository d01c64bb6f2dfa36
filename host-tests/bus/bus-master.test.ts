import assert from "node:assert/strict";
import { clockSeconds, eventLogEntries, readClock, readEventLog, readRelay, relayState, writeClock, writeRelay } from "../../firmware/bus/local-module.js";
import type { ReadoutResult, SessionResult, SessionTransaction } from "../../firmware/bus/types.js";
import { ModuleEvent } from "../../hal/sim/local-module.js";
import { busSite } from "../../tools/sim/bus-rig.js";

function session(site: ReturnType<typeof busSite>, address: string, commands: SessionTransaction["commands"], password = "00000000"): SessionResult {
  let result: SessionResult | undefined;
  site.master.enqueue({ kind: "session", address, password, commands, onDone: (r) => (result = r) });
  site.scheduler.runUntilTrue(() => result !== undefined, 120_000);
  assert.ok(result, "the session completed");
  return result;
}

function readout(site: ReturnType<typeof busSite>, address: string, timing = {}): ReadoutResult {
  let result: ReadoutResult | undefined;
  site.master.enqueue({ kind: "readout", address, timing, onDone: (r) => (result = r) });
  site.scheduler.runUntilTrue(() => result !== undefined, 120_000);
  return result!;
}

describe("bus master: programming sessions with a simulated module (mode C)", () => {
  it("opens the relay and reads it back, then closes it; the module logs both", () => {
    const site = busSite("s1", { modules: 3 });
    const m = site.modules[1]!;
    const r = session(site, m.address, [writeRelay(false), readRelay()]);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.operand, m.serial, "P0 carries the module serial");
    assert.deepEqual(r.results[0], { ok: true, dataSets: [] });
    assert.equal(relayState(r.results[1]!.ok ? r.results[1]!.dataSets : []), false);
    assert.equal(m.relayConnected, false);
    const back = session(site, m.address, [writeRelay(true), readRelay()]);
    assert.ok(back.ok && back.results[1]!.ok && relayState(back.results[1]!.dataSets) === true);
    assert.deepEqual(m.log.slice(-2).map((e) => e.code), [ModuleEvent.relayOpen, ModuleEvent.relayClose]);
    assert.equal(site.modules[0]!.relayConnected, true, "other modules are untouched");
  });

  it("switches to the module's rate after the option select, and back to 2400 Bd for the next readout", () => {
    const site = busSite("s2", { modules: 2 });
    const m = site.modules[0]!;
    const r = session(site, m.address, [readClock()]);
    assert.ok(r.ok);
    assert.equal(site.master.lineCounters.echoMismatches, 0);
    const ro = readout(site, m.address);
    assert.ok(ro.ok);
    assert.equal(ro.wire.baud, 2400);
  });

  it("sets the module clock and reads it back", () => {
    const site = busSite("s3", { modules: 1 });
    const m = site.modules[0]!;
    const target = Date.UTC(2026, 5, 15, 12, 30, 0) / 1000;
    const r = session(site, m.address, [writeClock(target), readClock()]);
    assert.ok(r.ok && r.results[1]!.ok);
    const read = clockSeconds(r.results[1]!.dataSets)!;
    assert.ok(read >= target && read <= target + 2, `${read} vs ${target}`);
    assert.equal(m.clock().valid, true);
  });

  it("reads the event log in partial blocks, acknowledging each one", () => {
    const site = busSite("s4", { modules: 1 });
    const m = site.modules[0]!;
    for (let i = 0; i < 5; i++) {
      m.setDoor(true);
      m.setDoor(false);
    }
    const r = session(site, m.address, [readEventLog()]);
    assert.ok(r.ok && r.results[0]!.ok);
    const entries = eventLogEntries(r.results[0]!.dataSets);
    assert.deepEqual(entries.map((e) => e.code), m.log.map((e) => e.code));
    assert.ok(entries.length > 4, "more entries than one partial block holds");
  });

  it("reports a wrong password, and locks out after three", () => {
    const site = busSite("s5", { modules: 1 });
    const m = site.modules[0]!;
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = session(site, m.address, [readRelay()], "12345678");
      assert.equal(r.ok, false);
      if (!r.ok) codes.push(r.failure.code);
    }
    assert.deepEqual(codes, ["password-refused", "password-refused", "locked-out", "locked-out"]);
    const right = session(site, m.address, [readRelay()]);
    assert.ok(!right.ok && right.failure.code === "locked-out", "even the right password waits for the lock-out to end");
    site.scheduler.runFor(16 * 60_000);
    assert.ok(session(site, m.address, [readRelay()]).ok);
  });

  it("gives a command's error message as its result and goes on with the next command", () => {
    const site = busSite("s6", { modules: 1 });
    const r = session(site, site.modules[0]!.address, [
      { letter: "W", type: "1", dataSet: { address: "0-0:96.3.10", values: [{ value: "7" }] } },
      { letter: "R", type: "1", dataSet: { address: "9.9.9", values: [{ value: "" }] } },
      readRelay(),
    ]);
    assert.ok(r.ok);
    assert.deepEqual(r.results.slice(0, 2), [
      { ok: false, code: "error-message", text: "ERVAL" },
      { ok: false, code: "error-message", text: "ERADDR" },
    ]);
    assert.ok(r.results[2]!.ok);
  });
});

describe("bus master: module power, reboots and identity", () => {
  it("keeps a disconnection across a warm reboot, loses it on a cold start with a flat battery", () => {
    const site = busSite("p1", { modules: 1 });
    const m = site.modules[0]!;
    assert.ok(session(site, m.address, [writeRelay(false)]).ok);
    m.reboot();
    site.scheduler.runFor(1000);
    assert.equal(m.relayConnected, false, "battery-backed: the relay state survives");
    m.setBattery(false);
    m.cutPower(10_000);
    site.scheduler.runFor(11_000);
    assert.equal(m.relayConnected, true, "cold start: the relay is back to connected, the concentrator must re-assert");
    assert.equal(m.clock().valid, false);
    const ro = readout(site, m.address);
    assert.ok(ro.ok);
    assert.equal(ro.readout.dataSets.find((d) => d.address === "0-0:96.3.10")!.values[0]!.value, "1");
    assert.equal(m.log[m.log.length - 1]!.code, ModuleEvent.coldStart);
  });

  it("times out on a module that is down, retrying with backoff, and counts it", () => {
    const site = busSite("p2", { modules: 1 });
    const m = site.modules[0]!;
    m.setBattery(false);
    m.cutPower(600_000);
    const t0 = site.scheduler.now;
    const r = readout(site, m.address, { firstCharTimeoutMs: 1600, retries: 2, backoffMs: 100 });
    assert.ok(!r.ok && r.failure.code === "timeout");
    assert.equal(r.attempts, 3);
    const stats = site.master.moduleStats(m.address)!;
    assert.deepEqual([stats.timeouts, stats.retries, stats.failed], [3, 2, 1]);
    assert.ok(site.scheduler.now - t0 >= 3 * 1600 + 100 + 200, "three first-character timeouts and the backoffs");
  });

  it("reports a replaced module's new serial and a moved module's wrong address", () => {
    const site = busSite("p3", { modules: 2 });
    const [a, b] = site.modules as [typeof site.modules[0], typeof site.modules[0]];
    a.replace("99990001");
    site.scheduler.runFor(500);
    const r = readout(site, a.address);
    assert.ok(r.ok);
    assert.equal(r.readout.dataSets.find((d) => d.address === "0-0:C.1.0")!.values[0]!.value, "99990001");
    const old = b.address;
    b.move("20000001");
    assert.ok(!readout(site, old, { retries: 0 }).ok, "nothing answers at the old address");
    assert.ok(readout(site, "20000001").ok);
  });
});

describe("bus master: queue and line", () => {
  it("runs higher priority first, completes every transaction in a later turn, and cancels queued ones", () => {
    const site = busSite("q1", { modules: 3 });
    const order: string[] = [];
    const [m0, m1, m2] = site.modules.map((m) => m.address) as [string, string, string];
    let sync = true;
    site.master.enqueue({ kind: "readout", address: m0, onDone: () => order.push("low") });
    const h = site.master.enqueue({ kind: "readout", address: m1, onDone: (r) => order.push(r.ok ? "cancelled?" : r.failure.code) });
    site.master.enqueue({ kind: "readout", address: m2, priority: 2, onDone: () => order.push(sync ? "sync!" : "alarm") });
    sync = false;
    assert.equal(h.cancel(), true);
    site.scheduler.runFor(60_000);
    assert.deepEqual(order, ["cancelled", "alarm", "low"]);
  });

  it("rejects its own echo on a transceiver that hears itself, and reads the same without echo", () => {
    for (const echo of [true, false]) {
      const site = busSite("e1", { modules: 1, echo });
      const r = readout(site, site.modules[0]!.address);
      assert.ok(r.ok, `echo ${echo}`);
      assert.equal(site.master.lineCounters.echoMismatches, 0);
    }
  });

  it("keeps per-module statistics and the bus utilisation", () => {
    const site = busSite("st", { modules: 2 });
    const r = readout(site, site.modules[0]!.address);
    assert.ok(r.ok);
    const s = site.master.moduleStats(site.modules[0]!.address)!;
    assert.equal(s.bytesSent, 13);
    assert.equal(s.bytesReceived, r.wire.receivedBytes);
    assert.ok(s.lastResponseMs > 0 && s.lastResponseMs === s.maxResponseMs);
    assert.ok(site.master.utilisation > 0.5 && site.master.utilisation < 1);
  });
});
