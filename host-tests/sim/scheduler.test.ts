import assert from "node:assert/strict";
import fc from "fast-check";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { Prng } from "../../hal/sim/prng.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";

describe("sim scheduler", () => {
  it("runs events in time order, and same-time events in the order they were scheduled", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (times) => {
        const s = new Scheduler();
        const ran: Array<[number, number]> = [];
        times.forEach((t, i) => s.at(t, () => ran.push([s.now, i])));
        while (s.step());
        const expected = times.map((t, i) => [t, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        assert.deepEqual(ran, expected);
      }),
    );
  });

  it("skips cancelled events and counts only the turns that ran", () => {
    const s = new Scheduler();
    const ran: string[] = [];
    const a = s.after(5, () => ran.push("a"));
    s.after(10, () => ran.push("b"));
    s.cancel(a);
    s.runUntil(100);
    assert.deepEqual(ran, ["b"]);
    assert.equal(s.turns, 1);
    assert.equal(s.now, 100);
  });

  it("cancels at a power cut what the circuit had posted (its callbacks let go then), and nothing another posted", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ board: fc.boolean(), delay: fc.integer({ min: 0, max: 100 }) }), { maxLength: 50 }), fc.integer({ min: 0, max: 100 }), (posts, cutAt) => {
        const s = new Scheduler();
        const board = new PowerDomain(s, "board"), module = new PowerDomain(s, "module");
        board.powerOn(), module.powerOn();
        const ran: number[] = [];
        posts.forEach((p, i) => (p.board ? board : module).after(p.delay, () => ran.push(i)));
        s.runUntil(cutAt);
        const before = ran.length;
        board.powerOff("power-cut");
        const left = posts.map((p, i) => ({ ...p, i })).filter((p) => !p.board && p.delay > cutAt);
        // The next event is another circuit's: nothing of the board's waits in the queue, as it would
        // until its time if it were only skipped when run.
        assert.equal(s.peek(), left.length ? Math.min(...left.map((p) => p.delay)) : undefined);
        board.powerOn();
        s.runUntil(200);
        assert.deepEqual(ran.slice(before).sort((a, b) => a - b), left.map((p) => p.i));
      }),
    );
  });

  it("never moves time backwards when an event is scheduled in the past", () => {
    const s = new Scheduler();
    s.runUntil(50);
    let at = -1;
    s.at(10, () => (at = s.now));
    s.step();
    assert.equal(at, 50);
  });

  it("stops runUntilTrue at the limit when the condition never holds", () => {
    const s = new Scheduler();
    const tick = () => s.after(1, tick);
    tick();
    assert.equal(s.runUntilTrue(() => false, 1000), false);
    assert.equal(s.now, 1000);
  });
});

describe("sim PRNG", () => {
  it("gives the same sequence for the same seed and a different one for another seed", () => {
    const a = new Prng("x"), b = new Prng("x"), c = new Prng("y");
    const sa = Array.from({ length: 16 }, () => a.nextUint32());
    assert.deepEqual(Array.from({ length: 16 }, () => b.nextUint32()), sa);
    assert.notDeepEqual(Array.from({ length: 16 }, () => c.nextUint32()), sa);
  });

  it("forks streams that do not depend on how much the parent has drawn", () => {
    const p1 = new Prng(7), p2 = new Prng(7);
    for (let i = 0; i < 100; i++) p2.next();
    assert.equal(p1.fork("bus").nextUint32(), p2.fork("bus").nextUint32());
    assert.notEqual(p1.fork("bus").nextUint32(), p1.fork("modem").nextUint32());
  });

  it("is uniform enough: each of 16 buckets within 5% of its expected share over 160k draws", () => {
    const p = new Prng("uniform");
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 160_000; i++) buckets[p.int(16)]!++;
    for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 500, `bucket ${b}`);
  });
});
