#!/usr/bin/env node
/**
 * XS meter of the OTA updater (tools/bench/ota-xs-entry.ts), in its own process (the xsnap driver
 * locks its process down). Prints one JSON object of figures.
 */
import { fileURLToPath } from "node:url";
import { bundleForXs } from "../xs/bundle.js";
import { startXs } from "../xs/xs-worker.js";

const entry = fileURLToPath(new URL("../../../tools/bench/ota-xs-entry.ts", import.meta.url));
const xs = await startXs(await bundleForXs(entry), "ota-bench");
let baseline = Infinity;
for (let i = 0; i < 5; i++) baseline = Math.min(baseline, (await xs.command({ op: "noop" })).compute);
const units = async (op: string) => {
  await xs.command({ op });
  return (await xs.command({ op })).compute - baseline;
};
const verify = await units("verify");
const judge = await units("judge");
const sha4k = await units("sha4k");
const inflate = await units("inflate");
const chunks = (await xs.command<number>({ op: "rig-setup", bytes: 120_000 })).reply;
const byKind: Record<string, { sum: number; max: number }> = {};
for (;;) {
  const t = await xs.command<{ more: boolean; kind?: string }>({ op: "rig-turn" });
  if (!t.reply.more) break;
  const k = (byKind[t.reply.kind!] ??= { sum: 0, max: 0 });
  const u = Math.max(0, t.compute - baseline);
  k.sum += u;
  k.max = Math.max(k.max, u);
}
await xs.close();
const firmware = byKind["firmware"]!;
// Each chunk is hashed three times in plain ECMAScript here: on arrival, and twice (chunk and whole image) by the check.
const perChunk = Math.round(firmware.sum / chunks);
console.log(
  JSON.stringify({
    "XS units: one Ed25519 verify of a head (the crypto worker's, per signature)": verify,
    "XS units: judging a head on the main loop (parse, SHA-256 of the signed part, the rules)": judge,
    "XS units: SHA-256 of 4 KiB in plain ECMAScript (native on the device)": sha4k,
    "XS units: inflating a 4 KiB chunk with fflate (the ROM's tinfl on the device)": inflate,
    "chunks downloaded and checked": chunks,
    "XS units per chunk handled by the updater, SHA-256 in plain ECMAScript included": perChunk,
    "XS units per chunk handled by the updater, without the three 4 KiB SHA-256 passes": perChunk - 3 * sha4k,
    "largest turn of the updater during the download, XS units": firmware.max,
    "largest turn of the fflate stand-in": byKind["inflate (fflate stand-in)"]?.max ?? 0,
  }),
);
