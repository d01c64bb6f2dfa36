#!/usr/bin/env node
/**
 * The engineers' console client (docs/console.md): a terminal on a concentrator's service port, on a
 * board (`--port /dev/ttyACM0`, npm serialport) or on the simulation (`--tcp HOST:PORT`), with line
 * editing and history, and the login done from the engineer's key file.
 *
 *   npm run console -- --port /dev/ttyACM0 [--baud 115200] [--key keys/engineer-alice.json] [--unit 17]
 *   npm run console -- --tcp 127.0.0.1:4000 --key keys/engineer-alice.json --run "status; latch set 12"
 *
 * `--run "cmd; cmd"` runs the commands in order (after the login when `--key` is given), prints what
 * the console answered and exits 0 only when every command succeeded; 1 when a command failed (the
 * console's own "error: " line is printed), 2 when the tool could not do its job (usage, connection,
 * no prompt in time). Interactively, `login` logs in with the key file, Ctrl-C cancels the command
 * running on the unit, Ctrl-D ends.
 *
 *   npm run console -- --key keys/engineer-alice.json --unit 17 --sign 61F4DEFF8C1E85F113647F71B6FDA51C
 *
 * prints the `auth` line answering that challenge, for an engineer on a plain terminal program.
 * The tool logs out when it ends (a session would otherwise outlive the connection until it is idle).
 */
import { createConnection } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Duplex } from "node:stream";
import { parseOptions, UsageError } from "./cli-args.js";
import { ConsoleClient, ConsoleError, signChallenge, type Answer } from "./console/client.js";
import { readEngineerKey, type EngineerKeyFile } from "./console/engineer-keys.js";

const USAGE = 'usage: console (--port DEVICE [--baud N] | --tcp HOST:PORT) [--key FILE] [--unit ID] [--run "cmd; cmd"] [--timeout S] | console --key FILE --unit ID --sign NONCE';
const HISTORY = join(homedir(), ".mc_console_history");

async function connect(o: { port?: string; baud?: number; tcp?: string }): Promise<Duplex> {
  if (o.tcp) {
    const m = /^(.+):(\d{1,5})$/.exec(o.tcp);
    if (!m) throw new UsageError("--tcp: HOST:PORT");
    const socket = createConnection({ host: m[1]!, port: Number(m[2]) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return socket;
  }
  // 8N1 at the console's rate; the board's USB-Serial-JTAG ignores the rate, a UART adapter needs it.
  const { SerialPort } = await import("serialport");
  const port = new SerialPort({ path: o.port!, baudRate: o.baud ?? 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  return port;
}

function print(a: Answer): void {
  for (const l of a.lines) console.log(l);
}

async function batch(client: ConsoleClient, commands: string[], key: EngineerKeyFile | undefined, unit: number | undefined, timeoutMs: number): Promise<number> {
  await client.ready(timeoutMs);
  if (key) {
    const a = await client.login(key, timeoutMs, unit);
    print(a);
    if (a.errors.length > 0) return 1;
  }
  let failed = false;
  for (const line of commands) {
    const a = await client.command(line, timeoutMs);
    print(a);
    failed ||= a.errors.length > 0;
  }
  return failed ? 1 : 0;
}

async function interactive(client: ConsoleClient, key: EngineerKeyFile | undefined, unit: number | undefined, timeoutMs: number): Promise<number> {
  await client.ready(timeoutMs);
  const history = existsSync(HISTORY) ? readFileSync(HISTORY, "utf8").split("\n").filter((l) => l).reverse().slice(0, 500) : [];
  const rl = createInterface({ input: process.stdin, output: process.stdout, history, historySize: 500, terminal: process.stdin.isTTY === true });
  const prompt = () => rl.setPrompt(`mc${client.unit ?? "?"}${client.loggedIn ? "#" : ">"} `);
  client.onUnsolicited = (text) => process.stdout.write(text.replace(/mc\d+[>#] $/, ""));
  let running = false;
  rl.on("SIGINT", () => {
    if (running) client.interrupt();
    else rl.write(null, { ctrl: true, name: "u" });
  });
  console.log(`connected to unit ${client.unit}; "help" lists the commands${key ? `, "login" logs in as ${key.engineer}` : ""}; Ctrl-D ends`);
  prompt();
  rl.prompt();
  for await (const input of rl) {
    const line = input.trim();
    if (line) appendFileSync(HISTORY, `${line}\n`, { mode: 0o600 });
    running = true;
    try {
      if (line === "login" && key) print(await client.login(key, timeoutMs, unit));
      else print(await client.command(line, timeoutMs));
    } catch (e) {
      if (!(e instanceof ConsoleError)) throw e;
      console.error(`console: ${e.message}`);
      if (/closed/.test(e.message)) break;
    }
    running = false;
    prompt();
    rl.prompt();
  }
  return 0;
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2), { port: "string", baud: "number", tcp: "string", key: "string", unit: "number", run: "string", timeout: "number", sign: "string" });
  const key = o.key ? readEngineerKey(o.key) : undefined;
  if (o.sign !== undefined) {
    if (!key || o.unit === undefined || !/^[0-9A-F]{32}$/.test(o.sign)) throw new UsageError("--sign NONCE (32 hex digits, as the unit shows it) needs --key FILE and --unit ID");
    console.log(`auth ${signChallenge(key, o.unit, o.sign)}`);
    return 0;
  }
  if (!o.port === !o.tcp) throw new UsageError(USAGE);
  const timeoutMs = (o.timeout ?? 120) * 1000;
  const client = new ConsoleClient(await connect(o));
  try {
    if (o.run !== undefined) {
      const commands = o.run.split(";").map((c) => c.trim()).filter((c) => c.length > 0);
      if (commands.length === 0) throw new UsageError('--run: at least one command ("status; modules")');
      return await batch(client, commands, key, o.unit, timeoutMs);
    }
    return await interactive(client, key, o.unit, timeoutMs);
  } finally {
    // A serial line does not tell the unit the cable was pulled: end the session, so the next person
    // on the port does not inherit it.
    if (client.loggedIn) await client.command("logout", timeoutMs).catch(() => undefined);
    client.close();
  }
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof UsageError || e instanceof ConsoleError || (e instanceof Error && "code" in e)) {
    console.error(`console: ${e.message}`);
    process.exitCode = 2;
  } else throw e;
}
