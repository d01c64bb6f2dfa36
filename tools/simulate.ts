#!/usr/bin/env node
/**
 * The site simulation (npm start): a concentrator board on simulated hardware, run for a number of
 * simulated days with seeded mains failures, printing a live progress line and a final report.
 *
 *   npm start
 *   npm run --silent simulate -- [--modules N] [--plc N] [--radio N] [--days D] [--seed S] [--json]
 *
 * It grows with each capability. Today: the board with two RS485 buses of simulated local modules
 * (half of --modules on each), a PLC bridge with --plc remote modules on the first bus and a radio
 * bridge with --radio on the second (docs/bridge.md; repeater levels 0-2, seeded fading, PLC evening
 * noise, repeaters that lose power now and then), a bus master per bus polling every local module
 * and a bridge transport per bridge polling every remote one with a mode D readout in a cycle every
 * 15 minutes on the board's HAL, mains failures and brown-outs.
 */
import { SimBoard } from "../hal/sim/board.js";
import { Prng } from "../hal/sim/prng.js";
import { Scheduler } from "../hal/sim/scheduler.js";
import { Rs485Bus } from "../hal/sim/rs485-bus.js";
import { populateBus } from "../hal/sim/site.js";
import { BusMaster } from "../firmware/bus/bus-master.js";
import { runPollCycle } from "../firmware/bus/poll-cycle.js";
import { BridgeTransport } from "../firmware/bridge/transport.js";
import { populateBridge, type BridgeSite } from "../hal/sim/bridge-site.js";
import { readingsOf } from "../firmware/d0/readings.js";
import type { Hal } from "../hal/index.js";
import { parseOptions, UsageError } from "./cli-args.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Poll cycle period (seeds/004: 15-minute values). */
const CYCLE_MS = 15 * 60_000;
/** Bus addresses of the bridges (1..254; D0 modules use their own address space). */
const PLC_BRIDGE_ADDRESS = 201;
const RADIO_BRIDGE_ADDRESS = 202;
/** A discovery that failed is tried again after this long, ms. */
const REDISCOVER_MS = 60_000;
/** Repeater outages: one every 2 days per repeater on average, lasting an hour on average. */
const OUTAGE_EVERY_MS = 2 * DAY;
const OUTAGE_MEAN_MS = HOUR;

export interface SiteReport {
  seed: string;
  days: number;
  simulatedMs: number;
  boots: number;
  brownouts: number;
  mainsFailures: number;
  busCharacters: number;
  /** Distinct modules read at least once. */
  modulesPolled: number;
  readoutsOk: number;
  readoutsFailed: number;
  readingsAcquired: number;
  /** Mean over buses of the wire time of every character over elapsed time (0..1). */
  busUtilisation: number;
  /** Mean over complete cycles and buses of cycle time / lower bound (docs/d0.md). */
  pollCycleRatio: number;
  cycles: number;
  /** Remote modules behind the bridges, those read at least once, and their readouts. */
  remoteModules: number;
  remoteModulesPolled: number;
  remoteReadoutsOk: number;
  remoteReadoutsFailed: number;
  /** A primary route went down and its module went over to the backup; a primary came back. */
  routeFailovers: number;
  routeRecoveries: number;
  /** Relays that did not reach their module (each retried on the other route). */
  routeFailures: number;
  /** Rate steps down and up over every route. */
  rateSteps: string;
  repeaterOutages: number;
  /** Mean over complete remote cycles of cycle time / air and wire lower bound (docs/bridge.md). */
  remoteCycleRatio: number;
  wallMs: number;
}

