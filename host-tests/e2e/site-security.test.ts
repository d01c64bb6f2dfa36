// Security at system level: the real concentrator firmware in the simulated site, its uplink through
// the modem emulator to the simulated broker and head-end. What an attacker with access to the broker
// (or a broken broker, or a noisy modem line) sends must never change a latch or the configuration,
// must be counted by category, and must never crash anything.
import assert from "node:assert/strict";
import { CONFIG_SCHEMA } from "../../firmware/app/config-schema.js";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey, OVERHEAD_BYTES } from "../../firmware/uplink/envelope.js";
import { encodeMessage, ResultCode, type CommandRequest } from "../../firmware/uplink/messages.js";
import { Prng } from "../../hal/sim/prng.js";
import { keyPairOf } from "../../tools/sim/keys.js";
import { MemoryCounters } from "../../tools/sim/memory-ports.js";
import { Site } from "../../tools/site/site.js";

const MINUTE = 60_000;
const calm = { days: 1, modules: 4, plc: 0, radio: 0, mainsFailuresPerDay: 0, moduleRebootsPerDay: 0, openingsPerDay: 0, repeaterOutagesPerDay: 0, flatBatteryShare: 0, balanceConsumers: 0, dlmsMeters: 0 };

/** A site whose concentrator is connected and knows its modules, with handles on both ends. */
function connectedSite(seed: string) {
  const site = new Site({ seed, ...calm, uplink: {} });
  const s = site.world.scheduler;
  const c = () => site.concentrator!;
  assert.ok(s.runUntilTrue(() => site.concentrator?.uplink?.mqtt.state === "connected" && site.concentrator.topology.size === 4, 30 * MINUTE), "connected");
  s.runFor(10_000); // the SUBSCRIBE that follows the CONNACK reaches the broker
  const u = site.world.uplink!;
  const broker = u.broker!;
  const headend = u.headend!;
  const down = c().uplink!.topics.down;
  const meters = [...c().topology.modules].flatMap((m) => [...m.meters.values()]);
  const rx = () => ({ ...c().uplink!.channel.counters });
  // The head-end's acknowledgements carry newer counters than a command sealed before them: sent
  // between a command's sealing and its delivery here, they would make it look reordered.
  headend.acks = false;
  return {
    site,
    s,
    c,
    broker,
    headend,
    meters,
    rx,
    /** Sealed by the genuine head-end (its counter moves on) but not sent. */
    seal: (request: CommandRequest) => headend.core.command(17, request)!.payload,
    inject: (payload: Uint8Array) => broker.inject(down, payload),
    latches: () => meters.map((m) => c().latch.state(m)),
    config: () => Object.keys(CONFIG_SCHEMA).map((k) => c().config.get(k)),
    result: (id: number) => headend.store.commands.find((x) => x.id === id)?.result,
    run: (ms: number) => s.runFor(ms),
  };
}

