/**
 * An MQTT 3.1.1 broker inside the simulation, built on our codec: persistent sessions (Clean Session
 * = 0) with queued QoS 1 messages while a client is away, session takeover, QoS 0/1 routing with
 * wildcards, keep-alive enforcement at 1.5 × the interval, and Mosquitto's defaults where they
 * matter (20 in flight per client, 1,000 queued, excess dropped; Mosquitto src/database.c: max_inflight_messages 20, max_queued_messages 1000).
 *
 * Like a Mosquitto without persistence, `restart()` forgets every session and queued message.
 * Fault injection: `lose` decides, per PUBLISH, to acknowledge it and then drop it.
 * Pure ECMAScript: it runs in the site simulation and the XS scenarios too.
 */
import type { ByteStream, ByteStreamHandlers } from "../../firmware/net/byte-stream.js";
import { encodePacket } from "../../firmware/uplink/mqtt/encode.js";
import { type MqttPacket, type PublishPacket, type Subscription, topicMatches } from "../../firmware/uplink/mqtt/packets.js";
import { MqttParser } from "../../firmware/uplink/mqtt/parser.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";
import type { ServerHost } from "./streams.js";

export interface SimBrokerOptions {
  host?: string;
  port?: number;
  maxInflight?: number;
  maxQueued?: number;
  /** Return true to acknowledge a PUBLISH and then lose it (a broker that crashed before routing it). */
  lose?: (clientId: string, p: PublishPacket) => boolean;
}

export interface BrokerCounters {
  connections: number;
  published: number;
  delivered: number;
  dropped: number;
  lost: number;
  protocolErrors: number;
}

interface Session {
  clientId: string;
  clean: boolean;
  subscriptions: Subscription[];
  queue: PublishPacket[];
  inflight: Map<number, PublishPacket>;
  nextId: number;
  conn: Conn | undefined;
}

interface Conn {
  stream: ByteStream;
  parser: MqttParser;
  session: Session | undefined;
  keepAliveMs: number;
  lastInMs: number;
  open: boolean;
}

export class SimBroker {
  readonly host: string;
  readonly port: number;
  readonly counters: BrokerCounters = { connections: 0, published: 0, delivered: 0, dropped: 0, lost: 0, protocolErrors: 0 };
  /** Every PUBLISH received from a client, in order (for assertions). */
  readonly log: Array<{ clientId: string; packet: PublishPacket }> = [];
  readonly #net: ServerHost;
  readonly #s: Scheduler;
  readonly #o: Required<Omit<SimBrokerOptions, "lose">> & Pick<SimBrokerOptions, "lose">;
  #sessions = new Map<string, Session>();
  #conns = new Set<Conn>();

  /** Listens at once on `net`: a SimNetwork, or the modem's internet (streams.ts `serversOn`). */
  constructor(net: ServerHost, o: SimBrokerOptions = {}) {
    this.#net = net;
    this.#s = net.scheduler;
    this.#o = { host: "broker", port: 1883, maxInflight: 20, maxQueued: 1000, ...o };
    this.host = this.#o.host;
    this.port = this.#o.port;
    this.start();
  }

  start(): void {
    this.#net.listen(this.host, this.port, (stream) => this.#accept(stream));
  }

  /** Stops accepting and closes every connection; sessions are kept (a network-level outage of the broker). */
  stop(): void {
    this.#net.unlisten(this.host, this.port);
    for (const c of [...this.#conns]) this.#close(c);
  }

  /** A restart without persistence: every connection closes and every session is forgotten. */
  restart(): void {
    this.stop();
    this.#sessions = new Map();
    this.start();
  }

  /** Publishes as if a client had (an attacker with broker access, a replayed capture). */
  inject(topic: string, payload: Uint8Array, qos: 0 | 1 = 1): void {
    this.#route({ type: "publish", topic, payload, qos, dup: false, retain: false, ...(qos ? { packetId: 1 } : {}) });
  }

  /** Writes raw bytes to a connected client, as a broken or hostile broker would; false if not connected. */
  injectRaw(clientId: string, bytes: Uint8Array): boolean {
    const conn = this.#sessions.get(clientId)?.conn;
    if (!conn?.open) return false;
    conn.stream.write(bytes);
    return true;
  }

  /** Messages queued or in flight for a client (0 if it has no session). */
  backlog(clientId: string): number {
    const s = this.#sessions.get(clientId);
    return s ? s.queue.length + s.inflight.size : 0;
  }

  connected(clientId: string): boolean {
    return this.#sessions.get(clientId)?.conn !== undefined;
  }

  #accept(stream: ByteStream): ByteStreamHandlers {
    const conn: Conn = {
      stream,
      session: undefined,
      keepAliveMs: 0,
      lastInMs: this.#s.now,
      open: true,
      parser: new MqttParser({
        maxPacketBytes: 1 << 20,
        onPacket: (p) => this.#receive(conn, p),
        onError: () => this.#violation(conn),
      }),
    };
    this.#conns.add(conn);
    this.counters.connections++;
    return {
      onConnect: () => {},
      onData: (bytes) => {
        conn.lastInMs = this.#s.now;
        conn.parser.push(bytes);
      },
      onWritable: () => {},
      onClose: () => this.#closed(conn),
    };
  }

  #send(conn: Conn, p: MqttPacket): void {
    // The simulated server socket buffers without limit; a real broker would apply back-pressure.
    if (conn.open) conn.stream.write(encodePacket(p));
  }

