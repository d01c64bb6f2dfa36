/**
 * Scenarios on the whole concentrator (firmware/app) in the simulated site (tools/site): the
 * firmware booted on the simulated board, polling simulated modules on RS485 and through a bridge.
 * They run under mocha and inside XS (the XS run reports the whole concentrator's cost per turn).
 * Longer ones (a month of mains failures, …) are mocha-only: host-tests/app/.
 */
import { ControlState, outputState, type ControlMode, type Trigger } from "../../firmware/latch/disconnect-control.js";
import type { TriggerSource } from "../../firmware/latch/latch-manager.js";
import { EventType, ReadingStatus } from "../../firmware/model/records.js";
import { ChangeResult } from "../../firmware/store/audit.js";
import { ResultCode } from "../../firmware/uplink/messages.js";
import { SimLocalModule } from "../../hal/sim/local-module.js";
import { SimMeter } from "../../hal/sim/meters.js";
import { Site } from "../../tools/site/site.js";
import * as check from "../lib/check.js";
import { afterDiscovery, calmSite, command, consumersOf, eventsOf, firmware, HOUR, MINUTE, POLL_MS, runOf, stored } from "../lib/core-rig.js";
import { ALL_MODES, expectedTransition, TRIGGERS } from "../lib/ic70-spec.js";
import type { Scenario } from "../lib/scenario.js";

/** Who may pull each trigger (firmware/latch/latch-manager.ts rules). */
const SOURCE: Record<Trigger, TriggerSource> = {
  remoteDisconnect: "head-end",
  remoteReconnect: "head-end",
  manualDisconnect: "manual",
  manualReconnect: "manual",
  localDisconnect: "local",
  localReconnect: "local",
};

export const ic70Matrix: Scenario = {
  name: "core: every IC 70 transition in every control mode is applied or refused as DLMS table 25 says, audited, and the module's relay follows the output state",
  start(seed) {
    const site = calmSite(seed, { modules: 2 });
    const module = site.world.local[0]![0]!;
    const script = afterDiscovery(site, 2);
    let consumer = 0;
    let accepted = 0;
    /** Every trigger's expected audit entry, in order: [name, result, new state]. */
    const audits: Array<[string, number, string]> = [];
    const pull = (trigger: Trigger): ControlState => {
      const c = firmware(site);
      if (SOURCE[trigger] === "head-end") {
        const o = command(site, trigger === "remoteDisconnect" ? "disconnect" : "reconnect", consumer);
        check.equal(o.code, ResultCode.ok, `${trigger} accepted`);
      } else check.equal(c.latch.trigger(consumer, trigger, SOURCE[trigger]).code, "ok", `${trigger} accepted`);
      accepted++;
      audits.push([`latch.${consumer}.${trigger}`, ChangeResult.applied, String(c.latch.state(consumer))]);
      return c.latch.state(consumer);
    };
    /** From any state to `target` through mode 2 (a, b, e, g), then into `mode`. */
    const reach = (target: ControlState, mode: ControlMode) => {
      const latch = firmware(site).latch;
      check.equal(latch.setMode(consumer, 2, "head-end").code, "ok", "mode 2 for the set-up");
      if (latch.state(consumer) !== target) {
        if (latch.state(consumer) === ControlState.disconnected) pull("remoteReconnect");
        else if (latch.state(consumer) === ControlState.readyForReconnection) pull("manualReconnect");
        if (target === ControlState.disconnected) pull("remoteDisconnect");
        if (target === ControlState.readyForReconnection) pull("localDisconnect");
      }
      check.equal(latch.setMode(consumer, mode, "head-end").code, "ok", `mode ${mode}`);
      check.equal(latch.state(consumer), target, `set-up reaches state ${target}`);
    };
    script.do("pick the consumer", () => (consumer = consumersOf(site, module)[0]!));
    for (const mode of ALL_MODES) {
      // Mode 0 is "always connected": the other states cannot exist in it.
      const states = mode === 0 ? [ControlState.connected] : [ControlState.connected, ControlState.disconnected, ControlState.readyForReconnection];
      for (const from of states) {
        for (const trigger of TRIGGERS) {
          const what = `mode ${mode}, ${trigger} from state ${from}`;
          let expectedOutput = true;
          script.do(what, () => {
            reach(from, mode);
            const c = firmware(site);
            const expected = expectedTransition(mode, from, trigger);
            const outcome = SOURCE[trigger] === "head-end"
              ? command(site, trigger === "remoteDisconnect" ? "disconnect" : "reconnect", consumer).code
              : c.latch.trigger(consumer, trigger, SOURCE[trigger]).code;
            const state = c.latch.state(consumer);
            if (expected) {
              accepted++;
              check.ok(outcome === "ok" || outcome === ResultCode.ok, `${what}: accepted`);
              check.equal(state, expected.to, `${what}: new state`);
              audits.push([`latch.${consumer}.${trigger}`, ChangeResult.applied, String(expected.to)]);
            } else {
              check.ok(outcome === "refused" || outcome === ResultCode.rejected, `${what}: refused`);
              check.equal(state, from, `${what}: state kept`);
              audits.push([`latch.${consumer}.${trigger}`, ChangeResult.denied, String(from)]);
            }
            expectedOutput = outputState(state);
          });
          script.within(MINUTE, `${what}: relay ${expectedOutput ? "closed" : "open"}`, () => module.relayConnected === expectedOutput);
          script.wait(5_000, `${what}: relay stays`, () => check.equal(module.relayConnected, expectedOutput, `${what}: relay after it settled`));
        }
      }
    }
    return runOf(site, script, 12 * HOUR, () => {
      const s = stored(firmware(site));
      check.equal(eventsOf(s, EventType.latchChange, consumer).length, accepted, "a latch-change event per accepted transition");
      // Every trigger, accepted or refused, reached the audit trail the head-end receives.
      const triggers = s.audits.filter((a) => a.name.startsWith(`latch.${consumer}.`) && !a.name.endsWith(".mode"));
      check.deepEqual(triggers.map((a) => [a.name, a.result, a.newValue]), audits, "audited triggers");
    });
  },
};

