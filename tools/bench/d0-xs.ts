/**
 * XS computation units per data line and per full readout (parity check and strip + decoder + data
 * sets), measured by tools/bench/d0-xs-run.ts in its own process. The module readout is the mode D
 * answer of a simulated local module with two meters, captured from the simulated bus.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeModeDReadout } from "../../firmware/d0/encoder.js";
import { busSite } from "../sim/bus-rig.js";
import type { Bench } from "./bench.js";

/** The bytes a simulated module with two meters sends for a mode D readout: read it over the simulated bus, re-encode it. */
export function moduleReadoutBytes(): Uint8Array {
  const site = busSite("bench", { modules: 8, echo: false });
  const m = site.modules.find((x) => x.meters.length === 2) ?? site.modules[0]!;
  let bytes: Uint8Array | undefined;
  site.master.enqueue({
    kind: "readout",
    address: m.address,
    onDone: (r) => {
      if (r.ok) bytes = encodeModeDReadout(r.readout.identification.text, r.readout.dataSets.map((d) => ({ address: d.address, values: d.values })));
    },
  });
  site.scheduler.runUntilTrue(() => bytes !== undefined, 60_000);
  if (!bytes) throw new Error("no readout");
  return bytes;
}

export const d0Xs: Bench = {
  name: "D0 decode inside XS (computation units)",
  async run() {
    const file = join(mkdtempSync(join(tmpdir(), "d0xs-")), "module-readout.bin");
    writeFileSync(file, moduleReadoutBytes());
    const runner = fileURLToPath(new URL("./d0-xs-run.js", import.meta.url));
    const out = JSON.parse(execFileSync(process.execPath, [runner, file], { encoding: "utf8" })) as Record<string, { units: number; dataSets: number; unitsPerLine: number; bytes: number }>;
    const figures: Record<string, number | string> = {};
    for (const [name, r] of Object.entries(out)) {
      figures[`${name}: units per readout`] = r.units;
      figures[`${name}: bytes`] = r.bytes;
      figures[`${name}: data lines`] = r.dataSets;
      figures[`${name}: units per data line`] = r.unitsPerLine;
    }
    return figures;
  },
};
