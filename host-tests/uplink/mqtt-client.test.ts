import assert from "node:assert/strict";
import type { ByteStream } from "../../firmware/net/byte-stream.js";
import { MqttClient, type MqttClientOptions } from "../../firmware/uplink/mqtt/client.js";
import { encodePacket } from "../../firmware/uplink/mqtt/encode.js";
import type { MqttPacket } from "../../firmware/uplink/mqtt/packets.js";
import { MqttParser } from "../../firmware/uplink/mqtt/parser.js";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimRandom } from "../../hal/sim/system.js";
import { SimBroker } from "../../tools/sim/sim-broker.js";
import { SimNetwork } from "../../tools/sim/sim-net.js";

/** A server that answers each packet through `script` (a misbehaving broker, scripted). */
function scriptedServer(net: SimNetwork, script: (p: MqttPacket, reply: (bytes: Uint8Array | MqttPacket) => void, stream: ByteStream) => void) {
  const received: MqttPacket[] = [];
  let connections = 0;
  net.listen("broker", 1883, (stream) => {
    connections++;
    const reply = (x: Uint8Array | MqttPacket) => stream.write(x instanceof Uint8Array ? x : encodePacket(x));
    const parser = new MqttParser({ onPacket: (p) => (received.push(p), script(p, reply, stream)), onError: () => {} });
    return { onConnect: () => {}, onData: (b) => parser.push(b), onWritable: () => {}, onClose: () => {} };
  });
  return { received, connections: () => connections };
}

/** `hold`: the messages' `taken` are kept in `held` for the test to call, not called at once. */
function setup(options: Partial<MqttClientOptions> = {}, hold = false) {
  const s = new Scheduler();
  const net = new SimNetwork(s, { latencyMs: 100 });
  const d = new PowerDomain(s, "mc");
  d.powerOn();
  const clock = new SimClock(d);
  const messages: Array<[string, Uint8Array]> = [];
  const events: string[] = [];
  const held: Array<() => void> = [];
  const client = new MqttClient(
    {
      connector: net.connector(d),
      clock,
      timers: clock,
      random: new SimRandom(d, new Prng("r")),
      host: "broker",
      port: 1883,
      clientId: "mc-1",
      keepAliveS: 60,
      reconnectMinMs: 1000,
      reconnectMaxMs: 60_000,
      ...options,
    },
    {
      onConnected: (sp) => events.push(`connected ${sp}`),
      onDisconnected: (r) => events.push(`disconnected ${r}`),
      onMessage: (t, p, taken) => (messages.push([t, p]), hold ? held.push(taken) : taken()),
    },
  );
  return { s, net, client, messages, events, held };
}

const bytes = (n: number) => new Uint8Array(n).fill(n & 0xff);