export const rebootWhileLatched: Scenario = {
  name: "core: a latched module that reboots cold (flat battery) and closes its relay is cut off again well within one poll interval, with a relay-mismatch alarm",
  start(seed) {
    const site = calmSite(seed, { modules: 2 });
    const module = site.world.local[0]![0]!;
    module.setBattery(false);
    const script = afterDiscovery(site, 2);
    const s = site.world.scheduler;
    let consumers: number[] = [];
    script.do("disconnect every consumer of the module", () => {
      consumers = consumersOf(site, module);
      for (const m of consumers) check.equal(command(site, "disconnect", m).code, ResultCode.ok, "disconnect accepted");
    });
    script.within(MINUTE, "relay open", () => !module.relayConnected);
    // Reboots a minute after a slot starts, just after the scheduled readout: the worst case for a poll.
    for (let i = 0; i < 3; i++) {
      script.when(`slot boundary ${i}`, () => s.now % POLL_MS > MINUTE && s.now % POLL_MS < 2 * MINUTE && s.now > (i + 1) * HOUR);
      script.do(`cold reboot ${i}`, () => module.reboot());
      script.within(1_000, "the cold start closes the relay", () => module.relayConnected);
      script.within(POLL_MS, "the latch re-asserted", () => !module.relayConnected);
    }
    script.wait(MINUTE, "the re-assertion verified");
    script.do("bus supply lost for 10 minutes (the module goes down cold)", () => module.cutPower(10 * MINUTE));
    script.within(11 * MINUTE, "back with its relay closed", () => module.relayConnected);
    script.within(POLL_MS, "the latch re-asserted", () => !module.relayConnected);
    script.wait(HOUR, "an hour more");
    return runOf(site, script, 8 * HOUR, () => {
      const c = firmware(site);
      const n = site.moduleNumber(module)!;
      const st = stored(c);
      const mismatches = eventsOf(st, EventType.relayMismatch, n);
      check.equal(mismatches.length, 4, "a relay-mismatch event per cold start");
      check.ok(mismatches.every((e) => e.alarm && e.detail === 1), "relay mismatches are alarms, detail 1 (found closed)");
      check.equal(eventsOf(st, EventType.powerRestore, n).length, 1, "the loss of the bus supply is seen (the module's power-failure count rose)");
      // The clock a cold start resets is set again (once per readout that finds it unset).
      check.ok(eventsOf(st, EventType.clockSet, n).length >= 3, "clock-set events");
      check.ok(module.clock().valid && Math.abs(module.clock().epochMs - site.world.board.rtc.now()) < 5_000, "the module's clock is set");
      check.equal(c.latch.counters.mismatchesRepaired, c.latch.counters.mismatchesDetected, "every mismatch repaired");
      for (const m of consumers) check.equal(c.latch.state(m), ControlState.disconnected, `consumer ${m} still latched`);
      const r = site.report();
      check.ok(r.latchLongestSuppliedMs < POLL_MS, `longest supplied ${r.latchLongestSuppliedMs} ms`);
    });
  },
};

