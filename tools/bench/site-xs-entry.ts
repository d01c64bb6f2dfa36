/**
 * Evaluated inside XS (xsnap) by site-xs-run.ts: the site simulation of a 256-meter installation
 * (tools/site), its turns metered with xsnap's meter (`resetMeter`), in cranks of a few simulated
 * seconds that end with a garbage collection, so each crank's `currentHeapCount` is the machine's
 * live heap at that moment. docs/memory.md says what each figure is.
 *
 * Commands (JSON): {op:"noop"} | {op:"start", seed, modules, days, firmwareUplink} |
 * {op:"run", untilMs} | {op:"release"} | {op:"released"} | {op:"forgetHeadend"} | {op:"report"}.
 *
 * The firmware's turns. A turn of the simulation runs simulated devices (meters answering, the
 * wire, the modem emulator) and, when the board's hardware calls into the firmware, the firmware's
 * callback: only that callback is the firmware's event-loop turn on the device. The HAL simulation's
 * entry points into the firmware (timers, serial readable and writable, crypto results, inputs,
 * mains, the boot) are wrapped here: the board's boot runs the firmware on a HAL whose callbacks are
 * metered apart (the meter is set back afterwards: the crank's total stays whole). Simulated devices
 * (the modem emulator's own UART, the modules' clocks) are not wrapped: they are not the firmware.
 *
 * The world's heap. `release` (in a copy of the machine, from a snapshot) cuts the board's power,
 * lets the callbacks already posted lapse, and frees the firmware: what stays live is the simulated
 * world. XS keeps the last instance constructed of each class that has private methods alive even
 * when nothing references it (measured: `class D { #p() {} }`, two instances made and dropped, the
 * second is never collected; a class without private methods frees both), so after the cut the last
 * Concentrator, Poller, ... would hold the whole firmware: `release` constructs a throwaway instance
 * of every class in the bundle (each throws at once on its missing options, after XS made the
 * instance; tools/xs/bundle.ts exports the classes a module keeps to itself). A FinalizationRegistry
 * (which keeps nothing alive, unlike a WeakRef, whose target xsnap keeps for good) tells whether the
 * firmware's parts were collected.
 */
import { namespaces } from "generated:classes";
import type { DigitalInputProvider, Hal, SerialOptions, SerialPortProvider } from "../../hal/index.js";
import { SimBoard } from "../../hal/sim/board.js";
import { Concentrator } from "../../firmware/app/concentrator.js";
import type { Reading } from "../../firmware/model/records.js";
import { Site } from "../site/site.js";
import { serveJsonCommands } from "../xs/json-commands.js";

/** xsnap's meter: sets the meter to `index` and returns the units counted since it was last set. */
declare function resetMeter(limit: number, index: number): number;
declare function gc(): void;

export interface KindFigures {
  turns: number;
  units: number;
  maxUnits: number;
  /** Simulated time of the largest turn, ms. */
  maxAtMs: number;
}

let site: Site | undefined;
/** The firmware's turns by kind (the HAL entry point that called it). */
const kinds: Record<string, KindFigures> = {};
/** Head-end turns: the simulated head-end handling a message (not the firmware's, counted apart). */
const headendTurns: KindFigures = { turns: 0, units: 0, maxUnits: 0, maxAtMs: 0 };
/** The firmware callback running now, if any (a callback inside a callback is the outer one's). */
let inFirmware = false;
/** Units the simulation spent inside the firmware's turn now (the site's ground truth): not the firmware's. */
let simulationInTurn = 0;
const freed: string[] = [];
const registry = new FinalizationRegistry<string>((part) => freed.push(part));
/** The firmware's parts watched for collection. */
const WATCHED = ["journal", "log", "topology", "poller", "acquirer", "uplink", "modem", "console"] as const;

function record(k: KindFigures, units: number, atMs: number): void {
  k.turns++;
  k.units += units;
  if (units > k.maxUnits) (k.maxUnits = units), (k.maxAtMs = atMs);
}

/** `fn` as the firmware's turn of kind `kind`: its units are metered apart. */
function metered<A extends unknown[]>(kind: string | (() => string), fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    if (inFirmware) return fn(...args);
    const before = resetMeter(0, 0);
    inFirmware = true;
    simulationInTurn = 0;
    try {
      fn(...args);
    } finally {
      inFirmware = false;
      const units = resetMeter(0, before);
      const name = typeof kind === "string" ? kind : kind();
      record((kinds[name] ??= { turns: 0, units: 0, maxUnits: 0, maxAtMs: 0 }), units - simulationInTurn, site?.world.scheduler.now ?? 0);
      resetMeter(0, before + units);
    }
  };
}

/** A serial port whose readable and writable callbacks are the firmware's turns of kind `name ...`. */
function meteredSerial(serial: SerialPortProvider, name: string): SerialPortProvider {
  return {
    open: (o: SerialOptions) =>
      serial.open({
        ...o,
        ...(o.onReadable ? { onReadable: metered(`${name} readable`, o.onReadable) } : {}),
        ...(o.onWritable ? { onWritable: metered(`${name} writable`, o.onWritable) } : {}),
      }),
  };
}

