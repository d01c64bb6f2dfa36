#!/usr/bin/env node
/**
 * The site simulation (npm start): the concentrator firmware on a simulated board in a simulated
 * installation (tools/site): two RS485 buses of local modules and DLMS/COSEM meters, a PLC and a radio bridge with remote
 * modules, a feeder balance meter, mains failures, module reboots, tamper and door openings, repeater
 * outages; and the uplink: a GPRS modem, the mobile network with outages and dropped contexts, an
 * MQTT broker and the reference head-end. Shows its progress (a live line on a terminal, a plain line
 * every eighth of the run otherwise), prints a final report and writes it as a self-contained HTML
 * page with charts (tools/report; by default reports/site-<seed>.html).
 *
 *   npm start
 *   npm run --silent simulate -- [--modules N] [--plc N] [--radio N] [--dlms N] [--days D] [--seed S]
 *                                [--modem sim800|quectel|none] [--html FILE] [--json]
 *                                [--realtime] [--console tcp:HOST:PORT|pty[:PATH]] [--engineers FILE]
 *                                [--bus-tcp HOST:PORT] [--ota [--ota-bad-image]] [--profile-memory models|all|none]
 *
 * `--json` prints the report as JSON instead of text (its `series` are the charts' data), and writes
 * the HTML page only when `--html` is given.
 * `--realtime` runs the site at wall-clock pace (until Ctrl-C, or for `--days`); `--console` opens the
 * simulated concentrator's console to an engineer (the site keeps real time while one is connected);
 * `--engineers` is the engineers.json of `npm run keys -- --engineer NAME` (who may log in);
 * `--bus-tcp` exposes bus i as an RS485-to-Ethernet converter on PORT + i. SIGINT or SIGTERM end the
 * run with its report (docs/console.md).
 * `--profile-memory`: which modules keep a load profile the concentrator can catch up from (docs/backfill.md):
 * by model (default; basic eHZ modules have none), all, or none.
 * `--ota`: the board runs the simulator's image 1.0.0 of this build's firmware bundle
 * (dist/device/device.js), and a third of the way through the run the head-end offers 1.1.0 (with
 * `--ota-bad-image`, an image that passes every check and then fails its self-test); the report's
 * `ota` says how it went (docs/ota.md "In the simulation").
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { SimModemFamily } from "../hal/sim/modem/index.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { writeReportHtml } from "./report/html.js";
import { siteReportSpec } from "./report/sections.js";
import { Site, type SiteOptions, type SiteReport } from "./site/site.js";
import type { SiteOtaOptions } from "./site/ota-world.js";
import type { UplinkWorldOptions } from "./site/uplink-world.js";
import { Scheduler } from "../hal/sim/scheduler.js";
import { readEngineers } from "./console/engineer-keys.js";
import { RealTimeRunner } from "./net/realtime-runner.js";
import { checkReachOptions, reachSite, runUntilStopped, type ReachOptions } from "./net/site-access.js";

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

/** One line of progress: simulated time, readings so far, the uplink's backlog, events, boots. */
function progressLine(site: Site, days: number): string {
  const now = site.world.scheduler.now;
  const day = Math.min(Math.floor(now / DAY), Math.ceil(days) - 1);
  const minutes = Math.floor((now - day * DAY) / 60_000);
  const clock = `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
  const p = site.progress();
  const uplink = site.world.uplink ? `${p.readingsDelivered} at the head-end, backlog ${p.readingsDistinct - p.readingsDelivered}` : "no uplink";
  return `day ${day + 1} ${clock} (${Math.round((100 * now) / (days * DAY))} %): ${p.readingsStored} readings stored, ${uplink}; ${p.eventsRaised} events (${p.alarms} alarms), ${p.boots} boot(s), latch violations ${p.latchViolations}`;
}

/** Progress as the output allows: one live line on a terminal, else a plain line every eighth of the run. */
function progressPrinter(out: NodeJS.WriteStream, days: number): ((f: number, site: Site) => void) | undefined {
  // Cut to the terminal's width: a wrapped line would not be overwritten.
  if (out.isTTY) return (_f, site) => out.write(`\r${progressLine(site, days).slice(0, Math.max(20, (out.columns ?? 200) - 1))}\x1b[K`);
  const every = Math.max(HOUR, Math.round((days * DAY) / 8 / HOUR) * HOUR);
  let next = every;
  return (_f, site) => {
    const now = site.world.scheduler.now;
    if (now < next && now < days * DAY) return;
    next += every;
    out.write(`${progressLine(site, days)}\n`);
  };
}

/** The site in real time (or as fast as it goes while nobody is connected), reachable as `reach` says, until its days end or a signal. */
export async function simulateLive(options: SiteOptions & { realtime: boolean; reach: ReachOptions }): Promise<SiteReport> {
  const scheduler = new Scheduler();
  const runner = new RealTimeRunner(scheduler, { alwaysPaced: options.realtime });
  const site = new Site({ ...options, scheduler });
  const close = await reachSite(site, runner, options.reach);
  console.log(`site running${options.realtime ? " in real time" : ""} for ${options.days} day(s); Ctrl-C ends it with its report`);
  await runUntilStopped(runner, options.days * DAY);
  close();
  return site.report();
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), {
    days: "number", seed: "string", json: "boolean", modules: "number", plc: "number", radio: "number", modem: "string",
    realtime: "boolean", console: "string", engineers: "string", "bus-tcp": "string", html: "string", dlms: "number",
    ota: "boolean", "ota-bad-image": "boolean", "profile-memory": "string",
  });
  const reach: ReachOptions = { ...(o.console !== undefined ? { console: o.console } : {}), ...(o["bus-tcp"] !== undefined ? { busTcp: o["bus-tcp"] } : {}) };
  checkReachOptions(reach);
  const live = o.realtime === true || reach.console !== undefined || reach.busTcp !== undefined;
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
  if (o["ota-bad-image"] && !o.ota) throw new UsageError("--ota-bad-image goes with --ota");
  if (o.ota && modem === "none") throw new UsageError("--ota needs the uplink (not --modem none)");
  const profileMemory = o["profile-memory"] ?? "models";
  if (profileMemory !== "models" && profileMemory !== "all" && profileMemory !== "none") throw new UsageError("--profile-memory: models | all | none");
  const ota = o.ota ? otaOptions(days, o["ota-bad-image"] === true) : undefined;
  if (o.html === "") throw new UsageError("--html: a file name");
  const html = o.html ?? (o.json ? undefined : `reports/site-${seed}.html`);
  // JSON on standard output stays JSON: progress then goes to a terminal on standard error, or nowhere.
  const out = o.json ? process.stderr : process.stdout;
  const progress = !live && (!o.json || out.isTTY) ? progressPrinter(out, days) : undefined;
  const siteOptions: SiteOptions = {
    days,
    seed,
    modules,
    plc,
    radio,
    record: true,
    dlmsMeters: dlms,
    profileMemory,
    ...(modem !== "none" ? { uplink: { ...EVERYDAY_UPLINK, family: modem as SimModemFamily } } : {}),
    ...(ota ? { ota } : {}),
    ...(o.engineers !== undefined ? { config: { console: { engineers: readEngineers(o.engineers) } } } : {}),
  };
  const report = live ? await simulateLive({ ...siteOptions, realtime: o.realtime === true, reach }) : simulateSite({ ...siteOptions, onProgress: progress });
  if (progress && out.isTTY) out.write("\n");
  const file = html === undefined ? undefined : resolve(html);
  if (file) writeReportHtml(file, siteReportSpec(report));
  if (o.json) {
    console.log(JSON.stringify(report));
    if (file) console.error(`report: ${file}`);
    return;
  }
  const ran = live ? `${(report.simulatedMs / DAY).toFixed(3)} of ${days}` : days;
  console.log(`site simulation, seed ${seed}: ${ran} day(s) of ${report.modules} modules in ${(report.wallMs / 1000).toFixed(1)} s`);
  console.log(`  power: ${report.mainsFailures} mains failures, ${report.boots} boots, ${report.brownouts} brown-outs, ${report.shutdowns} orderly shutdowns (${report.batteryCutoffs} with the battery disconnected)`);
  console.log(`  modules: ${report.modulesDiscovered} discovered, ${report.modulesMissing} missing at the end`);
  const by = report.unrecoverableBy;
  // Two decimals: completeness sits near 100 %.
  const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(2) : "0");
  console.log(`  profile slots: ${report.readingsExpected} expected, ${report.readingsAcquired} acquired (${pct(report.readingsAcquired, report.readingsExpected)} %), of which ${report.readingsBackfilled} recovered from the meters' profiles (${pct(report.readingsBackfilled, report.readingsExpected)} %); ${report.readingsUnrecoverable} missing: ${by.noProfile} no profile memory, ${by.profileTooShort} profile too short, ${by.notRecorded} not recorded, ${by.expired} expired, ${by.pending} not (yet) caught up`);
  console.log(`  readings: ${report.readingsRead} read, ${report.readingsStored} stored (${report.backfillReadingsStored} back-filled in ${report.backfillSessions} catch-up sessions), ${report.readingsImplausible} implausible; ${report.meterClockOffsets} module clocks off beyond the tolerance`);
  console.log(`  readings by protocol: ${report.readingsByProtocol.iec} IEC 62056-21, ${report.readingsByProtocol.dlms} DLMS/COSEM (${report.dlmsProfileReadings} from load profiles; ${report.dlmsMetersKnown} of ${report.dlmsMeters} DLMS meters known)`);
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
  if (file) console.log(`report: ${file}\n  open it in a browser: ${pathToFileURL(file).href}`);
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
    await main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`simulate: ${e.message}`);
      process.exitCode = 2;
    } else throw e;
  }
}
