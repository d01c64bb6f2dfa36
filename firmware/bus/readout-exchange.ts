/**
 * Mode D readout on our RS485 bus (docs/d0.md): the addressed request `/?address!` at 2400 Bd, answered
 * after tr by `/XXX3 identification CR LF CR LF data ! CR LF`. There is no BCC, so parity and the
 * structure are the only checks: any decode error fails the attempt, and the engine retries once the
 * module has finished talking. The readout's device address (0.0.0) must be the one asked for.
 */
import type { DataSet } from "../d0/data-set.js";
import { isSound, type D0Message } from "../d0/decoder.js";
import { encodeRequest } from "../d0/encoder.js";
import type { D0Error } from "../d0/errors.js";
import type { Identification } from "../d0/identification.js";
import { MODE_D_BAUD } from "../d0/modes.js";
import { parseObis, sameDeviceAddress } from "../d0/obis.js";
import { failureOf, type Exchange, type ExchangePort } from "./exchange.js";
import type { Readout } from "./types.js";

export class ReadoutExchange implements Exchange {
  readonly #port: ExchangePort;
  readonly #address: string;
  readonly #request: Uint8Array;
  #identification: Identification | undefined;

  constructor(port: ExchangePort, address: string) {
    this.#port = port;
    this.#address = address;
    this.#request = encodeRequest(address);
  }

  get reactionMs(): number {
    return this.#identification?.reactionMs ?? 0;
  }

  start(): void {
    this.#identification = undefined;
    this.#port.resetDecoder();
    this.#port.send(this.#request, MODE_D_BAUD, () => this.#port.listen());
  }

  message(m: D0Message, dataSets: DataSet[]): void {
    const p = this.#port;
    if (m.type === "identification" && !this.#identification) {
      this.#identification = m.identification;
      return;
    }
    if (m.type !== "block" || !this.#identification || m.command !== undefined || !m.readout) return p.fail({ code: "malformed", detail: `unexpected ${m.type}` }, true);
    if (!isSound(m)) return p.fail({ code: m.bcc === "bad" ? "bad-bcc" : "malformed", detail: `block ${m.end}` }, true);
    for (const ds of dataSets) {
      const o = parseObis(ds.address);
      if (o && o.c === 0 && o.d === 0 && o.e === 0 && (o.a ?? 0) <= 1 && !sameDeviceAddress(ds.values[0]?.value.trim() ?? "", this.#address)) {
        return p.fail({ code: "wrong-address", detail: ds.values[0]?.value }, false);
      }
    }
    const readout: Readout = { identification: this.#identification, dataSets };
    p.succeed(readout);
  }

  error(e: D0Error): void {
    this.#port.fail(failureOf(e), true);
  }

  abort(then: () => void): void {
    then();
  }
}