/** The board's HAL, each of its calls into the firmware metered as the firmware's turn (see the module's comment). */
function meteredHal(hal: Hal): Hal {
  const input = (p: DigitalInputProvider): DigitalInputProvider => ({ open: (o) => p.open({ ...o, ...(o.onChange ? { onChange: metered("input", o.onChange) } : {}) }) });
  const crypto = hal.crypto;
  return {
    ...hal,
    timers: { set: (cb, delayMs, repeatMs) => hal.timers.set(metered("timer", cb), delayMs, repeatMs), clear: (id) => hal.timers.clear(id) },
    rs485: hal.rs485.map((p) => ({ ...p, serial: meteredSerial(p.serial, "rs485") })),
    modem: { ...hal.modem, serial: meteredSerial(hal.modem.serial, "modem") },
    console: meteredSerial(hal.console, "console"),
    inputs: { door: input(hal.inputs.door), tamper: input(hal.inputs.tamper) },
    power: { open: (o) => hal.power.open({ ...o, ...(o.onMainsChange ? { onMainsChange: metered("mains", o.onMainsChange) } : {}) }) },
    crypto: {
      verifyEd25519: (m, sig, k, cb) => crypto.verifyEd25519(m, sig, k, metered("crypto result", cb)),
      aesGcmSeal: (k, iv, aad, p, t, cb) => crypto.aesGcmSeal(k, iv, aad, p, t, metered("crypto result", cb)),
      aesGcmOpen: (k, iv, aad, c, t, cb) => crypto.aesGcmOpen(k, iv, aad, c, t, metered("crypto result", cb)),
      sha256: () => crypto.sha256(),
    },
  };
}

/** `fn`, a part of the simulation the firmware calls in its turn: its units are not the firmware's. */
function simulationSide<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    const before = resetMeter(0, 0);
    try {
      fn(...args);
    } finally {
      const units = resetMeter(0, before);
      simulationInTurn += units;
      resetMeter(0, before + units);
    }
  };
}

/**
 * Every boot of a board runs the firmware on its metered HAL; the boot itself (the store's recovery,
 * the start) is a turn of kind "boot". The site's ground truth (tools/site: every reading stored,
 * for its report) listens to the firmware's stored readings inside the firmware's turn: metered apart.
 */
function meterFirmwareEntries(): void {
  const listen = Concentrator.prototype.onReadingsStored;
  Concentrator.prototype.onReadingsStored = function (this: Concentrator, listener: (readings: readonly Reading[]) => void) {
    listen.call(this, simulationSide(listener));
  };
  const onBoot = SimBoard.prototype.onBoot;
  SimBoard.prototype.onBoot = function (this: SimBoard, entry: (hal: Hal) => void) {
    onBoot.call(this, metered("boot", (hal: Hal) => entry(meteredHal(hal))));
  };
}

function runUntil(s: Site, untilMs: number): { nowMs: number } {
  const sched = s.world.scheduler;
  const headend = s.world.uplink?.headend;
  for (;;) {
    const next = sched.peek();
    if (next === undefined || next > untilMs) break;
    const handled = headend?.messages ?? 0;
    resetMeter(0, 0);
    sched.step();
    const units = resetMeter(0, 0);
    if ((headend?.messages ?? 0) !== handled) record(headendTurns, units, sched.now);
  }
  gc();
  return { nowMs: sched.now };
}

/** A throwaway instance of every class (capitalised) of the bundle's modules: see the module's comment. */
function evictLastInstances(): void {
  for (const ns of namespaces) {
    for (const [name, value] of Object.entries(ns)) {
      if (typeof value !== "function" || !/^[A-Z]/.test(name) || !value.prototype) continue;
      try {
        new (value as new () => unknown)();
      } catch {
        // Expected: the constructor needs its options. The instance was made before it threw.
      }
    }
  }
}

type Command =
  | { op: "noop" }
  | { op: "start"; seed: string; modules: number; days: number; firmwareUplink: boolean }
  | { op: "run"; untilMs: number }
  | { op: "release" }
  | { op: "released" }
  | { op: "forgetHeadend" }
  | { op: "report" };

function execute(cmd: Command): unknown {
  switch (cmd.op) {
    case "noop":
      gc();
      return {};
    case "start": {
      meterFirmwareEntries();
      const s = (site = new Site({ seed: cmd.seed, days: cmd.days, modules: cmd.modules, uplink: {}, ...(cmd.firmwareUplink ? {} : { config: { uplink: undefined } }) }));
      const c = s.concentrator!;
      registry.register(c, "concentrator");
      for (const part of WATCHED) if (c[part]) registry.register(c[part], part);
      gc();
      const meters = s.world.modules.reduce((n, m) => n + m.meters.length, 0) + s.world.dlms.meters.length;
      return { meters, modules: s.world.modules.length };
    }
    case "run":
      return runUntil(site!, cmd.untilMs);
    case "release": {
      // Power gone: the firmware's RAM is lost. The board's timers are cancelled with it; callbacks
      // already posted (a UART's readable or writable, a crypto result) are guarded and lapse.
      const s = site!;
      s.world.board.cutPower();
      s.world.scheduler.runFor(60_000);
      evictLastInstances();
      gc();
      return {};
    }
    case "released":
      // A new crank: the registry's callbacks ran after the previous one's collection.
      gc();
      return { boardOff: !site!.world.board.domain.on, freed: [...freed].sort() };
    case "forgetHeadend": {
      // What the simulated head-end keeps of what it received (its database), dropped.
      const store = site!.world.uplink!.headend!.store;
      store.readings.clear();
      store.events.clear();
      store.commands.length = 0;
      store.statuses.length = 0;
      gc();
      return {};
    }
    case "report": {
      const r = site!.report();
      return { kinds, headendTurns, readingsDelivered: r.readingsDelivered, readingsStored: r.readingsStored, lost: r.lost, internalErrors: r.internalErrors, boots: r.boots };
    }
  }
}

serveJsonCommands(execute);
