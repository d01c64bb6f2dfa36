// The route's measurements and its rate and up/down decisions (firmware/bridge/route.ts): a route is a
// row of the route table.
import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_ROUTE_POLICY, RouteTable } from "../../firmware/bridge/route.js";

const RATES = [2400, 1200, 600, 300];

/** A table with one primary route (and room for more). */
function route(): { t: RouteTable; r: number } {
  const t = new RouteTable(RATES, DEFAULT_ROUTE_POLICY, 4);
  return { t, r: t.add("primary", [1]) };
}

/** A relay of `frames` frames that each needed `perFrame` transmissions. */
function reached(t: RouteTable, r: number, frames: number, perFrame: number): void {
  t.reached(r, frames, Math.round(frames * perFrame), 1);
}

/** Brings a fresh route down to rate `index` by relays whose frames mostly failed (each steps it down once). */
function atRate(t: RouteTable, r: number, index: number): void {
  while (t.rateIndex(r) < index) reached(t, r, 10, 3);
}

describe("bridge route: rate", () => {
  it("keeps the highest rate while frames get through at the first try", () => {
    const { t, r } = route();
    for (let i = 0; i < 50; i++) reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 2400);
    assert.equal(t.stats(r).frameSuccess, 1);
  });

  it("steps down after successful relays whose frames needed retransmission too often", () => {
    const { t, r } = route();
    reached(t, r, 10, 1.3);
    assert.equal(t.rateBps(r), 2400, "one relay at 1.3 tries a frame moves the estimate about halfway (0.87)");
    reached(t, r, 10, 1.3);
    assert.equal(t.rateBps(r), 1200);
    assert.equal(t.stats(r).frameSuccess, 1, "a new rate starts with a clean record");
    assert.equal(t.up(r), true);
  });

  it("steps up after 10 clean relays in a row, one rate at a time", () => {
    const { t, r } = route();
    atRate(t, r, 2);
    for (let i = 0; i < 9; i++) reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 600);
    reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 1200);
    for (let i = 0; i < 10; i++) reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 2400);
    assert.equal(t.stats(r).faster, 2);
  });

  it("waits twice as long before the next step up when the first relay at the faster rate fails (AARF)", () => {
    const { t, r } = route();
    atRate(t, r, 1);
    for (let i = 0; i < 10; i++) reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 2400);
    t.failed(r, 3, 9);
    assert.equal(t.rateBps(r), 1200, "the probe failed: back down");
    for (let i = 0; i < 10; i++) reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 1200, "10 is not enough any more");
    for (let i = 0; i < 10; i++) reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 2400, "20 is");
  });

  it("never steps outside the bridge's rates", () => {
    const { t, r } = route();
    for (let i = 0; i < 20; i++) reached(t, r, 10, 3);
    assert.equal(t.rateBps(r), 300);
    for (let i = 0; i < 40; i++) reached(t, r, 10, 1);
    assert.equal(t.rateBps(r), 2400);
  });
});

describe("bridge route: up and down", () => {
  it("goes down after two failures in a row, without a rate change for the failure that put it down", () => {
    const { t, r } = route();
    assert.equal(t.failed(r, 10, 10), false, "a relay that got its frames through but failed on the way back");
    assert.equal(t.rateBps(r), 2400);
    assert.equal(t.failed(r, 0, 3), true, "the second failure in a row puts it down");
    assert.equal(t.up(r), false);
    assert.equal(t.rateBps(r), 2400);
  });

  it("keeps its rate while failures come when it is down, and comes up at the first success", () => {
    const { t, r } = route();
    t.failed(r, 0, 3);
    t.failed(r, 0, 3);
    for (let i = 0; i < 5; i++) assert.equal(t.failed(r, 0, 3), false);
    assert.equal(t.rateBps(r), 1200, "only the first failure (frames all lost) stepped down");
    assert.equal(t.reached(r, 5, 5, 1), true, "came up");
    assert.equal(t.up(r), true);
    assert.equal(t.stats(r).failures, 7);
  });

  it("averages relay success and time with α = 1/8", () => {
    const { t, r } = route();
    t.failed(r, 10, 10);
    assert.equal(t.stats(r).success, 7 / 8);
    t.reached(r, 10, 10, 3);
    assert.equal(t.stats(r).slowness, 1 + (3 - 1) / 8);
  });
});

/**
 * The reference: one object per route, the rules of docs/bridge.md §Rate adaptation written as plainly
 * as possible (the form route.ts had before its routes became rows of numbers).
 */
