#!/usr/bin/env node
/**
 * XS meter of the modem firmware's own code (tools/bench/modem-xs-entry.ts), in its own process (the
 * xsnap driver locks its process down). Prints one JSON object: computation units per item.
 *
 *   node dist/tools/bench/modem-xs.js
 */
import { fileURLToPath } from "node:url";
import { bundleForXs } from "../xs/bundle.js";
import { startXs } from "../xs/xs-worker.js";

/** What one item of each bench is, and how many run in the measured crank. */
const BENCHES: Array<{ bench: string; item: string; n: number }> = [
  { bench: "command", item: "AT command with one information line and OK", n: 200 },
  { bench: "urc", item: "URC line (+QIURC)", n: 200 },
  { bench: "fifo", item: "128-byte FIFO of response lines", n: 200 },
  { bench: "send", item: "1460-byte TCP send (CIPSEND, prompt, 12 FIFO writes, DATA ACCEPT)", n: 50 },
  { bench: "receive", item: "1460-byte TCP receive (URC, CIPRXGET, 13 FIFO reads)", n: 50 },
  { bench: "pdu", item: "SMS-SUBMIT encode + SMS-DELIVER decode", n: 200 },
];

const entry = fileURLToPath(new URL("../../../tools/bench/modem-xs-entry.ts", import.meta.url));
const xs = await startXs(await bundleForXs(entry), "modem-bench");
let baseline = Infinity;
for (let i = 0; i < 5; i++) baseline = Math.min(baseline, (await xs.command({ op: "noop" })).compute);
const out: Record<string, { item: string; unitsPerItem: number; heapSlots: number }> = {};
for (const { bench, item, n } of BENCHES) {
  await xs.command({ op: "setup", bench });
  await xs.command({ op: "run", n: 5 }); // warm up: first-call costs are not per-item costs
  const r = await xs.command<{ result: number }>({ op: "run", n });
  out[bench] = { item, unitsPerItem: Math.round((r.compute - baseline) / n), heapSlots: r.heapSlots };
}
// Heap a started Modem holds: live slots after setting one up, against the same VM before.
const before = (await xs.command({ op: "setup", bench: "pdu" })).heapSlots;
const after = (await xs.command({ op: "setup", bench: "modem" })).heapSlots;
await xs.close();
console.log(JSON.stringify({ ...out, modem: { item: "started Modem (engine, sockets, SMS channel)", heapSlots: after - before, unitsPerItem: 0 } }));
