/**
 * DLMS/COSEM scenarios, run by mocha and inside XS: an HLS-GMAC read on a bus of simulated DLMS meters
 * (the XS run reports the concentrator's turns apart from the meters' and the AES hardware's), and the
 * whole concentrator on a site with IEC and DLMS meters: discovery, readings by protocol, profile
 * catch-up, latches through IC 70 with the consumer's button, and a power cut in the middle of a
 * profile read.
 */
import { ReadScript, type MeterRead } from "../../firmware/dlms/client/scripts.js";
import { Obis, parseLogicalName } from "../../firmware/dlms/cosem/obis.js";
import { ControlState } from "../../firmware/latch/disconnect-control.js";
import { EventType } from "../../firmware/model/records.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import { meterId } from "../../firmware/dlms/integration/persistence.js";
import type { SimDlmsMeter } from "../../hal/sim/dlms/meter.js";
import type { SimCrypto } from "../../hal/sim/system.js";
import { dlmsRig } from "../../tools/sim/dlms-rig.js";
import type { Site } from "../../tools/site/site.js";
import * as check from "../lib/check.js";
import { calmSite, command, eventsOf, firmware, HOUR, MINUTE, POLL_MS, runOf, Script, stored } from "../lib/core-rig.js";
import type { Scenario } from "../lib/scenario.js";

const REGISTERS = ["1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.32.7.0.255", "1.0.31.7.0.255", "1.0.1.7.0.255"].map((t) => ({ ln: parseLogicalName(t)!, classId: 3 as const }));

export const hlsRead: Scenario = {
  name: "dlms bus: an HLS-GMAC read of five registers and a day of load profile from each of 4 meters, every value exact",
  start(seed) {
    const rig = dlmsRig(seed, { meters: 4 });
    const s = rig.scheduler;
    const results = new Map<SimDlmsMeter, MeterRead>();
    const asked = new Map<SimDlmsMeter, number>();
    let failures = 0;
    s.at(25 * HOUR, () => {
      for (const m of rig.meters) {
        const now = Math.floor(m.clockMs() / 1000);
        asked.set(m, now);
        rig.session(m, {}, () => new ReadScript({ registers: REGISTERS, ranges: [{ ln: Obis.loadProfile1, fromS: now - 86_400, toS: now, deviation: 0 }] }), (r) => (r.ok ? results.set(m, r.value) : failures++));
      }
    });
    const seen = new Map<SimDlmsMeter, number>();
    let aes = 0;
    return {
      scheduler: s,
      warmUpMs: 25 * HOUR,
      limitMs: 10 * MINUTE,
      done: () => results.size + failures === rig.meters.length,
      turnKind() {
        let kind = "concentrator";
        if (rig.crypto.aesOperations !== aes) kind = "AES (hardware)";
        aes = rig.crypto.aesOperations;
        for (const m of rig.meters) {
          const n = m.counters.framesIn + m.counters.framesOut + m.counters.foreign;
          if (n !== seen.get(m)) kind = "meters";
          seen.set(m, n);
        }
        return kind;
      },
      check() {
        check.equal(failures, 0, "failed reads");
        for (const m of rig.meters) {
          const r = results.get(m)!;
          const scale = 10 ** m.objects.o.energyScaler;
          check.equal(r.registers.get("1.0.1.8.0.255")?.value.text, String(Math.floor(m.meter.importWh() / scale) * scale), `meter ${m.physical} import`);
          const now = asked.get(m)!;
          const truth = m.objects.profile.filter((e) => e.t >= now - 86_400 && e.t <= now);
          check.ok(truth.length >= 96, "a day of 15-minute entries");
          check.deepEqual(r.profiles[0]?.rows.map((row) => row.timeS), truth.map((e) => e.t), `meter ${m.physical}: every entry of the day`);
        }
      },
    };
  },
};

