#!/usr/bin/env node
/**
 * XS meter of the uplink's per-message operations (run in its own process: the xsnap driver locks
 * down its process). Prints one JSON object: { op: computeUnits, ..., "heap slots ...": n }.
 */
import { fileURLToPath } from "node:url";
import { bundleForXs } from "../xs/bundle.js";
import { startXs } from "../xs/xs-worker.js";

const entry = fileURLToPath(new URL("../../../tools/bench/uplink-xs-entry.ts", import.meta.url));
const xs = await startXs(await bundleForXs(entry), "uplink-bench");
let baseline = Infinity;
for (let i = 0; i < 5; i++) baseline = Math.min(baseline, (await xs.command({ op: "noop" })).compute);
const ops = (await xs.command<string[]>({ op: "list" })).reply.filter((o) => o !== "noop" && o !== "gc" && !o.includes("Uplink"));
const out: Record<string, number> = {};
for (const op of ops) {
  await xs.command({ op }); // first call: lazy initialisation
  out[`XS units: ${op}`] = (await xs.command({ op })).compute - baseline;
}
await xs.command({ op: "gc" });
const before = (await xs.command({ op: "gc" })).heapSlots;
await xs.command({ op: "keep an Uplink (heap)" });
const after = (await xs.command({ op: "gc" })).heapSlots;
out["heap slots retained by an idle Uplink (16 B each on ESP32)"] = after - before;
await xs.close();
console.log(JSON.stringify(out));