export function simulateSite(options: { days: number; seed: string; modules?: number; plc?: number; radio?: number; onProgress?: (dayFraction: number, report: SiteReport) => void }): SiteReport {
  const started = Date.now();
  const s = new Scheduler();
  const prng = new Prng(options.seed);
  const board = new SimBoard(s, prng, { power: { capacityMah: 800 } });
  const perBus = Math.ceil((options.modules ?? 64) / board.rs485.length);
  const modules: string[][] = [];
  const buses = board.rs485.map((port, i) => {
    const bus = new Rs485Bus(s, prng, { name: `bus${i}` });
    bus.attach({ uart: port.uart, de: port.de, echo: true });
    const count = Math.max(0, Math.min(perBus, (options.modules ?? 64) - i * perBus));
    modules.push(populateBus({ scheduler: s, prng: prng.fork(`bus${i}`), bus, count, firstAddress: 10_000_001 + i * 1000 }).map((m) => m.address));
    return bus;
  });
  // The bridges: PLC on the first bus, radio on the second.
  const bridgeSpecs = [
    { kind: "plc" as const, address: PLC_BRIDGE_ADDRESS, modules: options.plc ?? 8, bus: 0, firstAddress: 20_000_001 },
    { kind: "radio" as const, address: RADIO_BRIDGE_ADDRESS, modules: options.radio ?? 4, bus: 1 % buses.length, firstAddress: 30_000_001 },
  ].filter((b) => b.modules > 0);
  const bridges: Array<{ bus: number; address: number; site: BridgeSite }> = bridgeSpecs.map((b) => ({
    bus: b.bus,
    address: b.address,
    site: populateBridge({ scheduler: s, prng: prng.fork(`bridge-${b.kind}`), bus: buses[b.bus]!, kind: b.kind, address: b.address, modules: b.modules, firstAddress: b.firstAddress }),
  }));
  const polled = new Set<string>();
  const remotePolled = new Set<string>();
  let ok = 0, failed = 0, readings = 0, cycles = 0, ratioSum = 0;
  let remoteOk = 0, remoteFailed = 0, remoteCycles = 0, remoteRatioSum = 0;
  /** Every bridge transport of every boot, for the route counters. */
  const transports: BridgeTransport[] = [];
  // The firmware at this level: a bus master per bus, a transport per bridge, a poll cycle of every module every 15 minutes.
  board.onBoot((hal: Hal) => {
    hal.rs485.forEach((port, i) => {
      const addresses = modules[i]!;
      const onBus = bridges.filter((b) => b.bus === i);
      if (addresses.length === 0 && onBus.length === 0) return;
      const master = new BusMaster({ port, clock: hal.clock, timers: hal.timers });
      for (const b of onBus) {
        const transport = new BridgeTransport({ bus: master, clock: hal.clock, timers: hal.timers, address: b.address });
        transports.push(transport);
        const remoteCycle = () =>
          runPollCycle({
            bus: transport,
            clock: hal.clock,
            addresses: transport.addresses,
            onReadout: (address, r) => {
              remotePolled.add(address);
              remoteOk++;
              readings += readingsOf(r.dataSets, { meterOf: (m) => m, time: Math.floor(hal.wallClock.now() / 1000) }).length;
            },
            onFailure: () => remoteFailed++,
            onDone: (r) => {
              if (r.failed === 0 && r.ratio > 0) {
                remoteCycles++;
                remoteRatioSum += r.ratio;
              }
            },
          });
        const discover = () => transport.discover((r) => (r.ok && transport.addresses.length ? hal.timers.set(remoteCycle, 0, CYCLE_MS) : hal.timers.set(discover, REDISCOVER_MS)));
        discover();
      }
      if (addresses.length === 0) return;
      const cycle = () =>
        runPollCycle({
          bus: master,
          clock: hal.clock,
          addresses,
          onReadout: (address, r) => {
            polled.add(address);
            ok++;
            readings += readingsOf(r.dataSets, { meterOf: (b) => b, time: Math.floor(hal.wallClock.now() / 1000) }).length;
          },
          onFailure: () => failed++,
          onDone: (r) => {
            if (r.failed === 0 && r.ratio > 0) {
              cycles++;
              ratioSum += r.ratio;
            }
          },
        });
      hal.timers.set(cycle, 0, CYCLE_MS);
    });
  });
  board.powerOn();
  // Repeater outages: each repeater of each bridge loses power now and then.
  let outages = 0;
  for (const b of bridges) {
    for (const [id, domain] of b.site.repeaters) {
      const p = prng.fork(`outages-${b.address}-${id}`);
      for (let t = p.exponential(OUTAGE_EVERY_MS); t < options.days * DAY; t += p.exponential(OUTAGE_EVERY_MS)) {
        const duration = p.exponential(OUTAGE_MEAN_MS);
        s.at(t, () => {
          outages++;
          domain.powerOff("power-cut");
        });
        s.at(t + duration, () => domain.powerOn());
        t += duration;
      }
    }
  }
  // Mains failures: on average one every 2 days, lasting minutes to hours.
  const grid = prng.fork("grid");
  let failures = 0;
  for (let t = grid.exponential(2 * DAY); t < options.days * DAY; t += grid.exponential(2 * DAY)) {
    const duration = grid.exponential(1.5 * HOUR);
    s.at(t, () => {
      failures++;
      board.power.setMains(false);
    });
    s.at(t + duration, () => board.power.setMains(true));
  }
  const end = options.days * DAY;
  const routes = () => {
    let down = 0, up = 0;
    for (const t of transports) {
      for (const address of t.addresses) {
        for (const r of t.routeStats(address) ?? []) {
          down += r.slower;
          up += r.faster;
        }
      }
    }
    return `${down} down / ${up} up`;
  };
  const sum = (key: "failovers" | "recoveries" | "routeFailures") => transports.reduce((n, t) => n + t.counters[key], 0);
  const report = (): SiteReport => ({
    seed: options.seed,
    days: options.days,
    simulatedMs: s.now,
    boots: board.boots,
    brownouts: board.power.brownouts,
    mainsFailures: failures,
    busCharacters: buses.reduce((n, b) => n + b.counters.characters, 0),
    modulesPolled: polled.size,
    readoutsOk: ok,
    readoutsFailed: failed,
    readingsAcquired: readings,
    busUtilisation: Number((buses.reduce((n, b) => n + b.busyMs, 0) / buses.length / Math.max(1, s.now)).toFixed(4)),
    pollCycleRatio: cycles ? Number((ratioSum / cycles).toFixed(4)) : 0,
    cycles,
    remoteModules: bridges.reduce((n, b) => n + b.site.remotes.length, 0),
    remoteModulesPolled: remotePolled.size,
    remoteReadoutsOk: remoteOk,
    remoteReadoutsFailed: remoteFailed,
    routeFailovers: sum("failovers"),
    routeRecoveries: sum("recoveries"),
    routeFailures: sum("routeFailures"),
    rateSteps: routes(),
    repeaterOutages: outages,
    remoteCycleRatio: remoteCycles ? Number((remoteRatioSum / remoteCycles).toFixed(4)) : 0,
    wallMs: Date.now() - started,
  });
  for (let t = 0; t < end; t += HOUR) {
    s.runUntil(Math.min(end, t + HOUR));
    options.onProgress?.(s.now / end, report());
  }
  return report();
}