/** A site of 4 IEC modules and 4 DLMS meters (2 per bus), calm, with the uplink's command path. */
function mixedSite(seed: string): Site {
  return calmSite(seed, { modules: 4, dlmsMeters: 4 });
}

function dlmsConsumer(site: Site, meter: SimDlmsMeter): number {
  const c = firmware(site);
  const n = site.moduleNumber(meter);
  check.ok(n !== undefined, `DLMS meter ${meter.serial} known`);
  return c.topology.module(n!)!.meters.get(1)!;
}

export const mixedSiteDay: Scenario = {
  name: "dlms site: IEC modules and DLMS meters on the same buses are discovered and read; readings counted by protocol; every profile entry stored once; no latch violation",
  start(seed) {
    const site = mixedSite(seed);
    const script = new Script(site.world.scheduler);
    script.within(30 * MINUTE, "all 8 discovered", () => (site.concentrator?.topology.size ?? 0) === 8);
    script.wait(3 * HOUR, "three hours of reads");
    const crypto = site.world.board.hal.crypto as SimCrypto;
    let aes = crypto.aesOperations;
    let boots = site.world.board.boots;
    const seen = site.world.dlmsMeters.map(() => 0);
    const run = runOf(site, script, 5 * HOUR, () => {
      const r = site.report();
      check.ok(r.readingsByProtocol.dlms > 4 * 3 * 4 * 7, `DLMS readings ${r.readingsByProtocol.dlms}`);
      check.ok(r.readingsByProtocol.iec > 0, "IEC readings");
      check.equal(r.dlmsMetersKnown, 4, "DLMS meters known");
      check.equal(r.latchViolations, 0, "latch violations");
      check.equal(r.internalErrors, 0, "internal errors");
      check.equal(r.readingsImplausible, 0, "implausible readings");
      const st = stored(firmware(site));
      for (const m of site.world.dlmsMeters) {
        const consumer = dlmsConsumer(site, m);
        const mark = profileMark(site, m);
        const entries = m.objects.profile.filter((e) => e.t <= mark);
        const times = st.readings.filter((x) => x.meter === consumer && x.register === 0x010800 && entries.some((e) => e.t === x.time));
        check.equal(times.length, entries.length, `meter ${m.serial}: every profile entry up to the mark stored, once`);
      }
    });
    return {
      ...run,
      turnKind() {
        let kind = "concentrator and IEC modules";
        if (crypto.aesOperations !== aes) kind = "AES (hardware)";
        aes = crypto.aesOperations;
        site.world.dlmsMeters.forEach((m, i) => {
          const n = m.counters.framesIn + m.counters.framesOut + m.counters.foreign + m.app.counters.requests;
          if (n !== seen[i]) kind = "DLMS meters";
          seen[i] = n;
        });
        if (site.world.board.boots !== boots) kind = "boot";
        boots = site.world.board.boots;
        return kind;
      },
    };
  },
};

/** The capture time of the last profile entry the concentrator took from meter `m`. */
function profileMark(site: Site, m: SimDlmsMeter): number {
  const config = site.world.dlms.config.meters[site.world.dlmsMeters.indexOf(m)]!;
  return firmware(site).dlms!.state.marks(meterId(config.bus, config.physical)).profileS;
}

