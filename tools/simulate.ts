#!/usr/bin/env node
/**
 * The site simulation (npm start): a concentrator board on simulated hardware, run for a number of
 * simulated days with seeded mains failures, printing a live progress line and a final report.
 *
 *   npm start
 *   npm run --silent simulate -- [--modules N] [--days D] [--seed S] [--json]
 *
 * It grows with each capability. Today: the board with two RS485 buses of simulated local modules
 * (half of --modules on each), a bus master per bus polling every module with a mode D readout in a
 * cycle every 15 minutes on the board's HAL, mains failures and brown-outs.
 */
import { SimBoard } from "../hal/sim/board.js";
import { Prng } from "../hal/sim/prng.js";
import { Scheduler } from "../hal/sim/scheduler.js";
import { Rs485Bus } from "../hal/sim/rs485-bus.js";
import { populateBus } from "../hal/sim/site.js";
import { BusMaster } from "../firmware/bus/bus-master.js";
import { runPollCycle } from "../firmware/bus/poll-cycle.js";
import { readingsOf } from "../firmware/d0/readings.js";
import type { Hal } from "../hal/index.js";
import { parseOptions, UsageError } from "./cli-args.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Poll cycle period (seeds/004: 15-minute values). */
const CYCLE_MS = 15 * 60_000;

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
  wallMs: number;
}

export function simulateSite(options: { days: number; seed: string; modules?: number; onProgress?: (dayFraction: number, report: SiteReport) => void }): SiteReport {
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
  const polled = new Set<string>();
  let ok = 0, failed = 0, readings = 0, cycles = 0, ratioSum = 0;
  const masters: BusMaster[] = [];
  // The firmware at this level: a bus master per bus, a poll cycle of every module every 15 minutes.
  board.onBoot((hal: Hal) => {
    masters.length = 0;
    hal.rs485.forEach((port, i) => {
      const addresses = modules[i]!;
      if (addresses.length === 0) return;
      const master = new BusMaster({ port, clock: hal.clock, timers: hal.timers });
      masters.push(master);
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
    wallMs: Date.now() - started,
  });
  for (let t = 0; t < end; t += HOUR) {
    s.runUntil(Math.min(end, t + HOUR));
    options.onProgress?.(s.now / end, report());
  }
  return report();
}

function main(): void {
  const o = parseOptions(process.argv.slice(2), { days: "number", seed: "string", json: "boolean", modules: "number" });
  const days = o.days ?? 1;
  const seed = o.seed ?? "1";
  const modules = o.modules ?? 64;
  if (!(Number.isInteger(modules) && modules >= 0 && modules <= 512)) throw new UsageError("--modules: 0..512");
  const tty = !o.json && process.stdout.isTTY;
  const report = simulateSite({
    days,
    seed,
    modules,
    onProgress: tty
      ? (f, r) => process.stdout.write(`\rsimulating: day ${(f * days).toFixed(2)} of ${days}, readouts ${r.readoutsOk} ok / ${r.readoutsFailed} failed, ${r.readingsAcquired} readings   `)
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