  #violation(conn: Conn): void {
    this.counters.protocolErrors++;
    this.#close(conn);
  }

  #close(conn: Conn): void {
    if (!conn.open) return;
    conn.stream.close();
    this.#closed(conn);
  }

  #closed(conn: Conn): void {
    if (!conn.open) return;
    conn.open = false;
    this.#conns.delete(conn);
    const s = conn.session;
    if (s && s.conn === conn) {
      s.conn = undefined;
      if (s.clean) this.#sessions.delete(s.clientId);
    }
  }

  #receive(conn: Conn, p: MqttPacket): void {
    if (!conn.open) return;
    if (!conn.session) {
      if (p.type !== "connect") return this.#violation(conn); // [MQTT-3.1.0-1]
      return this.#connect(conn, p);
    }
    const s = conn.session;
    switch (p.type) {
      case "publish": {
        this.counters.published++;
        this.log.push({ clientId: s.clientId, packet: p });
        if (p.qos === 2) return this.#violation(conn); // this broker does QoS 0 and 1 only
        if (this.#o.lose?.(s.clientId, p)) this.counters.lost++;
        else this.#route(p);
        if (p.qos === 1) this.#send(conn, { type: "puback", packetId: p.packetId! });
        return;
      }
      case "puback": {
        s.inflight.delete(p.packetId);
        this.#flush(s);
        return;
      }
      case "subscribe": {
        for (const sub of p.subscriptions) {
          s.subscriptions = s.subscriptions.filter((x) => x.topic !== sub.topic);
          s.subscriptions.push({ topic: sub.topic, qos: sub.qos > 1 ? 1 : sub.qos });
        }
        this.#send(conn, { type: "suback", packetId: p.packetId, granted: p.subscriptions.map((x) => (x.qos > 1 ? 1 : x.qos)) });
        return;
      }
      case "unsubscribe":
        s.subscriptions = s.subscriptions.filter((x) => !p.topics.includes(x.topic));
        this.#send(conn, { type: "unsuback", packetId: p.packetId });
        return;
      case "pingreq":
        this.#send(conn, { type: "pingresp" });
        return;
      case "disconnect":
        this.#close(conn);
        return;
      default:
        return this.#violation(conn);
    }
  }

  #connect(conn: Conn, p: Extract<MqttPacket, { type: "connect" }>): void {
    if (p.clientId.length === 0 && !p.cleanSession) {
      this.#send(conn, { type: "connack", sessionPresent: false, returnCode: 2 });
      return this.#close(conn);
    }
    let s = this.#sessions.get(p.clientId);
    if (s?.conn) this.#close(s.conn); // session takeover: the older connection goes
    if (s && p.cleanSession) {
      this.#sessions.delete(p.clientId);
      s = undefined;
    }
    const present = s !== undefined;
    if (!s) {
      s = { clientId: p.clientId, clean: p.cleanSession, subscriptions: [], queue: [], inflight: new Map(), nextId: 1, conn: undefined };
      this.#sessions.set(p.clientId, s);
    }
    s.clean = p.cleanSession;
    s.conn = conn;
    conn.session = s;
    conn.keepAliveMs = p.keepAliveS * 1000;
    this.#send(conn, { type: "connack", sessionPresent: present, returnCode: 0 });
    if (conn.keepAliveMs > 0) this.#watchKeepAlive(conn);
    for (const m of s.inflight.values()) this.#send(conn, { ...m, dup: true }); // [MQTT-4.4.0-1]
    this.#flush(s);
  }

  /** Closes a connection silent for 1.5 × its keep-alive (Mosquitto src/keepalive.c). */
  #watchKeepAlive(conn: Conn): void {
    const limit = conn.keepAliveMs * 1.5;
    const check = () => {
      if (!conn.open) return;
      const idle = this.#s.now - conn.lastInMs;
      if (idle >= limit) return this.#close(conn);
      this.#s.after(limit - idle, check);
    };
    this.#s.after(limit, check);
  }

  #route(p: PublishPacket): void {
    for (const s of this.#sessions.values()) {
      const sub = s.subscriptions.find((x) => topicMatches(x.topic, p.topic));
      if (!sub) continue;
      const qos = Math.min(p.qos, sub.qos) as 0 | 1;
      const m: PublishPacket = { type: "publish", topic: p.topic, payload: p.payload, qos, dup: false, retain: false };
      if (qos === 0) {
        if (s.conn) {
          this.#send(s.conn, m);
          this.counters.delivered++;
        }
        continue;
      }
      if (s.queue.length >= this.#o.maxQueued) {
        this.counters.dropped++; // "Outgoing messages are being dropped for client"
        continue;
      }
      s.queue.push(m);
      this.#flush(s);
    }
  }

  #flush(s: Session): void {
    const conn = s.conn;
    if (!conn) return;
    while (s.queue.length > 0 && s.inflight.size < this.#o.maxInflight) {
      const m = s.queue.shift()!;
      let id = s.nextId;
      while (s.inflight.has(id)) id = id === 0xffff ? 1 : id + 1;
      s.nextId = id === 0xffff ? 1 : id + 1;
      const out: PublishPacket = { ...m, packetId: id };
      s.inflight.set(id, out);
      this.#send(conn, out);
      this.counters.delivered++;
    }
  }
}
