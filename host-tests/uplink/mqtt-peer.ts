/**
 * Conversions between our MQTT packet objects and mqtt-packet's (the MQTT.js codec), so the two
 * codecs can check each other in tests.
 */
import mqttPacket from "mqtt-packet";
import type { MqttPacket } from "../../firmware/uplink/mqtt/packets.js";

type Peer = Record<string, unknown> & { cmd: string };

export function toPeer(p: MqttPacket): Peer {
  switch (p.type) {
    case "connect":
      return {
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clean: p.cleanSession,
        clientId: p.clientId,
        keepalive: p.keepAliveS,
        ...(p.will ? { will: { topic: p.will.topic, payload: Buffer.from(p.will.payload), qos: p.will.qos, retain: p.will.retain } } : {}),
        ...(p.username !== undefined ? { username: p.username } : {}),
        ...(p.password !== undefined ? { password: Buffer.from(p.password) } : {}),
      };
    case "connack":
      return { cmd: "connack", sessionPresent: p.sessionPresent, returnCode: p.returnCode };
    case "publish":
      return {
        cmd: "publish",
        topic: p.topic,
        payload: Buffer.from(p.payload),
        qos: p.qos,
        dup: p.dup,
        retain: p.retain,
        ...(p.packetId !== undefined ? { messageId: p.packetId } : {}),
      };
    case "subscribe":
      return { cmd: "subscribe", messageId: p.packetId, subscriptions: p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })) };
    case "suback":
      return { cmd: "suback", messageId: p.packetId, granted: p.granted };
    case "unsubscribe":
      return { cmd: "unsubscribe", messageId: p.packetId, unsubscriptions: p.topics };
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback":
      return { cmd: p.type, messageId: p.packetId };
    default:
      return { cmd: p.type };
  }
}

export function fromPeer(o: Peer): MqttPacket {
  const u8 = (b: unknown) => new Uint8Array(b as Buffer);
  switch (o.cmd) {
    case "connect": {
      const will = o.will as { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean } | undefined;
      return {
        type: "connect",
        clientId: o.clientId as string,
        cleanSession: o.clean as boolean,
        keepAliveS: o.keepalive as number,
        ...(will ? { will: { topic: will.topic, payload: u8(will.payload), qos: will.qos, retain: will.retain } } : {}),
        ...(o.username !== undefined ? { username: o.username as string } : {}),
        ...(o.password !== undefined ? { password: u8(o.password) } : {}),
      };
    }
    case "connack":
      return { type: "connack", sessionPresent: o.sessionPresent as boolean, returnCode: o.returnCode as number };
    case "publish":
      return {
        type: "publish",
        topic: o.topic as string,
        payload: u8(o.payload),
        qos: o.qos as 0 | 1 | 2,
        dup: o.dup as boolean,
        retain: o.retain as boolean,
        ...((o.qos as number) > 0 ? { packetId: o.messageId as number } : {}),
      };
    case "subscribe":
      return {
        type: "subscribe",
        packetId: o.messageId as number,
        subscriptions: (o.subscriptions as Array<{ topic: string; qos: 0 | 1 | 2 }>).map((s) => ({ topic: s.topic, qos: s.qos })),
      };
    case "suback":
      return { type: "suback", packetId: o.messageId as number, granted: o.granted as number[] };
    case "unsubscribe":
      return { type: "unsubscribe", packetId: o.messageId as number, topics: o.unsubscriptions as string[] };
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback":
      return { type: o.cmd, packetId: o.messageId as number };
    default:
      return { type: o.cmd as "pingreq" | "pingresp" | "disconnect" };
  }
}

/** Bytes of `p` as mqtt-packet generates them. */
export function peerGenerate(p: MqttPacket): Uint8Array {
  return new Uint8Array(mqttPacket.generate(toPeer(p) as never, { protocolVersion: 4 }));
}

/** Packets and errors mqtt-packet parses from `bytes`. */
export function peerParse(bytes: Uint8Array): { packets: MqttPacket[]; errors: string[] } {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: MqttPacket[] = [];
  const errors: string[] = [];
  parser.on("packet", (o) => packets.push(fromPeer(o as unknown as Peer)));
  parser.on("error", (e: Error) => errors.push(e.message));
  parser.parse(Buffer.from(bytes));
  return { packets, errors };
}
