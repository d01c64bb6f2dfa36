// The bridge transport (firmware/bridge/transport.ts) against simulated bridges, with faults injected
// into the far side, the bridge itself and the links.
import assert from "node:assert/strict";
import fc from "fast-check";
import { readRelay, relayState } from "../../firmware/bus/local-module.js";
import { runPollCycle, type CycleReport } from "../../firmware/bus/poll-cycle.js";
import type { ReadoutResult, SessionResult, Transaction } from "../../firmware/bus/types.js";
import { BridgeTransport } from "../../firmware/bridge/transport.js";
import { bridgeSite, type BridgeBusSite } from "../../tools/sim/bus-rig.js";
import { readoutDiffers } from "../scenarios/bridge.js";

function discovered(site: BridgeBusSite): BridgeBusSite {
  let left = site.bridges.length;
  for (const b of site.bridges) b.transport.discover((r) => (assert.ok(r.ok, JSON.stringify(r)), left--));
  site.scheduler.runUntilTrue(() => left === 0, 60_000);
  return site;
}

function plc(seed: string, modules = 3, localModules = 0): BridgeBusSite {
  return discovered(bridgeSite(seed, { bridges: [{ kind: "plc", address: 7, modules }], localModules }));
}

function run<R>(site: BridgeBusSite, enqueue: (done: (r: R) => void) => void, limitMs = 600_000): R {
  let result: R | undefined;
  enqueue((r) => (result = r));
  site.scheduler.runUntilTrue(() => result !== undefined, limitMs);
  assert.ok(result !== undefined, "completed");
  return result;
}

function readout(site: BridgeBusSite, address: string, transport = site.bridges[0]!.transport, tx: Partial<Transaction> = {}): ReadoutResult {
  return run<ReadoutResult>(site, (done) => transport.enqueue({ kind: "readout", address, ...tx, onDone: done } as Transaction));
}

