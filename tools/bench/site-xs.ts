/**
 * The firmware in the 256-meter site, measured inside XS (tools/bench/site-xs-run.ts, in its own
 * process): the live heap's peak against the manifest's `creation` budget and its margin, the
 * largest event-loop turn of each kind, and XS units per reading from the bus to the head-end's
 * acknowledgement. docs/memory.md explains each figure. `SITE_XS_MINUTES` sets the simulated time
 * (default 60; a day, 1440, takes hours on the two-core machine).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Bench } from "./bench.js";
import { budgetViolations, creationBudget, margin, MAX_TURN_UNITS } from "./memory-budget.js";
import { esp32s3Memory, mainMachineBytes } from "../check-manifest.js";
import type { SiteXsMeasurement } from "./site-xs-run.js";

export const siteXs: Bench = {
  name: "XS site: live heap, longest turns, units per reading (256 meters)",
  async run() {
    const minutes = Number(process.env.SITE_XS_MINUTES ?? 60);
    const runner = fileURLToPath(new URL("./site-xs-run.js", import.meta.url));
    const text = execFileSync(process.execPath, [runner, "--minutes", String(minutes)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
    const m = JSON.parse(text.trim().split("\n").at(-1)!) as SiteXsMeasurement;
    const budget = creationBudget();
    const s3 = mainMachineBytes(esp32s3Memory(JSON.parse(readFileSync(fileURLToPath(new URL("../../../manifests/manifest.json", import.meta.url)), "utf8")).creation.stack));
    const figures: Record<string, number | string> = {
      "simulated minutes": m.options.minutes,
      meters: m.meters,
      "readings stored": m.readingsStored,
      "readings delivered to the head-end": m.readingsDelivered,
      "live heap: peak slots of the firmware": m.peakSlots,
      "live heap: peak at simulated s": Math.round(m.peakAtMs / 1000),
      "live heap: peak slots of the firmware at a sample (exact)": m.peakSampledSlots,
      "live heap: peak slots of the firmware without its uplink": m.peakSlotsWithoutUplink ?? "not run",
      "live heap: peak without its uplink at simulated s": m.peakWithoutUplinkAtMs === null ? "not run" : Math.round(m.peakWithoutUplinkAtMs / 1000),
      "live heap: budget slots (manifest creation)": budget.slots,
      "live heap: margin, % of the budget slots free at the peak": Number((margin(m.peakSlots, budget.slots) * 100).toFixed(1)),
      "live heap: peak chunk bytes of the firmware at a sample (32-bit device layout, upper bound)": m.peakChunkBytes,
      "live heap: peak chunk bytes at simulated s": Math.round(m.peakChunkAtMs / 1000),
      "live heap: peak chunk bytes of the firmware at a sample (this 64-bit host)": m.peakChunkBytesHost,
      "live heap: peak chunk bytes of the firmware without its uplink (device layout)": m.peakChunkBytesWithoutUplink ?? "not run",
      "live heap: budget chunk bytes (manifest creation)": budget.chunkBytes,
      "live heap: margin, % of the budget chunk bytes free at the peak": Number((margin(m.peakChunkBytes, budget.chunkBytes) * 100).toFixed(1)),
      "live heap: peak bytes on the device at a sample (slots × 16 + chunk bytes)": m.peakSampledBytes,
      "live heap: peak bytes on the device without its uplink": m.peakSampledBytesWithoutUplink ?? "not run",
      "live heap: bytes the ESP32-S3 leaves the main machine (check-manifest.ts, estimate)": s3,
      "live heap: margin, % of the ESP32-S3's bytes free at the peak": Number((margin(m.peakSampledBytes, s3) * 100).toFixed(1)),
      "live heap: firmware freed in every world copy": m.firmwareReleased ? "yes" : "NO: the world's figure holds some firmware",
      "XS units per reading end to end (firmware turns but the boot, per reading delivered)": m.unitsPerReading,
      "largest turn but the boot, units": m.largestTurn.units,
      "largest turn but the boot, kind": m.largestTurn.kind,
      "turn limit, units": MAX_TURN_UNITS,
    };
    for (const [kind, k] of Object.entries(m.kinds)) figures[`largest turn by kind, units: ${kind}`] = k.maxUnits;
    for (const [kind, k] of Object.entries(m.kinds)) figures[`turns by kind: ${kind}`] = k.turns;
    figures["largest head-end turn (simulated head-end, not the firmware), units"] = m.headendTurns.maxUnits;
    const problems = budgetViolations(m, budget);
    figures["within budget"] = problems.length ? `NO: ${problems.join("; ")}` : "yes";
    return figures;
  },
};
