import assert from "node:assert/strict";
import fc from "fast-check";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey, Direction, open, OVERHEAD_BYTES, peekHeader, seal } from "../../firmware/uplink/envelope.js";
import { keyPairOf } from "../../tools/sim/keys.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimCrypto } from "../../hal/sim/system.js";

const device = keyPairOf("device");
const headend = keyPairOf("headend");
const other = keyPairOf("other");
const key = deriveSharedKey(device.secretKey, headend.publicKey);
const up = { direction: Direction.up, concentrator: 17 } as const;

function pair(deviceCounters = new MemoryCounters(), headendCounters = new MemoryCounters()) {
  return {
    mc: new SecureChannel({ sharedKey: key, concentratorId: 17, role: "concentrator", counters: deviceCounters, reserveBlock: 4 }),
    he: new SecureChannel({ sharedKey: deriveSharedKey(headend.secretKey, device.publicKey), concentratorId: 17, role: "headend", counters: headendCounters }),
    deviceCounters,
    headendCounters,
  };
}

describe("security envelope", () => {
  it("derives the same shared key on both sides", () => {
    assert.deepEqual(deriveSharedKey(headend.secretKey, device.publicKey), key);
  });

  it("lays out version, direction, concentrator id and 48-bit counter in the 12-byte header", () => {
    const e = seal(key, { direction: Direction.up, concentrator: 0x01020304, counter: 0x0a0b0c0d0e0f }, new Uint8Array([1, 2, 3]));
    assert.deepEqual(Array.from(e.subarray(0, 12)), [
      0x01, // version
      0x01, // direction: up
      0x01, 0x02, 0x03, 0x04, // concentrator id, big-endian
      0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, // counter, big-endian
    ]);
    assert.equal(e.length, 3 + OVERHEAD_BYTES);
    assert.deepEqual(peekHeader(e), { direction: 1, concentrator: 0x01020304, counter: 0x0a0b0c0d0e0f });
  });

  it("opens what it sealed, for any body and counter", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 2 ** 48 - 1 }), (body, counter) => {
        const r = open(key, seal(key, { ...up, counter }, body), up);
        assert.ok(r.ok);
        assert.deepEqual(r.body, body);
        assert.equal(r.header.counter, counter);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses any single changed bit: header bits as foreign or malformed, the rest as forged", () => {
    const e = seal(key, { ...up, counter: 5 }, new Uint8Array(40).fill(7));
    for (let bit = 0; bit < e.length * 8; bit++) {
      const x = e.slice();
      x[bit >> 3]! ^= 1 << (bit & 7);
      const r = open(key, x, up);
      assert.equal(r.ok, false, `bit ${bit}`);
      if (!r.ok) {
        const expected = bit < 16 ? "malformed" : bit < 48 ? "foreign" : "authentication";
        if (bit < 16) assert.ok(r.reason === "malformed" || r.reason === "foreign", `bit ${bit}: ${r.reason}`);
        else assert.equal(r.reason, expected, `bit ${bit}`);
      }
    }
  });

  it("refuses a truncated envelope, one sealed with another key, and random bytes, without throwing", () => {
    const e = seal(key, { ...up, counter: 9 }, new Uint8Array(10));
    for (let n = 0; n < e.length; n++) assert.equal(open(key, e.subarray(0, n), up).ok, false);
    const foreignKey = deriveSharedKey(other.secretKey, headend.publicKey);
    const r = open(key, seal(foreignKey, { ...up, counter: 9 }, new Uint8Array(10)), up);
    assert.deepEqual(r, { ok: false, reason: "authentication" });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => assert.equal(open(key, b, up).ok, false)), { numRuns: 5000 });
  });
});

describe("secure channel", () => {
  it("accepts each message once and drops a replay, counting it", () => {
    const { mc, he } = pair();
    const m = mc.seal(new Uint8Array([1]));
    assert.deepEqual(he.open(m), new Uint8Array([1]));
    assert.equal(he.open(m), undefined);
    assert.equal(he.counters.replayed, 1);
    assert.equal(he.counters.accepted, 1);
  });

  it("drops an older message that arrives after a newer one (reordered)", () => {
    const { mc, he } = pair();
    const a = mc.seal(new Uint8Array([1]));
    const b = mc.seal(new Uint8Array([2]));
    assert.ok(he.open(b));
    assert.equal(he.open(a), undefined);
    assert.equal(he.counters.replayed, 1);
  });

  it("persists the accepted counter before it returns the body", () => {
    const { mc, he, headendCounters } = pair();
    const m = mc.seal(new Uint8Array([1]));
    const body = he.open(m);
    assert.ok(body);
    assert.equal(headendCounters.lastAccepted, peekHeader(m)!.counter);
  });

  it("never repeats a send counter across restarts, reserving counters in blocks", () => {
    const counters = new MemoryCounters();
    const seen = new Set<number>();
    for (let boot = 0; boot < 20; boot++) {
      const c = new SecureChannel({ sharedKey: key, concentratorId: 17, role: "concentrator", counters, reserveBlock: 4 });
      const n = boot % 7; // a power cut after n messages
      for (let i = 0; i < n; i++) {
        const counter = peekHeader(c.seal(new Uint8Array(0)))!.counter;
        assert.ok(!seen.has(counter), `counter ${counter} repeated`);
        seen.add(counter);
      }
    }
    assert.ok(counters.writes < seen.size, "fewer counter writes than messages");
  });

  it("keeps the head-end's send counters above its clock, so a lost database cannot repeat them", () => {
    let now = 1_700_000_000_000;
    const he = new SecureChannel({ sharedKey: key, concentratorId: 17, role: "headend", counters: new MemoryCounters(), reserveBlock: 1, counterFloor: () => now });
    const a = peekHeader(he.seal(new Uint8Array(0)))!.counter;
    const b = peekHeader(he.seal(new Uint8Array(0)))!.counter;
    assert.equal(a, now);
    assert.equal(b, now + 1);
    now += 10;
    const fresh = new SecureChannel({ sharedKey: key, concentratorId: 17, role: "headend", counters: new MemoryCounters(), reserveBlock: 1, counterFloor: () => now });
    assert.ok(peekHeader(fresh.seal(new Uint8Array(0)))!.counter > b);
  });

  it("does not accept its own direction back (a message reflected by the broker)", () => {
    const { mc } = pair();
    const own = mc.seal(new Uint8Array([1]));
    assert.equal(mc.open(own), undefined);
    assert.equal(mc.counters.foreign, 1);
  });

  it("keeps its counters consistent on any input: every frame lands in exactly one outcome", () => {
    const { mc, he } = pair();
    const genuine = Array.from({ length: 5 }, (_, i) => he.seal(new Uint8Array([i])));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(...genuine), fc.constantFrom(...genuine).map((g) => g.map((b, i) => (i === 20 ? b ^ 4 : b)))), { maxLength: 30 }), (inputs) => {
        for (const x of inputs) mc.open(x);
        const c = mc.counters;
        assert.equal(c.frames, c.malformed + c.foreign + c.authFailed + c.replayed + c.accepted);
      }),
      { numRuns: 300 },
    );
    assert.ok(mc.counters.accepted <= genuine.length, "each genuine message accepted at most once");
  });
});

