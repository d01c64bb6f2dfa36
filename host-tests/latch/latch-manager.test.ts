import assert from "node:assert/strict";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { LatchManager, type LatchRecord, type RelayResult } from "../../firmware/latch/latch-manager.js";
import { SimClock, SimRtc } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";

/** A latch manager on a virtual clock, with relays whose answers the test decides. */
function rig(o: { consumers: Map<number, number[]>; records?: LatchRecord[] }) {
  const s = new Scheduler();
  const domain = new PowerDomain(s, "mc");
  domain.powerOn();
  const clock = new SimClock(domain);
  const log: string[] = [];
  const saved: LatchRecord[] = [];
  /** Relay states of the modules (closed unless driven open). */
  const relays = new Map<number, boolean>();
  let answer: (module: number, connected: boolean) => RelayResult = (_m, connected) => ({ ok: true, connected });
  /** Relay reads under way now, and the most at once. */
  const reads = { now: 0, most: 0 };
  const latch = new LatchManager({
    persistence: { load: () => o.records ?? [], save: (r) => (log.push(`save ${r.consumer}=${r.state}`), saved.push(r)) },
    relays: {
      setRelay: (module, connected, to) => {
        log.push(`set ${module} ${connected ? "closed" : "open"}`);
        s.after(2_000, () => {
          const r = answer(module, connected);
          if (r.ok) relays.set(module, r.connected);
          to.relaySet(module, r);
        });
      },
      readRelay: (module, to) => {
        log.push(`read ${module}`);
        reads.most = Math.max(reads.most, ++reads.now);
        s.after(1_000, () => (reads.now--, to.relayRead(module, { ok: true, connected: relays.get(module) ?? true })));
      },
    },
    moduleOf: (consumer) => [...o.consumers].find(([, list]) => list.includes(consumer))?.[0],
    consumersOf: (module) => o.consumers.get(module) ?? [],
    clock,
    timers: clock,
    wallClock: new SimRtc(domain, { startEpochMs: Date.UTC(2026, 0, 1), driftPpm: 0 }),
    raise: () => undefined,
    audit: (e) => log.push(`audit ${e.subject} ${e.result}`),
  });
  return { s, clock, latch, log, saved, relays, reads, setAnswer: (f: typeof answer) => (answer = f) };
}

