/**
 * A point-to-point serial line between two UARTs (the modem and the console ports): full duplex,
 * every character takes its wire time, optional seeded noise, and a cable that can be pulled. RTS and
 * CTS are wired through (crossed), for UARTs that use flow control.
 */
import type { Medium, SimUart, Transceiver } from "./uart.js";
import { LineNoise, type LineNoiseRates } from "./line-noise.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import { Trace, traceTime } from "./trace.js";

export class SerialLink implements Medium {
  readonly name: string;
  readonly #scheduler: Scheduler;
  readonly #a: SimUart;
  readonly #b: SimUart;
  readonly noise: LineNoise;
  readonly trace: Trace | undefined;
  /** False while the cable is disconnected: characters go nowhere. */
  connected = true;

  constructor(scheduler: Scheduler, prng: Prng, a: SimUart, b: SimUart, options: { name?: string; noise?: LineNoiseRates; trace?: Trace } = {}) {
    this.#scheduler = scheduler;
    this.name = options.name ?? `${a.name}<->${b.name}`;
    this.#a = a;
    this.#b = b;
    this.noise = new LineNoise(prng.fork(`${this.name}/noise`), options.noise);
    this.trace = options.trace;
    a.attach(this);
    b.attach(this);
  }

  /** RTS and CTS are crossed in the cable: `from` may send while its peer's RTS is up. */
  clearToSend(from: Transceiver): boolean {
    return this.#peer(from).readyToReceive;
  }

  readyChanged(from: Transceiver): void {
    this.#peer(from).resume();
  }

  #peer(from: Transceiver): SimUart {
    return from === this.#a ? this.#b : this.#a;
  }

  transmit(from: Transceiver, byte: number, baud: number, durationMs: number): void {
    const to = this.#peer(from);
    this.#scheduler.after(durationMs, () => {
      if (!this.connected) return;
      for (const b of this.noise.apply(byte)) {
        this.trace?.record(`${traceTime(this.#scheduler.now)} ${this.name} ${from.name} ${b}`);
        to.receive(b, baud);
      }
    });
  }
}
