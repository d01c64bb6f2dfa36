/**
 * The uplink at site level, in simulation (tools/site): the default installation (64 local and 12
 * remote modules) with its GPRS modem, the simulated internet, broker and head-end.
 *
 * - Bytes per reading: a day on a network without outages; every TCP byte through the modem, both
 *   ways (MQTT CONNECT, SUBSCRIBE, PINGREQ, PUBLISH and PUBACK, topics, envelopes, CBOR, status
 *   messages, the head-end's acknowledgements), over the readings delivered; against the JSON of the
 *   same readings, body only, in the same run.
 * - Backlog: the bearer is lost for a day, comes back, and the concentrator drains the backlog
 *   through the modem (AT commands at 115200 Bd) while it keeps acquiring.
 */
import { utf8Length } from "../../firmware/uplink/utf8.js";
import { Site } from "../site/site.js";
import type { Bench } from "./bench.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const siteUplinkBytes: Bench = {
  name: "site uplink bytes per reading",
  async run() {
    const site = new Site({ seed: "bench", days: 1, uplink: {} });
    site.run(24 * HOUR);
    const r = site.report();
    const he = site.world.uplink!.headend!.store;
    const readings = he.readingsOf(17);
    const json = utf8Length(JSON.stringify(readings));
    const { up, down } = site.world.uplink!.bytes;
    return {
      "readings delivered in a day": r.readingsDelivered,
      "modem TCP bytes up / down": `${up} / ${down}`,
      "bytes per reading, all overhead, both ways": r.uplinkBytesPerReading,
      "JSON bytes per reading (same readings, body only)": Number((json / readings.length).toFixed(1)),
      "JSON body / all uplink bytes": Number((json / r.uplinkBytes).toFixed(1)),
    };
  },
};

export const siteBacklog: Bench = {
  name: "site backlog drain after a 24 h GPRS outage",
  async run() {
    const site = new Site({ seed: "bench", days: 3, uplink: {}, mainsFailuresPerDay: 0 });
    const s = site.world.scheduler;
    const modem = site.world.uplink!.modem;
    site.run(HOUR);
    modem.setCoverage("none");
    site.run(25 * HOUR);
    const before = site.progress();
    const backlog = before.readingsDistinct - before.readingsDelivered;
    modem.setCoverage("home");
    const restored = s.now;
    const wall = performance.now();
    // The modem's recovery backs off during a long outage: the drain starts when MQTT is up again.
    s.runUntilTrue(() => site.concentrator?.uplink?.mqtt.state === "connected", HOUR);
    const from = s.now;
    // Drained: everything stored so far has reached the head-end (checked once a simulated minute).
    while (s.now < from + 24 * HOUR) {
      site.run(s.now + MINUTE);
      const p = site.progress();
      if (p.readingsDelivered >= p.readingsDistinct) break;
    }
    const drainMs = s.now - from;
    const acquiredPerS = before.readingsDistinct / (restored / 1000);
    const drainedPerS = (backlog + acquiredPerS * (drainMs / 1000)) / (drainMs / 1000);
    const c = site.concentrator!;
    return {
      "backlog when the bearer returns, readings": backlog,
      "connected again after, simulated minutes (the modem's backoff)": Number(((from - restored) / MINUTE).toFixed(1)),
      "drained in, simulated minutes (to the minute)": Number((drainMs / MINUTE).toFixed(0)),
      "drain rate, readings/s": Math.round(drainedPerS),
      "drain rate / acquisition rate": Math.round(drainedPerS / acquiredPerS),
      "messages sent this boot": c.uplink!.drain.counters.messagesSent,
      "lost": site.report().lost,
      "wall ms to simulate the drain": Math.round(performance.now() - wall),
    };
  },
};