describe("MQTT client", () => {
  it("refuses a QoS 1 publish when the window is full, and takes one again after a PUBACK", () => {
    const { s, net, client } = setup({ maxInFlight: 2 });
    let ack = true;
    const srv = scriptedServer(net, (p, reply) => {
      if (p.type === "connect") reply({ type: "connack", sessionPresent: false, returnCode: 0 });
      if (p.type === "publish" && ack) reply({ type: "puback", packetId: p.packetId! });
    });
    client.start();
    s.runFor(1_000);
    ack = false;
    assert.equal(client.publish("t", bytes(1)), true);
    assert.equal(client.publish("t", bytes(2)), true);
    assert.equal(client.publish("t", bytes(3)), false, "window of 2 is full");
    s.runFor(1_000);
    assert.equal(client.inFlight, 2);
    const ids = srv.received.filter((p) => p.type === "publish").map((p) => (p as { packetId: number }).packetId);
    assert.equal(new Set(ids).size, 2, "distinct packet ids in flight");
    ack = true;
    s.runFor(100_000); // the PUBACK timeout drops the link; the window is re-sent and acknowledged
    assert.equal(client.inFlight, 0);
    assert.equal(client.publish("t", bytes(3)), true);
  });

  it("re-sends the window after reconnecting, in order, with the same ids and DUP set", () => {
    const { s, net, client } = setup({ maxInFlight: 3 });
    let ack = false;
    const srv = scriptedServer(net, (p, reply) => {
      if (p.type === "connect") reply({ type: "connack", sessionPresent: true, returnCode: 0 });
      if (p.type === "publish" && ack) reply({ type: "puback", packetId: p.packetId! });
    });
    client.start();
    s.runFor(1_000);
    client.publish("t", bytes(1));
    client.publish("t", bytes(2));
    s.runFor(1_000);
    net.cut();
    net.restore();
    ack = true;
    s.runFor(10_000);
    const pubs = srv.received.filter((p) => p.type === "publish") as Array<Extract<MqttPacket, { type: "publish" }>>;
    assert.deepEqual(
      pubs.map((p) => [p.packetId, p.dup, p.payload[0]]),
      [
        [pubs[0]!.packetId, false, 1],
        [pubs[1]!.packetId, false, 2],
        [pubs[0]!.packetId, true, 1],
        [pubs[1]!.packetId, true, 2],
      ],
    );
    assert.equal(client.inFlight, 0);
    assert.equal(client.counters.resent, 2);
  });

  it("holds QoS 1 messages published while disconnected and sends them after CONNACK, without DUP", () => {
    const { s, net, client } = setup();
    const broker = new SimBroker(net);
    client.publish("t", bytes(1));
    client.start();
    assert.equal(client.publish("t", bytes(2)), true);
    s.runFor(5_000);
    assert.equal(client.inFlight, 0);
    assert.deepEqual(
      broker.log.map((l) => [l.packet.payload[0], l.packet.dup]),
      [
        [2, false],
      ],
      "a publish before start is refused; one after start waits for the connection",
    );
  });

  it("backs off exponentially with jitter while the broker refuses the connection", () => {
    const { s, net, client, events } = setup({ reconnectMinMs: 1_000, reconnectMaxMs: 16_000 });
    const srv = scriptedServer(net, (p, reply) => {
      if (p.type === "connect") reply({ type: "connack", sessionPresent: false, returnCode: 5 });
    });
    client.start();
    s.runFor(120_000);
    const n = srv.connections();
    // Attempts at delays of 0.5-1 × 1, 2, 4, 8, 16, 16, ... s plus round trips: between 8 and 16 in 2 minutes.
    assert.ok(n >= 8 && n <= 16, `${n} attempts`);
    assert.equal(client.counters.connects, 0);
    assert.ok(events.every((e) => e === "disconnected connack 5"));
  });

  it("leaves a connection whose broker sends a malformed packet, and reconnects", () => {
    const { s, net, client, events } = setup();
    let first = true;
    scriptedServer(net, (p, reply) => {
      if (p.type !== "connect") return;
      reply({ type: "connack", sessionPresent: false, returnCode: 0 });
      if (first) reply(new Uint8Array([0xf0, 0x00])); // reserved packet type 15
      first = false;
    });
    client.start();
    s.runFor(10_000);
    assert.equal(client.counters.malformedIn, 1);
    assert.deepEqual(events, ["connected false", "disconnected malformed packet", "connected false"]);
  });

  it("gives up on a connection that never answers CONNECT", () => {
    const { s, net, client, events } = setup({ connectTimeoutMs: 5_000 });
    scriptedServer(net, () => {});
    client.start();
    s.runFor(6_000);
    assert.deepEqual(events, ["disconnected connect timeout"]);
  });

  it("subscribes when the broker has no session, not when it has one", () => {
    const { s, net, client } = setup({ subscriptions: [{ topic: "mc/1/down", qos: 1 }] });
    let present = false;
    const srv = scriptedServer(net, (p, reply) => {
      if (p.type === "connect") reply({ type: "connack", sessionPresent: present, returnCode: 0 });
      if (p.type === "subscribe") reply({ type: "suback", packetId: p.packetId, granted: [1] });
    });
    client.start();
    s.runFor(2_000);
    present = true;
    net.cut();
    net.restore();
    s.runFor(5_000);
    assert.equal(srv.received.filter((p) => p.type === "subscribe").length, 1);
    assert.equal(srv.received.filter((p) => p.type === "connect").length, 2);
  });

  it("subscribes again when the broker keeps a session whose SUBSCRIBE it never acknowledged (the link dropped before the SUBACK)", () => {
    const { s, net, client } = setup({ subscriptions: [{ topic: "mc/1/down", qos: 1 }] });
    let connects = 0;
    const srv = scriptedServer(net, (p, reply) => {
      // The first connection's session is kept, but the link drops before any SUBACK.
      if (p.type === "connect") reply({ type: "connack", sessionPresent: connects++ > 0, returnCode: 0 });
      if (p.type === "subscribe" && connects === 1) net.cut();
      else if (p.type === "subscribe") reply({ type: "suback", packetId: p.packetId, granted: [1] });
    });
    client.start();
    s.runFor(1_000);
    net.restore();
    s.runFor(10_000);
    assert.equal(srv.received.filter((p) => p.type === "subscribe").length, 2, "subscribed again, though the session was present");
    // Once acknowledged, a present session needs no new SUBSCRIBE.
    net.cut();
    net.restore();
    s.runFor(10_000);
    assert.equal(srv.received.filter((p) => p.type === "subscribe").length, 2);
    assert.equal(client.counters.connects, 3);
  });

  it("acknowledges a received QoS 1 message after handing it over, and ignores packets only clients send by leaving", () => {
    const { s, net, client, messages, events } = setup();
    const srv = scriptedServer(net, (p, reply) => {
      if (p.type !== "connect") return;
      reply({ type: "connack", sessionPresent: true, returnCode: 0 });
      reply({ type: "publish", topic: "mc/1/down", payload: bytes(4), qos: 1, dup: false, retain: false, packetId: 77 });
      reply({ type: "subscribe", packetId: 1, subscriptions: [{ topic: "x", qos: 0 }] });
    });
    client.start();
    s.runFor(1_000);
    assert.equal(messages.length, 1);
    assert.deepEqual(srv.received.find((p) => p.type === "puback"), { type: "puback", packetId: 77 });
    assert.ok(events.includes("disconnected protocol violation"));
  });

  it("acknowledges a QoS 1 message once its owner took it, in the order received; one not taken when the connection drops is not acknowledged, and comes again", () => {
    const { s, net, client, messages, held } = setup({}, true);
    let connection = 0;
    let stream: ByteStream | undefined;
    const srv = scriptedServer(net, (p, reply, st) => {
      if (p.type !== "connect") return;
      stream = st;
      reply({ type: "connack", sessionPresent: true, returnCode: 0 });
      // The broker's session: what was not acknowledged comes again on the next connection.
      const ids = ++connection === 1 ? [1, 2, 3] : [3];
      for (const id of ids) reply({ type: "publish", topic: "mc/1/down", payload: bytes(id), qos: 1, dup: connection > 1, retain: false, packetId: id });
    });
    const pubacks = () => srv.received.flatMap((p) => (p.type === "puback" ? [p.packetId] : []));
    client.start();
    s.runFor(1_000);
    assert.equal(messages.length, 3);
    assert.deepEqual(pubacks(), [], "nothing acknowledged before it was taken");
    held[1]!();
    s.runFor(500);
    assert.deepEqual(pubacks(), [], "the second waits for the first");
    held[0]!();
    s.runFor(500);
    assert.deepEqual(pubacks(), [1, 2]);
    stream!.close(); // lost before the third was taken (a power cut in the middle of its work)
    s.runFor(100);
    held[2]!();
    s.runFor(5_000);
    assert.equal(messages.length, 4, "the third came again");
    assert.deepEqual(pubacks(), [1, 2], "and the first copy's late taken acknowledged nothing on the new connection");
    held[3]!();
    s.runFor(500);
    assert.deepEqual(pubacks(), [1, 2, 3]);
  });

  it("sends a CONNECT with Clean Session 0, its keep-alive and the client id", () => {
    const { s, net, client } = setup({ keepAliveS: 45 });
    const srv = scriptedServer(net, () => {});
    client.start();
    s.runFor(1_000);
    assert.deepEqual(srv.received[0], { type: "connect", clientId: "mc-1", cleanSession: false, keepAliveS: 45 });
  });
});
