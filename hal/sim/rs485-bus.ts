/**
 * An RS485 half-duplex multi-drop bus.
 *
 * - A transceiver drives the bus only while its driver-enable (DE) output is 1. A character whose DE
 *   was not enabled at its start does not reach the bus; one whose DE dropped before its last bit
 *   reaches the other nodes as garbage (the tail was cut off).
 * - Two characters on the bus at the same time garble each other: every receiver gets one garbage
 *   byte for each run of overlapping characters.
 * - Receivers are enabled while their own DE is 0. A transceiver wired with /RE tied low (`echo`)
 *   also hears itself while transmitting, as a real half-duplex transceiver then does.
 * - Seeded line noise applies per character, identically for every receiver (it is on the wire).
 * - `busyMs` accumulates the time at least one driver was transmitting, for utilisation figures.
 */
import type { Medium, Transceiver } from "./uart.js";
import { LineNoise, type LineNoiseRates } from "./line-noise.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import type { SimDigitalOutput } from "./digital.js";
import { Trace, traceTime } from "./trace.js";

export interface Rs485Attachment {
  uart: Transceiver;
  /** The transceiver's driver-enable line. */
  de: SimDigitalOutput;
  /** /RE tied low: the node hears its own transmissions. Default false (DE and /RE tied together). */
  echo?: boolean;
}

interface Transmission {
  readonly from: Rs485Attachment;
  readonly byte: number;
  readonly baud: number;
  readonly start: number;
  readonly end: number;
  garbled: boolean;
}

export interface BusCounters {
  characters: number;
  collisions: number;
  truncated: number;
}

export class Rs485Bus implements Medium {
  readonly name: string;
  readonly #scheduler: Scheduler;
  readonly #prng: Prng;
  readonly #nodes: Rs485Attachment[] = [];
  readonly #byUart = new Map<Transceiver, Rs485Attachment>();
  #active: Transmission[] = [];
  readonly noise: LineNoise;
  readonly trace: Trace | undefined;
  readonly counters: BusCounters = { characters: 0, collisions: 0, truncated: 0 };
  #busyMs = 0;
  #busyUntil = 0;
  /** End of the last garbage character delivered: overlapping garbled characters merge into one. */
  #garbageUntil = 0;

  constructor(scheduler: Scheduler, prng: Prng, options: { name?: string; noise?: LineNoiseRates; trace?: Trace } = {}) {
    this.#scheduler = scheduler;
    this.name = options.name ?? "rs485";
    this.#prng = prng.fork(`${this.name}/garble`);
    this.noise = new LineNoise(prng.fork(`${this.name}/noise`), options.noise);
    this.trace = options.trace;
  }

  attach(node: Rs485Attachment): void {
    this.#nodes.push(node);
    this.#byUart.set(node.uart, node);
    node.uart.attach(this);
  }

  /** Time in ms during which at least one driver was transmitting. */
  get busyMs(): number {
    return this.#busyMs;
  }

  transmit(from: Transceiver, byte: number, baud: number, durationMs: number): void {
    const node = this.#byUart.get(from);
    if (!node || node.de.level !== 1) return;
    const now = this.#scheduler.now;
    const tx: Transmission = { from: node, byte, baud, start: now, end: now + durationMs, garbled: false };
    for (const other of this.#active) {
      if (other.end > tx.start) {
        other.garbled = true;
        tx.garbled = true;
      }
    }
    this.#active.push(tx);
    this.#busyMs += Math.max(0, tx.end - Math.max(tx.start, this.#busyUntil));
    this.#busyUntil = Math.max(this.#busyUntil, tx.end);
    this.#scheduler.at(tx.end, () => this.#finish(tx));
  }

  #finish(tx: Transmission): void {
    this.#active = this.#active.filter((t) => t !== tx);
    this.counters.characters++;
    let received: number[];
    let flag = "";
    if (tx.garbled) {
      this.counters.collisions++;
      received = tx.start < this.#garbageUntil ? [] : [this.#prng.int(256)];
      this.#garbageUntil = Math.max(this.#garbageUntil, tx.end);
      flag = " collision";
    } else if (tx.from.de.level !== 1 || tx.from.de.changedAt > tx.start) {
      this.counters.truncated++;
      received = [this.#prng.int(256)];
      flag = " truncated";
    } else {
      received = this.noise.apply(tx.byte);
    }
    this.trace?.record(`${traceTime(tx.end)} ${this.name} ${tx.from.uart.name} ${tx.byte}${flag}`);
    for (const node of this.#nodes) {
      const hears = node === tx.from ? node.echo === true : node.de.level === 0 || node.echo === true;
      if (!hears) continue;
      for (const b of received) node.uart.receive(b, tx.baud);
    }
  }
}
