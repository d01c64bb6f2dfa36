/**
 * A simulated PLC or radio bridge (docs/bridge.md): a node on the concentrator's RS485 bus, with its
 * own bus address, transceiver and power domain, that relays D0 steps to remote nodes over its medium
 * (bridge-medium.ts) and keeps a table of the modules it reaches with a primary and a backup route.
 *
 * RS485 side: frames 8N1 at 9600 Bd, answered 10 ms after the request's last byte. Bytes sent at
 * another rate (the D0 traffic at 2400 and 300 Bd) reach its UART as garbage, which the framing skips.
 * One relay at a time: RELAY starts it and is answered at once (accepted, busy, no route, bad request);
 * FETCH answers "pending" until it ends, then gives its outcome in parts. The bridge is busy while a
 * relay runs, and afterwards until its outcome has been fetched to the last part, or for at most 10 s
 * (a concentrator that restarted never fetches it). A RELAY repeated with the same sequence number and
 * payload before its outcome is fetched is the same relay (its first answer was lost): it is not
 * started again. A relay still running at its deadline ends as "timeout". A power loss forgets
 * everything but the table.
 *
 * This is simulated hardware: its frame codec is written independently of firmware/bridge/protocol.ts
 * (the dependency rule keeps hal/sim from firmware/), so the two check each other.
 */
import type { RemoteAnswer, SimRemoteNode } from "./bridge-remote.js";
import type { SimMedium } from "./bridge-medium.js";
import { CharTransceiver } from "./char-transceiver.js";
import { PowerDomain } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { Rs485Bus } from "./rs485-bus.js";
import type { Scheduler, ScheduledEvent } from "./scheduler.js";

const BAUD = 9600;
const SOF = 0x7e, ESC = 0x7d;
/** Request types, and CTRL bit 7 of a response (docs/bridge.md §Frames). */
const INFO = 1, TABLE = 2, RELAY = 3, FETCH = 4, RESPONSE = 0x80;
/** Status bytes (docs/bridge.md §Messages, status). */
const OK = 0, PENDING = 1, BUSY = 2, NO_ROUTE = 3, BAD_REQUEST = 4, UNKNOWN = 5, NO_ANSWER = 6, ROUTE_FAILED = 7, TIMEOUT = 8;
const PAYLOAD_MAX = 255;
const RESULT_HEADER = 15;
const PART_BYTES = PAYLOAD_MAX - RESULT_HEADER;
const MODE_C_BAUDS = [300, 600, 1200, 2400, 4800, 9600, 19200];
const NO_BACKUP = 0xff;
/** How long an outcome nobody fetches keeps the bridge busy, ms: five of the concentrator's longest poll intervals (2 s). */
const RESULT_HOLD_MS = 10_000;
/** The bridge's own medium address. */
export const BRIDGE_NODE = 0;

export interface BridgeTableEntry {
  readonly node: SimRemoteNode;
  /** D0 device address of the module behind the node. */
  readonly address: string;
  /** Repeater ids from the bridge to the node. */
  readonly primary: readonly number[];
  readonly backup?: readonly number[];
}

export interface SimBridgeOptions {
  scheduler: Scheduler;
  prng: Prng;
  bus: Rs485Bus;
  /** Bus address, 1..254. */
  address: number;
  medium: SimMedium;
  name?: string;
  /** Time from a request's last byte to the answer's first, ms. Default 10. */
  reactionMs?: number;
}

export interface BridgeCounters {
  requests: number;
  /** Frames with a bad CRC or address, and runs of bytes outside frames. */
  badFrames: number;
  relays: number;
  busy: number;
  routeFailures: number;
  timeouts: number;
}

interface Relay {
  readonly seq: number;
  readonly request: Uint8Array;
  status: number;
  answer: RemoteAnswer | undefined;
  hop: number;
  frames: number;
  tries: number;
  delivered: boolean;
  deadline: ScheduledEvent | undefined;
  readonly startedAt: number;
  elapsedMs: number;
}

export class SimBridge {
  readonly name: string;
  readonly address: number;
  readonly domain: PowerDomain;
  readonly medium: SimMedium;
  readonly counters: BridgeCounters = { requests: 0, badFrames: 0, relays: 0, busy: 0, routeFailures: 0, timeouts: 0 };
  readonly #s: Scheduler;
  readonly #prng: Prng;
  readonly #reactionMs: number;
  readonly #transceiver: CharTransceiver;
  readonly #table: BridgeTableEntry[] = [];
  readonly #nodes = new Map<number, SimRemoteNode>();
  #relay: Relay | undefined;
  // Receiver state: the unescaped frame so far (SOF excluded).
  #rx: number[] | undefined;
  #escaped = false;