describe("latch manager", () => {
  it("persists a trigger before it answers, then drives the relay", () => {
    const r = rig({ consumers: new Map([[1, [10]]]) });
    r.latch.start();
    const outcome = r.latch.trigger(10, "remoteDisconnect", "head-end");
    assert.deepEqual(outcome, { code: "ok", state: ControlState.disconnected });
    assert.deepEqual(r.log, ["save 10=0", "audit 10 ok", "set 1 open"]);
  });

  it("retries a relay that could not be driven, with back-off, until it holds", () => {
    const r = rig({ consumers: new Map([[1, [10]]]) });
    r.setAnswer(() => ({ ok: false, failure: { code: "timeout" } }));
    r.latch.start();
    r.latch.trigger(10, "remoteDisconnect", "head-end");
    r.s.runUntil(100_000);
    // set at 0, fails at 2 s; retried 30 s later (32 s), fails at 34; 60 s later (94 s)
    assert.equal(r.log.filter((l) => l.startsWith("set")).length, 3);
    r.setAnswer((_m, connected) => ({ ok: true, connected }));
    r.s.runUntil(400_000);
    assert.equal(r.log.filter((l) => l.startsWith("set")).length, 4, "the next retry holds, and nothing more");
  });

  it("watches the latched relays one read at a time, and opens every one found closed", () => {
    const modules = [1, 2, 3, 4, 5];
    const r = rig({ consumers: new Map(modules.map((m) => [m, [m * 10]])) });
    r.latch.start();
    for (const m of modules) r.latch.trigger(m * 10, "remoteDisconnect", "head-end");
    r.s.runUntil(60_000);
    // Someone closes every relay by hand; the next watch (every 5 minutes) finds them.
    for (const m of modules) r.relays.set(m, true);
    r.log.length = 0;
    r.s.runUntil(11 * 60_000);
    for (const m of modules) {
      assert.ok(r.log.includes(`read ${m}`), r.log.join("; "));
      assert.ok(r.log.includes(`set ${m} open`), r.log.join("; "));
      assert.equal(r.relays.get(m), false);
    }
    assert.equal(r.reads.most, 1);
  });

  it("drives nothing after stop, not even the retry of a drive that was under way", () => {
    const r = rig({ consumers: new Map([[1, [10]]]) });
    r.setAnswer(() => ({ ok: false, failure: { code: "timeout" } }));
    r.latch.start();
    r.latch.trigger(10, "remoteDisconnect", "head-end");
    r.s.runUntil(1_000);
    r.latch.stop();
    r.s.runUntil(3_600_000);
    assert.equal(r.log.filter((l) => l.startsWith("set")).length, 1);
  });

  it("never closes a relay for a consumer whose meter went to another module while its drive was retried", () => {
    const consumers = new Map([[1, [10]]]);
    const r = rig({ consumers });
    r.setAnswer(() => ({ ok: false, failure: { code: "timeout" } }));
    r.latch.start();
    r.latch.trigger(10, "remoteDisconnect", "head-end");
    r.s.runUntil(10_000);
    // Module 1 is replaced by module 2: the consumer's meter is behind module 2 now.
    consumers.set(1, []);
    consumers.set(2, [10]);
    r.setAnswer((_m, connected) => ({ ok: true, connected }));
    r.s.runUntil(3_600_000);
    assert.ok(!r.log.includes("set 1 closed"), r.log.join("; "));
    assert.ok(r.log.includes("set 2 open"), "the watch finds the new module closed and opens it");
  });

  describe("load limiters", () => {
    const LIMIT = { thresholdNormal: 5000, thresholdEmergency: 1000, minOverMs: 0, minUnderMs: 60_000, emergencyGroups: [7] };

    it("persists a limit with the consumer's record before it answers, and audits it", () => {
      const r = rig({ consumers: new Map([[1, [10]]]) });
      assert.deepEqual(r.latch.setLimiter(10, LIMIT, "head-end"), { code: "ok", state: ControlState.connected });
      assert.deepEqual(r.saved.at(-1), { consumer: 10, state: ControlState.connected, mode: 2, limiter: LIMIT });
      assert.deepEqual(r.log, ["save 10=1", "audit 10 ok"]);
      r.latch.trigger(10, "remoteDisconnect", "head-end");
      assert.deepEqual(r.saved.at(-1)?.limiter, LIMIT, "a trigger keeps the limit in the record");
      r.latch.setLimiter(10, undefined, "head-end");
      assert.equal(r.saved.at(-1)?.limiter, undefined);
    });

    it("refuses a limit from the field, for an unknown consumer or out of bounds, changing nothing", () => {
      const r = rig({ consumers: new Map([[1, [10]]]) });
      for (const [consumer, config, source] of [
        [10, LIMIT, "local"],
        [10, LIMIT, "manual"],
        [99, LIMIT, "head-end"],
        [10, { ...LIMIT, minOverMs: -1 }, "head-end"],
        [10, { ...LIMIT, thresholdNormal: 1.5 }, "head-end"],
        [10, { ...LIMIT, emergencyGroups: [1, 2, 3, 4, 5] }, "head-end"],
      ] as const) {
        assert.equal(r.latch.setLimiter(consumer, config, source).code, "refused", `${consumer} ${JSON.stringify(config)} ${source}`);
      }
      assert.equal(r.saved.length, 0);
      assert.equal(r.latch.limiter(10), undefined);
      assert.equal(r.latch.counters.refused, 6);
    });

    it("acts on a limit restored from its record, and on the emergency threshold while a profile of its group is in force", () => {
      const r = rig({ consumers: new Map([[1, [10]], [2, [20]]]), records: [{ consumer: 10, state: ControlState.connected, mode: 2, limiter: LIMIT }] });
      r.latch.start();
      r.latch.sampleLoad(10, 3000);
      assert.equal(r.latch.state(10), ControlState.connected, "under the normal threshold");
      r.latch.setEmergency({ id: 8, activationMs: r.clock.now(), durationMs: 3_600_000 });
      r.latch.sampleLoad(10, 3000);
      assert.equal(r.latch.state(10), ControlState.connected, "a profile of another group changes nothing");
      r.latch.setEmergency({ id: 7, activationMs: r.clock.now(), durationMs: 3_600_000 });
      r.latch.sampleLoad(10, 3000);
      assert.equal(r.latch.state(10), ControlState.readyForReconnection, "over the emergency threshold: local disconnect (g)");
      r.latch.sampleLoad(20, 1e9);
      assert.equal(r.latch.state(20), ControlState.connected, "a consumer without a limit");
    });
  });
});
