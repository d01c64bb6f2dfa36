/**
 * Scenarios for PLC and radio bridges (docs/bridge.md): the bridge transport (firmware/bridge) on a
 * bus master, reaching simulated local modules behind simulated bridges (hal/sim/bridge*.ts) through
 * repeaters, with the bus shared with local modules. They run under mocha and inside XS.
 */
import { eventLogEntries, readEventLog, readRelay, relayState, writeRelay } from "../../firmware/bus/local-module.js";
import { runPollCycle, type CycleReport } from "../../firmware/bus/poll-cycle.js";
import type { Readout, ReadoutResult, SessionResult } from "../../firmware/bus/types.js";
import type { RemoteModule } from "../../firmware/bridge/transport.js";
import type { DiscoveryResult } from "../../firmware/bridge/transport.js";
import type { Answer } from "../../firmware/bridge/client.js";
import { baudOf } from "../../firmware/d0/modes.js";
import { readingsOf } from "../../firmware/d0/readings.js";
import type { SimLocalModule } from "../../hal/sim/local-module.js";
import { bridgeSite, truthOf, type BridgeBusSite } from "../../tools/sim/bus-rig.js";
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";

/** Runs `steps` one after the other; each calls its `next` when it is over. */
export function sequence(steps: ReadonlyArray<(next: () => void) => void>, done: () => void): void {
  const run = (i: number): void => (i < steps.length ? steps[i]!(() => run(i + 1)) : done());
  run(0);
}

/** Meter registers of a readout against the module's own (d0-bus.ts truthOf); the first difference, or undefined. */
export function readoutDiffers(module: SimLocalModule, readout: Readout): string | undefined {
  const readings = readingsOf(readout.dataSets, { meterOf: (b) => b, time: 0 });
  for (const [key, wh] of truthOf(module)) {
    const [b, reg] = key.split(":") as [string, string];
    const got = readings.find((x) => x.meter === Number(b) && `${(x.register >> 16) & 255}.${(x.register >> 8) & 255}.${x.register & 255}` === reg);
    if (!got || got.value !== wh) return `${module.address} meter ${b} ${reg}: ${got?.value} ≠ ${wh}`;
  }
  return undefined;
}

/** Discovers every bridge of the site, then runs `then`. */
function discoverAll(site: BridgeBusSite, then: (results: Array<Answer<DiscoveryResult>>) => void): void {
  const results: Array<Answer<DiscoveryResult>> = [];
  sequence(
    site.bridges.map((b) => (next) => b.transport.discover((r) => (results.push(r), next()))),
    () => then(results),
  );
}

const readoutsAtEveryLevel: Scenario = {
  name: "bridge: a PLC bridge's modules behind 0, 1 and 2 repeaters are read exactly while the local modules on the same bus are polled",
  start(seed) {
    const site = bridgeSite(seed, { bridges: [{ kind: "plc", address: 7, modules: 6 }], localModules: 8 });
    const { sim, transport } = site.bridges[0]!;
    const remote = new Map<string, Readout>();
    let local: CycleReport | undefined;
    let remoteCycle: CycleReport | undefined;
    discoverAll(site, () => {
      runPollCycle({ bus: site.master, clock: site.clock, addresses: site.local.map((m) => m.address), onDone: (r) => (local = r) });
      runPollCycle({
        bus: transport,
        clock: site.clock,
        addresses: transport.addresses,
        onReadout: (address, readout) => remote.set(address, readout),
        onDone: (r) => (remoteCycle = r),
      });
    });
    return {
      scheduler: site.scheduler,
      limitMs: 600_000,
      done: () => local !== undefined && remoteCycle !== undefined,
      check() {
        check.equal(local?.ok, 8, "local modules read while the bridge relays");
        check.equal(remoteCycle?.ok, 6, "remote modules read");
        check.deepEqual(sim.remotes.map((r) => r.level), [0, 1, 2, 0, 1, 2], "levels");
        for (const r of sim.remotes) {
          const readout = remote.get(r.module.address);
          const diff = readout ? readoutDiffers(r.module, readout) : "not read";
          check.ok(diff === undefined, `exact readout: ${diff}`);
        }
        check.ok(remoteCycle!.ratio > 1 && remoteCycle!.ratio < 3, `remote cycle / air lower bound ${remoteCycle!.ratio.toFixed(2)} in (1, 3)`);
        check.equal(transport.counters.routeFailures, 0, "route failures");
        for (const r of sim.remotes) check.equal(transport.routeStats(r.module.address)![0]!.relays, 1, `${r.module.address}: one relay, on the primary route`);
      },
    };
  },
};

