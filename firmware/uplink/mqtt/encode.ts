/**
 * MQTT 3.1.1 packet encoder: one packet object in, its exact bytes out (one allocation).
 * A packet that breaks the protocol is a programming error here: it throws TypeError or RangeError
 * naming the field, and nothing is produced.
 */
import { utf8Length, utf8Write } from "../utf8.js";
import {
  CONNACK_SESSION_PRESENT,
  CONNECT_CLEAN_SESSION,
  CONNECT_PASSWORD,
  CONNECT_USERNAME,
  CONNECT_WILL,
  CONNECT_WILL_QOS_SHIFT,
  CONNECT_WILL_RETAIN,
  DUP_MASK,
  FIXED_FLAGS,
  isTopicFilter,
  isTopicName,
  type MqttPacket,
  PacketType,
  PROTOCOL_LEVEL_311,
  PROTOCOL_NAME,
  QOS_SHIFT,
  REMAINING_LENGTH_MAX,
  RETAIN_MASK,
  TYPE_SHIFT,
} from "./packets.js";

/** Bytes the remaining-length field takes for `n` (§2.2.3). */
export function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Bytes of a PUBLISH of `payloadBytes` on `topic` (§3.3): what it costs on the wire, its header included. */
export function publishPacketBytes(topic: string, payloadBytes: number, qos: 0 | 1): number {
  const remaining = 2 + utf8Length(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  return 1 + varintLength(remaining) + remaining;
}

class Writer {
  readonly bytes: Uint8Array;
  offset = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }
  byte(b: number): void {
    this.bytes[this.offset++] = b;
  }
  u16(v: number): void {
    this.bytes[this.offset++] = v >> 8;
    this.bytes[this.offset++] = v & 0xff;
  }
  varint(n: number): void {
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      this.bytes[this.offset++] = b;
    } while (n > 0);
  }
  /** A UTF-8 string with its 16-bit length prefix (§1.5.3). */
  string(s: string): void {
    this.u16(utf8Length(s));
    this.offset = utf8Write(s, this.bytes, this.offset);
  }
  /** Binary data with its 16-bit length prefix (§1.5.3, password and will message). */
  data(d: Uint8Array): void {
    this.u16(d.length);
    this.raw(d);
  }
  raw(d: Uint8Array): void {
    this.bytes.set(d, this.offset);
    this.offset += d.length;
  }
}

function stringLength(s: string, field: string): number {
  const n = utf8Length(s);
  if (n > 0xffff) throw new RangeError(`"${field}" too long`);
  return 2 + n;
}

function checkPacketId(id: number | undefined): number {
  if (!(Number.isInteger(id) && id! >= 1 && id! <= 0xffff)) throw new RangeError('invalid "packetId"'); // [MQTT-2.3.1-1]
  return id!;
}

function checkQos(qos: number, field: string): void {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`invalid "${field}"`);
}

