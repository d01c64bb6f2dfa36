#!/usr/bin/env node
/**
 * The fleet load generator (tools/fleet-load/run.ts): simulated concentrators speaking the real uplink
 * protocol drain their backlog at once into head-end workers behind an MQTT broker, with faults on
 * the way; then what the database holds is checked against what was sent.
 *
 *   npm run --silent fleet -- --concentrators N --meters-per 256 --hours H --workers W
 *        [--db postgres://...|FILE.sqlite|sqlite] [--broker mqtt://...] [--lanes L]
 *        [--kill-worker-at S] [--restart-db-at S] [--outage-s S] [--per-message R] [--ack-timeout-s S] [--json]
 *
 * Without --db and --broker it starts its own PostgreSQL cluster and Mosquitto (removed at the end);
 * `--db sqlite` runs the single SQLite head-end instead (--workers 1). Exits 1 when anything was
 * lost, stored twice, or a replay was accepted.
 */
import { parseOptions, UsageError } from "./cli-args.js";
import { runFleet } from "./fleet-load/run.js";

const SPEC = {
  concentrators: "number",
  "meters-per": "number",
  hours: "number",
  workers: "number",
  db: "string",
  broker: "string",
  lanes: "number",
  "kill-worker-at": "number",
  "restart-db-at": "number",
  "outage-s": "number",
  "per-message": "number",
  "timeout-s": "number",
  "ack-timeout-s": "number",
  json: "boolean",
} as const;

const positive = (v: number | undefined, name: string, fallback: number) => {
  const n = v ?? fallback;
  if (!(Number.isInteger(n) && n > 0)) throw new UsageError(`--${name}: a positive integer`);
  return n;
};

try {
  const o = parseOptions(process.argv.slice(2), SPEC);
  const perMessage = positive(o["per-message"], "per-message", 1024);
  if (perMessage > 4096) throw new UsageError("--per-message: at most 4096 (the message limit, firmware/uplink/messages.ts)");
  const report = await runFleet({
    concentrators: positive(o.concentrators, "concentrators", 20),
    metersPer: positive(o["meters-per"], "meters-per", 256),
    hours: positive(o.hours, "hours", 6),
    workers: positive(o.workers, "workers", 2),
    ...(o.db === "sqlite" ? { sqlite: true } : o.db !== undefined ? { db: o.db } : {}),
    ...(o.broker !== undefined ? { broker: o.broker } : {}),
    ...(o.lanes !== undefined ? { lanes: positive(o.lanes, "lanes", 4) } : {}),
    ...(o["kill-worker-at"] !== undefined ? { killWorkerAtS: o["kill-worker-at"] } : {}),
    ...(o["restart-db-at"] !== undefined ? { restartDbAtS: o["restart-db-at"] } : {}),
    ...(o["outage-s"] !== undefined ? { outageS: o["outage-s"] } : {}),
    ...(o["timeout-s"] !== undefined ? { timeoutS: o["timeout-s"] } : {}),
    ...(o["ack-timeout-s"] !== undefined ? { ackTimeoutMs: o["ack-timeout-s"] * 1000 } : {}),
    perMessage,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  if (o.json) console.log(JSON.stringify(report));
  else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(20)} ${typeof v === "object" ? JSON.stringify(v) : v}`);
  if (report.lost > 0 || report.duplicates > 0 || report.replaysAccepted > 0 || !report.drained) process.exitCode = 1;
} catch (e) {
  if (!(e instanceof UsageError || e instanceof RangeError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
