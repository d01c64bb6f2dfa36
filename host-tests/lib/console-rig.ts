/**
 * Driving the engineers' console of a simulated site through its service port, as an engineer at
 * the cabinet does: a terminal on the console UART (hal/sim/terminal.ts), lines typed and the answer
 * read up to the next prompt, and the login done with an engineer key the site trusts.
 * Pure ECMAScript: scenarios built on it run under mocha and inside XS.
 */
import nacl from "tweetnacl";
import { loginMessage } from "../../firmware/console/session.js";
import { hexEncode } from "../../firmware/modem/ascii.js";
import { SimTerminal } from "../../hal/sim/terminal.js";
import type { Site, SiteOptions } from "../../tools/site/site.js";
import { calmSite } from "./core-rig.js";
import * as check from "./check.js";

export interface Engineer {
  id: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A deterministic engineer key pair (Ed25519) from a name. */
export function engineer(id: string): Engineer {
  const seed = new Uint8Array(32);
  for (let i = 0; i < id.length; i++) seed[i % 32] = (seed[i % 32]! * 31 + id.charCodeAt(i)) & 0xff;
  const kp = nacl.sign.keyPair.fromSeed(seed);
  return { id, publicKey: kp.publicKey, secretKey: kp.secretKey };
}

export const ALICE = engineer("alice");

/** A calm site whose unit trusts `engineers` (default: alice), with its modem and uplink unless told otherwise. */
export function consoleSite(seed: string, options: Partial<SiteOptions> & { modules: number }, engineers: readonly Engineer[] = [ALICE]): Site {
  return calmSite(seed, {
    uplink: {},
    ...options,
    config: { ...options.config, console: { engineers: engineers.map((e) => ({ id: e.id, publicKey: e.publicKey })) } },
  });
}

const PROMPT = /mc\d+[>#] $/;

export class ConsoleDriver {
  readonly site: Site;
  readonly terminal: SimTerminal;

  constructor(site: Site, options: { charIntervalMs?: number } = {}) {
    this.site = site;
    const w = site.world;
    this.terminal = new SimTerminal(w.scheduler, w.prng.fork("engineer"), w.board.consoleUart, options);
  }

  /** Whether the console shows its prompt (the last command ended). */
  get atPrompt(): boolean {
    return PROMPT.test(this.terminal.text);
  }

  /**
   * Types `line` and Enter, runs the site until the prompt comes back (at most `limitMs`), and returns
   * what the console printed between the echo of the line and the prompt.
   */
  run(line: string, limitMs = 60_000): string {
    this.terminal.take();
    this.terminal.type(`${line}\r`);
    const s = this.site.world.scheduler;
    s.runUntilTrue(() => this.terminal.idle && PROMPT.test(this.terminal.text) && this.terminal.text.includes("\r\n"), limitMs);
    const text = this.terminal.take();
    check.ok(PROMPT.test(text), `the prompt after "${line}" within ${limitMs} ms (got ${JSON.stringify(text.slice(-200))})`);
    const start = text.indexOf("\r\n") + 2;
    return text.slice(start).replace(PROMPT, "");
  }

  /** The lines of `run`. */
  lines(line: string, limitMs?: number): string[] {
    return this.run(line, limitMs).split("\r\n").filter((l) => l.length > 0);
  }

  /** Logs in as `who` (signing the challenge with `key`, default who's own); returns the answer to auth. */
  login(who: Engineer, key: Uint8Array = who.secretKey): string[] {
    const challenge = this.lines(`login ${who.id}`);
    const nonce = /^challenge ([0-9A-F]{32})$/.exec(challenge[0] ?? "")?.[1];
    check.ok(nonce, `a challenge (got ${JSON.stringify(challenge)})`);
    const id = this.site.concentrator!.site.concentratorId;
    const text = loginMessage(id, who.id, nonce);
    const message = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) message[i] = text.charCodeAt(i);
    return this.lines(`auth ${hexEncode(nacl.sign.detached(message, key))}`);
  }
}

/** The lines that report an error (what a script looks for). */
export function errors(lines: readonly string[]): string[] {
  return lines.filter((l) => l.startsWith("error: "));
}
