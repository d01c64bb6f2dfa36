/**
 * Mode C programming session (STD §6.4.3, Annex A): the request at 300 Bd,
 * the identification, after tr the ACK/option select `ACK 0 Z 1` (both sides switch to Z when the master
 * can use it, else stay at 300), the meter's P0, our P1 password, the commands, and B0.
 *
 * Replies (Annex A): ACK when a command was carried out, NAK when it broke protocol rules (we send it
 * again, twice at most), an error message when it was valid but could not be executed (the command's
 * result says so; the session goes on). An R answer with a bad BCC is asked again with NAK; partial
 * blocks (R3/R4, EOT) are acknowledged one by one. The password's error message ends the session:
 * "locked-out" when its text is the module's lock-out text, else "password-refused".
 */
import type { DataSet } from "../d0/data-set.js";
import { isSound, type D0Block, type D0Message } from "../d0/decoder.js";
import { encodeAck, encodeBreak, encodeCommand, encodeNak, encodeOptionSelect, encodeRequest } from "../d0/encoder.js";
import type { D0Error } from "../d0/errors.js";
import type { Identification } from "../d0/identification.js";
import { INITIAL_BAUD, negotiateModeC } from "../d0/modes.js";
import type { Exchange, ExchangePort } from "./exchange.js";
import type { CommandResult, SessionCommand } from "./types.js";

/** NAKs we answer with, or resends after a NAK, before giving up on one message. */
const REPEATS = 2;

type Step = "identification" | "p0" | "password" | "command";

/** Its steps are prototype methods (TypeScript `private`, not `#`): XS gives every instance a slot per `#` method. */
export class SessionExchange implements Exchange {
  readonly #port: ExchangePort;
  readonly #address: string;
  readonly #password: string;
  readonly #commands: readonly SessionCommand[];
  readonly #lockoutText: string;
  #step: Step = "identification";
  #identification: Identification | undefined;
  #baud = INITIAL_BAUD;
  #operand = "";
  #results: CommandResult[] = [];
  #index = 0;
  #repeats = 0;
  #partial: DataSet[] = [];
  #last: Uint8Array = new Uint8Array(0);

  constructor(port: ExchangePort, address: string, password: string, commands: readonly SessionCommand[], lockoutText: string) {
    this.#port = port;
    this.#address = address;
    this.#password = password;
    this.#commands = commands;
    this.#lockoutText = lockoutText;
  }

  get reactionMs(): number {
    return this.#identification?.reactionMs ?? 0;
  }

  start(): void {
    this.#step = "identification";
    this.#identification = undefined;
    this.#baud = INITIAL_BAUD;
    this.#results = [];
    this.#index = 0;
    this.#repeats = 0;
    this.#partial = [];
    this.#port.resetDecoder();
    this.#port.send(encodeRequest(this.#address), INITIAL_BAUD, () => this.#port.listen());
  }

  message(m: D0Message, dataSets: DataSet[]): void {
    switch (this.#step) {
      case "identification":
        return this.onIdentification(m);
      case "p0":
        if (m.type === "block" && m.command === "P0" && isSound(m)) {
          this.#operand = dataSets[0]?.values[0]?.value ?? "";
          this.#step = "password";
          return this.sendAfterTr(encodeCommand("P", "1", { address: "", values: [{ value: this.#password }] }), true);
        }
        return this.unexpected(m);
      case "password":
        if (m.type === "ack") return this.nextCommand();
        if (m.type === "error-message") return this.#port.fail({ code: m.text === this.#lockoutText ? "locked-out" : "password-refused", detail: m.text }, false);
        if (m.type === "block" && m.command === "B0") return this.#port.fail({ code: "password-refused", detail: "B0" }, false);
        if (m.type === "nak") return this.resend("nak");
        return this.unexpected(m);
      case "command":
        return this.onReply(m, dataSets);
    }
  }

  error(_e: D0Error): void {
    // A bad answer is judged by its block's verdict (NAK and repeat), a missing one by the timeout.
  }

  abort(then: () => void): void {
    if (this.#step === "identification") return then();
    // The meter is in programming mode: sign it off, or it would ignore the next request until its inactivity time-out.
    this.#step = "identification";
    this.#port.send(encodeBreak(), this.#baud, then);
  }

  private onIdentification(m: D0Message): void {
    if (m.type !== "identification") return this.unexpected(m);
    const id = (this.#identification = m.identification);
    const { ackBaudChar, baud } = negotiateModeC(id.baudChar, this.#port.timing.maxBaud);
    this.#step = "p0";
    this.#port.wait(id.reactionMs, () =>
      this.#port.send(encodeOptionSelect("0", ackBaudChar, "1"), INITIAL_BAUD, () => {
        this.#baud = baud;
        this.#port.resetDecoder();
        this.#port.listen(baud);
      }),
    );
  }

  private onReply(m: D0Message, dataSets: DataSet[]): void {
    const cmd = this.#commands[this.#index]!;
    if (m.type === "error-message") return this.done({ ok: false, code: "error-message", text: m.text });
    if (m.type === "nak") return this.resend("nak");
    if (cmd.letter !== "R") {
      if (m.type === "ack") return this.done({ ok: true, dataSets: [] });
      return this.unexpected(m);
    }
    if (m.type !== "block" || m.start !== "stx") return this.unexpected(m);
    if (!isSound(m)) return this.repeatAnswer(m);
    this.#repeats = 0;
    this.#partial.push(...dataSets);
    if (m.end === "eot") return this.sendAfterTr(encodeAck(), false);
    const all = this.#partial;
    this.#partial = [];
    this.done({ ok: true, dataSets: all });
  }

  /** An answer with a bad BCC or a parity error: ask for it again (§6.4.3.5, §6.4.7). */
  private repeatAnswer(m: D0Block): void {
    if (++this.#repeats > REPEATS) return this.#port.fail({ code: m.bcc === "bad" ? "bad-bcc" : "malformed" }, true);
    this.sendAfterTr(encodeNak(), false);
  }

  private resend(code: "nak"): void {
    if (++this.#repeats > REPEATS) {
      if (this.#step === "command") return this.done({ ok: false, code });
      return this.#port.fail({ code }, true);
    }
    this.sendAfterTr(this.#last, false);
  }

  private done(result: CommandResult): void {
    this.#results.push(result);
    this.#index++;
    this.nextCommand();
  }

  private nextCommand(): void {
    this.#step = "command";
    this.#repeats = 0;
    this.#partial = [];
    const cmd = this.#commands[this.#index];
    if (!cmd) {
      const result = { identification: this.#identification!, operand: this.#operand, results: this.#results };
      return this.#port.wait(this.reactionMs, () => this.#port.send(encodeBreak(), this.#baud, () => this.#port.succeed(result)));
    }
    this.sendAfterTr(encodeCommand(cmd.letter, cmd.type, cmd.dataSet, false), true);
  }

  /** Waits the meter's tr, sends, and listens for the answer. `remember`: the message a NAK makes us send again. */
  private sendAfterTr(bytes: Uint8Array, remember: boolean): void {
    if (remember) this.#last = bytes;
    this.#port.wait(this.reactionMs, () => this.#port.send(bytes, this.#baud, () => this.#port.listen()));
  }

  private unexpected(m: D0Message): void {
    this.#port.fail({ code: "malformed", detail: `unexpected ${m.type} at step ${this.#step}` }, true);
  }
}
