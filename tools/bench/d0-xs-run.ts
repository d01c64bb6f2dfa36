#!/usr/bin/env node
/**
 * In its own process (the xsnap driver locks down its process): XS computation units to decode a typical
 * local-module readout (the simulated module's mode D answer) and the 343-line Iskra MT174 readout of
 * the corpus, per readout and per data line. Prints JSON.
 */
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { bundleForXs } from "../xs/bundle.js";
import { startXs } from "../xs/xs-worker.js";
import { encode7E1 } from "../../hal/serial-7e1.js";

const [moduleReadoutFile] = process.argv.slice(2);
const entry = fileURLToPath(new URL("../../../tools/bench/d0-xs-entry.ts", import.meta.url));
const xs = await startXs(await bundleForXs(entry), "d0-bench");
let baseline = Infinity;
for (let i = 0; i < 5; i++) baseline = Math.min(baseline, (await xs.command({ op: "noop" })).compute);
const cases: Record<string, Uint8Array> = {
  "module readout (mode D)": Uint8Array.from(readFileSync(moduleReadoutFile!)),
  "iskra-mt174-1 (mode C, BCC)": Uint8Array.from(readFileSync("host-tests/corpus/d0/iskra-mt174-1.bin")),
};
const out: Record<string, { units: number; dataSets: number; unitsPerLine: number; bytes: number }> = {};
for (const [name, bytes] of Object.entries(cases)) {
  const wire = encode7E1(bytes);
  const { reply } = await xs.command<{ index: number }>({ op: "load", bytes: Array.from(wire) });
  // The load command's cost includes JSON of the bytes; the decode command carries only an index.
  await xs.command({ op: "decode", index: reply.index }); // warm-up (first-use allocations)
  const r = await xs.command<{ dataSets: number; errors: number }>({ op: "decode", index: reply.index });
  const units = r.compute - baseline;
  out[name] = { units, dataSets: r.reply.dataSets, unitsPerLine: Math.round(units / r.reply.dataSets), bytes: bytes.length };
}
await xs.close();
console.log(JSON.stringify(out));