  constructor(o: SimBridgeOptions) {
    this.#s = o.scheduler;
    this.address = o.address;
    this.name = o.name ?? `bridge-${o.address}`;
    this.#prng = o.prng.fork(this.name);
    this.#reactionMs = o.reactionMs ?? 10;
    this.medium = o.medium;
    this.domain = new PowerDomain(o.scheduler, this.name);
    o.medium.addNode(BRIDGE_NODE, this.domain);
    this.#transceiver = new CharTransceiver({ name: this.name, domain: this.domain, bus: o.bus, onByte: (b, baud) => this.#receive(b, baud) });
    this.domain.onPowerOff(() => {
      this.#s.cancel(this.#relay?.deadline);
      this.#relay = undefined;
      this.#rx = undefined;
    });
    this.domain.powerOn();
  }

  /** Adds a module the bridge reaches (its installation table). */
  addEntry(entry: BridgeTableEntry): void {
    if (this.#table.length >= 255) throw new RangeError("table full");
    this.#table.push(entry);
    this.#nodes.set(entry.node.id, entry.node);
  }

  // ---- RS485 side ----

  #receive(byte: number, baud: number): void {
    if (!this.domain.on) return;
    // A character at another rate is a framing error on this UART: a garbage byte (as hal/sim/uart.ts).
    if (baud !== BAUD) byte = this.#prng.int(256);
    if (byte === SOF) {
      if (this.#rx) this.counters.badFrames++;
      this.#rx = [];
      this.#escaped = false;
      return;
    }
    const rx = this.#rx;
    if (!rx) return;
    if (byte === ESC && !this.#escaped) {
      this.#escaped = true;
      return;
    }
    rx.push(this.#escaped ? byte ^ 0x20 : byte);
    this.#escaped = false;
    if (rx.length < 4 || rx.length < 4 + rx[3]! + 2) return;
    this.#rx = undefined;
    const n = rx[3]!;
    const crc = crc16(rx, 4 + n);
    if (crc !== ((rx[4 + n]! << 8) | rx[5 + n]!)) return void this.counters.badFrames++;
    if (rx[0] !== this.address || rx[1]! & RESPONSE) return;
    this.counters.requests++;
    const type = rx[1]!, seq = rx[2]!, payload = Uint8Array.from(rx.slice(4, 4 + n));
    this.domain.after(this.#reactionMs, () => this.#send(type, seq, this.#answer(type, seq, payload)));
  }

  #send(type: number, seq: number, payload: number[]): void {
    const body = [this.address, RESPONSE | type, seq, payload.length, ...payload];
    const crc = crc16(body, body.length);
    body.push(crc >> 8, crc & 0xff);
    const wire = [SOF];
    for (const b of body) {
      if (b === SOF || b === ESC) wire.push(ESC, b ^ 0x20);
      else wire.push(b);
    }
    this.#transceiver.send(wire, BAUD, () => undefined);
  }

  #answer(type: number, seq: number, p: Uint8Array): number[] {
    switch (type) {
      case INFO:
        return p.length ? [BAD_REQUEST] : this.#info();
      case TABLE:
        return p.length !== 1 ? [BAD_REQUEST] : this.#entry(p[0]!);
      case RELAY:
        return [this.#startRelay(seq, p)];
      case FETCH:
        return p.length !== 2 ? [BAD_REQUEST] : this.#fetch(p[0]!, p[1]!);
      default:
        return [BAD_REQUEST];
    }
  }

  #info(): number[] {
    const m = this.medium.profile;
    const rates = m.ratesBps.flatMap((r) => [r >> 8, r & 0xff]);
    return [OK, 1, m.kind === "plc" ? 1 : 2, m.ratesBps.length, ...rates, m.frameOverheadBytes, m.framePayloadBytes, m.ackBytes, m.hopLatencyMs >> 8, m.hopLatencyMs & 0xff, m.maxHops, this.#table.length];
  }

  #entry(index: number): number[] {
    const e = this.#table[index];
    if (!e) return [UNKNOWN];
    const ids = (path: readonly number[]) => [path.length, ...path.flatMap((id) => [id >> 8, id & 0xff])];
    const address = Array.from(e.address, (c) => c.charCodeAt(0));
    return [OK, index, this.#table.length, e.node.id >> 8, e.node.id & 0xff, address.length, ...address, ...ids(e.primary), ...(e.backup ? ids(e.backup) : [NO_BACKUP])];
  }

  // ---- relays ----

  #startRelay(seq: number, p: Uint8Array): number {
    const current = this.#relay;
    if (current && current.seq === seq && !current.delivered && same(current.request, p)) return OK;
    if (current && (current.status === PENDING || (!current.delivered && this.#s.now - current.startedAt - current.elapsedMs < RESULT_HOLD_MS))) {
      this.counters.busy++;
      return BUSY;
    }
    if (p.length < 12) return BAD_REQUEST;
    const node = (p[0]! << 8) | p[1]!, rate = this.medium.profile.ratesBps[p[2]!], flags = p[3]!;
    const [sendBaud, listenBaud, maxBaud] = [MODE_C_BAUDS[p[4]!], MODE_C_BAUDS[p[5]!], MODE_C_BAUDS[p[6]!]];
    const firstByteMs = (p[7]! << 8) | p[8]!, deadlineMs = ((p[9]! << 8) | p[10]!) * 100, hops = p[11]!;
    if (rate === undefined || sendBaud === undefined || listenBaud === undefined || maxBaud === undefined || flags > 3 || 12 + 2 * hops > p.length) return BAD_REQUEST;
    const path = [BRIDGE_NODE];
    for (let i = 0; i < hops; i++) path.push((p[12 + 2 * i]! << 8) | p[13 + 2 * i]!);
    const target = this.#nodes.get(node);
    path.push(node);
    if (!target || hops > this.medium.profile.maxHops || path.slice(1, -1).some((id) => !this.medium.hasNode(id))) return NO_ROUTE;
    const d0 = p.slice(12 + 2 * hops);
    const relay: Relay = { seq, request: p, status: PENDING, answer: undefined, hop: 0, frames: 0, tries: 0, delivered: false, deadline: undefined, startedAt: this.#s.now, elapsedMs: 0 };
    this.#relay = relay;
    this.counters.relays++;
    const live = () => this.#relay === relay && relay.status === PENDING;
    const end = (status: number) => {
      this.#s.cancel(relay.deadline);
      relay.status = status;
      relay.elapsedMs = this.#s.now - relay.startedAt;
      if (status === ROUTE_FAILED) this.counters.routeFailures++;
      if (status === TIMEOUT) this.counters.timeouts++;
    };
    relay.deadline = this.domain.after(deadlineMs, () => live() && end(TIMEOUT));
    const back = [...path].reverse();
    const step = { send: d0, sendBaud, listen: (flags & 1) !== 0, listenBaud, signOn: (flags & 2) !== 0, maxBaud, firstByteMs };
    this.medium.transfer(path, d0.length, rate, (out) => {
      if (!live()) return;
      relay.frames += out.frames;
      relay.tries += out.tries;
      if (!out.ok) {
        relay.hop = out.hop;
        return end(ROUTE_FAILED);
      }
      target.execute(step, (answer) => {
        if (!live()) return;
        this.medium.transfer(back, answer.bytes.length, rate, (r) => {
          if (!live()) return;
          relay.frames += r.frames;
          relay.tries += r.tries;
          if (!r.ok) {
            // Hops are numbered from the bridge: the way back crosses them in reverse.
            relay.hop = back.length - 2 - r.hop;
            return end(ROUTE_FAILED);
          }
          relay.answer = answer;
          end(answer.status === "ok" ? OK : NO_ANSWER);
        });
      });
    });
    return OK;
  }

  #fetch(seq: number, part: number): number[] {
    const r = this.#relay;
    if (!r || r.seq !== seq) return [UNKNOWN];
    if (r.status === PENDING) return [PENDING];
    const bytes = r.answer?.bytes ?? new Uint8Array(0);
    const parts = Math.max(1, Math.ceil(bytes.length / PART_BYTES));
    if (part >= parts) return [BAD_REQUEST];
    if (part === parts - 1) r.delivered = true;
    const split = r.answer?.split ?? 0;
    const z = r.answer?.signOnBaudChar ? r.answer.signOnBaudChar.charCodeAt(0) : 0;
    const data = Array.from(bytes.subarray(part * PART_BYTES, (part + 1) * PART_BYTES));
    const tries = Math.min(r.tries, 0xffff), elapsed = Math.min(Math.round(r.elapsedMs / 10), 0xffff);
    return [r.status, part, parts, bytes.length >> 8, bytes.length & 0xff, split >> 8, split & 0xff, z, r.hop, r.frames >> 8, r.frames & 0xff, tries >> 8, tries & 0xff, elapsed >> 8, elapsed & 0xff, ...data];
  }
}

/** CRC-16/IBM-3740 (polynomial 0x1021, initial 0xFFFF) of `bytes[0..n)`. */
function crc16(bytes: readonly number[], n: number): number {
  let crc = 0xffff;
  for (let i = 0; i < n; i++) {
    crc ^= bytes[i]! << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
