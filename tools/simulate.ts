#!/usr/bin/env node
/**
 * The site simulation (npm start): a concentrator board on simulated hardware, run for a number of
 * simulated days with seeded mains failures, printing a live progress line and a final report.
 *
 *   npm start
 *   npm run --silent simulate -- [--days D] [--seed S] [--json]
 *
 * It grows with each capability: today it runs the hardware (board, buses, power, brown-outs).
 */
import { SimBoard } from "../hal/sim/board.js";
import { Prng } from "../hal/sim/prng.js";
import { Scheduler } from "../hal/sim/scheduler.js";
import { Rs485Bus } from "../hal/sim/rs485-bus.js";
import { parseOptions, UsageError } from "./cli-args.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface SiteReport {
  seed: string;
  days: number;
  simulatedMs: number;
  boots: number;
  brownouts: number;
  mainsFailures: number;
  busCharacters: number;
  wallMs: number;
}

export function simulateSite(options: { days: number; seed: string; onProgress?: (dayFraction: number) => void }): SiteReport {
  const started = Date.now();
  const s = new Scheduler();
  const prng = new Prng(options.seed);
  const board = new SimBoard(s, prng, { power: { capacityMah: 800 } });
  const buses = board.rs485.map((port, i) => {
    const bus = new Rs485Bus(s, prng, { name: `bus${i}` });
    bus.attach({ uart: port.uart, de: port.de });
    return bus;
  });
  board.onBoot(() => undefined);
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
  for (let t = 0; t < end; t += HOUR) {
    s.runUntil(Math.min(end, t + HOUR));
    options.onProgress?.(s.now / end);
  }
  return {
    seed: options.seed,
    days: options.days,
    simulatedMs: s.now,
    boots: board.boots,
    brownouts: board.power.brownouts,
    mainsFailures: failures,
    busCharacters: buses.reduce((n, b) => n + b.counters.characters, 0),
    wallMs: Date.now() - started,
  };
}

function main(): void {
  const o = parseOptions(process.argv.slice(2), { days: "number", seed: "string", json: "boolean" });
  const days = o.days ?? 1;
  const seed = o.seed ?? "1";
  const tty = !o.json && process.stdout.isTTY;
  const report = simulateSite({
    days,
    seed,
    onProgress: tty ? (f) => process.stdout.write(`\rsimulating: day ${(f * days).toFixed(2)} of ${days}`) : undefined,
  });
  if (tty) process.stdout.write("\n");
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(`site simulation, seed ${seed}: ${days} day(s) in ${report.wallMs} ms`);
  console.log(`  board boots ${report.boots}, mains failures ${report.mainsFailures}, brown-outs ${report.brownouts}`);
  console.log(`  RS485 characters ${report.busCharacters}`);
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
