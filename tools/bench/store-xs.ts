#!/usr/bin/env node
/**
 * XS meter of firmware/store operations (computation units per call, live heap slots), printed as
 * one JSON object. Runs in its own process: the xsnap driver locks its process down (SES).
 *
 *   node dist/tools/bench/store-xs.js
 */
import { fileURLToPath } from "node:url";
import { bundleForXs } from "../xs/bundle.js";
import { startXs } from "../xs/xs-worker.js";

const entry = fileURLToPath(new URL("../../../tools/bench/store-xs-entry.ts", import.meta.url));
const xs = await startXs(await bundleForXs(entry), "store-bench");
let baseline = Infinity;
for (let i = 0; i < 5; i++) baseline = Math.min(baseline, (await xs.command({ op: "noop" })).compute);

/** Units of one command (harness cost subtracted), its reply, and the heap after it. */
async function cost(cmd: Record<string, unknown>): Promise<{ units: number; heapSlots: number; reply: Record<string, unknown> }> {
  const r = await xs.command<Record<string, unknown>>(cmd);
  if (r.reply.error) throw new Error(`${JSON.stringify(cmd)}: ${r.reply.error}`);
  return { units: Math.max(0, r.compute - baseline), heapSlots: r.heapSlots, reply: r.reply };
}

/** Mean and maximum units over `n` runs of a command. */
async function series(cmd: Record<string, unknown>, n: number): Promise<{ mean: number; max: number }> {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const { units } = await cost(cmd);
    sum += units;
    max = Math.max(max, units);
  }
  return { mean: Math.round(sum / n), max };
}

/** Live heap slots (16 B each) after a full garbage collection. */
async function liveSlots(): Promise<number> {
  return (await cost({ op: "gc" })).heapSlots;
}

const idle = await liveSlots();
const open = await cost({ op: "open" });
const opened = await liveSlots();
await cost({ op: "maintain" });
await cost({ op: "maintain" });
const out: Record<string, number> = {
  "open (recovery) of a fresh 4 MiB log + 64 KiB journal, units": open.units,
  "heap slots the open store keeps (log + journal + counter + cursor)": opened - idle,
  "typed-array bytes the open store keeps (log + journal)": Number(open.reply.memoryBytes),
};
const round = await series({ op: "append", meters: 256, intervals: 1 }, 40);
out["append 256 readings (one 15-min round), units mean"] = round.mean;
out["append 256 readings, units max"] = round.max;
out["append, units per reading"] = Math.round(round.mean / 256);
const profile = await series({ op: "append", meters: 16, intervals: 96 }, 10);
out["append 16 meters x 96 intervals (profiles), units per reading"] = Math.round(profile.mean / (16 * 96));
const ev = await series({ op: "event" }, 100);
out["append one event, units mean"] = ev.mean;
out["append one event, units max"] = ev.max;
// The events read back newest first (the console's tails): the 100 just appended and those before.
let backCalls = 0;
let backMax = 0;
for (let more = true, restart = true; more && backCalls < 8; restart = false, backCalls++) {
  const part = await cost({ op: "recent", restart });
  more = Boolean(part.reply.more);
  backMax = Math.max(backMax, part.units);
}
out["read back the newest 100+ events (the console's tails), largest call, units"] = backMax;
let maintain = { mean: 0, max: 0 };
maintain = await series({ op: "maintain" }, 20);
out["maintenance step (erase + verify), units max"] = maintain.max;
const drain = await series({ op: "drain", records: 16 }, 10);
out["drain 16 records, units mean"] = drain.mean;
const ack = await cost({ op: "ack" });
out["acknowledge 16 records, units"] = ack.units;
out["state put (latch), units mean"] = (await series({ op: "put" }, 50)).mean;
out["counter next (64 per put), units mean"] = (await series({ op: "counter" }, 128)).mean;
const churn = (await xs.command<{ max: number; collections: number }>({ op: "journalChurn", puts: 3000 })).reply;
out["state journal maintenance step (3000 latch puts, collections included), units max"] = churn.max;
out["state journal collections in those puts"] = churn.collections;
await cost({ op: "fill", batches: 3000 });
await cost({ op: "release" });
const before = await liveSlots();
const full = await cost({ op: "open" });
out["open (recovery) after 3000 rounds (768k readings, ring full), units"] = full.units;
out["heap slots the reopened store keeps"] = (await liveSlots()) - before;
await cost({ op: "drain", records: 64 });
await cost({ op: "reboot" });
while ((await cost({ op: "maintain" })).reply.did);
await cost({ op: "ackLater" });
let steps = 0;
let stepMax = 0;
for (;;) {
  const step = await cost({ op: "maintain" });
  if (!step.reply.did) break;
  steps++;
  stepMax = Math.max(stepMax, step.units);
}
out["acknowledge later 64 records drained before a reset (slot index empty), maintenance steps until idle"] = steps;
out["acknowledge later, largest maintenance step, units"] = stepMax;
await cost({ op: "drain", records: 64 });
await cost({ op: "reboot" });
out["acknowledge the next 64 records, after a reset, in one call, units"] = (await cost({ op: "ack" })).units;
await xs.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
