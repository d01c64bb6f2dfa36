/**
 * Fleet ingest (issue 17, docs/headend.md): the load generator (tools/fleet-load) drains 100
 * concentrators × 256 meters × 6 h of 15-minute readings (614,400 readings) at once through a
 * throw-away Mosquitto into head-end workers on a throw-away PostgreSQL cluster: 1 worker, 2
 * workers, 2 workers with one killed at 1 s and the database restarted at 2 s; and the single
 * SQLite head-end for comparison. Everything (generator, broker, workers, database) shares this
 * machine's cores, so the figures are what this machine does as a whole, not a worker's capacity.
 * Skipped, with a message, when PostgreSQL is not installed.
 */
import { runFleet, type FleetOptions, type FleetReport } from "../fleet-load/run.js";
import { postgresBinaries } from "../net/postgres.js";
import type { Bench } from "./bench.js";

const LOAD = { concentrators: 100, metersPer: 256, hours: 6 } as const;

function figures(label: string, r: FleetReport): Record<string, number | string> {
  return {
    [`${label}: readings/s`]: r.readingsPerSecond,
    [`${label}: p99 publish-to-ack ms`]: r.p99AckMs,
    [`${label}: lost / duplicates / replays accepted`]: `${r.lost} / ${r.duplicates} / ${r.replaysAccepted}`,
    [`${label}: readings sent again after the ack time-out`]: r.resentReadings,
    [`${label}: CPU s generator / workers / PostgreSQL`]: `${r.cpuS.generator} / ${r.cpuS.workers} / ${r.cpuS.postgres}`,
  };
}

export const fleetIngest: Bench = {
  name: "fleet ingest: PostgreSQL workers behind Mosquitto, and SQLite",
  async run(): Promise<Record<string, number | string>> {
    if (!postgresBinaries()) return { skipped: "PostgreSQL is not installed (apt-get install postgresql); npm run prereqs installs it" };
    const run = (o: Partial<FleetOptions>) => runFleet({ ...LOAD, workers: 1, ...o });
    const one = await run({ workers: 1 });
    const two = await run({ workers: 2 });
    const faults = await run({ workers: 2, killWorkerAtS: 1, restartDbAtS: 2 });
    const sqlite = await run({ workers: 1, sqlite: true });
    return {
      "readings per run": one.readingsSent,
      ...figures("PostgreSQL, 1 worker", one),
      ...figures("PostgreSQL, 2 workers", two),
      "2 workers / 1 worker": Number((two.readingsPerSecond / one.readingsPerSecond).toFixed(2)),
      ...figures("PostgreSQL, 2 workers, one killed at 1 s, database restarted at 2 s", faults),
      ...figures("SQLite, 1 head-end", sqlite),
    };
  },
};
