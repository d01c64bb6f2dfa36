/**
 * Streaming MQTT 3.1.1 parser: bytes arrive in chunks of any size (ByteStream.onData); every complete
 * packet goes to `onPacket`, every malformed one to `onError` as an MqttPacketError, and nothing
 * throws out of `push`.
 *
 * Memory is bounded: a packet whose remaining length exceeds `maxPacketBytes` is refused from its
 * header, before anything is buffered. After an error the rest of that chunk is discarded and the
 * parser starts clean; its owner is expected to close the connection anyway [MQTT-4.8.0-1].
 */
import { utf8Decode } from "../utf8.js";
import {
  ConnackCode,
  CONNECT_CLEAN_SESSION,
  CONNECT_PASSWORD,
  CONNECT_RESERVED,
  CONNECT_USERNAME,
  CONNECT_WILL,
  CONNECT_WILL_QOS_MASK,
  CONNECT_WILL_QOS_SHIFT,
  CONNECT_WILL_RETAIN,
  DUP_MASK,
  FIXED_FLAGS,
  FLAGS_MASK,
  isTopicFilter,
  isTopicName,
  type MqttErrorReason,
  type MqttPacket,
  MqttPacketError,
  type PacketTypeName,
  PROTOCOL_LEVEL_311,
  PROTOCOL_NAME,
  type QoS,
  QOS_MASK,
  QOS_SHIFT,
  RETAIN_MASK,
  SUBACK_FAILURE,
  TYPE_SHIFT,
  VARINT_MAX_BYTES,
  type Subscription,
  type Will,
} from "./packets.js";

export interface MqttParserOptions {
  /** Largest remaining length accepted, bytes. Default 16384. */
  maxPacketBytes?: number;
  onPacket(packet: MqttPacket): void;
  onError(error: MqttPacketError): void;
}

const TYPE_NAMES: ReadonlyArray<PacketTypeName | undefined> = Object.freeze([
  undefined, "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
  "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", undefined,
]);

/** Thrown inside the body decoder only; `push` turns it into `onError`. */
class Malformed {
  constructor(readonly reason: MqttErrorReason) {}
}

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}
  get left(): number {
    return this.bytes.length - this.offset;
  }
  byte(): number {
    if (this.offset >= this.bytes.length) throw new Malformed("invalid length");
    return this.bytes[this.offset++]!;
  }
  u16(): number {
    if (this.offset + 2 > this.bytes.length) throw new Malformed("invalid length");
    const v = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
    this.offset += 2;
    return v;
  }
  data(): Uint8Array {
    const n = this.u16();
    if (this.offset + n > this.bytes.length) throw new Malformed("invalid length");
    const d = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return d;
  }
  /** UTF-8 string, well-formed and without U+0000 [MQTT-1.5.3-1, MQTT-1.5.3-2]. */
  string(): string {
    const n = this.u16();
    if (this.offset + n > this.bytes.length) throw new Malformed("invalid length");
    const s = utf8Decode(this.bytes, this.offset, this.offset + n);
    if (s === undefined || s.includes("\u0000")) throw new Malformed("invalid string");
    this.offset += n;
    return s;
  }
  packetId(): number {
    const id = this.u16();
    if (id === 0) throw new Malformed("invalid packet id"); // [MQTT-2.3.1-1]
    return id;
  }
  rest(): Uint8Array {
    const d = this.bytes.slice(this.offset);
    this.offset = this.bytes.length;
    return d;
  }
  end(): void {
    if (this.offset !== this.bytes.length) throw new Malformed("invalid length");
  }
}

function qos(v: number): QoS {
  if (v > 2) throw new Malformed("invalid qos"); // [MQTT-3.3.1-4]
  return v as QoS;
}

