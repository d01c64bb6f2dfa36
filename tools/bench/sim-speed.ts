/**
 * How fast the simulation runs on the host: a simulated month of a 1 s timer (a quiet site), and an
 * hour of an RS485 bus kept 100% busy at 2400 Bd 7E1 with noise, priced per character.
 */
import { characterTimeMs } from "../../hal/serial.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import { SimUart } from "../../hal/sim/uart.js";
import type { Bench } from "./bench.js";

const DAY = 86_400_000;

export const simSpeed: Bench = {
  name: "simulation speed",
  async run() {
    // A month of idle timers (what a quiet site mostly is) ...
    const quiet = new Scheduler();
    let wall = performance.now();
    const tick = () => quiet.after(1000, tick);
    tick();
    quiet.runUntil(30 * DAY);
    const idleMonthMs = performance.now() - wall;

    // ... and an hour of a bus kept busy, to price each character.
    const s = new Scheduler();
    const prng = new Prng("bench");
    const bus = new Rs485Bus(s, prng, { noise: { flip: 1e-4 } });
    const d = new PowerDomain(s, "n");
    d.powerOn();
    const uart = new SimUart(d, "n", prng.fork("n"));
    const de = new SimDigitalOutput(d);
    de.write(1);
    bus.attach({ uart, de });
    const port = uart.open({ baud: 2400, frame: "7E1", onWritable: () => port.write(new Uint8Array(60)) });
    wall = performance.now();
    s.runUntil(3_600_000);
    const busHourMs = performance.now() - wall;
    const chars = bus.counters.characters;
    return {
      "idle month (1 s timer), wall ms": Math.round(idleMonthMs),
      "busy-bus characters simulated per wall second": Math.round(chars / (busHourMs / 1000)),
      "busy-bus simulated hours per wall second": Number((1 / (busHourMs / 1000)).toFixed(1)),
      "characters in the busy hour": chars,
      "wire time of one 2400 Bd character, ms": Number(characterTimeMs(2400).toFixed(4)),
    };
  },
};