describe("secure channel on the crypto service (sealLater, openLater)", () => {
  /** A concentrator's channel whose seals and opens run on the simulated worker; `cut()` is a power cut. */
  function board(counters = new MemoryCounters()) {
    const s = new Scheduler();
    const d = new PowerDomain(s, "mc");
    d.powerOn();
    const crypto = new SimCrypto(d);
    const mc = new SecureChannel({ sharedKey: key, concentratorId: 17, role: "concentrator", counters, reserveBlock: 4, crypto });
    const he = new SecureChannel({ sharedKey: deriveSharedKey(headend.secretKey, device.publicKey), concentratorId: 17, role: "headend", counters: new MemoryCounters() });
    return { s, d, mc, he, counters, cut: () => d.powerOff("power-cut") };
  }

  it("seals what the head-end opens, the envelopes in the order asked, each in a later turn", () => {
    const { s, mc, he } = board();
    const out: Uint8Array[] = [];
    // Longest first: the worker answers in the order asked, not the shortest first.
    for (let i = 0; i < 5; i++) mc.sealLater(Uint8Array.of(i, ...new Uint8Array((5 - i) * 300)), (e) => out.push(e!));
    assert.equal(out.length, 0, "not in the caller's turn");
    s.runFor(1_000);
    assert.deepEqual(out.map((e) => peekHeader(e)!.counter), [1, 2, 3, 4, 5]);
    assert.deepEqual(out.map((e) => he.open(e)![0]), [0, 1, 2, 3, 4]);
  });

  it("reserves the counter when the seal is asked for: a power cut before the result skips it, never reuses it", () => {
    const counters = new MemoryCounters();
    const first = board(counters);
    let sealed = 0;
    for (let i = 0; i < 6; i++) first.mc.sealLater(new Uint8Array(10), () => sealed++);
    first.cut(); // before any result
    first.s.runFor(1_000);
    assert.equal(sealed, 0);
    const second = board(counters);
    let e: Uint8Array | undefined;
    second.mc.sealLater(new Uint8Array(10), (x) => (e = x));
    second.s.runFor(1_000);
    assert.ok(peekHeader(e!)!.counter > 6, `counter ${peekHeader(e!)!.counter} above the six asked for before the cut`);
    assert.ok(second.he.open(e!));
  });

  it("persists a received counter only once the open result authenticated it, then hands the body over", () => {
    const counters = new MemoryCounters();
    const first = board(counters);
    const down = first.he.seal(Uint8Array.of(7));
    let body: Uint8Array | undefined;
    first.mc.openLater(down, (b) => (body = b));
    assert.equal(counters.lastAccepted, 0, "nothing accepted before the result");
    first.cut(); // the message is not acted on, and not taken either
    first.s.runFor(1_000);
    assert.equal(body, undefined);
    const second = board(counters);
    second.mc.openLater(down, (b) => {
      assert.equal(counters.lastAccepted, peekHeader(down)!.counter, "persisted before the body is handed over");
      body = b;
    });
    second.s.runFor(1_000);
    assert.deepEqual(body, Uint8Array.of(7));
    let again: Uint8Array | undefined = Uint8Array.of(0);
    second.mc.openLater(down, (b) => (again = b));
    second.s.runFor(1_000);
    assert.equal(again, undefined, "a replay");
    assert.deepEqual({ ...second.mc.counters }, { frames: 2, malformed: 0, foreign: 0, authFailed: 0, replayed: 1, parseFailed: 0, accepted: 1 });
  });

  it("refuses a forged envelope on the open result, and one not addressed to it at once", () => {
    const { s, mc, he } = board();
    const forged = he.seal(Uint8Array.of(1, 2, 3));
    forged[forged.length - 1]! ^= 1;
    const results: Array<Uint8Array | undefined> = [];
    mc.openLater(forged, (b) => results.push(b));
    mc.openLater(mc.seal(new Uint8Array(0)), (b) => results.push(b)); // our own direction back: foreign
    assert.deepEqual(results, [undefined], "the foreign one at once");
    s.runFor(1_000);
    assert.deepEqual(results, [undefined, undefined]);
    assert.equal(mc.counters.authFailed, 1);
    assert.equal(mc.counters.foreign, 1);
  });
});