const sessionThroughRepeater: Scenario = {
  name: "bridge: a programming session through a PLC repeater opens the relay, reads it back, and reads the event log in partial blocks",
  start(seed) {
    const site = bridgeSite(seed, { bridges: [{ kind: "plc", address: 7, modules: 2 }] });
    const { sim, transport } = site.bridges[0]!;
    const m = sim.remotes[1]!.module;
    for (let i = 0; i < 3; i++) {
      m.setDoor(true);
      m.setDoor(false);
    }
    let open: SessionResult | undefined;
    let closed: SessionResult | undefined;
    discoverAll(site, () =>
      sequence(
        [
          (next) => transport.enqueue({ kind: "session", address: m.address, password: "00000000", commands: [writeRelay(false), readRelay(), readEventLog()], onDone: (r) => ((open = r), next()) }),
          (next) => transport.enqueue({ kind: "session", address: m.address, password: "00000000", commands: [writeRelay(true), readRelay()], onDone: (r) => ((closed = r), next()) }),
        ],
        () => undefined,
      ),
    );
    let relayAfterOpen: boolean | undefined;
    return {
      scheduler: site.scheduler,
      limitMs: 600_000,
      done: () => {
        if (open && relayAfterOpen === undefined) relayAfterOpen = m.relayConnected;
        return closed !== undefined;
      },
      check() {
        check.equal(sim.remotes[1]!.level, 1, "the module is behind a repeater");
        check.ok(open?.ok, `first session: ${JSON.stringify(open)}`);
        if (!open?.ok) return;
        check.equal(open.operand, m.serial, "P0 carries the module serial");
        check.deepEqual(open.results[0], { ok: true, dataSets: [] }, "W1 relay acknowledged");
        check.equal(open.results[1]!.ok && relayState(open.results[1]!.dataSets), false, "R1 reads the relay open");
        check.equal(relayAfterOpen, false, "the module's relay was open after the first session");
        const log = open.results[2]!.ok ? eventLogEntries(open.results[2]!.dataSets) : [];
        check.ok(log.length > 4, `the event log spans several partial blocks (${log.length} entries)`);
        check.deepEqual(log.map((e) => e.code), m.log.slice(0, log.length).map((e) => e.code), "event log codes");
        check.ok(closed?.ok && closed.results[1]!.ok && relayState(closed.results[1]!.dataSets) === true, "second session closes the relay and reads it back");
        check.equal(m.relayConnected, true, "relay connected at the end");
        check.equal(open.identification.baud, baudOf("C", m.identity.sessionBaudChar ?? "5"), "the sign-on switched to the module's rate");
      },
    };
  },
};

const failover: Scenario = {
  name: "bridge: when the primary route's repeater loses power the backup takes over without a failed readout, and the primary is used again after it recovers",
  start(seed) {
    const site = bridgeSite(seed, { bridges: [{ kind: "plc", address: 7, modules: 2 }] });
    const { sim, transport } = site.bridges[0]!;
    const target = sim.remotes[1]!;
    const repeater = sim.repeaters.get(target.primary[0]!)!;
    const results: ReadoutResult[] = [];
    let backupRelaysAtRecovery = -1;
    let primaryRelaysAtRecovery = -1;
    let finished = false;
    const read = (next: () => void) => transport.enqueue({ kind: "readout", address: target.module.address, onDone: (r) => (results.push(r), next()) });
    const pause = (ms: number) => (next: () => void) => site.clock.set(next, ms);
    const steps: Array<(next: () => void) => void> = [read];
    steps.push((next) => (repeater.powerOff("power-cut"), next()));
    for (let i = 0; i < 4; i++) steps.push(read, pause(5 * 60_000));
    steps.push((next) => (repeater.powerOn(), next()));
    // Until the primary is tried again (after probeAfterMs, 10 min) and a little beyond.
    for (let i = 0; i < 6; i++) steps.push(pause(5 * 60_000), read);
    steps.push((next) => {
      const [primary, backup] = transport.routeStats(target.module.address)!;
      primaryRelaysAtRecovery = primary!.relays;
      backupRelaysAtRecovery = backup!.relays;
      next();
    });
    steps.push(read, read);
    discoverAll(site, () => sequence(steps, () => (finished = true)));
    return {
      scheduler: site.scheduler,
      limitMs: 4 * 3_600_000,
      done: () => finished,
      check() {
        check.equal(target.level, 1, "the module is reachable only through a repeater");
        check.deepEqual(target.primary.join() !== target.backup.join(), true, "two routes");
        check.equal(results.length, 13, "readouts");
        results.forEach((r, i) => check.ok(r.ok, `readout ${i}: ${r.ok ? "" : `${r.failure.code} ${r.failure.detail}`}`));
        check.equal(transport.counters.failovers, 1, "one failover");
        check.equal(transport.counters.recoveries, 1, "one recovery");
        const [primary, backup] = transport.routeStats(target.module.address)!;
        check.ok(primary!.up && backup!.up, "both routes up at the end");
        check.equal(backup!.relays, backupRelaysAtRecovery, "no relay on the backup once the primary is back");
        check.equal(primary!.relays, primaryRelaysAtRecovery + 2, "the last two readouts went by the primary");
        check.ok(backup!.relays >= 3, `the backup carried the readouts while the repeater was down (${backup!.relays})`);
      },
    };
  },
};

