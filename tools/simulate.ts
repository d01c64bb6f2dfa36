#!/usr/bin/env node
/**
 * The site simulation (npm start): the concentrator firmware on a simulated board in a simulated
 * installation (tools/site): two RS485 buses of local modules and DLMS/COSEM meters, a PLC and a radio bridge with remote
 * modules, a feeder balance meter, mains failures, module reboots, tamper and door openings, repeater
 * outages; and the uplink: a GPRS modem, the mobile network with outages and dropped contexts, an
 * MQTT broker and the reference head-end. Prints a live progress line and a final report.
 *
 *   npm start
 *   npm run --silent simulate -- [--modules N] [--plc N] [--radio N] [--dlms N] [--days D] [--seed S]
 *                                [--modem sim800|quectel|none] [--json]
 */
import type { SimModemFamily } from "../hal/sim/modem/index.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { Site, type SiteOptions, type SiteReport } from "./site/site.js";
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
  const o = parseOptions(process.argv.slice(2), { days: "number", seed: "string", json: "boolean", modules: "number", plc: "number", radio: "number", modem: "string", dlms: "number" });
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
  const dlms = o.dlms ?? 8;
  if (!(Number.isInteger(dlms) && dlms >= 0 && dlms <= 64)) throw new UsageError("--dlms: 0..64");
  const modem = o.modem ?? "sim800";
  if (modem !== "sim800" && modem !== "quectel" && modem !== "none") throw new UsageError("--modem: sim800 | quectel | none");
  const tty = !o.json && process.stdout.isTTY;
  const report = simulateSite({
    days,
    seed,
    modules,
    plc,
    radio,
    dlmsMeters: dlms,
    ...(modem !== "none" ? { uplink: { ...EVERYDAY_UPLINK, family: modem as SimModemFamily } } : {}),
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
  console.log(`  readings by protocol: ${report.readingsByProtocol.iec} IEC 62056-21, ${report.readingsByProtocol.dlms} DLMS/COSEM (${report.dlmsProfileReadings} from load profiles; ${report.dlmsMetersKnown} of ${report.dlmsMeters} DLMS meters known)`);
  console.log(`  readouts: ${report.readoutsOk} ok, ${report.readoutsFailed} failed; poll cycle ${report.pollCycleRatio} × the wire-time bound over ${report.pollCycles} cycles; bus utilisation ${(report.busUtilisation * 100).toFixed(1)} %`);
  console.log(`  events: ${report.eventsRaised} raised, ${report.alarms} alarms`);
  console.log(`  latches: ${report.latchedConsumers} consumers disconnected, ${report.latchMismatchesDetected} relay mismatches detected, ${report.latchMismatchesRepaired} repaired, ${report.latchViolations} violations (longest supplied ${(report.latchLongestSuppliedMs / 1000).toFixed(0)} s)`);
  if (modem !== "none") {
    console.log(`  uplink: ${report.readingsDelivered} readings at the head-end, ${report.readingsPending} still pending, ${report.lost} lost, ${report.readingsCorrupt} corrupt; ${report.duplicatesAtHeadEnd} duplicates absorbed; ${report.alarmSmsSent} alarm SMS while GPRS was down`);
    console.log(`  uplink: ${report.uplinkBytes} bytes through the modem, ${report.uplinkBytesPerReading} per reading delivered; ${report.commandsRejected} commands rejected`);
  }
  console.log(`  faults injected: ${JSON.stringify(report.faults)}; internal errors ${report.internalErrors}`);
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
