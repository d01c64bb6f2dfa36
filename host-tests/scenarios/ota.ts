/**
 * OTA scenarios, run by mocha and inside XS: the concentrator firmware downloads a compressed image
 * through its modem, checks it, switches, passes its self-test and confirms, on the simulated site;
 * and the updater alone against the head-end's campaign code, with a chunk corrupted on its way. The
 * XS run meters the site's turns during the download and tells the firmware's apart from the head-end's
 * and from the simulated inflater's (fflate in plain ECMAScript here; the ROM's tinfl on the device).
 */
import { EventType } from "../../firmware/model/records.js";
import { FrameObject } from "../../firmware/ota/frames.js";
import { OtaRig } from "../../tools/sim/ota-rig.js";
import { standInBundle } from "../../tools/site/ota-world.js";
import { Site } from "../../tools/site/site.js";
import * as check from "../lib/check.js";
import { CALM } from "../lib/core-rig.js";
import type { Scenario } from "../lib/scenario.js";

const MINUTE = 60_000;

export const siteUpdate: Scenario = {
  name: "ota: the site's concentrator downloads a compressed image over GPRS, checks it, switches, passes its self-test and confirms",
  start(seed) {
    const site = new Site({
      ...CALM,
      seed,
      days: 1,
      modules: 2,
      disconnectedShare: 1,
      board: { firmwareSlotBytes: 64 * 1024 },
      uplink: {},
      ota: { bundle: standInBundle(24 * 1024, seed), campaign: { atMs: 3 * MINUTE }, firmware: { selfTestTimeoutMs: 15 * MINUTE } },
    });
    const w = site.world;
    const b = w.board;
    const he = w.uplink!.headend!;
    /** What simulated hardware did in the turn just run (its cost is native, or another core's, on the device). */
    const ota = () => site.concentrator?.ota?.downloadCounters;
    const marks = () => [b.boots, b.crypto.verifications, b.firmware.imageChecks, b.inflater.calls, he.messages + he.campaignsStarted, (ota()?.steps ?? 0) + (ota()?.framesReceived ?? 0)];
    const KINDS = [
      "boot (the bootloader's image check, the store's recovery)",
      "signature check (the crypto worker's core on the device)",
      "image check (esp_image_verify, native)",
      "inflate (fflate; the ROM's tinfl on the device)",
      "head-end (building the package, then its messages)",
      "ota download (a frame; hashing 512 B with SHA-256 in plain ECMAScript; an erase; a program)",
    ];
    let last = marks();
    let latched: number[] = [];
    w.scheduler.at(3 * MINUTE, () => (latched = site.concentrator!.latch.latchedConsumers().sort()));
    return {
      scheduler: w.scheduler,
      // Metered from just before the campaign: the download, the switch, the new image's trial.
      warmUpMs: 170_000,
      limitMs: 60 * MINUTE,
      // Cheap: the XS runner asks it inside every metered turn.
      done: () => site.ota!.lastStep === "confirmed",
      turnKind() {
        const now = marks();
        const changed = now.findIndex((x, i) => x !== last[i]);
        last = now;
        return changed < 0 ? "concentrator and devices" : KINDS[changed]!;
      },
      check() {
        w.scheduler.runUntil(w.scheduler.now + 5 * MINUTE); // the head-end hears of the confirmation
        const r = site.report();
        check.equal(r.ota?.outcome, "confirmed", "outcome at the head-end");
        check.equal(w.board.firmware.booted?.version, "1.1.0", "running version");
        check.equal(r.lost, 0, "readings lost");
        check.equal(r.internalErrors, 0, "internal errors");
        check.ok(latched.length > 0, "consumers latched before the update");
        check.deepEqual(site.concentrator!.latch.latchedConsumers().sort(), latched, "latched consumers");
        check.ok(r.ota!.timeline.some(([, step]) => step === "verified"), "verified reported");
      },
    };
  },
};

export const rigRefetch: Scenario = {
  name: "ota: the updater re-fetches a chunk corrupted on its way, writes the image, switches and confirms",
  start(seed) {
    const rig = new OtaRig({ seed });
    let spoiled = 0;
    const clean = rig.tamper;
    rig.tamper = (f) => {
      if (f.object === FrameObject.chunk && f.index === 1 && spoiled++ === 0) f.data[9]! ^= 1;
      return clean(f);
    };
    rig.offer(rig.package(rig.image("1.1.0")));
    return {
      scheduler: rig.s,
      limitMs: 10 * MINUTE,
      done: () => rig.of(EventType.otaConfirmed).length > 0,
      check() {
        check.equal(rig.of(EventType.otaConfirmed).length, 1, "confirmed");
        check.equal(rig.hal.firmware.running().version, "1.1.0", "running version");
        check.equal(spoiled >= 2, true, "chunk 1 sent again");
        check.equal(rig.updater.status().securityCounter, 1, "security counter");
      },
    };
  },
};

export const scenarios: Scenario[] = [rigRefetch, siteUpdate];