/** Decodes the variable header and payload of one packet whose fixed header was valid. */
function decodeBody(type: PacketTypeName, flags: number, body: Uint8Array): MqttPacket {
  const r = new Reader(body);
  switch (type) {
    case "connect": {
      if (r.string() !== PROTOCOL_NAME || r.byte() !== PROTOCOL_LEVEL_311) throw new Malformed("invalid protocol");
      const f = r.byte();
      const willQos = (f & CONNECT_WILL_QOS_MASK) >> CONNECT_WILL_QOS_SHIFT;
      // Reserved bit zero [MQTT-3.1.2-3]; no will QoS/retain without a will [MQTT-3.1.2-13, MQTT-3.1.2-15];
      // will QoS 3 [MQTT-3.1.2-14]; no password without a user name [MQTT-3.1.2-22].
      if (
        f & CONNECT_RESERVED ||
        (!(f & CONNECT_WILL) && f & (CONNECT_WILL_QOS_MASK | CONNECT_WILL_RETAIN)) ||
        willQos === 3 ||
        (f & CONNECT_PASSWORD && !(f & CONNECT_USERNAME))
      ) {
        throw new Malformed("invalid connect flags");
      }
      const keepAliveS = r.u16();
      const clientId = r.string();
      let will: Will | undefined;
      if (f & CONNECT_WILL) {
        const topic = r.string();
        if (!isTopicName(topic)) throw new Malformed("invalid topic");
        will = { topic, payload: r.data(), qos: willQos as QoS, retain: (f & CONNECT_WILL_RETAIN) !== 0 };
      }
      const username = f & CONNECT_USERNAME ? r.string() : undefined;
      const password = f & CONNECT_PASSWORD ? r.data() : undefined;
      r.end();
      return {
        type,
        clientId,
        cleanSession: (f & CONNECT_CLEAN_SESSION) !== 0,
        keepAliveS,
        ...(will ? { will } : {}),
        ...(username !== undefined ? { username } : {}),
        ...(password !== undefined ? { password } : {}),
      };
    }
    case "connack": {
      const ack = r.byte();
      const returnCode = r.byte();
      r.end();
      if (ack & 0xfe) throw new Malformed("invalid header flags"); // acknowledge flags bits 7-1 reserved (§3.2.2.1)
      if (returnCode > ConnackCode.notAuthorized) throw new Malformed("invalid return code");
      return { type, sessionPresent: (ack & 1) === 1, returnCode };
    }
    case "publish": {
      const q = qos((flags & QOS_MASK) >> QOS_SHIFT);
      const dup = (flags & DUP_MASK) !== 0;
      if (q === 0 && dup) throw new Malformed("invalid header flags"); // [MQTT-3.3.1-2]
      const topic = r.string();
      if (!isTopicName(topic)) throw new Malformed("invalid topic"); // [MQTT-3.3.2-2]
      const packetId = q > 0 ? r.packetId() : undefined;
      const payload = r.rest();
      return { type, topic, payload, qos: q, dup, retain: (flags & RETAIN_MASK) !== 0, ...(packetId !== undefined ? { packetId } : {}) };
    }
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback": {
      const packetId = r.packetId();
      r.end();
      return { type, packetId };
    }
    case "subscribe": {
      const packetId = r.packetId();
      const subscriptions: Subscription[] = [];
      while (r.left > 0) {
        const topic = r.string();
        if (!isTopicFilter(topic)) throw new Malformed("invalid topic");
        const q = r.byte();
        if (q & 0xfc) throw new Malformed("invalid qos"); // [MQTT-3.8.3-4]
        subscriptions.push({ topic, qos: qos(q) });
      }
      if (subscriptions.length === 0) throw new Malformed("empty payload"); // [MQTT-3.8.3-3]
      return { type, packetId, subscriptions };
    }
    case "suback": {
      const packetId = r.packetId();
      const granted: number[] = [];
      while (r.left > 0) {
        const g = r.byte();
        if (g > 2 && g !== SUBACK_FAILURE) throw new Malformed("invalid return code"); // [MQTT-3.9.3-2]
        granted.push(g);
      }
      if (granted.length === 0) throw new Malformed("empty payload");
      return { type, packetId, granted };
    }
    case "unsubscribe": {
      const packetId = r.packetId();
      const topics: string[] = [];
      while (r.left > 0) {
        const t = r.string();
        if (!isTopicFilter(t)) throw new Malformed("invalid topic");
        topics.push(t);
      }
      if (topics.length === 0) throw new Malformed("empty payload"); // [MQTT-3.10.3-2]
      return { type, packetId, topics };
    }
    case "pingreq":
    case "pingresp":
    case "disconnect":
      r.end();
      return { type };
  }
}

