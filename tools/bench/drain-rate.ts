/**
 * Backlog drain rate after an outage, in the simulation: a 1,000-meter site (15-minute load profile
 * of 1.8.0) loses its GPRS bearer for 24 hours, then drains over a 32 kbit/s, 300 ms link while it
 * keeps acquiring. Reported: how much faster the backlog drains than it accumulated.
 */
import { UplinkSite } from "../sim/uplink-site.js";
import type { Bench } from "./bench.js";

const HOUR = 3_600_000;

export const drainRate: Bench = {
  name: "backlog drain rate after a 24 h outage",
  async run() {
    const meters = 1000;
    const outageH = 24;
    const site = new UplinkSite({ seed: "drain", net: { latencyMs: 300, bytesPerSecond: 4_000 } });
    site.powerOn();
    site.s.runFor(60_000);
    site.net.cut();
    let interval = 0;
    const T0 = Date.UTC(2026, 0, 1) / 1000;
    const acquire = () => site.addLoadProfile(meters, 1, T0 + 900 * interval++);
    // Acquisition every 15 minutes, through the outage and the drain.
    const tick = () => {
      acquire();
      site.s.after(900_000, tick);
    };
    tick();
    site.s.runFor(outageH * HOUR);
    const backlog = site.queue.unacknowledged;
    const wall = performance.now();
    site.net.restore();
    const start = site.s.now;
    const done = site.s.runUntilTrue(() => site.queue.unacknowledged < meters, 12 * HOUR);
    const drainMs = site.s.now - start;
    const acquisitionPerS = meters / 900;
    const drainedPerS = (backlog + (drainMs / 900_000) * meters) / (drainMs / 1000);
    return {
      "backlog after the outage, readings": backlog,
      "drained within 12 h": done ? "yes" : "NO",
      "drain time, simulated s": Math.round(drainMs / 1000),
      "drain rate, readings/s": Math.round(drainedPerS),
      "acquisition rate, readings/s": Number(acquisitionPerS.toFixed(2)),
      "drain rate / acquisition rate": Math.round(drainedPerS / acquisitionPerS),
      "messages sent": site.uplink.drain.counters.messagesSent,
      "wall ms to simulate the drain": Math.round(performance.now() - wall),
    };
  },
};
