/**
 * XS meter per event-loop turn for every scenario (computation units and live heap slots),
 * from the XS runner in its own process (the xsnap driver locks down its process).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Bench } from "./bench.js";

interface XsReport {
  results: Array<{ suite: string; name: string; ok: boolean; turns: number; maxUnitsPerTurn: number; p99UnitsPerTurn: number; maxHeapSlots: number; maxUnitsByKind?: Record<string, number> }>;
}

export const xsTurns: Bench = {
  name: "XS meter per turn (scenarios)",
  async run() {
    const out = join(mkdtempSync(join(tmpdir(), "xs-")), "report.json");
    const runner = fileURLToPath(new URL("../../host-tests/xs/run-xs.js", import.meta.url));
    execFileSync(process.execPath, [runner, "--json", out], { stdio: ["ignore", "ignore", "inherit"] });
    const report = JSON.parse(readFileSync(out, "utf8")) as XsReport;
    const figures: Record<string, number | string> = {};
    figures["scenarios failed"] = report.results.filter((r) => !r.ok).length;
    // The largest turn of each kind, over the scenarios that tell kinds apart (the site's: the
    // concentrator's turns apart from the simulated head-end's). A scenario's own turns may be test
    // steps (a power cut and its recovery), so there is no one "largest turn" over all of them.
    const byKind: Record<string, number> = {};
    for (const r of report.results) for (const [k, v] of Object.entries(r.maxUnitsByKind ?? {})) byKind[k] = Math.max(byKind[k] ?? 0, v);
    for (const [k, v] of Object.entries(byKind)) figures[`largest turn by kind, units: ${k}`] = v;
    for (const r of report.results) {
      const label = `${r.suite}: ${r.name.slice(0, 60)}`;
      figures[`${label}: max units per turn`] = r.maxUnitsPerTurn;
      figures[`${label}: p99 units per turn`] = r.p99UnitsPerTurn;
      figures[`${label}: turns`] = r.turns;
      figures[`${label}: max live heap slots`] = r.maxHeapSlots;
      for (const [k, v] of Object.entries(r.maxUnitsByKind ?? {})) figures[`${label}: max units per turn: ${k}`] = v;
    }
    return figures;
  },
};
