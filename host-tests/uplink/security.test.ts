import assert from "node:assert/strict";
import fc from "fast-check";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey } from "../../firmware/uplink/envelope.js";
import { encodeMessage } from "../../firmware/uplink/messages.js";
import { DOWNLINK_LATE_WINDOW } from "../../firmware/uplink/uplink.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";
import { keyPairOf } from "../../tools/sim/keys.js";
import { UplinkSite } from "../../tools/sim/uplink-site.js";

const MINUTE = 60_000;

/** A site connected and idle, with a captured genuine command (not yet delivered). */
function siteWithCapture(seed: string) {
  const site = new UplinkSite({ seed });
  site.powerOn();
  site.s.runFor(20_000);
  const genuine = site.headend.command(site.id, { op: "disconnect", meter: 5 })!;
  return { site, genuine };
}

describe("commands: security", () => {
  it("never acts on a forged, truncated or extended command, whatever the change", () => {
    const { site, genuine } = siteWithCapture("1");
    const mutation = fc.oneof(
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, x]) => (b: Uint8Array) => {
        const c = b.slice();
        c[i % c.length]! ^= x;
        return c;
      }),
      fc.nat().map((n) => (b: Uint8Array) => b.subarray(0, n % b.length)),
      fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => (b: Uint8Array) => new Uint8Array([...b, ...extra])),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (mutations) => {
        for (const m of mutations) site.broker.inject(site.uplink.topics.down, m(genuine.payload));
        site.s.runFor(2_000);
        assert.equal(site.handlers.calls.length, 0);
      }),
      { numRuns: 200 },
    );
    const rx = site.uplink.channel.counters;
    assert.equal(rx.accepted, 0);
    assert.equal(rx.frames, rx.malformed + rx.foreign + rx.authFailed + rx.replayed);
    // The genuine command still works after all that.
    site.broker.inject(site.uplink.topics.down, genuine.payload);
    site.s.runFor(2_000);
    assert.equal(site.handlers.calls.length, 1);
  });

  it("acts on a command once however often it is delivered, on an older one that comes after a newer one too, and never on one overtaken by more than the late window", () => {
    const { site, genuine } = siteWithCapture("2");
    const deliver = (payload: Uint8Array) => site.broker.inject(site.uplink.topics.down, payload);
    const newer = site.headend.command(site.id, { op: "reconnect", meter: 5 })!;
    deliver(newer.payload);
    site.s.runFor(2_000);
    deliver(genuine.payload); // older counter, delivered late (another head-end worker's connection)
    deliver(newer.payload); // replays
    deliver(genuine.payload);
    site.s.runFor(2_000);
    assert.deepEqual(
      site.handlers.calls.map((c) => c.op),
      ["reconnect", "disconnect"],
    );
    assert.equal(site.uplink.channel.counters.replayed, 2);
    const stale = site.headend.command(site.id, { op: "disconnect", meter: 6 })!;
    for (let i = 0; i < DOWNLINK_LATE_WINDOW; i++) deliver(site.headend.command(site.id, { op: "reconnect", meter: 7 })!.payload);
    site.s.runFor(2_000);
    deliver(stale.payload);
    site.s.runFor(2_000);
    assert.equal(site.handlers.calls.filter((c) => "meter" in c && c.meter === 6).length, 0);
    assert.equal(site.uplink.channel.counters.replayed, 3);
  });

  it("drops a command sealed for another concentrator and one sealed with another head-end's key", () => {
    const { site } = siteWithCapture("3");
    // A genuine head-end command for concentrator 18 (another shared key), replayed to 17's topic.
    const he = keyPairOf("headend");
    const otherDevice = keyPairOf("concentrator-18");
    const to18 = new SecureChannel({ sharedKey: deriveSharedKey(he.secretKey, otherDevice.publicKey), concentratorId: 18, role: "headend", counters: new MemoryCounters() });
    site.broker.inject(site.uplink.topics.down, to18.seal(encodeMessage({ kind: "command", command: { id: 1, op: "disconnect", meter: 5 } })));
    // A rogue head-end key pair addressing 17 correctly.
    const rogue = keyPairOf("rogue");
    const device = keyPairOf("concentrator");
    const forged = new SecureChannel({ sharedKey: deriveSharedKey(rogue.secretKey, device.publicKey), concentratorId: 17, role: "headend", counters: new MemoryCounters() });
    site.broker.inject(site.uplink.topics.down, forged.seal(encodeMessage({ kind: "command", command: { id: 1, op: "disconnect", meter: 5 } })));
    site.s.runFor(2_000);
    assert.equal(site.handlers.calls.length, 0);
    assert.equal(site.uplink.channel.counters.foreign, 1);
    assert.equal(site.uplink.channel.counters.authFailed, 1, "a wrong key shows as authentication failures, not as silence");
  });

  it("counts an authentic body that does not parse apart from forgeries, and does not act on it", () => {
    const { site } = siteWithCapture("4");
    const he = keyPairOf("headend");
    const device = keyPairOf("concentrator");
    const ch = new SecureChannel({ sharedKey: deriveSharedKey(he.secretKey, device.publicKey), concentratorId: 17, role: "headend", counters: new MemoryCounters(), counterFloor: () => 1e12 });
    site.broker.inject(site.uplink.topics.down, ch.seal(new Uint8Array([0x82, 0x11, 0xff])));
    site.broker.inject(site.uplink.topics.down, ch.seal(encodeMessage({ kind: "status", time: 0, uptimeS: 0, counters: {} })));
    site.s.runFor(2_000);
    assert.equal(site.uplink.channel.counters.parseFailed, 2);
    assert.equal(site.handlers.calls.length, 0);
  });

  it("does not act twice on a command when the power fails after its counter was persisted", () => {
    const { site, genuine } = siteWithCapture("5");
    site.broker.inject(site.uplink.topics.down, genuine.payload);
    site.s.runFor(2_000);
    assert.equal(site.handlers.calls.length, 1);
    site.powerCut();
    site.s.runFor(1_000);
    site.powerOn();
    site.s.runFor(MINUTE);
    site.broker.inject(site.uplink.topics.down, genuine.payload); // redelivered after the reboot
    site.s.runFor(2_000);
    assert.equal(site.handlers.calls.length, 1);
    assert.equal(site.uplink.channel.counters.replayed, 1);
  });

  it("survives random payloads on its command topic: nothing thrown, counters consistent", () => {
    const { site } = siteWithCapture("6");
    const payloads = fc.sample(fc.uint8Array({ maxLength: 200 }), { numRuns: 2_000, seed: 3 });
    for (let i = 0; i < payloads.length; i += 500) {
      for (const p of payloads.slice(i, i + 500)) site.broker.inject(site.uplink.topics.down, p); // within the broker's queue limit
      site.s.runFor(MINUTE);
    }
    const rx = site.uplink.channel.counters;
    assert.equal(rx.frames, 2_000);
    assert.equal(rx.frames, rx.malformed + rx.foreign + rx.authFailed + rx.replayed + rx.accepted);
    assert.equal(site.uplink.mqtt.state, "connected");
  });
});
