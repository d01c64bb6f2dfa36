/**
 * A frame transaction (types.ts) as an exchange: send the request 8N1 at its rate, hand every answer
 * byte to the transaction's `answer`, succeed or fail on its verdict. A failed attempt is retried by the
 * engine like any other; the frame protocol must make its requests safe to repeat (docs/bridge.md).
 */
import type { Exchange, ExchangePort } from "./exchange.js";
import type { FrameTransaction } from "./types.js";

export class FrameExchange implements Exchange {
  readonly #port: ExchangePort;
  readonly #tx: FrameTransaction<unknown>;
  readonly reactionMs = 0;

  constructor(port: ExchangePort, tx: FrameTransaction<unknown>) {
    this.#port = port;
    this.#tx = tx;
  }

  start(): void {
    this.#tx.answer.reset();
    this.#port.send(this.#tx.request, this.#tx.baud, () => this.#port.listen(), "8N1");
  }

  data(bytes: Uint8Array): void {
    const verdict = this.#tx.answer.push(bytes);
    if (!verdict) return;
    if (verdict.ok) this.#port.succeed(verdict.value);
    else this.#port.fail(verdict.failure, true);
  }

  message(): void {
    // Never called: `data` takes the bytes.
  }

  error(): void {
    // Never called: `data` takes the bytes.
  }

  abort(then: () => void): void {
    then();
  }
}
