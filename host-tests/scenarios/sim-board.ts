/**
 * Scenarios for the simulated board: flash torn by a power cut, a mains failure that ends in a
 * brown-out and a reboot, the watchdog, OTA rollback, and determinism of a noisy bus.
 */
import type { Hal } from "../../hal/index.js";
import { characterTimeMs } from "../../hal/serial.js";
import { SimBoard } from "../../hal/sim/board.js";
import { buildEspImage } from "../../hal/sim/esp-image.js";
import { PowerDomain, PowerLossError } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import { SimUart } from "../../hal/sim/uart.js";
import { Trace } from "../../hal/sim/trace.js";
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";

const HOUR = 3_600_000;

export const flashPowerCut: Scenario = {
  name: "sim: a power cut during a flash program leaves a torn prefix and stops the board",
  start(seed) {
    const s = new Scheduler();
    const board = new SimBoard(s, new Prng(seed), { logBytes: 64 * 1024 });
    const f = board.logFlash;
    const record = new Uint8Array(200).map((_, i) => i & 0x7f);
    let thrown: unknown;
    let boots = 0;
    board.onBoot((hal: Hal) => {
      boots++;
      if (boots > 1) return;
      hal.flash.log.eraseBlock(0);
      f.cutAtOperation(1);
      try {
        hal.flash.log.write(0, record);
      } catch (e) {
        thrown = e;
      }
    });
    board.powerOn();
    return {
      scheduler: s,
      limitMs: 10,
      done: () => thrown !== undefined,
      check() {
        check.ok(thrown instanceof PowerLossError, "the interrupted program throws PowerLossError");
        check.equal(board.domain.on, false, "board is off after the cut");
        check.throws(() => board.hal.flash.log.read(0, 1), PowerLossError, "flash access without power");
        board.powerOn();
        const after = board.logFlash.read(0, 200);
        let prefix = 0;
        while (prefix < 200 && after[prefix] === record[prefix]) prefix++;
        for (let i = prefix + 1; i < 200; i++) check.equal(after[i], 0xff, `byte ${i} beyond the torn point stays erased`);
        if (prefix < 200) check.equal(after[prefix]! & record[prefix]!, record[prefix]!, "the boundary byte holds only some zeros");
        check.equal(boots, 2, "boots");
      },
    };
  },
};

export const brownoutAndReboot: Scenario = {
  name: "sim: mains failure drains the battery, the board browns out and boots when mains return",
  start(seed) {
    const s = new Scheduler();
    const board = new SimBoard(s, new Prng(seed), { power: { capacityMah: 500, loadMa: 250 } });
    const boots: number[] = [];
    const mainsEvents: boolean[] = [];
    board.onBoot((hal) => {
      boots.push(s.now);
      hal.power.open({ onMainsChange: (present) => mainsEvents.push(present) });
    });
    board.powerOn();
    s.at(1 * HOUR, () => board.power.setMains(false));
    s.at(6 * HOUR, () => board.power.setMains(true));
    return {
      scheduler: s,
      limitMs: 7 * HOUR,
      done: () => false,
      check() {
        // 500 mAh at 250 mA lasts 2 h: brown-out at 3 h, boot again at 6 h.
        check.equal(boots.length, 2, "boots");
        check.equal(boots[1], 6 * HOUR, "second boot when mains return");
        check.equal(board.power.brownouts, 1, "brown-outs");
        check.deepEqual(mainsEvents, [false], "mains events seen by the first boot");
        check.equal(board.system.resetReason, "brownout", "reset reason after the brown-out");
        check.ok(board.power.stateOfCharge() > 0.3, "battery recharging on mains");
      },
    };
  },
};

export const watchdogReset: Scenario = {
  name: "sim: a firmware that stops feeding the watchdog is reset, and an unconfirmed OTA image rolls back",
  start(seed) {
    const s = new Scheduler();
    const board = new SimBoard(s, new Prng(seed), { firmwareSlotBytes: 64 * 1024 });
    const image = buildEspImage({ version: "2.0.0", bundle: new Uint8Array(5000).fill(7) });
    const booted: string[] = [];
    board.onBoot((hal) => {
      const running = hal.firmware.running();
      booted.push(`${running.label} ${running.version} ${running.state}`);
      hal.watchdog.enable(5000);
      if (booted.length === 1) {
        const f = hal.firmware;
        f.release();
        for (let b = 0; b * f.blockSize < image.length; b++) f.eraseBlock(b);
        f.write(0, image);
        f.select(image.length);
        hal.system.restart();
      }
      // Later boots hang: never feed, never confirm.
    });
    board.powerOn();
    return {
      scheduler: s,
      limitMs: 20_000,
      done: () => booted.length >= 3,
      check() {
        check.deepEqual(booted, ["ota_0 1.0.0 none", "ota_1 2.0.0 pending-verify", "ota_0 1.0.0 none"], "slots booted: new image tried once, then rolled back");
        check.equal(board.watchdog.resets, 1, "watchdog resets");
        check.equal(board.firmware.inactive().state, "aborted", "the unconfirmed image is marked aborted");
      },
    };
  },
};

/** A noisy bus with two talkers; returns the trace digest. */
export function noisyBusDigest(seed: string): { digest: string; count: number } {
  const s = new Scheduler();
  const prng = new Prng(seed);
  const trace = new Trace();
  const bus = new Rs485Bus(s, prng, { trace, noise: { flip: 0.01, drop: 0.01, extra: 0.01 } });
  const ports = ["a", "b"].map((name) => {
    const d = new PowerDomain(s, name);
    const uart = new SimUart(d, name, prng.fork(name));
    const de = new SimDigitalOutput(d);
    bus.attach({ uart, de, echo: true });
    d.powerOn();
    const port = uart.open({ baud: 2400, frame: "7E1", onReadable: () => port.read() });
    return { port, de, rng: prng.fork(`${name}/talk`) };
  });
  const t = characterTimeMs(2400);
  for (let k = 0; k < 200; k++) {
    for (const p of ports) {
      s.at(p.rng.next() * 60_000, () => {
        const len = 1 + p.rng.int(20);
        p.de.write(1);
        p.port.write(new Uint8Array(len).map(() => p.rng.int(128)));
        s.after(len * t + t / 10, () => p.de.write(0));
      });
    }
  }
  s.runUntil(70_000);
  return { digest: trace.digest, count: trace.count };
}

export const determinism: Scenario = {
  name: "sim: the same seed gives an identical wire trace, another seed a different one",
  start(seed) {
    const s = new Scheduler();
    return {
      scheduler: s,
      limitMs: 0,
      done: () => true,
      check() {
        const a = noisyBusDigest(seed);
        const b = noisyBusDigest(seed);
        const c = noisyBusDigest(`${seed}+1`);
        check.ok(a.count > 1000, "trace has traffic");
        check.equal(b.digest, a.digest, "digest of a second run with the same seed");
        check.ok(c.digest !== a.digest, "another seed gives another trace");
      },
    };
  },
};

export const scenarios: Scenario[] = [flashPowerCut, brownoutAndReboot, watchdogReset, determinism];
