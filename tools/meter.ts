#!/usr/bin/env node
/**
 * One simulated meter on a TCP port, as an RS485-to-Ethernet converter exposes a real one: HDLC over
 * the TCP stream (no other framing), so any DLMS/COSEM client can read it, this project's
 * (npm run dlms-read) or an independent one. The simulation runs in real time; the meter's clock
 * starts at the host's time.
 *
 *   npm run --silent meter -- --dlms --tcp 127.0.0.1:PORT [--seed S] [--physical N] [--password P]
 *                             [--keys-out FILE]
 *
 * The meter answers the public client (SAP 16, no security, read-only) and the management client
 * (SAP 1) with HLS-GMAC and the DLMS UA Green Book's example keys, or with LLS and `--password`. Its
 * details (address, clients, keys) are printed as one JSON line on standard output at start;
 * `--keys-out` also writes the keys file dlms-read takes. Stops on SIGINT or SIGTERM.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { Prng } from "../hal/sim/prng.js";
import { Rs485Bus } from "../hal/sim/rs485-bus.js";
import { Scheduler } from "../hal/sim/scheduler.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { RealTimeRunner } from "./net/realtime-runner.js";
import { simDlmsMeter, TEST_KEYS } from "./sim/dlms-rig.js";
import { SerialConverter } from "./sim/serial-converter.js";

const DAY_MS = 86_400_000;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export function parseEndpoint(text: string | undefined, what: string): { host: string; port: number } {
  const m = text ? /^(.+):([0-9]{1,5})$/.exec(text) : null;
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new UsageError(`${what}: HOST:PORT`);
  return { host: m[1]!, port };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), { dlms: "boolean", tcp: "string", seed: "string", physical: "number", password: "string", "keys-out": "string" });
  if (!o.dlms) throw new UsageError("--dlms: the only kind of meter this tool exposes");
  const { host, port } = parseEndpoint(o.tcp, "--tcp");
  const physical = o.physical ?? 17;
  if (!(Number.isInteger(physical) && physical >= 0x10 && physical <= 0x3ffd)) throw new UsageError("--physical: 16..16381");
  const scheduler = new Scheduler();
  const prng = new Prng(o.seed ?? "1");
  const bus = new Rs485Bus(scheduler, prng, { name: "tcp" });
  const management = o.password ? ({ mechanism: "lls", password: o.password } as const) : ({ mechanism: "hls", keys: TEST_KEYS } as const);
  // A day of history first (profile and logs), run as fast as the host can; then real time, on the host's clock.
  const meter = simDlmsMeter(scheduler, prng, bus, physical, { management, startEpochMs: Date.now() - DAY_MS });
  scheduler.runUntil(DAY_MS);
  const converter = new SerialConverter(scheduler, bus);
  const runner = new RealTimeRunner(scheduler, { alwaysPaced: true });
  let client: Socket | undefined;
  converter.toNetwork = (bytes) => client?.write(bytes);
  const server = createServer((socket) => {
    // One client at a time, as on a converter's serial port.
    client?.destroy();
    client = socket;
    socket.on("data", (data) => runner.deliver(() => converter.fromNetwork(new Uint8Array(data))));
    socket.on("close", () => {
      if (client === socket) client = undefined;
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const keys = { encryptionKey: hex(TEST_KEYS.encryptionKey), authenticationKey: hex(TEST_KEYS.authenticationKey) };
  if (o["keys-out"] && management.mechanism === "hls") writeFileSync(o["keys-out"], JSON.stringify({ client: 1, ...keys }, null, 2) + "\n");
  console.log(
    JSON.stringify({
      listening: `${host}:${port}`,
      serial: meter.serial,
      server: { logical: meter.logical, physical },
      clients: { 16: "public, no security, read-only", 1: management.mechanism === "hls" ? "HLS-GMAC, security suite 0" : "LLS" },
      ...(management.mechanism === "hls" ? { keys } : { password: o.password }),
    }),
  );
  let stopping = false;
  const stop = () => {
    stopping = true;
    client?.destroy();
    server.close();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await runner.run(() => stopping, Number.MAX_SAFE_INTEGER);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    if (e instanceof UsageError) {
      console.error(`meter: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(`meter: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  });
}
