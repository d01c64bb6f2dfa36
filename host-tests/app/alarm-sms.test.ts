import assert from "node:assert/strict";
import { AlarmSms } from "../../firmware/app/alarm-sms.js";
import { EventType, type MeterEvent } from "../../firmware/model/records.js";
import { MAX_SMS_PAYLOAD } from "../../firmware/modem/sms/channel.js";
import { OVERHEAD_BYTES } from "../../firmware/uplink/envelope.js";
import { decodeUplink } from "../../firmware/uplink/messages.js";
import type { UplinkRecord } from "../../firmware/uplink/ports.js";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";

const MINUTE = 60_000;
const alarm = (seq: number): UplinkRecord => ({ kind: "alarm", seq, event: { type: EventType.tamper, subject: seq, time: 1_767_225_600 + seq, alarm: true, detail: 0 } as MeterEvent });

/** AlarmSms on a virtual clock, with an SMS channel, a store and an uplink the test drives. */
function rig(alarms: number, sealMs = 5, graceMs?: number) {
  const s = new Scheduler();
  const d = new PowerDomain(s, "mc");
  d.powerOn();
  const clock = new SimClock(d);
  const sent: Uint8Array[] = [];
  const state = { connected: false, ready: true, queueFull: false, later: 0 };
  const records = Array.from({ length: alarms }, (_, i) => alarm(i + 1));
  const add = () => records.push(alarm(records.length + 1));
  const a = new AlarmSms({
    number: "+40700000900",
    sms: {
      get ready() {
        return state.ready;
      },
      send: (_to, payload) => {
        if (state.queueFull) throw new Error("queue-full");
        sent.push(payload);
      },
    },
    queue: {
      pending: (_kind, after, max) => {
        if (state.later > 0) return state.later--, undefined;
        return records.filter((r) => r.seq > after).slice(0, max);
      },
    },
    uplink: {
      get connected() {
        return state.connected;
      },
      // The envelope's size, no crypto, `sealMs` later as from the crypto service.
      seal: (body, done) => void clock.set(() => done(Uint8Array.from([...new Uint8Array(OVERHEAD_BYTES), ...body])), sealMs),
    },
    timers: clock,
    maxBytes: MAX_SMS_PAYLOAD,
    ...(graceMs !== undefined ? { graceMs } : {}),
  });
  const seqsOf = (p: Uint8Array) => {
    const m = decodeUplink(p.subarray(OVERHEAD_BYTES));
    assert.ok(!(m instanceof Error) && m.kind === "events");
    return m.events.map((e) => e.seq);
  };
  return { s, a, sent, state, seqsOf, add };
}

describe("alarms by SMS", () => {
  it("waits out the grace period, then sends every pending alarm once, as many to an SMS as fit", () => {
    const r = rig(11);
    r.a.alarmStored();
    r.s.runUntil(MINUTE);
    assert.equal(r.sent.length, 0, "not before the grace period");
    r.s.runUntil(3 * MINUTE);
    assert.ok(r.sent.every((p) => p.length <= MAX_SMS_PAYLOAD));
    assert.deepEqual(r.sent.flatMap(r.seqsOf), Array.from({ length: 11 }, (_, i) => i + 1));
    assert.ok(r.sent.length >= 2 && r.sent.length <= 4, `${r.sent.length} messages`);
    r.a.alarmStored();
    r.s.runUntil(10 * MINUTE);
    assert.deepEqual(r.sent.flatMap(r.seqsOf).length, 11, "nothing twice");
  });

  it("sends nothing while the MQTT session is up", () => {
    const r = rig(3);
    r.state.connected = true;
    r.a.alarmStored();
    r.s.runUntil(10 * MINUTE);
    assert.equal(r.sent.length, 0);
  });

  it("tries again later while SMS is not ready, the SMS queue is full, or the store asks for another turn", () => {
    const r = rig(2);
    r.state.ready = false;
    r.state.queueFull = true;
    r.state.later = 3;
    r.a.alarmStored();
    r.s.runUntil(5 * MINUTE);
    assert.equal(r.sent.length, 0);
    r.state.ready = true;
    r.s.runUntil(10 * MINUTE);
    assert.equal(r.sent.length, 0);
    assert.ok(r.a.counters.refused >= 1);
    r.state.queueFull = false;
    r.s.runUntil(15 * MINUTE);
    assert.deepEqual(r.sent.flatMap(r.seqsOf), [1, 2]);
  });

  it("sends an alarm stored while a message was being sealed, after it, and nothing twice", () => {
    const r = rig(2, 2_000, 100);
    r.a.alarmStored();
    r.s.runUntil(500); // the first message is being sealed (from 100 ms to 2,100 ms)
    assert.equal(r.sent.length, 0);
    r.add();
    r.a.alarmStored(); // due at 600 ms, while the seal is on its way
    r.s.runUntil(MINUTE);
    assert.deepEqual(r.sent.map(r.seqsOf), [[1, 2], [3]]);
  });
});