describe("bridge transport: failures", () => {
  it("fails a module that is not in the bridge's table as unreachable, without a relay, in a later turn", () => {
    const site = plc("f1");
    const t = site.bridges[0]!.transport;
    let sync = true;
    let r: ReadoutResult | undefined;
    t.enqueue({ kind: "readout", address: "99999999", onDone: (x) => (r = x, assert.equal(sync, false)) });
    sync = false;
    site.scheduler.runFor(1000);
    assert.deepEqual(r, { ok: false, failure: { code: "unreachable", detail: "not in the bridge's table" }, attempts: 0 });
    assert.equal(t.counters.relays, 0);
  });

  it("times out after its retries when the remote module is down, and the route stays up", () => {
    const site = plc("f2");
    const m = site.bridges[0]!.sim.remotes[0]!.module;
    m.setBattery(false);
    m.cutPower(3_600_000);
    const r = readout(site, m.address);
    assert.ok(!r.ok);
    assert.deepEqual([r.failure.code, r.failure.detail, r.attempts], ["timeout", "first character", 3]);
    const t = site.bridges[0]!.transport;
    assert.equal(t.counters.routeFailures, 0, "the relays reached the node: the module was silent");
    assert.equal(t.routeStats(m.address)![0]!.up, true);
    assert.equal(t.moduleStats(m.address)!.timeouts, 3);
  });

  it("fails with 'bridge' while the bridge has no power, and reads again once it is back", () => {
    const site = plc("f3");
    const { sim } = site.bridges[0]!;
    const m = sim.remotes[0]!.module;
    sim.bridge.domain.powerOff("power-cut");
    const r = readout(site, m.address);
    assert.ok(!r.ok && r.failure.code === "bridge" && r.attempts === 3, JSON.stringify(r));
    sim.bridge.domain.powerOn();
    assert.ok(readout(site, m.address).ok);
  });

  it("retries a relay the bridge lost when it restarted, and reads the module", () => {
    const site = plc("f4");
    const { sim, transport } = site.bridges[0]!;
    const m = sim.remotes[0]!.module;
    site.clock.set(() => {
      sim.bridge.domain.powerOff("watchdog");
      sim.bridge.domain.powerOn();
    }, 1000);
    const r = readout(site, m.address);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.attempts, 2);
    assert.equal(transport.counters.bridgeFailures, 1);
    assert.equal(readoutDiffers(m, r.readout), undefined);
  });

  it("waits while the bridge is busy with another concentrator's relay (as after a restart), then reads", () => {
    const site = plc("f5", 2);
    const { sim, transport: first } = site.bridges[0]!;
    const second = new BridgeTransport({ bus: site.master, clock: site.clock, timers: site.clock, address: 7 });
    let found = false;
    second.discover((r) => (found = r.ok));
    site.scheduler.runUntilTrue(() => found, 10_000);
    const results: ReadoutResult[] = [];
    first.enqueue({ kind: "readout", address: sim.remotes[0]!.module.address, onDone: (r) => results.push(r) });
    site.clock.set(() => second.enqueue({ kind: "readout", address: sim.remotes[1]!.module.address, onDone: (r) => results.push(r) }), 300);
    site.scheduler.runUntilTrue(() => results.length === 2, 600_000);
    assert.ok(results.every((r) => r.ok && r.attempts === 1), JSON.stringify(results));
    assert.ok(second.counters.busy > 0, "the second one was told the bridge was busy");
    assert.equal(sim.bridge.counters.busy, second.counters.busy);
  });

  it("counts a relay the bridge ends at its deadline as a route failure, and fails as unreachable", () => {
    const site = discovered(bridgeSite("f6", { bridges: [{ kind: "plc", address: 7, modules: 1 }] }));
    const t = new BridgeTransport({ bus: site.master, clock: site.clock, timers: site.clock, address: 7, minDeadlineMs: 500, maxDeadlineMs: 500 });
    let found = false;
    t.discover((r) => (found = r.ok));
    site.scheduler.runUntilTrue(() => found, 10_000);
    const r = readout(site, site.bridges[0]!.sim.remotes[0]!.module.address, t);
    assert.ok(!r.ok);
    assert.deepEqual([r.failure.code, r.failure.detail], ["unreachable", "relay deadline"]);
    assert.equal(site.bridges[0]!.sim.bridge.counters.timeouts, 3);
  });
});