export const discovery: Scenario = {
  name: "core: discovery finds a module that appears, a moved one and a replaced one (the latch follows the household to the new module), and a dead one is reported missing and backed off",
  start(seed) {
    const site = calmSite(seed, { modules: 4 });
    const w = site.world;
    const [replaced, moved] = w.local[0]!;
    const dead = w.local[1]![0]!;
    let appeared: SimLocalModule | undefined;
    let latched = 0;
    let replacedNumber = 0;
    let deadFailures = 0;
    const script = afterDiscovery(site, 4);
    script.do("latch the first consumer of the module about to be replaced", () => {
      latched = consumersOf(site, replaced!)[0]!;
      replacedNumber = site.moduleNumber(replaced!)!;
      check.equal(command(site, "disconnect", latched).code, ResultCode.ok, "disconnect accepted");
    });
    script.within(MINUTE, "relay open", () => !replaced!.relayConnected);
    script.do("replace one, move one, install one, kill one", () => {
      replaced!.replace("77770001");
      moved!.move(String(10_000_001 + 6));
      const p = w.prng.fork("appeared");
      appeared = new SimLocalModule({
        scheduler: w.scheduler,
        prng: p,
        bus: w.buses[0]!,
        address: String(10_000_001 + 4),
        serial: "88880001",
        identity: { manufacturer: "ISk", model: "MT174" },
        meters: [new SimMeter({ serial: "55550001", kind: "serial", meanPowerW: 300, prng: p })],
      });
      w.local[0]!.push(appeared);
      dead.domain.powerOff("power-cut");
    });
    script.within(1_000, "the new module has its relay closed", () => replaced!.relayConnected);
    script.within(POLL_MS, "the latch is enforced on the new module", () => !replaced!.relayConnected);
    script.within(4 * POLL_MS, "the dead module is missing", () => {
      const n = site.moduleNumber(dead)!;
      return firmware(site).topology.module(n)!.state === "missing";
    });
    script.do("count the failures so far", () => (deadFailures = firmware(site).poller.counters.failed));
    // Discovery passes every 6 h: the moved and the new module are found by the next one.
    script.within(7 * HOUR, "the new and the moved module found", () => site.moduleNumber(appeared!) !== undefined && firmware(site).topology.module(site.moduleNumber(moved!)!)!.address === moved!.address);
    script.do("the dead module comes back", () => {
      const c = firmware(site);
      // Back-off: a missing module is tried after 1, 2, 4 … intervals, not every slot.
      check.ok(c.poller.counters.failed - deadFailures <= 6, `${c.poller.counters.failed - deadFailures} failed readouts in ~6 h while missing`);
      dead.domain.powerOn();
    });
    script.within(4 * HOUR + POLL_MS, "the dead module is present again", () => firmware(site).topology.module(site.moduleNumber(dead)!)!.state === "present");
    return runOf(site, script, 16 * HOUR, () => {
      const c = firmware(site);
      const st = stored(c);
      const newNumber = site.moduleNumber(replaced!)!;
      check.ok(newNumber !== replacedNumber, "the replacement has a number of its own");
      check.deepEqual(c.topology.meterLocation(latched)?.module.number, newNumber, "the latched consumer is behind the new module");
      check.deepEqual(c.latch.latched(), [newNumber], "the latch is enforced on the new module");
      const rep = eventsOf(st, EventType.moduleReplaced, newNumber);
      check.ok(rep.length === 1 && rep[0]!.detail === replacedNumber && rep[0]!.alarm, "one replaced alarm naming the old module");
      check.ok(st.readings.some((r) => r.meter === latched && (r.status & ReadingStatus.moduleReplaced) !== 0), "the first readings after the replacement are flagged");
      const movedNumber = site.moduleNumber(moved!)!;
      check.equal(eventsOf(st, EventType.moduleMoved, movedNumber).length, 1, "one moved event");
      check.equal(eventsOf(st, EventType.moduleNew, site.moduleNumber(appeared!)!).length, 1, "one new-module event for the one that appeared");
      const deadNumber = site.moduleNumber(dead)!;
      const loss = eventsOf(st, EventType.commLoss, deadNumber);
      const restore = eventsOf(st, EventType.commRestore, deadNumber);
      check.ok(loss.length === 1 && loss[0]!.detail === 3, "one comm-loss event for the dead module, after 3 failed readouts");
      const failed = c.buses[1]!.moduleStats(dead.address)!.failed;
      check.ok(restore.length === 1 && restore[0]!.detail === failed, `one comm-restore event counting the ${failed} failed readouts (${restore[0]?.detail})`);
    });
  },
};

