import assert from "node:assert/strict";
import { Drain } from "../../firmware/uplink/drain.js";
import { peekHeader } from "../../firmware/uplink/envelope.js";
import { decodeUplink, MessageError, type UplinkMessage } from "../../firmware/uplink/messages.js";
import { EventType } from "../../firmware/model/records.js";
import { seqSetOf } from "../../firmware/uplink/seq-set.js";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { MemoryQueue } from "../../tools/sim/memory-ports.js";
import { UplinkSite, START_EPOCH_MS } from "../../tools/sim/uplink-site.js";

const MINUTE = 60_000;
const T0 = START_EPOCH_MS / 1000;

/** A drain on a bare transport that records what it sends. */
function bareDrain(o: { maxOutstanding?: number; ackTimeoutMs?: number; readingsDelayMs?: number; maxReadingsPerMessage?: number; maxBodyBytes?: number } = {}) {
  const s = new Scheduler();
  const d = new PowerDomain(s, "mc");
  d.powerOn();
  const clock = new SimClock(d);
  const queue = new MemoryQueue();
  const sent: UplinkMessage[] = [];
  const bodies: Uint8Array[] = [];
  const transport = {
    canSend: true,
    /** The body itself as its "envelope", in a later turn as the crypto service answers. */
    seal(body: Uint8Array, done: (envelope: Uint8Array | undefined) => void) {
      clock.set(() => done(body), 1);
    },
    send(body: Uint8Array) {
      const m = decodeUplink(body);
      assert.ok(!(m instanceof MessageError));
      sent.push(m);
      bodies.push(body);
      return true;
    },
  };
  const drain = new Drain({ queue, transport, clock, timers: clock, ...o });
  return { s, queue, sent, bodies, drain, transport };
}

const seqsOf = (m: UplinkMessage): number[] =>
  m.kind === "readings" ? m.seqs.flatMap((r) => Array.from({ length: r.count }, (_, i) => r.first + i)) : m.kind === "events" ? m.events.map((e) => e.seq) : m.kind === "result" ? [m.seq] : [];

