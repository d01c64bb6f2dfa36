/**
 * What recording the site's time series costs (tools/site/recorder.ts, on for npm start): a day of
 * the default site with its uplink, without and with recording, alternated twice in one process so
 * both see the same machine; and the size of what it records.
 */
import { EVERYDAY_UPLINK, simulateSite } from "../simulate.js";
import type { Bench } from "./bench.js";

export const siteRecording: Bench = {
  name: "site simulation of a default day, without and with its time series recorded",
  async run() {
    const wall = { off: [] as number[], on: [] as number[] };
    let seriesBytes = 0;
    for (const record of [false, true, false, true]) {
      const t = performance.now();
      const r = simulateSite({ days: 1, seed: "1", record, uplink: EVERYDAY_UPLINK });
      wall[record ? "on" : "off"].push(performance.now() - t);
      if (r.series) seriesBytes = JSON.stringify(r.series).length;
    }
    const best = (xs: number[]) => Math.min(...xs);
    return {
      "wall ms, not recording (best of 2)": Math.round(best(wall.off)),
      "wall ms, recording (best of 2)": Math.round(best(wall.on)),
      "recording / not recording": Number((best(wall.on) / best(wall.off)).toFixed(2)),
      "series JSON bytes": seriesBytes,
    };
  },
};
