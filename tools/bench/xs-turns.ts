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
    for (const r of report.results) {
      const kinds = r.maxUnitsByKind ? ` (max by kind: ${Object.entries(r.maxUnitsByKind).map(([k, v]) => `${k} ${v}`).join(", ")})` : "";
      figures[`${r.suite}: ${r.name.slice(0, 60)}`] = `${r.ok ? "" : "FAILED "}max ${r.maxUnitsPerTurn} / p99 ${r.p99UnitsPerTurn} units per turn over ${r.turns} turns${kinds}`;
    }
    return figures;
  },
};
