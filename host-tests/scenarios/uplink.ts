/**
 * Uplink scenarios, run by mocha and inside XS: the concentrator's MQTT client, envelope and drain
 * against the simulated broker and the reference head-end's core, over a GPRS-like network.
 */
import type { PublishPacket } from "../../firmware/uplink/mqtt/packets.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";
import { UplinkSite } from "../../tools/sim/uplink-site.js";

const MINUTE = 60_000;

export const connectAndDrain: Scenario = {
  name: "uplink: connects with a persistent session, drains a day of load profile and the head-end acknowledges it",
  start(seed) {
    const site = new UplinkSite({ seed });
    site.addLoadProfile(10, 96);
    site.powerOn();
    return {
      scheduler: site.s,
      limitMs: 10 * MINUTE,
      done: () => site.queue.unacknowledged === 0,
      check() {
        check.equal(site.queue.unacknowledged, 0, "records left in the store");
        check.equal(site.headendStore.readings.size, 960, "readings stored at the head-end");
        check.equal(site.uplink.mqtt.counters.connects, 1, "connections");
        const connect = site.sent.find((p) => p.type === "connect");
        check.ok(connect?.type === "connect" && !connect.cleanSession && connect.clientId === "mc-17", "CONNECT with Clean Session 0 and a stable client id");
        const data = site.sent.filter((p) => p.type === "publish" && p.qos === 1);
        check.equal(data.length, site.uplink.drain.counters.messagesSent, "every data message went as QoS 1");
        check.equal(site.headendStore.rejections["authentication"] ?? 0, 0, "authentication failures at the head-end");
      },
    };
  },
};

export const resendAfterReconnect: Scenario = {
  name: "uplink: a QoS 1 PUBLISH cut off by a network drop is re-sent after reconnecting, same packet id, DUP set",
  start(seed) {
    const site = new UplinkSite({ seed, net: { latencyMs: 400, bytesPerSecond: 2_000 } });
    site.powerOn();
    let cut = false;
    site.s.at(20_000, () => {
      site.addLoadProfile(20, 24);
      // Cut the network once the first data message is on its way but before its PUBACK.
      const watch = () => {
        if (site.uplink.mqtt.inFlight > 0 && !cut) {
          cut = true;
          site.net.cut();
          site.s.after(5_000, () => site.net.restore());
          return;
        }
        if (!cut) site.s.after(10, watch);
      };
      watch();
    });
    return {
      scheduler: site.s,
      limitMs: 10 * MINUTE,
      done: () => cut && site.queue.unacknowledged === 0,
      check() {
        check.ok(cut, "the network was cut with a message in flight");
        check.ok(site.uplink.mqtt.counters.resent >= 1, "a PUBLISH was re-sent");
        const publishes = site.sent.filter((p) => p.type === "publish" && p.qos === 1) as PublishPacket[];
        const dups = publishes.filter((p) => p.dup);
        check.ok(dups.length >= 1, "a DUP PUBLISH went out");
        for (const d of dups) {
          const first = publishes.find((p) => !p.dup && p.packetId === d.packetId);
          check.ok(first !== undefined && sameBytes(first.payload, d.payload), `the re-send of packet ${d.packetId} repeats its original id and payload`);
        }
        check.equal(site.uplink.mqtt.counters.connects, 2, "connections");
        check.equal(site.queue.unacknowledged, 0, "records left in the store");
        check.equal(site.headendStore.readings.size, 480, "readings at the head-end");
      },
    };
  },
};

export const keepAlive: Scenario = {
  name: "uplink: an idle link sends PINGREQ within the keep-alive, and a silent broker is detected and left",
  start(seed) {
    const site = new UplinkSite({ seed, uplink: { mqtt: { keepAliveS: 30, pingTimeoutMs: 10_000 }, statusIntervalMs: 24 * 60 * MINUTE } });
    site.powerOn();
    let pingsAtSilence = 0;
    let disconnectsAtSilence = 0;
    // After 10 minutes the broker stops answering (its process hangs): stop() keeps no connection.
    site.s.at(10 * MINUTE, () => {
      pingsAtSilence = site.uplink.mqtt.counters.pings;
      disconnectsAtSilence = site.uplink.mqtt.counters.disconnects;
      site.broker.stop();
      site.s.after(2 * MINUTE, () => site.broker.start());
    });
    return {
      scheduler: site.s,
      limitMs: 15 * MINUTE,
      done: () => false,
      check() {
        // 10 idle minutes at a 30 s keep-alive: about 20 pings, none later than the interval.
        check.ok(pingsAtSilence >= 18 && pingsAtSilence <= 21, `pings in 10 idle minutes: ${pingsAtSilence}`);
        check.equal(disconnectsAtSilence, 0, "disconnections while the broker answered");
        check.ok(site.uplink.mqtt.counters.disconnects >= 1, "the dead link was left");
        check.equal(site.uplink.mqtt.state, "connected", "reconnected once the broker was back");
        check.ok(site.broker.connected(site.uplink.topics.clientId), "the broker sees the concentrator");
      },
    };
  },
};

