/**
 * MQTT 3.1.1 control packets as objects, and the protocol constants grouped by packet section
 * (OASIS MQTT v3.1.1; docs/sources.md). The codec (encode.ts, parser.ts) turns
 * these objects into bytes and back; it knows nothing of sockets.
 */

/* Fixed header, byte 1: packet type in bits 7-4, flags in bits 3-0 (§2.2) */
export const TYPE_SHIFT = 4;
export const FLAGS_MASK = 0x0f;
/* PUBLISH flags (§3.3.1) */
export const DUP_MASK = 0x08;
export const QOS_MASK = 0x06;
export const QOS_SHIFT = 1;
export const RETAIN_MASK = 0x01;

/* Remaining length: 1 to 4 bytes of 7 bits, least significant group first (§2.2.3) */
export const VARINT_MAX_BYTES = 4;
export const REMAINING_LENGTH_MAX = 268_435_455;

/* CONNECT variable header (§3.1.2) */
export const PROTOCOL_NAME = "MQTT";
export const PROTOCOL_LEVEL_311 = 4;
export const CONNECT_RESERVED = 0x01;
export const CONNECT_CLEAN_SESSION = 0x02;
export const CONNECT_WILL = 0x04;
export const CONNECT_WILL_QOS_MASK = 0x18;
export const CONNECT_WILL_QOS_SHIFT = 3;
export const CONNECT_WILL_RETAIN = 0x20;
export const CONNECT_PASSWORD = 0x40;
export const CONNECT_USERNAME = 0x80;

/* CONNACK (§3.2.2) */
export const CONNACK_SESSION_PRESENT = 0x01;
export const ConnackCode = Object.freeze({
  accepted: 0,
  badProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const);

/* SUBACK return code for a refused subscription (§3.9.3) */
export const SUBACK_FAILURE = 0x80;

/** Packet type numbers (§2.2.1), and the fixed flags each must carry [MQTT-2.2.2-1]; PUBLISH's vary. */
export const PacketType = Object.freeze({
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
} as const);
export type PacketTypeName = keyof typeof PacketType;

/** Required flags per type; PUBREL, SUBSCRIBE and UNSUBSCRIBE carry 0010 [MQTT-3.6.1-1, MQTT-3.8.1-1, MQTT-3.10.1-1]. */
export const FIXED_FLAGS: Readonly<Record<Exclude<PacketTypeName, "publish">, number>> = Object.freeze({
  connect: 0,
  connack: 0,
  puback: 0,
  pubrec: 0,
  pubrel: 2,
  pubcomp: 0,
  subscribe: 2,
  suback: 0,
  unsubscribe: 2,
  unsuback: 0,
  pingreq: 0,
  pingresp: 0,
  disconnect: 0,
});

export type QoS = 0 | 1 | 2;

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
}

export interface ConnectPacket {
  type: "connect";
  clientId: string;
  cleanSession: boolean;
  /** Keep-alive interval in seconds, 0 = off (§3.1.2.10). */
  keepAliveS: number;
  will?: Will;
  username?: string;
  password?: Uint8Array;
}

export interface ConnackPacket {
  type: "connack";
  sessionPresent: boolean;
  /** ConnackCode. */
  returnCode: number;
}

export interface PublishPacket {
  type: "publish";
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  dup: boolean;
  retain: boolean;
  /** Present exactly when qos > 0 [MQTT-2.3.1-1, MQTT-2.3.1-5]. */
  packetId?: number;
}

export interface AckPacket {
  type: "puback" | "pubrec" | "pubrel" | "pubcomp" | "unsuback";
  packetId: number;
}

export interface Subscription {
  topic: string;
  qos: QoS;
}

export interface SubscribePacket {
  type: "subscribe";
  packetId: number;
  subscriptions: Subscription[];
}

export interface SubackPacket {
  type: "suback";
  packetId: number;
  /** Granted QoS per subscription, or SUBACK_FAILURE. */
  granted: number[];
}

export interface UnsubscribePacket {
  type: "unsubscribe";
  packetId: number;
  topics: string[];
}

export interface EmptyPacket {
  type: "pingreq" | "pingresp" | "disconnect";
}

export type MqttPacket =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | EmptyPacket;

/** Why a byte sequence is not an MQTT 3.1.1 packet. */
export type MqttErrorReason =
  | "invalid packet type"
  | "invalid header flags"
  | "invalid remaining length"
  | "packet too large"
  | "invalid length"
  | "invalid string"
  | "invalid topic"
  | "invalid packet id"
  | "invalid qos"
  | "invalid protocol"
  | "invalid connect flags"
  | "invalid return code"
  | "empty payload";

/** A malformed packet (§4.8: the receiver closes the connection [MQTT-4.8.0-1]). */
export class MqttPacketError extends Error {
  readonly reason: MqttErrorReason;
  constructor(reason: MqttErrorReason) {
    super(reason);
    this.name = "MqttPacketError";
    this.reason = reason;
  }
}

/** True for a topic name a PUBLISH may carry: not empty, no wildcards, no U+0000 [MQTT-4.7.3-1, MQTT-3.3.2-2, MQTT-1.5.3-2]. */
export function isTopicName(topic: string): boolean {
  return topic.length > 0 && !/[#+\u0000]/.test(topic);
}

/** True for a topic filter: '#' only last and alone in its level, '+' alone in its level (§4.7.1). */
export function isTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes("#") && (l !== "#" || i !== levels.length - 1)) return false;
    if (l.includes("+") && l !== "+") return false;
  }
  return true;
}

/** Whether a topic name matches a filter (§4.7); '$' topics never match a leading wildcard (§4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "#" || f[0] === "+")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
