/**
 * The site with its uplink, run by mocha and inside XS: the concentrator firmware on the simulated
 * board, its modem emulator, the simulated internet, broker and head-end. The XS run meters the turns
 * of the drain after an outage (the longest the firmware makes while the modem may be sending) and
 * reports the concentrator's turns apart from the head-end's.
 */
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";
import { Site } from "../../tools/site/site.js";

const MINUTE = 60_000;

export const drainAfterOutage: Scenario = {
  name: "site: after a 30-minute GPRS outage and through a broker restart, every reading stored reaches the head-end once",
  start(seed) {
    const site = new Site({
      seed,
      days: 1,
      modules: 8,
      plc: 0,
      radio: 0,
      mainsFailuresPerDay: 0,
      moduleRebootsPerDay: 0,
      openingsPerDay: 0,
      repeaterOutagesPerDay: 0,
      flatBatteryShare: 0,
      balanceConsumers: 0,
      uplink: {},
    });
    const s = site.world.scheduler;
    const u = site.world.uplink!;
    // The modem is back at 61 min (its recovery backs off during the outage): the drain of the
    // backlog falls in the XS runner's metered turns.
    s.at(20 * MINUTE, () => u.modem.setCoverage("none"));
    s.at(50 * MINUTE, () => u.modem.setCoverage("home"));
    s.at(70 * MINUTE, () => u.broker!.restart());
    let boots = site.world.board.boots;
    let handled = u.headend!.messages;
    return {
      scheduler: s,
      warmUpMs: 49 * MINUTE,
      limitMs: 30 * MINUTE,
      done: () => false,
      turnKind() {
        const board = site.world.board.boots;
        const he = u.headend!.messages;
        const kind = board !== boots ? "boot" : he !== handled ? "head-end" : "concentrator and devices";
        boots = board;
        handled = he;
        return kind;
      },
      check() {
        const r = site.report();
        check.equal(r.lost, 0, "lost");
        check.equal(r.readingsCorrupt, 0, "corrupt");
        check.equal(r.internalErrors, 0, "internal errors");
        check.ok(r.readingsDelivered > 400, `${r.readingsDelivered} readings delivered`);
        check.equal(r.readingsPending, 0, "pending at the end");
        check.ok(site.concentrator!.uplink!.mqtt.counters.connects >= 3, "connected again after the outage and after the broker restart");
      },
    };
  },
};

export const scenarios: Scenario[] = [drainAfterOutage];