export const smallSite: Scenario = {
  name: "core: a small site (6 local modules, 2 behind a PLC bridge, a feeder) runs for 3 hours through a mains failure, module reboots and openings, with latches held",
  start(seed) {
    const site = new Site({
      seed,
      days: 0.125,
      modules: 6,
      plc: 2,
      radio: 0,
      dlmsMeters: 0,
      balanceConsumers: 3,
      flatBatteryShare: 0.3,
      mainsFailuresPerDay: 8,
      meanOutageMs: 30 * MINUTE,
      moduleRebootsPerDay: 4,
      openingsPerDay: 4,
      repeaterOutagesPerDay: 4,
      board: { power: { capacityMah: 100 } },
    });
    const w = site.world;
    const latched = w.local[1]!.slice(0, 2);
    let consumers: number[] = [];
    const script = afterDiscovery(site, 9);
    script.do("latch the consumers of two modules", () => {
      consumers = latched.flatMap((m) => consumersOf(site, m));
      for (const m of consumers) check.equal(command(site, "disconnect", m).code, ResultCode.ok, "disconnect accepted");
    });
    script.wait(3 * HOUR, "3 hours");
    return runOf(site, script, 4 * HOUR, () => {
      const r = site.report();
      check.equal(r.modulesDiscovered, 9, "modules discovered");
      check.ok(r.faults.mainsFailures + r.faults.moduleReboots + r.faults.openings > 0, "faults happened");
      check.ok(r.readingsAcquired >= 0.8 * r.readingsExpected, `readings ${r.readingsAcquired} of ${r.readingsExpected}`);
      check.equal(r.readingsStored, r.readingsRead + r.backfillReadingsStored, "every reading read or back-filled is stored");
      const c = site.concentrator;
      if (c) for (const m of consumers) check.equal(c.latch.state(m), ControlState.disconnected, "latches held");
    });
  },
};

export const scenarios: Scenario[] = [ic70Matrix, rebootWhileLatched, discovery, smallSite];