const enum State {
  Header,
  Length,
  Body,
}

export class MqttParser {
  readonly maxPacketBytes: number;
  readonly #onPacket: (p: MqttPacket) => void;
  readonly #onError: (e: MqttPacketError) => void;
  #state = State.Header;
  #type: PacketTypeName = "pingreq";
  #flags = 0;
  #length = 0;
  #lengthBytes = 0;
  #multiplier = 1;
  #body = new Uint8Array(0);
  #filled = 0;

  constructor({ maxPacketBytes = 16_384, onPacket, onError }: MqttParserOptions) {
    if (!(Number.isInteger(maxPacketBytes) && maxPacketBytes > 0)) throw new RangeError('invalid "maxPacketBytes"');
    this.maxPacketBytes = maxPacketBytes;
    this.#onPacket = onPacket;
    this.#onError = onError;
  }

  /** True between packets: no partial packet is buffered. */
  get idle(): boolean {
    return this.#state === State.Header;
  }

  /** Forgets any partial packet (a new connection). */
  reset(): void {
    this.#state = State.Header;
    this.#body = new Uint8Array(0);
    this.#filled = 0;
  }

  push(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      switch (this.#state) {
        case State.Header: {
          const b = bytes[i++]!;
          const name = TYPE_NAMES[b >> TYPE_SHIFT];
          if (!name) return this.fail("invalid packet type");
          const flags = b & FLAGS_MASK;
          if (name !== "publish" && flags !== FIXED_FLAGS[name]) return this.fail("invalid header flags"); // [MQTT-2.2.2-2]
          this.#type = name;
          this.#flags = flags;
          this.#length = 0;
          this.#lengthBytes = 0;
          this.#multiplier = 1;
          this.#state = State.Length;
          break;
        }
        case State.Length: {
          const b = bytes[i++]!;
          this.#length += (b & 0x7f) * this.#multiplier;
          this.#multiplier *= 128;
          this.#lengthBytes++;
          if (b & 0x80) {
            if (this.#lengthBytes === VARINT_MAX_BYTES) return this.fail("invalid remaining length");
            break;
          }
          if (this.#length > this.maxPacketBytes) return this.fail("packet too large");
          this.#body = new Uint8Array(this.#length);
          this.#filled = 0;
          this.#state = State.Body;
          if (this.#length === 0 && !this.complete()) return;
          break;
        }
        case State.Body: {
          const n = Math.min(this.#body.length - this.#filled, bytes.length - i);
          this.#body.set(bytes.subarray(i, i + n), this.#filled);
          this.#filled += n;
          i += n;
          if (this.#filled === this.#body.length && !this.complete()) return;
          break;
        }
      }
    }
  }

  /** Decodes the buffered packet; false if it was malformed (reported, and the chunk is dropped). */
  private complete(): boolean {
    const body = this.#body;
    this.reset();
    let packet: MqttPacket;
    try {
      packet = decodeBody(this.#type, this.#flags, body);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      this.fail(e.reason);
      return false;
    }
    this.#onPacket(packet);
    return true;
  }

  private fail(reason: MqttErrorReason): void {
    this.reset();
    this.#onError(new MqttPacketError(reason));
  }
}