export const latchThroughIc70: Scenario = {
  name: "dlms site: a head-end disconnect opens a DLMS meter's breaker through IC 70; a reconnect in mode 1 leaves it ready until the consumer presses the button; in mode 2 it closes at once",
  start(seed) {
    const site = mixedSite(seed);
    const meter = site.world.dlmsMeters[0]!;
    let consumer = 0;
    const script = new Script(site.world.scheduler);
    script.within(30 * MINUTE, "the meter known", () => site.moduleNumber(meter) !== undefined);
    script.do("mode 1 for the consumer", () => {
      consumer = dlmsConsumer(site, meter);
      check.equal(firmware(site).latch.setMode(consumer, 1, "head-end").code, "ok", "mode 1");
    });
    script.do("the head-end disconnects", () => check.equal(command(site, "disconnect", consumer).code, ResultCode.ok, "accepted"));
    script.within(MINUTE, "the breaker opens", () => !meter.relayConnected && !meter.meter.supplied);
    script.do("the head-end clears the reconnection", () => check.equal(command(site, "reconnect", consumer).code, ResultCode.ok, "accepted"));
    script.within(POLL_MS + 2 * MINUTE, "the meter is ready for reconnection, still open", () => meter.objects.controlState === 2 && !meter.relayConnected);
    script.do("the consumer presses the button", () => check.ok(meter.pressButton(), "the meter takes it"));
    script.within(POLL_MS + 2 * MINUTE, "the latch learns it: connected", () => firmware(site).latch.state(consumer) === ControlState.connected);
    script.wait(2 * MINUTE, "the breaker stays closed", () => check.ok(meter.relayConnected, "closed"));
    script.do("mode 2, and a disconnect", () => {
      check.equal(firmware(site).latch.setMode(consumer, 2, "head-end").code, "ok", "mode 2");
      check.equal(command(site, "disconnect", consumer).code, ResultCode.ok, "accepted");
    });
    script.within(MINUTE, "open", () => !meter.relayConnected);
    script.do("reconnect", () => check.equal(command(site, "reconnect", consumer).code, ResultCode.ok, "accepted"));
    script.within(MINUTE, "closed at once", () => meter.relayConnected && meter.objects.controlState === 1);
    return runOf(site, script, 6 * HOUR, () => {
      const st = stored(firmware(site));
      check.equal(eventsOf(st, EventType.relayMismatch).length, 0, "no relay mismatch");
      check.equal(site.report().latchViolations, 0, "latch violations");
      check.ok(eventsOf(st, EventType.latchChange, consumer).length >= 5, "latch changes recorded");
    });
  },
};

export const powerCutDuringProfile: Scenario = {
  name: "dlms site: the concentrator loses power in the middle of a DLMS profile catch-up; after the restart the range is read again and every entry is stored exactly once",
  start(seed) {
    const site = mixedSite(seed);
    const meter = site.world.dlmsMeters[1]!;
    const board = site.world.board;
    const script = new Script(site.world.scheduler);
    script.within(30 * MINUTE, "the meter known", () => site.moduleNumber(meter) !== undefined);
    script.wait(POLL_MS, "a first profile read");
    script.do("the concentrator is switched off for 10 hours", () => board.cutPower());
    script.wait(10 * HOUR, "meters keep capturing");
    let blocks = 0;
    script.do("power back", () => {
      blocks = meter.app.counters.blocks;
      board.powerOn();
    });
    script.within(30 * MINUTE, "the catch-up of that meter is in its data blocks", () => meter.app.counters.blocks > blocks);
    script.do("the power fails again, mid-profile", () => board.cutPower());
    script.wait(MINUTE, "off for a minute");
    script.do("power back", () => board.powerOn());
    script.wait(2 * HOUR, "two hours of reads");
    return runOf(site, script, 16 * HOUR, () => {
      const c = firmware(site);
      const consumer = dlmsConsumer(site, meter);
      const st = stored(c);
      const times = st.readings.filter((x) => x.meter === consumer && x.register === 0x010800 && meter.objects.profile.some((e) => e.t === x.time)).map((x) => x.time);
      const mark = profileMark(site, meter);
      const expected = meter.objects.profile.filter((e) => e.t <= mark).map((e) => e.t);
      check.ok(mark >= expected[expected.length - 1]!, "the mark is the last entry stored");
      check.equal(new Set(times).size, times.length, "no profile entry stored twice");
      check.deepEqual(times.sort((a, b) => a - b), expected, "every profile entry of the outage stored");
      check.equal(site.report().internalErrors, 0, "internal errors");
    });
  },
};

export const scenarios: Scenario[] = [hlsRead, mixedSiteDay, latchThroughIc70, powerCutDuringProfile];
