/**
 * The engineer's side of the console protocol, over any byte stream (a serial port, a TCP socket):
 * a command is a line ended by CR; the unit echoes it, answers, and shows its prompt ("mc17> ", or
 * "mc17# " while logged in); a failure is a line starting "error: ". The login answers the unit's
 * challenge with a signature by the engineer's key, over the message this tool builds itself from the
 * unit's id (its prompt), the engineer's name and the nonce: it never signs text the unit sends.
 */
import type { Duplex } from "node:stream";
import nacl from "tweetnacl";
import { loginMessage } from "../../firmware/console/session.js";
import type { EngineerKeyFile } from "./engineer-keys.js";

const PROMPT = /(?:^|\r\n)mc(\d+)([>#]) $/;

export interface Answer {
  /** What the console printed for the command, line by line (without the echo and the prompt). */
  lines: string[];
  /** The lines starting "error: ". */
  errors: string[];
}

export class ConsoleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConsoleError";
  }
}

/** The signature (hex) answering challenge `nonce` of unit `unit` as the key's engineer. */
export function signChallenge(key: EngineerKeyFile, unit: number, nonce: string): string {
  const message = new Uint8Array(Buffer.from(loginMessage(unit, key.engineer, nonce), "latin1"));
  return Buffer.from(nacl.sign.detached(message, key.secretKey)).toString("hex").toUpperCase();
}

export class ConsoleClient {
  readonly #stream: Duplex;
  #buffer = "";
  #waiter: (() => void) | undefined;
  #closed = false;
  /** The unit's id, from its prompt. */
  unit: number | undefined;
  /** Whether the prompt says an engineer is logged in. */
  loggedIn = false;
  /** Text that arrived while no command ran (a banner after a reboot). */
  onUnsolicited: ((text: string) => void) | undefined;

  constructor(stream: Duplex) {
    this.#stream = stream;
    stream.on("data", (data: Buffer) => {
      this.#buffer += data.toString("latin1");
      if (this.#waiter) this.#waiter();
      else if (this.onUnsolicited) {
        this.onUnsolicited(this.#buffer);
        this.#buffer = "";
      }
    });
    const end = () => {
      this.#closed = true;
      this.#waiter?.();
    };
    stream.on("close", end);
    stream.on("end", end);
    stream.on("error", end);
  }

  /** Wakes the console (an empty line) and waits for its prompt. */
  async ready(timeoutMs: number): Promise<void> {
    await this.#exchange("", timeoutMs);
  }

  /** Runs one command line and returns what the console answered. */
  async command(line: string, timeoutMs: number): Promise<Answer> {
    if (/[\r\n\x03]/.test(line)) throw new ConsoleError("a command is one line");
    const text = await this.#exchange(line, timeoutMs);
    const lines = text.split("\r\n").filter((l) => l.length > 0);
    return { lines, errors: lines.filter((l) => l.startsWith("error: ")) };
  }

  /** Cancels the running command (Ctrl-C). */
  interrupt(): void {
    this.#stream.write("\x03");
  }

  /**
   * Logs in with `key`: asks for a challenge, signs it, answers. `expectUnit`: refuse to sign for
   * another unit (the engineer meant this one). Resolves with the console's answers.
   */
  async login(key: EngineerKeyFile, timeoutMs: number, expectUnit?: number): Promise<Answer> {
    const challenge = await this.command(`login ${key.engineer}`, timeoutMs);
    if (challenge.errors.length > 0) return challenge;
    const nonce = /^challenge ([0-9A-F]{32})$/.exec(challenge.lines[0] ?? "")?.[1];
    if (!nonce || this.unit === undefined) throw new ConsoleError(`no challenge in the console's answer: ${challenge.lines.join(" | ")}`);
    if (expectUnit !== undefined && expectUnit !== this.unit) throw new ConsoleError(`this is unit ${this.unit}, not ${expectUnit}: not signing`);
    return this.command(`auth ${signChallenge(key, this.unit, nonce)}`, timeoutMs);
  }

  close(): void {
    this.#stream.destroy();
  }

  /** Sends `line` and CR; resolves with what came between the echo and the prompt. */
  #exchange(line: string, timeoutMs: number): Promise<string> {
    if (this.#closed) return Promise.reject(new ConsoleError("the connection is closed"));
    this.#buffer = "";
    this.#stream.write(`${line}\r`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new ConsoleError(`no prompt within ${Math.round(timeoutMs / 1000)} s after "${line}"`));
      }, timeoutMs);
      this.#waiter = () => {
        const m = PROMPT.exec(this.#buffer);
        if (!m && !this.#closed) return;
        clearTimeout(timer);
        this.#waiter = undefined;
        if (!m) return reject(new ConsoleError("the connection closed"));
        this.unit = Number(m[1]);
        this.loggedIn = m[2] === "#";
        const text = this.#buffer.slice(0, m.index);
        this.#buffer = "";
        // The echo of the line comes first (what the unit took of it), up to the first line end.
        const echoEnd = text.indexOf("\r\n");
        resolve(echoEnd >= 0 ? text.slice(echoEnd + 2) : "");
      };
      this.#waiter();
    });
  }
}
