#!/usr/bin/env node
/**
 * A concentrator for trying the head-end: the real firmware on a simulated board in a simulated
 * installation (tools/site: RS485 buses of local modules and their meters), whose modem emulator
 * reaches a real MQTT broker over real TCP. Virtual time follows real time (`--speed` times faster).
 *
 *   node dist/tools/device.js --keys keys/mc-17.json [--broker mqtt://127.0.0.1:1883] [--modules 8]
 *                             [--plc 0] [--radio 0] [--modem sim800|quectel] [--speed 1] [--seed S]
 *                             [--state DIR] [--console tcp:HOST:PORT|pty[:PATH]] [--engineers FILE]
 *                             [--bus-tcp HOST:PORT] [--bus tcp://HOST:PORT[,tcp://HOST:PORT]]
 *
 * `--console` opens the concentrator's service console (docs/console.md), `--engineers` names who may
 * log in (engineers.json of `npm run keys -- --engineer NAME`); `--bus-tcp` exposes each simulated bus
 * as an RS485-to-Ethernet converter (bus i on PORT + i); `--bus` has bus i of the board polled through
 * a converter at the i-th address instead of the simulated bus (the discovery's address plan stays the
 * simulated site's: give the same --modules as the site behind the converter). SIGINT or SIGTERM stop it.
 *
 * `--state DIR` keeps the board's flash (the record log and the state journal: unacknowledged
 * readings, latches, configuration, the message counters) in DIR across runs, as a real board keeps
 * it across power cuts. Without it every run starts with erased flash, and the head-end drops the
 * messages of a new run as replayed until their counters pass the last one it accepted.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SimModemFamily } from "../hal/sim/modem/index.js";
import { Scheduler } from "../hal/sim/scheduler.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { readDeviceKeys } from "./headend/keyfiles.js";
import { NodePacketNetwork } from "./net/node-packet-network.js";
import { RealTimeRunner } from "./net/realtime-runner.js";
import { Site } from "./site/site.js";
import { readEngineers } from "./console/engineer-keys.js";
import { checkReachOptions, reachSite, runUntilStopped, type ReachOptions } from "./net/site-access.js";

const USAGE =
  "usage: device --keys FILE [--broker URL] [--modules N] [--plc N] [--radio N] [--modem sim800|quectel] [--speed X] [--seed S] [--state DIR] [--console SPEC] [--engineers FILE] [--bus-tcp HOST:PORT] [--bus tcp://HOST:PORT]";

function images(dir: string): { log: Uint8Array; state: Uint8Array } | undefined {
  const log = join(dir, "log.bin");
  const state = join(dir, "state.bin");
  if (!existsSync(log) || !existsSync(state)) return undefined;
  return { log: new Uint8Array(readFileSync(log)), state: new Uint8Array(readFileSync(state)) };
}

/** Writes each image beside its final name, then renames: a file is always a whole image. */
function keep(dir: string, site: Site): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, flash] of [["log.bin", site.world.board.logFlash], ["state.bin", site.world.board.stateFlash]] as const) {
    writeFileSync(join(dir, `${name}.tmp`), flash.snapshot());
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), {
    keys: "string", broker: "string", modules: "number", plc: "number", radio: "number", modem: "string", speed: "number", seed: "string", state: "string",
    console: "string", engineers: "string", "bus-tcp": "string", bus: "string",
  });
  if (!o.keys) throw new UsageError(USAGE);
  const reach: ReachOptions = {
    ...(o.console !== undefined ? { console: o.console } : {}),
    ...(o["bus-tcp"] !== undefined ? { busTcp: o["bus-tcp"] } : {}),
    ...(o.bus !== undefined ? { bus: o.bus } : {}),
  };
  checkReachOptions(reach);
  const keys = readDeviceKeys(o.keys);
  const url = new URL(o.broker ?? "mqtt://127.0.0.1:1883");
  if (url.protocol !== "mqtt:") throw new UsageError('--broker: an mqtt:// URL');
  const family = o.modem ?? "sim800";
  if (family !== "sim800" && family !== "quectel") throw new UsageError("--modem: sim800 | quectel");
  const speed = o.speed ?? 1;
  if (!(speed > 0)) throw new UsageError("--speed: more than 0");
  const scheduler = new Scheduler();
  const runner = new RealTimeRunner(scheduler, { speed, alwaysPaced: true });
  const network = new NodePacketNetwork(runner);
  const site = new Site({
    seed: o.seed ?? String(keys.concentratorId),
    days: 365,
    modules: o.modules ?? 8,
    plc: o.plc ?? 0,
    radio: o.radio ?? 0,
    scheduler,
    board: { startEpochMs: Date.now() },
    ...(o.state && images(o.state) ? { flash: images(o.state)! } : {}),
    ...(o.engineers !== undefined ? { config: { console: { engineers: readEngineers(o.engineers) } } } : {}),
    uplink: {
      concentratorId: keys.concentratorId,
      family: family as SimModemFamily,
      network,
      brokerHost: url.hostname,
      brokerPort: Number(url.port || 1883),
      keys,
    },
  });
  const close = await reachSite(site, runner, reach);
  const status = setInterval(() => {
    const c = site.concentrator;
    const u = c?.uplink?.diagnostics();
    const p = site.progress();
    console.log(
      `${new Date().toISOString()} modem ${c?.modem?.state ?? "off"}, mqtt ${c?.uplink?.mqtt.state ?? "-"}: ${p.modulesDiscovered} modules, ${p.readingsStored} readings stored, ` +
        `${u?.["drain.recordsAcknowledged"] ?? 0} records acknowledged this boot, ${u?.["cmd.received"] ?? 0} commands, ${c?.latch.latchedConsumers().length ?? 0} consumers latched, ` +
        `rx dropped ${(u?.["rx.malformed"] ?? 0) + (u?.["rx.foreign"] ?? 0) + (u?.["rx.authFailed"] ?? 0) + (u?.["rx.replayed"] ?? 0)}`,
    );
    if (o.state) keep(o.state, site);
  }, 5_000);
  console.log(`concentrator ${keys.concentratorId}: ${site.world.modules.length} modules, broker ${url.host}, ${speed}× real time; Ctrl-C stops`);
  await runUntilStopped(runner, Infinity);
  clearInterval(status);
  close();
  if (o.state) keep(o.state, site);
  network.destroyAll();
}

try {
  await main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
