// SMS as the second bearer of the simulated site (issue 6): alarms go by SMS while GPRS is down, and
// the head-end's sealed commands come by SMS; the same envelope, keys and counters as over MQTT.
import assert from "node:assert/strict";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { EventType } from "../../firmware/model/records.js";
import { CONCENTRATOR_SMS_NUMBER } from "../../tools/site/uplink-world.js";
import { Site } from "../../tools/site/site.js";
import { consumersOf, HOUR, MINUTE } from "../lib/core-rig.js";

function smsSite(seed: string) {
  const site = new Site({ seed, days: 1, modules: 6, plc: 0, radio: 0, uplink: {}, mainsFailuresPerDay: 0, moduleRebootsPerDay: 0, openingsPerDay: 0 });
  const w = site.world;
  const u = w.uplink!;
  const s = w.scheduler;
  const c = () => site.concentrator!;
  assert.ok(s.runUntilTrue(() => site.concentrator?.uplink?.connected === true && (site.concentrator.topology.size ?? 0) >= 6, 2 * HOUR), "connected, modules found");
  return { site, w, u, s, c, headend: u.headend!, modem: u.modem };
}

describe("SMS bearer", () => {
  it("sends an alarm by SMS when only the packet service is lost; the head-end has it before GPRS returns, and keeps it once", () => {
    const { site, w, s, c, headend, modem } = smsSite("sms-alarm");
    modem.setPacketService(false);
    assert.ok(s.runUntilTrue(() => !c().uplink!.connected, 10 * MINUTE), "the MQTT session drops");
    const module = w.local.flat()[0]!;
    const n = site.moduleNumber(module)!;
    const tampers = () => [...headend.store.events.values()].filter((e) => e.type === EventType.tamper && e.subject === n);
    module.setTamper(true);
    assert.ok(s.runUntilTrue(() => tampers().length === 1, 30 * MINUTE), "the tamper alarm reached the head-end");
    assert.equal(c().uplink!.connected, false, "while GPRS was still down: it came by SMS");
    assert.equal(headend.smsCounters.taken, 1);
    module.setTamper(false);
    modem.setPacketService(true);
    s.runUntil(s.now + HOUR);
    assert.ok(c().uplink!.connected);
    assert.equal(tampers().length, 1, "the MQTT copy changed nothing");
    assert.equal(site.report().lost, 0);
    assert.ok(site.report().alarmSmsSent >= 1);
  });

  it("sends nothing by SMS while the MQTT session is up", () => {
    const { site, w, s, headend } = smsSite("sms-quiet");
    w.local.flat()[0]!.setTamper(true);
    s.runUntil(s.now + HOUR);
    assert.ok(site.report().alarms >= 1, "an alarm was raised");
    assert.equal(site.report().alarmSmsSent, 0);
    assert.equal(headend.smsCounters.received, 0);
  });

  it("takes the head-end's commands by SMS while GPRS is down, each once: a replayed SMS is dropped and counted, a forged one too", () => {
    const { site, w, s, c, headend, modem } = smsSite("sms-command");
    const meter = consumersOf(site, w.local.flat()[0]!)[0]!;
    modem.setPacketService(false);
    assert.ok(s.runUntilTrue(() => !c().uplink!.connected, 10 * MINUTE));
    const off = headend.core.command(17, { op: "disconnect", meter })!.payload;
    headend.sendSms(CONCENTRATOR_SMS_NUMBER, off);
    assert.ok(s.runUntilTrue(() => c().latch.state(meter) === ControlState.disconnected, 10 * MINUTE), "disconnected by SMS");
    const on = headend.core.command(17, { op: "reconnect", meter })!.payload;
    headend.sendSms(CONCENTRATOR_SMS_NUMBER, on);
    assert.ok(s.runUntilTrue(() => c().latch.state(meter) === ControlState.connected, 10 * MINUTE), "reconnected by SMS");
    const rx = c().uplink!.channel.counters;
    const before = { replayed: rx.replayed, authFailed: rx.authFailed };
    headend.sendSms(CONCENTRATOR_SMS_NUMBER, off); // the replay
    const forged = Uint8Array.from(off);
    forged[forged.length - 1]! ^= 1;
    headend.sendSms(CONCENTRATOR_SMS_NUMBER, forged);
    s.runUntil(s.now + 10 * MINUTE);
    assert.equal(c().latch.state(meter), ControlState.connected, "the replayed disconnect took no effect");
    assert.equal(rx.replayed, before.replayed + 1);
    assert.equal(rx.authFailed, before.authFailed + 1);
    assert.equal(c().modem!.sms.counters.confirmationsSent, 2, "only the two commands taken are confirmed as processed");
    modem.setPacketService(true);
    s.runUntil(s.now + HOUR);
    const results = headend.store.commands.filter((x) => x.result !== undefined);
    assert.equal(results.length, 2, "both results reached the head-end over MQTT once GPRS was back");
  });
});