describe("bridge transport: queue, statistics, sessions", () => {
  it("cancels a queued transaction, and fails the running and queued ones with 'closed' on close", () => {
    const site = plc("q1");
    const { sim, transport } = site.bridges[0]!;
    const [a, b, c] = sim.remotes.map((r) => r.module.address) as [string, string, string];
    const codes: string[] = [];
    const done = (r: ReadoutResult) => codes.push(r.ok ? "ok" : r.failure.code);
    transport.enqueue({ kind: "readout", address: a, onDone: done });
    const h = transport.enqueue({ kind: "readout", address: b, onDone: done });
    transport.enqueue({ kind: "readout", address: c, onDone: done });
    assert.equal(h.cancel(), true);
    assert.equal(h.cancel(), false);
    site.scheduler.runFor(1000);
    transport.close();
    site.scheduler.runFor(60_000);
    assert.deepEqual(codes, ["cancelled", "closed", "closed"]);
    assert.throws(() => transport.enqueue({ kind: "readout", address: a, onDone: done }), Error);
  });

  it("keeps statistics per remote module as the bus master does", () => {
    const site = plc("q2");
    const { sim, transport } = site.bridges[0]!;
    const m = sim.remotes[2]!.module;
    const r = readout(site, m.address);
    assert.ok(r.ok);
    const s = transport.moduleStats(m.address)!;
    assert.deepEqual([s.transactions, s.ok, s.failed, s.bytesSent], [1, 1, 0, 13]);
    assert.equal(s.bytesReceived, r.wire.receivedBytes);
    // Whole milliseconds, as the bus master's statistics (bus/module-stats.ts).
    assert.ok(s.lastResponseMs > 0 && s.lastResponseMs === Math.trunc(r.responseMs));
    assert.ok(r.wire.lowerBoundMs > 0 && r.responseMs > r.wire.lowerBoundMs, `${r.responseMs} > ${r.wire.lowerBoundMs}`);
    assert.deepEqual(transport.moduleStats("0" + m.address), s, "leading zeros ignored");
    assert.equal(transport.moduleStats("999"), undefined, "not in the bridge's table");
  });

  it("puts the bridge's frames before the local modules' queued readouts on the shared bus", () => {
    const site = plc("q3", 1, 16);
    let local: CycleReport | undefined;
    runPollCycle({ bus: site.master, clock: site.clock, addresses: site.local.map((m) => m.address), onDone: (r) => (local = r) });
    const r = readout(site, site.bridges[0]!.sim.remotes[0]!.module.address);
    assert.ok(r.ok);
    assert.equal(local, undefined, "the remote readout is done before the local cycle");
    site.scheduler.runUntilTrue(() => local !== undefined, 600_000);
    assert.equal(local!.ok, 16);
  });

  it("signs on at 300 Bd through the bridge when the session's highest rate is below the module's", () => {
    const site = plc("q4");
    const m = site.bridges[0]!.sim.remotes[1]!.module;
    const r = run<SessionResult>(site, (done) =>
      site.bridges[0]!.transport.enqueue({ kind: "session", address: m.address, password: "00000000", commands: [readRelay()], timing: { maxBaud: 2400 }, onDone: done }),
    );
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(r.results[0]!.ok && relayState(r.results[0]!.dataSets) === true);
  });

  it("reports a wrong password through the bridge as the bus master does", () => {
    const site = plc("q5");
    const m = site.bridges[0]!.sim.remotes[0]!.module;
    const r = run<SessionResult>(site, (done) => site.bridges[0]!.transport.enqueue({ kind: "session", address: m.address, password: "12345678", commands: [readRelay()], onDone: done }));
    assert.ok(!r.ok);
    assert.deepEqual([r.failure.code, r.failure.detail, r.attempts], ["password-refused", "ERPWD", 1]);
  });
});

describe("bridge transport: link faults (property)", () => {
  it("answers every readout with exact registers or a typed failure, whatever the links do, and reads again once they heal", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.double({ min: 0, max: 12, noNaN: true }), { minLength: 10, maxLength: 10 }),
        fc.subarray([1, 2, 3, 4]),
        fc.integer({ min: 0, max: 5 }),
        (seed, losses, deadRepeaters, which) => {
          const site = plc(`p${seed}`, 6);
          const { sim, transport } = site.bridges[0]!;
          const links = [[0, 1], [0, 2], [1, 3], [2, 4], [0, 100], [1, 100], [1, 101], [2, 101], [3, 102], [4, 102]] as const;
          links.forEach(([a, b], i) => sim.medium.link(a, b)!.degrade(losses[i]!));
          for (const id of deadRepeaters) sim.repeaters.get(id)!.powerOff("power-cut");
          const m = sim.remotes[which]!.module;
          const r = readout(site, m.address);
          if (r.ok) assert.equal(readoutDiffers(m, r.readout), undefined);
          else assert.ok(["unreachable", "timeout", "bridge"].includes(r.failure.code), JSON.stringify(r));
          links.forEach(([a, b]) => sim.medium.link(a, b)!.degrade(0));
          for (const id of deadRepeaters) sim.repeaters.get(id)!.powerOn();
          site.scheduler.runFor(11 * 60_000); // past the probe time of a route that went down
          const again = readout(site, m.address);
          assert.ok(again.ok, `after healing: ${JSON.stringify(again)} ${JSON.stringify(transport.routeStats(m.address))}`);
        },
      ),
      { numRuns: 40 },
    );
  });
});