describe("uplink security at system level (real concentrator, simulated site)", function () {
  this.timeout(60_000);

  it("forged, truncated and foreign-device commands change no latch and no configuration, and are counted by category", () => {
    const t = connectedSite("sec-forged");
    const latches = t.latches();
    const config = t.config();
    const genuine = t.seal({ op: "disconnect", meter: t.meters[0]! });
    const before = t.rx();

    // Every single-bit change after the header: the tag no longer verifies.
    for (let i = 12; i < genuine.length; i++) {
      const forged = genuine.slice();
      forged[i]! ^= 1 << (i % 8);
      t.inject(forged);
    }
    const forgedCount = genuine.length - 12;
    // Every truncation: shorter than header and tag is not an envelope; longer does not verify.
    for (let n = 0; n < genuine.length; n++) t.inject(genuine.slice(0, n));
    // A command the head-end sealed for concentrator 18, and one sealed with an impostor's key.
    const he = t.site.world.uplink!.headendKeys!;
    const to18 = new SecureChannel({ sharedKey: deriveSharedKey(he.secretKey, keyPairOf("another concentrator").publicKey), concentratorId: 18, role: "headend", counters: new MemoryCounters(), counterFloor: () => 2e12 });
    t.inject(to18.seal(encodeMessage({ kind: "command", command: { id: 1, op: "disconnect", meter: t.meters[0]! } })));
    const impostor = new SecureChannel({ sharedKey: deriveSharedKey(keyPairOf("impostor").secretKey, t.site.world.uplink!.keys.publicKey), concentratorId: 17, role: "headend", counters: new MemoryCounters(), counterFloor: () => 2e12 });
    t.inject(impostor.seal(encodeMessage({ kind: "command", command: { id: 1, op: "disconnect", meter: t.meters[0]! } })));
    t.run(MINUTE);

    const after = t.rx();
    assert.deepEqual(t.latches(), latches, "no latch changed");
    assert.deepEqual(t.config(), config, "no configuration changed");
    assert.equal(after.accepted, before.accepted, "nothing accepted");
    assert.equal(after.malformed - before.malformed, OVERHEAD_BYTES, "truncated below header and tag");
    assert.equal(after.authFailed - before.authFailed, forgedCount + (genuine.length - OVERHEAD_BYTES) + 1, "forged, truncated after the header, the impostor");
    assert.equal(after.foreign - before.foreign, 1, "for concentrator 18");
    const r = t.site.report();
    assert.equal(r.commandsRejectedBy.authFailed, after.authFailed);
    assert.equal(r.commandsRejectedBy.malformed, after.malformed);
    assert.equal(r.commandsRejectedBy.foreign, after.foreign);
    assert.equal(r.commandsRejected, after.malformed + after.foreign + after.authFailed + after.replayed + after.parseFailed);

    // None of it used up the genuine command's counter: it still works.
    t.inject(genuine);
    t.run(MINUTE);
    assert.equal(t.c().latch.state(t.meters[0]!), ControlState.disconnected, "the genuine command took effect");
  });

  it("a replayed command never takes effect; one overtaken by a newer one (the late window) and the newer ones do, once", () => {
    const t = connectedSite("sec-replay");
    const [m1, m2] = t.meters as [number, number];
    const a = t.seal({ op: "disconnect", meter: m1 });
    const b = t.seal({ op: "disconnect", meter: m2 });
    const c = t.seal({ op: "reconnect", meter: m2 });
    const ids = t.headend.store.commands.slice(-3).map((x) => x.id) as [number, number, number];
    const before = t.rx();

    t.inject(b);
    t.run(MINUTE);
    assert.equal(t.c().latch.state(m2), ControlState.disconnected, "b, fresh, took effect");
    t.inject(a); // older than b: arrives late (two head-end workers), still fresh
    t.run(MINUTE);
    assert.equal(t.c().latch.state(m1), ControlState.disconnected, "a, overtaken by b, took effect");
    t.inject(c);
    t.run(MINUTE);
    assert.equal(t.c().latch.state(m2), ControlState.connected, "c reconnected m2");
    t.inject(b); // a capture of b replayed
    t.run(MINUTE);
    assert.equal(t.c().latch.state(m2), ControlState.connected, "the replay of b did not disconnect m2 again");
    t.inject(a); // and of a
    t.run(MINUTE);

    const after = t.rx();
    assert.equal(after.replayed - before.replayed, 2);
    assert.equal(after.accepted - before.accepted, 3);
    t.run(5 * MINUTE);
    assert.equal(t.result(ids[0])?.code, ResultCode.ok);
    assert.equal(t.result(ids[1])?.code, ResultCode.ok);
    assert.equal(t.result(ids[2])?.code, ResultCode.ok);
    assert.equal(t.site.report().commandsRejectedBy.replayed, after.replayed);
  });

  it("fuzzed AT responses, MQTT packets and authentic CBOR bodies crash nothing, change no latch, and the uplink recovers", () => {
    const t = connectedSite("sec-fuzz");
    t.headend.acks = true; // each fuzzed envelope is sealed just before it is injected
    const p = new Prng("fuzz");
    const latches = t.latches();
    const config = t.config();
    const bytes = (n: number) => {
      const b = new Uint8Array(n);
      p.fill(b);
      return b;
    };
    const modem = t.site.world.uplink!.modem;
    const channel = t.headend.core.channel(17)!;
    const template = encodeMessage({ kind: "command", command: { id: 9, op: "configure", changes: [{ key: "no.such.key", value: 1 }] } });
    const before = t.rx();
    let bodies = 0;
    let packets = 0;
    const stop = t.s.now + 2 * 60 * MINUTE;
    const fuzz = () => {
      if (t.s.now >= stop) return;
      switch (p.int(3)) {
        case 0: // the modem's line: garbage, or a line that looks like a URC
          if (p.chance(0.5)) modem.injectGarbage(bytes(1 + p.int(64)));
          else modem.injectUrc(p.chance(0.5) ? `+CIPRXGET: ${p.int(9)},${p.int(5000)}` : String.fromCharCode(...bytes(1 + p.int(40)).map((x) => 32 + (x % 95))));
          break;
        case 1: // a packet from the broker: a plausible first byte, then anything
          if (t.broker.injectRaw("mc-17", Uint8Array.of(p.int(16) << 4, ...bytes(p.int(40))))) packets++;
          break;
        case 2: { // an authentic envelope around random CBOR, or a mutated command body
          const body = p.chance(0.5) ? bytes(p.int(48)) : template.map((x) => (p.chance(0.1) ? p.int(256) : x));
          t.inject(channel.seal(body));
          bodies++;
          break;
        }
      }
      t.s.after(5_000 + p.int(20_000), fuzz);
    };
    fuzz();
    t.run(2 * 60 * MINUTE);
    const c = t.c();
    assert.equal(c.counters.internalErrors, 0, String(c.lastInternalError));
    assert.equal(c.modem!.counters.internalErrors, 0);
    assert.equal(c.uplink!.commands.counters.handlerErrors, 0);
    assert.deepEqual(t.latches(), latches, "no latch changed");
    assert.deepEqual(t.config(), config, "no configuration changed");
    assert.ok(packets > 10 && bodies > 10, `${packets} packets, ${bodies} bodies`);
    assert.ok(c.uplink!.mqtt.counters.malformedIn > 0, "the client left connections that sent garbage");

    // After the fuzzing: everything stored reaches the head-end and a genuine command works.
    const delivered = t.headend.store.readingCount(17);
    const id = t.headend.command(17, { op: "disconnect", meter: t.meters[1]! })!;
    t.run(30 * MINUTE);
    assert.equal(t.result(id)?.code, ResultCode.ok, "a genuine command after the fuzzing");
    assert.ok(t.headend.store.readingCount(17) > delivered, "readings flow again");
    const r = t.site.report();
    assert.equal(r.lost, 0);
    assert.equal(r.readingsCorrupt, 0);
    const after = t.rx();
    assert.ok(after.parseFailed - before.parseFailed > 0, "authentic bodies that did not parse were counted");
  });
});