export const commandRoundTrip: Scenario = {
  name: "uplink: a disconnect command reaches the handler after its counter is persisted, and its result reaches the head-end",
  start(seed) {
    const site = new UplinkSite({ seed });
    site.powerOn();
    let id = 0;
    let readId = 0;
    site.s.at(30_000, () => {
      id = site.command({ op: "disconnect", meter: 7 });
      readId = site.command({ op: "read", meters: [3, 4], registers: [] });
    });
    const result = (n: number) => site.headendStore.commands.find((c) => c.id === n)?.result;
    return {
      scheduler: site.s,
      limitMs: 5 * MINUTE,
      done: () => id > 0 && result(id) !== undefined && result(readId) !== undefined && site.queue.unacknowledged === 0,
      check() {
        check.equal(site.handlers.calls.length, 2, "handler calls");
        const call = site.handlers.calls[0]!;
        check.ok(call.op === "disconnect" && call.meter === 7, `the disconnect call: ${JSON.stringify(call)}`);
        // Persisted before acting: the handler saw the command's own counter already stored (the
        // later read command raised it further).
        check.ok(call.persistedCounter > 0 && call.persistedCounter < site.counters.lastAccepted, "the command's counter was persisted before the handler ran");
        check.equal(result(id)?.code, ResultCode.ok, "disconnect result at the head-end");
        check.equal(result(readId)?.readings?.length, 2, "readings in the read result");
        check.equal(site.queue.unacknowledged, 0, "results acknowledged and gone from the store");
      },
    };
  },
};

export const replayRejected: Scenario = {
  name: "uplink: a replayed, a forged and a foreign command never reach the handlers and are counted apart",
  start(seed) {
    const site = new UplinkSite({ seed });
    site.powerOn();
    let captured: Uint8Array | undefined;
    site.s.at(30_000, () => {
      site.command({ op: "disconnect", meter: 5 });
    });
    site.s.at(60_000, () => {
      // The attacker captured the sealed command on its way through the broker.
      captured = site.broker.log.filter((l) => l.packet.topic === site.uplink.topics.down).at(-1)?.packet.payload;
      check.ok(captured !== undefined, "the command went through the broker");
      const c = captured!;
      site.broker.inject(site.uplink.topics.down, c); // replay
      const forged = c.slice();
      forged[forged.length - 1]! ^= 1;
      site.broker.inject(site.uplink.topics.down, forged); // one bit changed
      const foreign = site.headend.command(99, { op: "disconnect", meter: 5 }); // not registered: undefined
      check.equal(foreign, undefined, "no channel to an unregistered concentrator");
      const other = c.slice();
      other[5]! ^= 1; // addressed to concentrator 16
      site.broker.inject(site.uplink.topics.down, other);
      site.broker.inject(site.uplink.topics.down, c.subarray(0, 20)); // truncated
    });
    return {
      scheduler: site.s,
      limitMs: 3 * MINUTE,
      done: () => false,
      check() {
        check.equal(site.handlers.calls.length, 1, "handler calls (only the genuine command)");
        const rx = site.uplink.channel.counters;
        check.equal(rx.replayed, 1, "replayed");
        check.equal(rx.authFailed, 1, "authentication failed");
        check.equal(rx.foreign, 1, "foreign");
        check.equal(rx.malformed, 1, "malformed (truncated)");
      },
    };
  },
};

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const lateCommandOnce: Scenario = {
  name: "uplink: a command overtaken by a newer one (two head-end workers) acts once and its result reaches the head-end; replays of both never act",
  start(seed) {
    const site = new UplinkSite({ seed });
    site.powerOn();
    const ids: number[] = [];
    site.s.at(30_000, () => {
      const down = site.uplink.topics.down;
      const older = site.headend.command(site.id, { op: "disconnect", meter: 7 })!;
      const newer = site.headend.command(site.id, { op: "reconnect", meter: 8 })!;
      ids.push(older.commandId, newer.commandId);
      site.broker.inject(down, newer.payload); // published by another worker, it arrives first
      site.broker.inject(down, older.payload);
      site.broker.inject(down, newer.payload); // replays
      site.broker.inject(down, older.payload);
    });
    const result = (n: number) => site.headendStore.commands.find((c) => c.id === n)?.result;
    return {
      scheduler: site.s,
      limitMs: 5 * MINUTE,
      done: () => ids.length === 2 && ids.every((n) => result(n) !== undefined) && site.queue.unacknowledged === 0,
      check() {
        check.equal(site.handlers.calls.map((c) => c.op).join(","), "reconnect,disconnect", "each command acted on once, in the order they arrived");
        check.equal(site.uplink.channel.counters.replayed, 2, "replayed");
        check.equal(result(ids[0]!)?.code, ResultCode.ok, "the overtaken command's result at the head-end");
        check.equal(result(ids[1]!)?.code, ResultCode.ok, "the newer command's result at the head-end");
      },
    };
  },
};

export const scenarios: Scenario[] = [connectAndDrain, resendAfterReconnect, keepAlive, commandRoundTrip, replayRejected, lateCommandOnce];
