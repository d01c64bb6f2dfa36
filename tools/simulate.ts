#!/usr/bin/env node
/**
 * The site simulation (npm start): the concentrator firmware on a simulated board in a simulated
 * installation (tools/site): two RS485 buses of local modules, a PLC and a radio bridge with remote
 * modules, a feeder balance meter, mains failures, module reboots, tamper and door openings, repeater
 * outages; and the uplink: a GPRS modem, the mobile network with outages and dropped contexts, an
 * MQTT broker and the reference head-end. Prints a live progress line and a final report.
 *
 *   npm start
 *   npm run --silent simulate -- [--modules N] [--plc N] [--radio N] [--days D] [--seed S]
 *                                [--modem sim800|quectel|none] [--ota [--ota-bad-image]] [--json]
 *
 * `--ota`: the board runs the simulator's image 1.0.0 of this build's firmware bundle
 * (dist/device/device.js), and a third of the way through the run the head-end offers 1.1.0 (with
 * `--ota-bad-image`, an image that passes every check and then fails its self-test); the report's
 * `ota` says how it went (docs/ota.md "In the simulation").
 */
import { existsSync, readFileSync } from "node:fs";
import type { SimModemFamily } from "../hal/sim/modem/index.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { Site, type SiteOptions, type SiteReport } from "./site/site.js";
import type { SiteOtaOptions } from "./site/ota-world.js";
import type { UplinkWorldOptions } from "./site/uplink-world.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The uplink of `npm start`: an everyday mobile network (5 % of the time without service, PDP drops). */
export const EVERYDAY_UPLINK: UplinkWorldOptions = { outageShare: 0.05, meanOutageMs: HOUR, pdpDropsPerDay: 2, modemResetsPerDay: 0.5 };

export function simulateSite(options: SiteOptions & { onProgress?: (dayFraction: number, site: Site) => void }): SiteReport {
  const site = new Site(options);
  const end = options.days * DAY;
  site.run(end, () => options.onProgress?.(site.world.scheduler.now / end, site));
  return site.report();
}

function main(): void {
  const o = parseOptions(process.argv.slice(2), { days: "number", seed: "string", json: "boolean", modules: "number", plc: "number", radio: "number", modem: "string", ota: "boolean", "ota-bad-image": "boolean" });
  const days = o.days ?? 1;
  const seed = o.seed ?? "1";
  const modules = o.modules ?? 64;
  const plc = o.plc ?? 8;
  const radio = o.radio ?? 4;
  if (!(days > 0)) throw new UsageError("--days: more than 0");
  if (!(Number.isInteger(modules) && modules >= 0 && modules <= 512)) throw new UsageError("--modules: 0..512");
  // The bridge's table index is one byte (docs/bridge.md).
  if (!(Number.isInteger(plc) && plc >= 0 && plc <= 255)) throw new UsageError("--plc: 0..255");
  if (!(Number.isInteger(radio) && radio >= 0 && radio <= 255)) throw new UsageError("--radio: 0..255");
  const modem = o.modem ?? "sim800";
  if (modem !== "sim800" && modem !== "quectel" && modem !== "none") throw new UsageError("--modem: sim800 | quectel | none");
  if (o["ota-bad-image"] && !o.ota) throw new UsageError("--ota-bad-image goes with --ota");
  if (o.ota && modem === "none") throw new UsageError("--ota needs the uplink (not --modem none)");
  const ota = o.ota ? otaOptions(days, o["ota-bad-image"] === true) : undefined;
  const tty = !o.json && process.stdout.isTTY;
  const report = simulateSite({
    days,
    seed,
    modules,
    plc,
    radio,
    ...(modem !== "none" ? { uplink: { ...EVERYDAY_UPLINK, family: modem as SimModemFamily } } : {}),
    ...(ota ? { ota } : {}),
    onProgress: tty
      ? (f, site) => {
          const r = site.progress();
          process.stdout.write(
            `\rday ${(f * days).toFixed(2)}/${days}: ${r.modulesDiscovered} modules, ${r.readingsStored} readings stored, ${r.readingsDelivered} at the head-end, ${r.eventsRaised} events (${r.alarms} alarms), ${r.boots} boots, latch violations ${r.latchViolations}   `,
          );
        }
      : undefined,
  });
  if (tty) process.stdout.write("\n");
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : "0");
  console.log(`site simulation, seed ${seed}: ${days} day(s) of ${report.modules} modules in ${(report.wallMs / 1000).toFixed(1)} s`);
  console.log(`  power: ${report.mainsFailures} mains failures, ${report.boots} boots, ${report.brownouts} brown-outs, ${report.shutdowns} orderly shutdowns (${report.batteryCutoffs} with the battery disconnected)`);
  console.log(`  modules: ${report.modulesDiscovered} discovered, ${report.modulesMissing} missing at the end`);
  console.log(`  readings: ${report.readingsExpected} expected, ${report.readingsAcquired} acquired (${pct(report.readingsAcquired, report.readingsExpected)} %), ${report.readingsStored} stored, ${report.readingsImplausible} implausible`);
  console.log(`  readouts: ${report.readoutsOk} ok, ${report.readoutsFailed} failed; poll cycle ${report.pollCycleRatio} × the wire-time bound over ${report.pollCycles} cycles; bus utilisation ${(report.busUtilisation * 100).toFixed(1)} %`);
  console.log(`  events: ${report.eventsRaised} raised, ${report.alarms} alarms`);
  console.log(`  latches: ${report.latchedConsumers} consumers disconnected, ${report.latchMismatchesDetected} relay mismatches detected, ${report.latchMismatchesRepaired} repaired, ${report.latchViolations} violations (longest supplied ${(report.latchLongestSuppliedMs / 1000).toFixed(0)} s)`);
  if (modem !== "none") {
    console.log(`  uplink: ${report.readingsDelivered} readings at the head-end, ${report.readingsPending} still pending, ${report.lost} lost, ${report.readingsCorrupt} corrupt; ${report.duplicatesAtHeadEnd} duplicates absorbed; ${report.alarmSmsSent} alarm SMS while GPRS was down`);
    console.log(`  uplink: ${report.uplinkBytes} bytes through the modem, ${report.uplinkBytesPerReading} per reading delivered; ${report.commandsRejected} commands rejected`);
  }
  if (report.ota) {
    const t = report.ota;
    console.log(`  ota: ${t.outcome}${t.reason && !t.outcome.includes(t.reason) ? ` (${t.reason})` : ""}, ${t.versionBefore} → ${t.versionAfter}; image ${t.imageBytes} bytes, package ${t.packageBytes}, ${t.bytesOnAir} bytes on the air, download ${(t.downloadMs / 1000).toFixed(0)} s`);
    console.log(`  ota steps: ${t.timeline.map(([ms, step, detail]) => `${(ms / HOUR).toFixed(2)} h ${step}${step === "download" ? ` ${detail}` : ""}`).join(", ")}`);
  }
  console.log(`  faults injected: ${JSON.stringify(report.faults)}; internal errors ${report.internalErrors}`);
}

/** The campaign of `--ota`: the real firmware bundle when it is built, a third of the way through the run. */
function otaOptions(days: number, bad: boolean): SiteOtaOptions {
  const bundle = new URL("./../device/device.js", import.meta.url);
  return {
    ...(existsSync(bundle) ? { bundle: new Uint8Array(readFileSync(bundle)) } : {}),
    campaign: { atMs: (days * DAY) / 3, ...(bad ? { defect: "uplink" as const } : {}) },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`simulate: ${e.message}`);
      process.exitCode = 2;
    } else throw e;
  }
}
