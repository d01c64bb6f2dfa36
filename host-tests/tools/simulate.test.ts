import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EVERYDAY_UPLINK, simulateSite } from "../../tools/simulate.js";

const SIMULATE = fileURLToPath(new URL("../../tools/simulate.js", import.meta.url));

const calm = { mainsFailuresPerDay: 0, moduleRebootsPerDay: 0, openingsPerDay: 0, repeaterOutagesPerDay: 0, flatBatteryShare: 0, balanceConsumers: 0 };

describe("site simulation", () => {
  it("discovers every module and DLMS meter on both buses and acquires nearly every reading the schedule calls for, close to the wire-time bound", () => {
    const r = simulateSite({ days: 0.25, seed: "t", modules: 6, plc: 0, radio: 0, ...calm });
    assert.equal(r.modules, 6);
    assert.equal(r.dlmsMeters, 8, "the default site has DLMS meters");
    assert.equal(r.modulesDiscovered, 6 + 8);
    assert.equal(r.dlmsMetersKnown, 8);
    assert.equal(r.modulesMissing, 0);
    // Discovery finds the modules during the first slot; every profile slot after it is complete.
    assert.ok(r.readingsAcquired >= r.readingsExpected * 0.95 && r.readingsAcquired <= r.readingsExpected, `${r.readingsAcquired} of ${r.readingsExpected}`);
    assert.equal(r.readingsUnrecoverable, r.readingsExpected - r.readingsAcquired);
    // DLMS load profiles and back-filled intervals add readings of their own (at their interval times).
    assert.equal(r.readingsStored, r.readingsRead + r.dlmsProfileReadings + r.backfillReadingsStored);
    assert.ok(r.readingsByProtocol.iec > 0 && r.readingsByProtocol.dlms > 0, JSON.stringify(r.readingsByProtocol));
    // A DLMS association waits for the meter's reaction (20-40 ms) at each of its ~15 frames, which the
    // wire-time bound leaves out (the IEC bound includes tr): cycles with DLMS meters sit further above it.
    assert.ok(r.pollCycleRatio > 1 && r.pollCycleRatio < 1.4, String(r.pollCycleRatio));
    assert.ok(r.busUtilisation > 0 && r.busUtilisation < 0.5);
    assert.ok(r.latchedConsumers > 0, "the head-end disconnected some consumers");
    assert.equal(r.latchViolations, 0);
    assert.equal(r.internalErrors, 0);
  });

  it("with every meter keeping a profile, acquires at least 99.9 % of the profile slots through two mains failures, one ending in a battery cutoff", () => {
    // Seed 10: two mains failures in two days, the second longer than the battery (docs/backfill.md).
    const r = simulateSite({ days: 2, seed: "10", modules: 8, plc: 2, radio: 0, dlmsMeters: 2, profileMemory: "all" });
    assert.ok(r.mainsFailures === 2 && r.batteryCutoffs === 1 && r.boots === 2, JSON.stringify(r.faults));
    assert.ok(r.readingsBackfilled > 0, "intervals of the outage recovered from the meters");
    assert.ok(r.readingsAcquired >= 0.999 * r.readingsExpected, `${r.readingsAcquired} of ${r.readingsExpected}, ${JSON.stringify(r.unrecoverableBy)}`);
    const without = simulateSite({ days: 2, seed: "10", modules: 8, plc: 2, radio: 0, dlmsMeters: 2, profileMemory: "none" });
    assert.equal(without.readingsBackfilled, 0);
    assert.ok(without.unrecoverableBy.noProfile > 0 && without.readingsAcquired < r.readingsAcquired, JSON.stringify(without.unrecoverableBy));
    assert.equal(r.internalErrors + without.internalErrors, 0);
  });

  it("reaches the remote modules behind a PLC and a radio bridge like the local ones", () => {
    const r = simulateSite({ days: 0.25, seed: "t", modules: 4, plc: 3, radio: 2, ...calm, dlmsMeters: 0 });
    assert.equal(r.modules, 9);
    assert.equal(r.modulesDiscovered, 9);
    assert.ok(r.readingsAcquired >= r.readingsExpected * 0.9 && r.readingsAcquired <= r.readingsExpected, `${r.readingsAcquired} of ${r.readingsExpected}`);
    assert.ok(r.remoteCycleRatio > 1 && r.remoteCycleRatio < 4, String(r.remoteCycleRatio));
    assert.equal(r.internalErrors, 0);
  });

  it("uplinks what the concentrator stores through the modem to the head-end, and reports what it cost", () => {
    const r = simulateSite({ days: 0.25, seed: "t", modules: 6, plc: 0, radio: 0, ...calm, uplink: EVERYDAY_UPLINK });
    assert.ok(r.readingsDelivered > 0.95 * r.readingsStored, `${r.readingsDelivered} of ${r.readingsStored}`);
    assert.equal(r.lost, 0);
    assert.equal(r.readingsCorrupt, 0);
    // A small site pays the connection's fixed costs (pings, status) over few readings.
    assert.ok(r.uplinkBytesPerReading > 3 && r.uplinkBytesPerReading < 20, String(r.uplinkBytesPerReading));
    assert.equal(r.commandsRejected, 0);
    assert.equal(r.internalErrors, 0);
  });

  describe("command", () => {
    const small = ["--days", "0.25", "--modules", "2", "--plc", "0", "--radio", "0", "--modem", "none"];
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "simulate-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("shows its progress as plain lines when the output is not a terminal, then the summary and where the HTML report is", () => {
      const file = join(dir, "r.html");
      const out = execFileSync(process.execPath, [SIMULATE, ...small, "--html", file], { encoding: "utf8" }).split("\n");
      const progress = out.filter((l) => l.startsWith("day 1 "));
      // A line every simulated hour (an eighth of six hours is less), the last at the end.
      assert.equal(progress.length, 6, out.join("\n"));
      assert.match(progress[0]!, /^day 1 01:00 \(17 %\): \d+ readings stored, no uplink; \d+ events \(\d+ alarms\), 1 boot\(s\), latch violations 0$/);
      assert.match(progress[5]!, /^day 1 06:00 \(100 %\): /);
      // Two modules and the feeder's balance meter module.
      assert.ok(out.some((l) => l.startsWith("site simulation, seed 1: 0.25 day(s) of 3 modules")));
      assert.ok(out.includes(`report: ${file}`), out.join("\n"));
      assert.match(readFileSync(file, "utf8"), /^<!doctype html>/);
    });

    it("prints only the JSON report with --json, its series included, and writes HTML only when asked", () => {
      const json = execFileSync(process.execPath, [SIMULATE, ...small, "--json"], { encoding: "utf8", cwd: dir });
      const r = JSON.parse(json) as ReturnType<typeof simulateSite>;
      assert.equal(r.days, 0.25);
      assert.equal(r.series?.samples.timeMs.length, 72);
      assert.ok(!existsSync(join(dir, "reports")), "no HTML without --html");
    });
  });
});