/** The variable header and payload length of `p`, validating it on the way. */
function bodyLength(p: MqttPacket): number {
  switch (p.type) {
    case "connect": {
      let n = 2 + PROTOCOL_NAME.length + 1 + 1 + 2 + stringLength(p.clientId, "clientId");
      if (!(Number.isInteger(p.keepAliveS) && p.keepAliveS >= 0 && p.keepAliveS <= 0xffff)) throw new RangeError('invalid "keepAliveS"');
      if (p.will) {
        if (!isTopicName(p.will.topic)) throw new TypeError('invalid "will.topic"');
        checkQos(p.will.qos, "will.qos");
        n += stringLength(p.will.topic, "will.topic") + 2 + p.will.payload.length;
      }
      if (p.username !== undefined) n += stringLength(p.username, "username");
      // A password needs a user name [MQTT-3.1.2-22].
      if (p.password !== undefined) {
        if (p.username === undefined) throw new TypeError('"password" needs "username"');
        n += 2 + p.password.length;
      }
      return n;
    }
    case "connack":
      if (!(Number.isInteger(p.returnCode) && p.returnCode >= 0 && p.returnCode <= 255)) throw new RangeError('invalid "returnCode"');
      return 2;
    case "publish":
      checkQos(p.qos, "qos");
      if (!isTopicName(p.topic)) throw new TypeError('invalid "topic"');
      if (p.qos > 0) checkPacketId(p.packetId);
      else if (p.packetId !== undefined || p.dup) throw new TypeError("QoS 0 takes no packet id and no DUP"); // [MQTT-2.3.1-5, MQTT-3.3.1-2]
      return stringLength(p.topic, "topic") + (p.qos > 0 ? 2 : 0) + p.payload.length;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback":
      checkPacketId(p.packetId);
      return 2;
    case "subscribe": {
      checkPacketId(p.packetId);
      if (p.subscriptions.length === 0) throw new TypeError('empty "subscriptions"'); // [MQTT-3.8.3-3]
      let n = 2;
      for (const s of p.subscriptions) {
        if (!isTopicFilter(s.topic)) throw new TypeError('invalid "topic"');
        checkQos(s.qos, "qos");
        n += stringLength(s.topic, "topic") + 1;
      }
      return n;
    }
    case "suback":
      checkPacketId(p.packetId);
      for (const g of p.granted) if (g !== 0 && g !== 1 && g !== 2 && g !== 0x80) throw new RangeError('invalid "granted"');
      return 2 + p.granted.length;
    case "unsubscribe": {
      checkPacketId(p.packetId);
      if (p.topics.length === 0) throw new TypeError('empty "topics"'); // [MQTT-3.10.3-2]
      let n = 2;
      for (const t of p.topics) {
        if (!isTopicFilter(t)) throw new TypeError('invalid "topic"');
        n += stringLength(t, "topic");
      }
      return n;
    }
    case "pingreq":
    case "pingresp":
    case "disconnect":
      return 0;
  }
}

/** Encodes one packet. Throws TypeError/RangeError for a packet that breaks MQTT 3.1.1. */
export function encodePacket(p: MqttPacket): Uint8Array {
  const body = bodyLength(p);
  if (body > REMAINING_LENGTH_MAX) throw new RangeError("packet too large");
  const w = new Writer(1 + varintLength(body) + body);
  const type = PacketType[p.type] << TYPE_SHIFT;
  if (p.type === "publish") {
    w.byte(type | (p.dup ? DUP_MASK : 0) | (p.qos << QOS_SHIFT) | (p.retain ? RETAIN_MASK : 0));
  } else w.byte(type | FIXED_FLAGS[p.type]);
  w.varint(body);
  switch (p.type) {
    case "connect": {
      w.string(PROTOCOL_NAME);
      w.byte(PROTOCOL_LEVEL_311);
      let flags = p.cleanSession ? CONNECT_CLEAN_SESSION : 0;
      if (p.will) flags |= CONNECT_WILL | (p.will.qos << CONNECT_WILL_QOS_SHIFT) | (p.will.retain ? CONNECT_WILL_RETAIN : 0);
      if (p.username !== undefined) flags |= CONNECT_USERNAME;
      if (p.password !== undefined) flags |= CONNECT_PASSWORD;
      w.byte(flags);
      w.u16(p.keepAliveS);
      w.string(p.clientId);
      if (p.will) {
        w.string(p.will.topic);
        w.data(p.will.payload);
      }
      if (p.username !== undefined) w.string(p.username);
      if (p.password !== undefined) w.data(p.password);
      break;
    }
    case "connack":
      w.byte(p.sessionPresent ? CONNACK_SESSION_PRESENT : 0);
      w.byte(p.returnCode);
      break;
    case "publish":
      w.string(p.topic);
      if (p.qos > 0) w.u16(p.packetId!);
      w.raw(p.payload);
      break;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback":
      w.u16(p.packetId);
      break;
    case "subscribe":
      w.u16(p.packetId);
      for (const s of p.subscriptions) {
        w.string(s.topic);
        w.byte(s.qos);
      }
      break;
    case "suback":
      w.u16(p.packetId);
      for (const g of p.granted) w.byte(g);
      break;
    case "unsubscribe":
      w.u16(p.packetId);
      for (const t of p.topics) w.string(t);
      break;
    default:
      break;
  }
  return w.bytes;
}