/** Where the degrading link ends, dB at the highest rate: 9 dB at 1200 bit/s loses most frames, 12 dB at 600 few. */
const WORST_SNR_DB = 6;

const rateAdaptation: Scenario = {
  name: "bridge: on a degrading link the rate steps down instead of failing readouts over, and steps back up when the link recovers",
  start(seed) {
    const site = bridgeSite(seed, { bridges: [{ kind: "plc", address: 7, modules: 1 }] });
    const { sim, transport } = site.bridges[0]!;
    const target = sim.remotes[0]!;
    const link = sim.medium.link(0, target.node.id)!;
    const results: ReadoutResult[] = [];
    const rates: number[] = [];
    let finished = false;
    const read = (next: () => void) =>
      transport.enqueue({
        kind: "readout",
        address: target.module.address,
        onDone: (r) => {
          results.push(r);
          rates.push(transport.routeStats(target.module.address)![0]!.rateBps);
          site.clock.set(next, 60_000);
        },
      });
    const steps: Array<(next: () => void) => void> = [read, read];
    // The link's SNR at 2400 bit/s slides by 0.5 dB a minute to 6 dB (where only 600 bit/s or slower
    // gets frames through reliably, bridge-medium.ts), whatever it was, then recovers at once.
    const start = sim.medium.snrDb(link);
    for (let target = start - 0.5; target >= WORST_SNR_DB; target -= 0.5) {
      steps.push((next) => (link.degrade(0), link.degrade(sim.medium.snrDb(link) - target), next()), read);
    }
    steps.push((next) => (link.degrade(0), next()));
    for (let i = 0; i < 45; i++) steps.push(read);
    discoverAll(site, () => sequence(steps, () => (finished = true)));
    return {
      scheduler: site.scheduler,
      limitMs: 6 * 3_600_000,
      done: () => finished,
      check() {
        const failed = results.filter((r) => !r.ok);
        check.equal(failed.length, 0, `failed readouts ${JSON.stringify(failed)}`);
        const worst = Math.min(...rates);
        check.ok(worst <= 600, `the rate went down to ${worst} bit/s at ${WORST_SNR_DB} dB`);
        check.equal(rates[rates.length - 1], 2400, "back at 2400 bit/s after recovery");
        check.equal(transport.counters.failovers, 0, "no failover");
        check.ok(transport.counters.routeFailures <= 5, `route failures (each retried at once) ${transport.counters.routeFailures} ≤ 5 in ${results.length} readouts`);
        const primary = transport.routeStats(target.module.address)![0]!;
        check.ok(primary.slower >= 2 && primary.faster >= 2, `rate changes: ${primary.slower} down, ${primary.faster} up`);
      },
    };
  },
};

const discovery: Scenario = {
  name: "bridge: discovery through a PLC and a radio bridge on one bus lists every remote module with both routes, and each one answers a readout",
  start(seed) {
    const site = bridgeSite(seed, { bridges: [{ kind: "plc", address: 7, modules: 4 }, { kind: "radio", address: 9, modules: 3 }], localModules: 2 });
    let found: Array<Answer<DiscoveryResult>> | undefined;
    const cycles: CycleReport[] = [];
    const readouts = new Map<string, Readout>();
    discoverAll(site, (results) => {
      found = results;
      site.bridges.forEach((b) =>
        runPollCycle({
          bus: b.transport,
          clock: site.clock,
          addresses: b.transport.addresses,
          onReadout: (address, readout) => readouts.set(address, readout),
          onDone: (r) => cycles.push(r),
        }),
      );
    });
    return {
      scheduler: site.scheduler,
      limitMs: 3_600_000,
      done: () => cycles.length === 2,
      check() {
        check.equal(found?.length, 2, "both bridges discovered");
        site.bridges.forEach((b, i) => {
          const r = found![i]!;
          check.ok(r.ok, `bridge ${b.transport.address}: ${JSON.stringify(r)}`);
          if (!r.ok) return;
          check.equal(r.value.info.medium, b.sim.medium.profile.kind, "medium");
          check.deepEqual(r.value.info.ratesBps, b.sim.medium.profile.ratesBps, "rates");
          const expected: RemoteModule[] = b.sim.remotes.map((x) => ({ address: x.module.address, node: x.node.id, primary: x.primary, backup: x.backup }));
          check.deepEqual(r.value.modules, expected, `bridge ${b.transport.address}: modules and routes`);
        });
        check.equal(readouts.size, 7, "every remote module answered");
        for (const b of site.bridges) {
          for (const r of b.sim.remotes) {
            const diff = readoutDiffers(r.module, readouts.get(r.module.address)!);
            check.ok(diff === undefined, `exact readout: ${diff}`);
          }
        }
        check.ok(cycles.every((c) => c.failed === 0), "no failed readout");
      },
    };
  },
};

export const scenarios: Scenario[] = [readoutsAtEveryLevel, sessionThroughRepeater, failover, rateAdaptation, discovery];