describe("drain", () => {
  it("keeps every record in the store when the broker acknowledges but the head-end does not", () => {
    const site = new UplinkSite({ seed: "1", headendAcks: false, uplink: { drain: { ackTimeoutMs: 10 * MINUTE, maxReadingsPerMessage: 96 } } });
    site.addLoadProfile(5, 96);
    site.powerOn();
    site.s.runFor(5 * MINUTE);
    assert.ok(site.uplink.drain.counters.messagesSent > 0);
    assert.equal(site.uplink.mqtt.inFlight, 0, "every PUBLISH was PUBACKed by the broker");
    assert.equal(site.queue.unacknowledged, 480, "yet nothing left the store");
    assert.equal(site.headendStore.readings.size, 480, "the head-end has them");
  });

  it("sends again what a broker acknowledged and then lost, until the head-end has stored it", () => {
    let lost = 0;
    const site = new UplinkSite({
      seed: "2",
      uplink: { drain: { ackTimeoutMs: 2 * MINUTE } },
      broker: {
        lose: (clientId, p) => {
          if (!clientId.startsWith("mc-") || p.qos !== 1 || lost >= 3) return false;
          lost++;
          return true;
        },
      },
    });
    site.addLoadProfile(10, 96);
    site.powerOn();
    assert.ok(site.s.runUntilTrue(() => site.queue.unacknowledged === 0, 30 * MINUTE));
    assert.equal(lost, 3, "three messages were lost after their PUBACK");
    assert.ok(site.uplink.drain.counters.rewinds >= 1);
    assert.equal(site.headendStore.readings.size, 960);
  });

  it("loses nothing when a broker without persistence restarts in the middle of a drain", () => {
    const site = new UplinkSite({ seed: "3", net: { bytesPerSecond: 1_000 }, uplink: { drain: { ackTimeoutMs: 2 * MINUTE } } });
    site.addLoadProfile(20, 96);
    site.powerOn();
    site.s.runUntilTrue(() => site.queue.ackedCount > 200, 10 * MINUTE);
    site.broker.restart();
    site.s.runUntilTrue(() => site.queue.ackedCount > 800, 20 * MINUTE);
    site.broker.restart();
    assert.ok(site.s.runUntilTrue(() => site.queue.unacknowledged === 0, 60 * MINUTE), `left: ${site.queue.unacknowledged}`);
    assert.equal(site.headendStore.readings.size, 1920);
    assert.ok(site.uplink.mqtt.counters.connects >= 3);
  });

  it("loses nothing across power cuts of the concentrator during a drain, and never reuses a counter", () => {
    const site = new UplinkSite({ seed: "4", net: { bytesPerSecond: 1_500 }, uplink: { drain: { ackTimeoutMs: 2 * MINUTE } } });
    site.addLoadProfile(20, 96);
    site.powerOn();
    for (let i = 0; i < 3; i++) {
      site.s.runFor(40_000 + i * 7_000);
      site.powerCut();
      site.s.runFor(5_000);
      site.powerOn();
    }
    assert.ok(site.s.runUntilTrue(() => site.queue.unacknowledged === 0, 60 * MINUTE), `left: ${site.queue.unacknowledged}`);
    assert.equal(site.boots, 4);
    assert.equal(site.headendStore.readings.size, 1920);
    const counters = site.sent.filter((p) => p.type === "publish" && !p.dup).map((p) => (p.type === "publish" ? p.payload : new Uint8Array(0)));
    const seen = new Set<number>();
    for (const payload of counters) {
      const c = ((payload[6]! << 16) | (payload[7]! << 8) | payload[8]!) * 2 ** 24 + ((payload[9]! << 16) | (payload[10]! << 8) | payload[11]!);
      assert.ok(!seen.has(c), `counter ${c} sealed twice`);
      seen.add(c);
    }
  });

  it("loses nothing and reuses no counter when the power fails while a seal or an open is on the crypto service", () => {
    const site = new UplinkSite({ seed: "4b", net: { bytesPerSecond: 1_500 }, uplink: { drain: { ackTimeoutMs: 2 * MINUTE } } });
    site.addLoadProfile(20, 96);
    site.powerOn();
    for (let i = 0; i < 4; i++) {
      const ops = site.crypto.secretboxOperations;
      site.s.runFor(20_000 + i * 3_000);
      // Computed, its result not yet delivered: a counter reserved and nothing published for it (or a message received and not acted on).
      assert.ok(site.s.runUntilTrue(() => site.crypto.secretboxOperations > ops, 10 * MINUTE));
      site.powerCut();
      site.s.runFor(5_000);
      site.powerOn();
    }
    assert.ok(site.s.runUntilTrue(() => site.queue.unacknowledged === 0, 60 * MINUTE), `left: ${site.queue.unacknowledged}`);
    assert.equal(site.headendStore.readings.size, 1920);
    const seen = new Set<number>();
    for (const p of site.sent) {
      if (p.type !== "publish" || p.dup) continue;
      const c = peekHeader(p.payload)!.counter;
      assert.ok(!seen.has(c), `counter ${c} sealed twice`);
      seen.add(c);
    }
  });

  it("publishes a message only after its seal result, and drops a result that comes after a rewind", () => {
    const { s, queue, sent, drain, transport } = bareDrain({ ackTimeoutMs: 10 * MINUTE });
    const results: Array<() => void> = [];
    transport.seal = (body, done) => void results.push(() => done(body));
    for (let i = 0; i < 3; i++) queue.addEvent({ type: EventType.door, subject: i, time: T0 + i, alarm: false, detail: 0 });
    drain.start();
    s.runFor(1_000);
    assert.equal(results.length, 1, "one seal asked for");
    assert.equal(sent.length, 0, "nothing published before its result");
    drain.rewind();
    s.runFor(1_000);
    results[0]!(); // the first seal's result, after the rewind
    s.runFor(1_000);
    assert.equal(sent.length, 0, "the stale result is dropped");
    assert.equal(results.length, 2, "the records chosen and sealed again");
    results[1]!();
    s.runFor(1_000);
    assert.deepEqual(sent.flatMap(seqsOf), [1, 2, 3]);
    assert.equal(drain.outstanding, 1);
  });

  it("chooses fewer records again when the crypto service refuses a body, and passes over a single record it refuses", () => {
    const { s, queue, sent, drain, transport } = bareDrain({ ackTimeoutMs: 10 * MINUTE });
    const seal = transport.seal;
    const sizes: number[] = [];
    let refusals = 3;
    transport.seal = (body, done) => {
      const m = decodeUplink(body);
      sizes.push(!(m instanceof MessageError) && m.kind === "events" ? m.events.length : -1);
      if (refusals-- > 0) return void s.after(1, () => done(undefined));
      seal(body, done);
    };
    for (let i = 0; i < 4; i++) queue.addEvent({ type: EventType.door, subject: i, time: T0 + i, alarm: false, detail: 0 });
    drain.start();
    s.runFor(1_000);
    assert.deepEqual(sizes.slice(0, 3), [4, 2, 1], "4 events refused, then 2, then 1");
    assert.equal(drain.counters.sealsRefused, 3);
    assert.deepEqual(sent.flatMap(seqsOf), [2, 3, 4], "the single refused record passed over, the rest sent");
    drain.rewind();
    s.runFor(1_000);
    assert.ok(sent.flatMap(seqsOf).includes(1), "and the passed-over one tried again after a rewind");
  });

  it("sends an alarm before the rest of a backlog of readings", () => {
    const site = new UplinkSite({ seed: "5", net: { bytesPerSecond: 300 } });
    site.addLoadProfile(100, 96); // 9,600 readings: minutes of backlog at 300 B/s
    site.powerOn();
    site.s.runFor(20_000);
    const alarmSeq = site.queue.addEvent({ type: EventType.tamper, subject: 12, time: T0 + 60, alarm: true, detail: 0 });
    site.uplink.notify("alarm");
    assert.ok(site.s.runUntilTrue(() => site.queue.isAcknowledged(alarmSeq), 60 * MINUTE));
    assert.ok(site.queue.unacknowledged > 5000, `the alarm overtook the backlog (${site.queue.unacknowledged} readings still pending)`);
  });

  it("bounds every batch and the number of messages awaiting acknowledgement", () => {
    const { s, queue, sent, drain } = bareDrain({ maxOutstanding: 3, maxReadingsPerMessage: 50 });
    for (let i = 0; i < 1000; i++) queue.addReading({ meter: 1 + (i % 7), register: 0x010800, time: T0 + 900 * Math.floor(i / 7), value: i, status: 0 });
    drain.start();
    s.runFor(10_000);
    assert.equal(sent.length, 2, "stops at the window, less the slot kept for alarms");
    assert.ok(sent.every((m) => m.kind === "readings" && m.readings.length <= 50));
    drain.acknowledged(seqSetOf(seqsOf(sent[0]!)));
    s.runFor(10_000);
    assert.equal(sent.length, 3, "one acknowledgement, one more message");
  });

  it("bounds every message body by bytes, and loses no record doing so", () => {
    const { s, queue, sent, bodies, drain } = bareDrain({ maxOutstanding: 1000, maxBodyBytes: 200, ackTimeoutMs: 10 * MINUTE });
    const seqs: number[] = [];
    for (let i = 0; i < 600; i++) seqs.push(queue.addReading({ meter: 1 + (i % 7), register: 0x010800, time: T0 + 900 * Math.floor(i / 7), value: 1000 * i, status: 0 }));
    for (let i = 0; i < 40; i++) seqs.push(queue.addEvent({ type: EventType.door, subject: i, time: T0 + i, alarm: false, detail: 100_000 + i }));
    drain.start();
    s.runFor(2 * MINUTE);
    assert.ok(bodies.length > 10 && bodies.every((b) => b.length <= 200), `bodies of ${bodies.map((b) => b.length).join(", ")} bytes`);
    assert.deepEqual(sent.flatMap(seqsOf).sort((a, b) => a - b), seqs);
  });

  it("accepts acknowledgements in any order and in parts", () => {
    const { s, queue, sent, drain } = bareDrain({ maxOutstanding: 5, maxReadingsPerMessage: 10 });
    for (let i = 0; i < 40; i++) queue.addReading({ meter: 1, register: 1, time: T0 + 900 * i, value: i, status: 0 });
    drain.start();
    s.runFor(1_000);
    assert.equal(sent.length, 4);
    const [a, b, c, d] = sent.map(seqsOf);
    drain.acknowledged(seqSetOf(d!));
    drain.acknowledged(seqSetOf([...b!.slice(0, 5), ...a!.slice(5)]));
    assert.equal(drain.outstanding, 3, "a, b and c still have unacknowledged records");
    drain.acknowledged(seqSetOf([...a!.slice(0, 5), ...b!.slice(5), ...c!]));
    assert.equal(drain.outstanding, 0);
    assert.equal(queue.unacknowledged, 0);
    drain.acknowledged(seqSetOf(a!)); // a repeated acknowledgement changes nothing
    assert.equal(queue.unacknowledged, 0);
  });

  it("holds a partial batch of readings until it is due, but sends events at once", () => {
    const { s, queue, sent, drain } = bareDrain({ readingsDelayMs: 60_000 });
    drain.start();
    queue.addReading({ meter: 1, register: 1, time: T0, value: 1, status: 0 });
    queue.addEvent({ type: EventType.door, subject: 0xffff, time: T0, alarm: false, detail: 1 });
    drain.kick();
    s.runFor(1_000);
    assert.deepEqual(
      sent.map((m) => m.kind),
      ["events"],
    );
    s.runFor(60_000);
    assert.deepEqual(
      sent.map((m) => m.kind),
      ["events", "readings"],
    );
  });

  it("sends everything unacknowledged again after the acknowledgement timeout", () => {
    const { s, queue, sent, drain } = bareDrain({ ackTimeoutMs: 30_000, maxReadingsPerMessage: 10 });
    for (let i = 0; i < 20; i++) queue.addReading({ meter: 1, register: 1, time: T0 + 900 * i, value: i, status: 0 });
    drain.start();
    s.runFor(1_000);
    assert.equal(sent.length, 2);
    drain.acknowledged(seqSetOf(seqsOf(sent[1]!)));
    s.runFor(31_000);
    assert.equal(drain.counters.rewinds, 1);
    assert.deepEqual(seqsOf(sent[2]!), seqsOf(sent[0]!), "only the unacknowledged batch goes again");
    assert.equal(sent.length, 3);
  });

  it("sends a partial batch when it is due on a clock with fractional milliseconds, without spinning", () => {
    const { s, queue, sent, drain } = bareDrain({ readingsDelayMs: 60_000 });
    drain.start();
    // (t + 60000) - t is 59999.999999999985 here: the due batch must not look not yet due.
    s.at(96_983.17, () => {
      queue.addReading({ meter: 1, register: 1, time: T0, value: 1, status: 0 });
      drain.kick();
    });
    s.runFor(200_000); // due at 156,983 ms; the acknowledgement timeout would re-send it at 277 s
    assert.equal(sent.length, 1);
    assert.ok(s.turns < 50, `${s.turns} turns`);
  });

  it("forgets a partial batch whose readings left the store unsent (evicted), without spinning", () => {
    const { s, queue, sent, drain } = bareDrain({ readingsDelayMs: 60_000 });
    drain.start();
    const seq = queue.addReading({ meter: 1, register: 1, time: T0, value: 1, status: 0 });
    drain.kick();
    s.runFor(1_000);
    queue.acknowledge([seq]); // as an eviction would: gone from the store, never sent
    s.runFor(600_000);
    assert.equal(sent.length, 0);
    assert.ok(s.turns < 50, `${s.turns} turns`);
  });
});
