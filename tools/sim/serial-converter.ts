/**
 * An RS485-to-Ethernet converter on a simulated bus, as field engineers use one to reach a meter from
 * a laptop: bytes from the network go onto the bus at the line's rate (8N1), back to back; bytes other
 * nodes put on the bus go back to the network. It does no framing: HDLC runs end to end over it.
 * Pure ECMAScript (the network side is whoever calls `fromNetwork` and `toNetwork`).
 */
import { CharTransceiver } from "../../hal/sim/char-transceiver.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import type { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import type { Scheduler } from "../../hal/sim/scheduler.js";

export class SerialConverter {
  readonly #transceiver: CharTransceiver;
  readonly #baud: number;
  #queue: number[] = [];
  #sending = false;
  /** Bytes heard on the bus, for the network. */
  toNetwork: (bytes: Uint8Array) => void = () => undefined;
  readonly counters = { fromNetwork: 0, toNetwork: 0 };

  constructor(scheduler: Scheduler, bus: Rs485Bus, baud = 9600) {
    const domain = new PowerDomain(scheduler, "converter");
    this.#baud = baud;
    this.#transceiver = new CharTransceiver({
      name: "converter",
      domain,
      bus,
      onByte: (b, rate) => {
        if (rate !== this.#baud) return;
        this.counters.toNetwork++;
        this.toNetwork(Uint8Array.of(b));
      },
    });
    domain.powerOn();
  }

  /** Bytes from the network: sent on the bus as soon as it is free of our previous ones. */
  fromNetwork(bytes: Uint8Array): void {
    this.counters.fromNetwork += bytes.length;
    for (const b of bytes) this.#queue.push(b);
    this.#drain();
  }

  #drain(): void {
    if (this.#sending || this.#queue.length === 0) return;
    const bytes = this.#queue;
    this.#queue = [];
    this.#sending = true;
    this.#transceiver.send(bytes, this.#baud, () => {
      this.#sending = false;
      this.#drain();
    });
  }
}
