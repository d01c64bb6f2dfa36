#!/usr/bin/env node
/**
 * The uplink's fault campaign (tools/campaign/campaign.ts): days of GPRS outages (~30 % of the time),
 * PDP drops, modem resets, broker restarts without persistence and head-end crashes, then the verdict
 * that every reading the concentrator stored is in the head-end's database exactly once.
 *
 *   npm run --silent campaign -- --days 7 --seed S --json
 *   npm run --silent campaign -- [--modules N] [--plc N] [--radio N] [--modem sim800|quectel]
 *                                [--broker sim|aedes|mosquitto] [--speed X]
 *
 * `--broker sim` (the default) simulates the broker and the head-end. `aedes` or `mosquitto` runs the
 * same site against a real broker on a free loopback port and the real head-end service (a child
 * process on SQLite, killed with SIGKILL for its crashes) over real TCP; virtual time then runs at
 * `--speed` (default 1000) times real time while sockets are open (docs/uplink.md "Fault campaign").
 * Exits 1 when the verdict is not ok.
 */
import type { SimModemFamily } from "../hal/sim/modem/index.js";
import { CAMPAIGN_FAULTS, runCampaign, type CampaignVerdict } from "./campaign/campaign.js";
import { runRealCampaign } from "./campaign/real.js";
import { parseOptions, UsageError } from "./cli-args.js";
import { Site } from "./site/site.js";

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), { days: "number", seed: "string", json: "boolean", modules: "number", plc: "number", radio: "number", modem: "string", broker: "string", speed: "number" });
  const days = o.days ?? 7;
  if (!(days > 0)) throw new UsageError("--days: more than 0");
  const family = o.modem ?? "sim800";
  if (family !== "sim800" && family !== "quectel") throw new UsageError("--modem: sim800 | quectel");
  const broker = o.broker ?? "sim";
  if (broker !== "sim" && broker !== "aedes" && broker !== "mosquitto") throw new UsageError("--broker: sim | aedes | mosquitto");
  const site = { seed: o.seed ?? "1", days, modules: o.modules ?? 64, plc: o.plc ?? 8, radio: o.radio ?? 4 };
  let v: CampaignVerdict;
  if (broker === "sim") {
    const s = new Site({ ...site, uplink: { ...CAMPAIGN_FAULTS, family: family as SimModemFamily } });
    v = await runCampaign(s, (until, limitMs) => s.world.scheduler.runUntilTrue(until, limitMs), { days, servers: "sim" });
  } else {
    v = await runRealCampaign({ ...site, family: family as SimModemFamily, broker, speed: o.speed ?? 1000 });
  }
  if (o.json) console.log(JSON.stringify(v));
  else {
    console.log(`uplink campaign, seed ${v.seed}: ${v.days} day(s), servers ${v.servers}: ${v.ok ? "OK" : "FAILED"}`);
    console.log(`  readings: ${v.readingsStored} stored, ${v.readingsDelivered} delivered, ${v.lost} lost, ${v.readingsCorrupt} corrupt, ${v.readingsPending} pending; ${v.duplicatesAtHeadEnd} duplicates absorbed`);
    console.log(`  drained ${(v.drainMs / 60_000).toFixed(1)} min after the faults ended; ${v.uplinkBytes} bytes, ${v.uplinkBytesPerReading} per reading; ${v.commandsRejected} commands rejected; ${v.alarmSmsSent} alarm SMS sent, ${v.smsTakenAtHeadEnd} taken`);
    console.log(`  faults: GPRS down ${(v.outageShare * 100).toFixed(1)} % of the time; ${JSON.stringify(v.faults)}; ${v.boots} boots, internal errors ${v.internalErrors}; ${(v.wallMs / 1000).toFixed(1)} s`);
  }
  process.exitCode = v.ok ? 0 : 1;
}

try {
  await main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`campaign: ${e.message}`);
  process.exitCode = 2;
}
