/**
 * The engineers' console on the running site, run by mocha and inside XS: an engineer at the cabinet
 * types every command through the service UART while the site polls and uplinks. The XS run meters
 * every turn and tells the console's turns apart from the rest of the firmware's, from the crypto
 * service's (a worker on the device, off the main VM), and from what is not the unit's: the
 * engineer's own tool signing the challenge and terminal (the laptop), the simulated head-end: the
 * console's largest turn is the figure docs/console.md gives.
 */
import nacl from "tweetnacl";
import { loginMessage } from "../../firmware/console/session.js";
import { hexEncode } from "../../firmware/modem/ascii.js";
import { SimTerminal } from "../../hal/sim/terminal.js";
import * as check from "../lib/check.js";
import { ALICE, consoleSite, engineer } from "../lib/console-rig.js";
import type { Scenario } from "../lib/scenario.js";

const MINUTE = 60_000;
const PROMPT = /mc\d+[>#] $/;

/** What the engineer types, in order; a function makes the line from what the console last answered. */
type Step = string | ((answer: string) => string);

function signChallenge(who: { id: string; secretKey: Uint8Array }) {
  return (answer: string): string => {
    const nonce = /challenge ([0-9A-F]{32})/.exec(answer)?.[1] ?? "";
    const text = loginMessage(17, who.id, nonce);
    const message = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) message[i] = text.charCodeAt(i);
    return `auth ${hexEncode(nacl.sign.detached(message, who.secretKey))}`;
  };
}

const MALLORY = engineer("mallory");

export const everyCommand: Scenario = {
  name: "console: every command typed at the service UART while the site polls and uplinks",
  start(seed) {
    const site = consoleSite(seed, { modules: 8 });
    const s = site.world.scheduler;
    const steps: Step[] = [
      "help", "version", "status", "time", "modules", "module 1", "module 3", "bus", "events 50", "log 100", "readings 1 50", "latch", "config get",
      "modem", "ota", "selftest", "read 2",
      "login alice", signChallenge(ALICE),
      "latch set 1", "latch clear 1", "config set poll.intervalMin=15", "at AT+CSQ", "at AT+CREG?", "logout",
      "frobnicate", "module 999", "events 0",
      "login alice", signChallenge({ id: "alice", secretKey: MALLORY.secretKey }),
      "login alice", signChallenge({ id: "alice", secretKey: MALLORY.secretKey }),
      "login alice", signChallenge({ id: "alice", secretKey: MALLORY.secretKey }),
    ];
    const answers: string[] = [];
    let terminal: SimTerminal | undefined;
    let next = 0;
    let answer = "";
    let signed = false;
    const typeNext = () => {
      const step = steps[next++];
      if (step === undefined) return;
      const line = typeof step === "string" ? step : step(answers[answers.length - 1] ?? "");
      signed = typeof step !== "string";
      terminal!.type(`${line}\r`);
    };
    // The engineer plugs in after two hours (the log has grown) and types the next line at each prompt.
    s.at(2 * 60 * MINUTE, () => {
      terminal = new SimTerminal(s, site.world.prng.fork("engineer"), site.world.board.consoleUart);
      terminal.onText((text) => {
        answer += text;
        if (!PROMPT.test(answer)) return;
        answers.push(answer);
        answer = "";
        typeNext();
      });
      terminal.type("\r");
    });
    const board = site.world.board;
    let consoleTurns = 0;
    let verified = 0;
    let busBytes = 0;
    let modemBytes = 0;
    let terminalBytes = 0;
    let headendMessages = 0;
    return {
      scheduler: s,
      warmUpMs: 2 * 60 * MINUTE,
      limitMs: 30 * MINUTE,
      done: () => answers.length > steps.length,
      turnKind() {
        const c = site.concentrator;
        const turns = c?.console.counters.turns ?? consoleTurns;
        let bus = 0;
        for (const b of c?.buses ?? []) bus += b.lineCounters.bytesSent + b.lineCounters.bytesReceived;
        const modem = c?.modem ? c.modem.at.bytesIn + c.modem.at.bytesOut : modemBytes;
        const kind =
          board.crypto.verifications !== verified ? "crypto service"
          : signed ? "engineer's tool"
          : turns !== consoleTurns ? `console: ${c!.console.lastCommand || "prompt"}`
          : bus !== busBytes ? "poller and buses"
          : (site.world.uplink?.headend?.messages ?? 0) !== headendMessages ? "head-end"
          : modem !== modemBytes ? "uplink and modem"
          : (terminal?.receivedBytes ?? 0) !== terminalBytes ? "engineer's terminal"
          : "other firmware and devices";
        consoleTurns = turns;
        verified = board.crypto.verifications;
        busBytes = bus;
        modemBytes = modem;
        terminalBytes = terminal?.receivedBytes ?? 0;
        headendMessages = site.world.uplink?.headend?.messages ?? 0;
        signed = false;
        return kind;
      },
      check() {
        check.equal(answers.length, steps.length + 1, "every command answered with a prompt");
        const errorsOf = (i: number) => answers[i + 1]!.split("\r\n").filter((l) => l.startsWith("error: "));
        const expectedErrors = new Map<number, RegExp>([
          [25, /^error: frobnicate: unknown command/],
          [26, /^error: module: no module 999/],
          [27, /^error: events: N: a whole number/],
          [29, /^error: auth: login failed$/],
          [31, /^error: auth: login failed$/],
          [33, /^error: auth: login failed; locked out for 900 s$/],
        ]);
        for (let i = 0; i < steps.length; i++) {
          const e = errorsOf(i);
          const want = expectedErrors.get(i);
          if (want) check.ok(e.length === 1 && want.test(e[0]!), `step ${i}: ${JSON.stringify(e)}`);
          else check.equal(e.length, 0, `step ${i} (${typeof steps[i] === "string" ? steps[i] : "auth"}): ${JSON.stringify(e)}`);
        }
        check.ok(answers[19]!.includes("logged in as alice"), "logged in");
        const listed = Number(/(\d+) records \(next #/.exec(answers[10]!)?.[1]);
        check.ok(listed > 64 && answers[10]!.split("\r\n").filter((l) => /^#\d+ /.test(l)).length === listed, `log 100 listed every record it counted (${listed})`);
        const c = site.concentrator!;
        check.equal(c.console.counters.internalErrors, 0, "console internal errors");
        check.equal(c.counters.internalErrors, 0, "firmware internal errors");
        check.equal(c.console.session.counters.lockouts, 1, "locked out once");
        check.equal(board.consoleUart.rxOverruns, 0, "nothing typed was lost");
      },
    };
  },
};

export const scenarios: Scenario[] = [everyCommand];