class ModelRoute {
  rateIndex = 0;
  up = true;
  success = 1;
  frameSuccess = 1;
  slowness = 1;
  relays = 0;
  failures = 0;
  slower = 0;
  faster = 0;
  inRow = 0;
  okAtRate = 0;
  fasterAfter = DEFAULT_ROUTE_POLICY.fasterAfter;
  probing = false;

  reached(frames: number, tries: number, slowness: number): boolean {
    const p = DEFAULT_ROUTE_POLICY;
    this.relays++;
    this.success += p.alpha * (1 - this.success);
    this.slowness += p.alpha * (slowness - this.slowness);
    this.frames(frames, tries);
    this.inRow = 0;
    const cameUp = !this.up;
    this.up = true;
    this.okAtRate++;
    if (this.frameSuccess < p.slowerBelow) this.stepSlower();
    else if (this.okAtRate >= this.fasterAfter && this.frameSuccess >= p.fasterAbove) this.stepFaster();
    else this.probing = false;
    return cameUp;
  }

  failed(frames: number, tries: number): boolean {
    const p = DEFAULT_ROUTE_POLICY;
    this.relays++;
    this.failures++;
    this.okAtRate = 0;
    if (!this.up) return false;
    this.success -= p.alpha * this.success;
    this.frames(frames, tries);
    if (++this.inRow >= p.downAfter) return !(this.up = false);
    if (this.frameSuccess < p.slowerBelow || this.probing) this.stepSlower();
    return false;
  }

  frames(frames: number, tries: number): void {
    if (tries <= 0) return;
    const keep = (1 - DEFAULT_ROUTE_POLICY.frameAlpha) ** tries;
    this.frameSuccess = keep * this.frameSuccess + (1 - keep) * Math.min(1, frames / tries);
  }

  stepSlower(): void {
    const p = DEFAULT_ROUTE_POLICY;
    this.fasterAfter = this.probing ? Math.min(this.fasterAfter * 2, p.fasterAfter * 8) : p.fasterAfter;
    this.probing = false;
    if (this.rateIndex + 1 >= RATES.length) return;
    this.rateIndex++;
    this.slower++;
    this.okAtRate = 0;
    this.frameSuccess = 1;
  }

  stepFaster(): void {
    if (this.rateIndex === 0) return;
    this.rateIndex--;
    this.faster++;
    this.probing = true;
    this.okAtRate = 0;
    this.frameSuccess = 1;
  }
}

describe("bridge route table against a model", () => {
  const op = fc.record({
    route: fc.nat(2),
    ok: fc.boolean(),
    frames: fc.nat(20),
    tries: fc.nat(40),
    slowness: fc.double({ min: 0.1, max: 5, noNaN: true }),
  });

  it("gives every route the measurements, rate and state of an object of its own, whatever the relays", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const t = new RouteTable(RATES, DEFAULT_ROUTE_POLICY, 3);
        const paths = [[], [7], [7, 65535]];
        const rows = paths.map((p, i) => t.add(i === 0 ? "primary" : "backup", p));
        const models = paths.map(() => new ModelRoute());
        for (const o of ops) {
          const r = rows[o.route]!, m = models[o.route]!;
          const said = o.ok ? t.reached(r, o.frames, o.tries, o.slowness) : t.failed(r, o.frames, o.tries);
          assert.equal(said, o.ok ? m.reached(o.frames, o.tries, o.slowness) : m.failed(o.frames, o.tries));
        }
        rows.forEach((r, i) => {
          const m = models[i]!;
          const { rateIndex, up, success, frameSuccess, slowness, relays, failures, slower, faster } = m;
          assert.deepEqual(t.stats(r), { role: i === 0 ? "primary" : "backup", path: paths[i], up, rateBps: RATES[rateIndex], success, frameSuccess, slowness, relays, failures, slower, faster });
          assert.equal(t.hops(r), paths[i]!.length + 1);
          assert.ok(t.hasPath(r, paths[i]!) && !t.hasPath(r, [...paths[i]!, 1]));
        });
        // A copy carries everything measured.
        const copy = new RouteTable(RATES, DEFAULT_ROUTE_POLICY, 1);
        assert.deepEqual(copy.stats(copy.addCopy(t, rows[2]!)), t.stats(rows[2]!));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a path longer than a relay carries, and a route beyond its room", () => {
    const t = new RouteTable(RATES, DEFAULT_ROUTE_POLICY, 1);
    assert.throws(() => t.add("primary", [1, 2, 3]), RangeError);
    t.add("primary", [1, 2]);
    assert.throws(() => t.add("backup", [1]), RangeError);
  });
});