function main(): void {
  const o = parseOptions(process.argv.slice(2), { days: "number", seed: "string", json: "boolean", modules: "number", plc: "number", radio: "number" });
  const days = o.days ?? 1;
  const seed = o.seed ?? "1";
  const modules = o.modules ?? 64;
  const plc = o.plc ?? 8;
  const radio = o.radio ?? 4;
  if (!(Number.isInteger(modules) && modules >= 0 && modules <= 512)) throw new UsageError("--modules: 0..512");
  // The bridge's table index is one byte (docs/bridge.md).
  if (!(Number.isInteger(plc) && plc >= 0 && plc <= 255)) throw new UsageError("--plc: 0..255");
  if (!(Number.isInteger(radio) && radio >= 0 && radio <= 255)) throw new UsageError("--radio: 0..255");
  const tty = !o.json && process.stdout.isTTY;
  const report = simulateSite({
    days,
    seed,
    modules,
    plc,
    radio,
    onProgress: tty
      ? (f, r) => process.stdout.write(`\rsimulating: day ${(f * days).toFixed(2)} of ${days}, readouts ${r.readoutsOk} ok / ${r.readoutsFailed} failed, remote ${r.remoteReadoutsOk} ok / ${r.remoteReadoutsFailed} failed, ${r.readingsAcquired} readings   `)
      : undefined,
  });
  if (tty) process.stdout.write("\n");
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(`site simulation, seed ${seed}: ${days} day(s), ${modules} modules on ${2} buses, in ${report.wallMs} ms`);
  console.log(`  board boots ${report.boots}, mains failures ${report.mainsFailures}, brown-outs ${report.brownouts}`);
  console.log(`  modules polled ${report.modulesPolled}, readouts ${report.readoutsOk} ok / ${report.readoutsFailed} failed, readings ${report.readingsAcquired}`);
  console.log(`  bus utilisation ${(report.busUtilisation * 100).toFixed(1)}%, poll cycle / lower bound ${report.pollCycleRatio} over ${report.cycles} cycles, RS485 characters ${report.busCharacters}`);
  console.log(`  bridges: ${plc} PLC and ${radio} radio remote modules, polled ${report.remoteModulesPolled}, readouts ${report.remoteReadoutsOk} ok / ${report.remoteReadoutsFailed} failed, remote cycle / lower bound ${report.remoteCycleRatio}`);
  console.log(`  routes: ${report.routeFailovers} failovers, ${report.routeRecoveries} recoveries, ${report.routeFailures} relays that did not reach their module, rate steps ${report.rateSteps}, repeater outages ${report.repeaterOutages}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`simulate: ${e.message}`);
      process.exitCode = 2;
    } else throw e;
  }
}
