/**
 * A simulated device's serial port and RS485 transceiver, modelled per character: the device under
 * simulation (a local module, a bridge, a bridge's remote node) is not firmware under test, so it needs
 * no UART FIFO model.
 *
 * - Bytes arrive with the baud they were sent at; the device decides what its receiver makes of them.
 * - `send` drives DE, sends the bytes back to back (each starts where the previous one ended, so no
 *   rounding overlaps them), and releases DE a quarter character after the last stop bit.
 * - Everything runs on the device's power domain: a transmission stops when it loses power.
 */
import { characterTimeMs } from "../serial.js";
import { SimDigitalOutput } from "./digital.js";
import type { PowerDomain } from "./power-domain.js";
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

  /** Sends `bytes` as they are (8 bits each) at `baud`; `done` runs once DE is released. */
  send(bytes: ArrayLike<number>, baud: number, done: () => void): void {
    const medium = this.#medium;
    if (this.detached || !medium) return done();
    const d = this.#domain;
    const t = characterTimeMs(baud);
    this.de.write(1);
    let i = 0;
    const next = () => {
      if (i === bytes.length) {
        d.after(t / 4, () => {
          this.de.write(0);
          done();
        });
        return;
      }
      medium.transmit(this, bytes[i++]!, baud, t);
      d.after(t, next);
    };
    next();
  }
}
