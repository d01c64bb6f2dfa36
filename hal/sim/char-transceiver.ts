/**
 * A simulated device's serial port and RS485 transceiver, modelled per character: the device under
 * simulation (a local module, a bridge, a bridge's remote node) is not firmware under test, so it needs
 * no UART FIFO model.
 *
 * - Bytes arrive with the baud they were sent at; the device decides what its receiver makes of them.
 * - `send` drives DE, sends the bytes back to back (each starts where the previous one ended, so no
 *   rounding overlaps them), and releases DE a quarter character after the last stop bit.
 * - Everything runs on the device's power domain: a transmission stops when it loses power.
 * - A transmission is one small record posted again for each character (`Sending`), which sends from
 *   the bytes (or text) it was given with an index: no copy of a reply and no closure per character.
 */
import { characterTimeMs } from "../serial.js";
import { SimDigitalOutput } from "./digital.js";
import { CircuitEvent, type PowerDomain } from "./power-domain.js";
import { NOTHING } from "./scheduler.js";
import type { Rs485Bus } from "./rs485-bus.js";
import type { Medium, Transceiver } from "./uart.js";

export interface CharTransceiverOptions {
  name: string;
  domain: PowerDomain;
  bus: Rs485Bus;
  /** A byte has arrived (its last bit has just ended), as sent on the wire at `baud`. */
  onByte(byte: number, baud: number): void;
}

export class CharTransceiver implements Transceiver {
  readonly name: string;
  readonly de: SimDigitalOutput;
  /** Set when the device has been taken off this bus: it neither hears nor drives it any more. */
  detached = false;
  readonly #domain: PowerDomain;
  readonly #onByte: (byte: number, baud: number) => void;
  #medium: Medium | undefined;

  constructor(o: CharTransceiverOptions) {
    this.name = o.name;
    this.#domain = o.domain;
    this.#onByte = o.onByte;
    this.de = new SimDigitalOutput(o.domain);
    o.bus.attach({ uart: this, de: this.de });
  }

  attach(medium: Medium): void {
    this.#medium = medium;
  }

  receive(byte: number, baud: number): void {
    if (!this.detached) this.#onByte(byte, baud);
  }

  /**
   * Sends `bytes` at `baud`: the numbers as they are (8 bits each), or a text's character codes;
   * `encode` (a parity bit, say) makes each one what goes on the wire. `done` runs once DE is released.
   */
  send(bytes: ArrayLike<number> | string, baud: number, done: () => void, encode?: (byte: number) => number): void {
    const medium = this.#medium;
    if (this.detached || !medium) return done();
    this.de.write(1);
    new Sending(this.#domain, this, medium, bytes, baud, done, encode).fire();
  }
}

/**
 * A transmission under way: each `fire` puts the next character on the wire and posts the record
 * again for when it has ended; after the last, a quarter character later, DE is released and `done` runs.
 */
class Sending extends CircuitEvent {
  readonly #port: CharTransceiver;
  readonly #medium: Medium;
  #bytes: ArrayLike<number> | string;
  readonly #encode: ((byte: number) => number) | undefined;
  readonly #baud: number;
  /** A character's time at `#baud`, ms. */
  readonly #charMs: number;
  #done: () => void;
  /** The next character to send; `length` once they are all sent (DE is released next). */
  #index = 0;

  constructor(domain: PowerDomain, port: CharTransceiver, medium: Medium, bytes: ArrayLike<number> | string, baud: number, done: () => void, encode: ((byte: number) => number) | undefined) {
    super(domain);
    this.#port = port;
    this.#medium = medium;
    this.#bytes = bytes;
    this.#baud = baud;
    this.#charMs = characterTimeMs(baud);
    this.#done = done;
    this.#encode = encode;
  }

  fire(): void {
    const i = this.#index++;
    const bytes = this.#bytes;
    const d = this.owner as PowerDomain;
    const t = this.#charMs;
    if (i > bytes.length) {
      this.#port.de.write(0);
      return this.#done();
    }
    if (i === bytes.length) return void d.scheduler.post(this, d.scheduler.now + t / 4);
    const b = typeof bytes === "string" ? bytes.charCodeAt(i) : bytes[i]!;
    this.#medium.transmit(this.#port, this.#encode ? this.#encode(b) : b, this.#baud, t);
    d.scheduler.post(this, d.scheduler.now + t);
  }

  drop(): void {
    this.#bytes = "";
    this.#done = NOTHING;
  }
}
