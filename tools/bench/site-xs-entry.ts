/**
 * Evaluated inside XS (xsnap) by site-xs-run.ts: the site simulation of a 256-meter installation
 * (tools/site), its turns metered with xsnap's meter (`resetMeter`), in cranks of a few simulated
 * seconds that end with a garbage collection, so each crank's `currentHeapCount` is the machine's
 * live heap at that moment. docs/memory.md says what each figure is.
 *
 * Commands (JSON): {op:"noop"} | {op:"start", seed, modules, days, firmwareUplink, profile?, slotsAhead} |
 * {op:"run", untilMs} | {op:"release"} | {op:"released"} (the parts freed, of those `watched`) | {op:"report"}.
 *
 * The firmware's turns. A turn of the simulation runs simulated devices (meters answering, the
 * wire, the modem emulator) and, when the board's hardware calls into the firmware, the firmware's
 * callback: only that callback is the firmware's event-loop turn on the device. The HAL simulation
 * calls into the code a circuit runs at one place, `PowerDomain.enter` (timers, serial readable and
 * writable, crypto results, inputs, mains), which is metered here for the board's parts
 * (`firmwareEntries`), the boot too (the meter is set back afterwards: the crank's total stays whole).
 * No callback the firmware registers is wrapped: a closure of the bench's per timer set or port
 * opened would be held by the HAL and freed with the firmware, so counted in the firmware's heap,
 * which on the device has no such wrapper. Simulated devices (the modem emulator's own UART, the
 * modules' clocks) are not metered: they are not the firmware.
 *
 * The world's heap. `release` (in a copy of the machine, from a snapshot) cuts the board's power,
 * and the board's alone (`cutTheBoardAlone`: the modules and the modem that hang on its supply on
 * the site keep their RAM, which is not the firmware's), which cancels what the board had posted,
 * and frees the firmware, with no simulated time passing: what stays live is the simulated world at
 * that crank. A FinalizationRegistry (which keeps nothing alive, unlike a WeakRef, whose target xsnap
 * keeps for good) tells whether the firmware's parts were collected. Two facts of XS (measured in
 * xsnap, docs/memory.md) stand in the way, and the entry works around both:
 * - The private methods of a class hold the last instance constructed of it. After the cut, the last
 *   Concentrator, Poller, ... would hold the whole firmware: `release` constructs a throwaway instance
 *   of every class in the bundle (each throws at once on its missing options, after XS made the
 *   instance; tools/xs/bundle.ts also exports, as `localClass_<name>`, the classes a module keeps to
 *   itself).
 * - A closure made inside a private method keeps that last instance for as long as it lives, even
 *   when the throwaway has replaced it since. The simulated head-end runs the firmware's own MQTT
 *   client class: its timer callbacks and connection handlers, made in private methods after the
 *   firmware's boot, held the firmware's client, and with it the firmware, whatever `release` did.
 *   So every boot of the board is followed by the same throwaway instances (outside the boot's
 *   metered turn): what the world makes afterwards holds those, not the firmware. The firmware's own
 *   closures hold them too, in place of its own instances, which it holds anyway: its heap is the
 *   same, give or take the throwaways, which stay in the world's figure as well.
 * The diagnostic (`profile` at the start; site-xs-run's `--profile`): every method of every class
 * of the bundle (the prototypes' own functions; getters, private methods and free functions are not
 * reachable) is wrapped so that the units of each call are counted, and the calls inside the
 * largest turn of each kind are kept: per method, its calls, its units with what it called
 * (inclusive, a recursive call counted once) and without (self); and, per kind and first method
 * counted in the turn (what the callback called first), the largest such turn and its costliest
 * calls, which tells apart turns of one kind that do different work. The wrapping costs units of its
 * own: measured at the start on an empty method and taken out of every figure (turns included), so
 * the figures come close to the measurement's, not equal (the wrapping's cost varies a little).
 */
import { namespaces } from "generated:classes";
import type { Hal } from "../../hal/index.js";
import { SimBoard } from "../../hal/sim/board.js";
import { SimLocalModule } from "../../hal/sim/local-module.js";
import { PowerDomain, type PowerOffReason } from "../../hal/sim/power-domain.js";
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
/** The board's parts whose calls into the firmware are its turns, and their kinds (`firmwareEntries`). */
let entries = new Map<object, string>();
/** The firmware callback running now, if any (a callback inside a callback is the outer one's). */
let inFirmware = false;
/** Units the simulation spent inside the firmware's turn now (the site's ground truth): not the firmware's. */
let simulationInTurn = 0;
const freed: string[] = [];
const registry = new FinalizationRegistry<string>((part) => freed.push(part));
/** Methods kept per largest turn by the diagnostic, the costliest (inclusive) first: of a kind, and of a kind and first method. */
const PROFILE_TOP = 40;
const PROFILE_ROOT_TOP = 12;
/** The diagnostic's calls in the turn now and, per kind, in its largest turn (see the module's comment). */
const profile = {
  on: false,
  turn: new Map<string, CallFigures>(),
  /** Calls of each method open now (a recursive call's units are in the outer one's). */
  open: new Map<string, number>(),
  /** Per open call, two entries: the units of the counted calls it made so far, and how many it made directly. */
  callees: [] as number[],
  /** Counted calls in the turn now. */
  calls: 0,
  /** Units of the wrapping per counted call (calibrated at the start), taken out of every figure. */
  overhead: 0,
  largest: {} as Record<string, Record<string, CallFigures>>,
  /** The first method counted in the turn now (what the callback called first). */
  root: undefined as string | undefined,
  /** Per kind and first method, the largest turn: its units, when, and its costliest calls. */
  byRoot: {} as Record<string, Record<string, RootFigures>>,
};
/** The firmware's parts watched for collection (those the firmware has: `watched`), beside the concentrator. */
const WATCHED = ["journal", "log", "topology", "poller", "acquirer", "uplink", "modem", "console"] as const;
/** The parts registered for collection at the start: every copy must free them all (site-xs-run.ts checks). */
const watched: string[] = [];

/** A method's calls inside one turn: how many, units with its callees (inclusive) and without (self). */
export interface CallFigures {
  calls: number;
  units: number;
  self: number;
}

/** The largest turn of a kind that began with a given method (the diagnostic's `byRoot`). */
export interface RootFigures {
  units: number;
  atMs: number;
  calls: Record<string, CallFigures>;
}

/** Records a turn; returns true when it is the largest of its kind so far. */
function record(k: KindFigures, units: number, atMs: number): boolean {
  k.turns++;
  k.units += units;
  if (units <= k.maxUnits) return false;
  (k.maxUnits = units), (k.maxAtMs = atMs);
  return true;
}

/** Runs `fn(...args)` as the firmware's turn of kind `kind`: its units are metered apart. */
function enterFirmware<A extends unknown[]>(kind: string, fn: (...args: A) => void, args: A): void {
  if (inFirmware) return fn(...args);
  const before = resetMeter(0, 0);
  inFirmware = true;
  simulationInTurn = 0;
  profile.turn.clear();
  profile.calls = 0;
  profile.root = undefined;
  try {
    fn(...args);
  } finally {
    inFirmware = false;
    const units = resetMeter(0, before);
    const own = units - simulationInTurn - profile.calls * profile.overhead;
    const atMs = site?.world.scheduler.now ?? 0;
    if (record((kinds[kind] ??= { turns: 0, units: 0, maxUnits: 0, maxAtMs: 0 }), own, atMs) && profile.on) profile.largest[kind] = costliest(PROFILE_TOP);
    if (profile.on) {
      const roots = (profile.byRoot[kind] ??= {});
      const root = profile.root ?? "(no method)";
      if (own > (roots[root]?.units ?? -1)) roots[root] = { units: own, atMs, calls: costliest(PROFILE_ROOT_TOP) };
    }
    resetMeter(0, before + units);
  }
}

/**
 * The board's parts that call into the firmware, by the kind of turn they start (a serial port's
 * kind is its name and the event, "rs485 readable"): registered at the board's boot.
 */
function firmwareEntries(board: SimBoard): Map<object, string> {
  return new Map<object, string>([
    [board.clock, "timer"],
    ...board.rs485.map((r) => [r.uart, "rs485"] as [object, string]),
    [board.modemUart, "modem"],
    [board.consoleUart, "console"],
    [board.door, "input"],
    [board.tamper, "input"],
    [board.power, "mains"],
    [board.crypto, "crypto result"],
  ]);
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

/** The `top` costliest (inclusive) methods counted in the turn now. */
function costliest(top: number): Record<string, CallFigures> {
  return Object.fromEntries([...profile.turn].sort((a, b) => b[1].units - a[1].units).slice(0, top));
}

/** `fn` as a method the diagnostic counts under `name` (see the module's comment). */
function counted(name: string, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  return function (this: unknown, ...args: unknown[]) {
    if (!inFirmware) return fn.apply(this, args);
    let f = profile.turn.get(name);
    if (!f) profile.turn.set(name, (f = { calls: 0, units: 0, self: 0 }));
    const open = profile.open.get(name) ?? 0;
    profile.open.set(name, open + 1);
    profile.root ??= name;
    profile.calls++;
    const callsBefore = profile.calls;
    profile.callees.push(0, 0);
    const before = resetMeter(0, 0);
    try {
      return fn.apply(this, args);
    } finally {
      const units = resetMeter(0, 0);
      const direct = profile.callees.pop()!;
      const callees = profile.callees.pop()!;
      // The wrapping's own units, of this call's callees (all of them) and around the direct ones.
      const inclusive = units - (profile.calls - callsBefore) * profile.overhead;
      profile.open.set(name, open);
      f.calls++;
      f.self += units - callees - direct * profile.overhead;
      if (open === 0) f.units += inclusive;
      const n = profile.callees.length;
      if (n) (profile.callees[n - 2]! += units), profile.callees[n - 1]!++;
      resetMeter(0, before + units);
    }
  };
}

/** The units one counted call adds to a turn (the wrapping), measured on an empty method. */
function calibrate(): number {
  const empty = (): void => undefined;
  const wrapped = counted("calibration", empty);
  const N = 100;
  const before = resetMeter(0, 0);
  inFirmware = true;
  for (let i = 0; i < N; i++) empty();
  const plain = resetMeter(0, 0);
  for (let i = 0; i < N; i++) wrapped();
  const total = resetMeter(0, 0);
  inFirmware = false;
  profile.turn.clear();
  profile.calls = 0;
  resetMeter(0, before + plain + total);
  return Math.max(0, Math.round((total - plain) / N));
}

/** Wraps every method of every class of the bundle for the diagnostic (see the module's comment). */
function countMethods(): void {
  for (const ns of namespaces) {
    for (const [exported, value] of Object.entries(ns)) {
      if (typeof value !== "function" || !/^(localClass_)?[A-Z]/.test(exported) || !value.prototype) continue;
      const cls = exported.replace(/^localClass_/, "");
      const proto = value.prototype as Record<string, unknown>;
      for (const key of Object.getOwnPropertyNames(proto)) {
        const d = Object.getOwnPropertyDescriptor(proto, key)!;
        if (key === "constructor" || typeof d.value !== "function" || !d.writable) continue;
        Object.defineProperty(proto, key, { ...d, value: counted(`${cls}.${key}`, d.value as (...args: unknown[]) => unknown) });
      }
    }
  }
}

/**
 * Every boot of a board runs the firmware, its calls from the board's parts metered; the boot itself (the store's recovery,
 * the start) is a turn of kind "boot". The site's ground truth (tools/site: every reading stored,
 * for its report) listens to the firmware's stored readings inside the firmware's turn: metered apart.
 */
function meterFirmwareEntries(): void {
  const listen = Concentrator.prototype.onReadingsStored;
  Concentrator.prototype.onReadingsStored = function (this: Concentrator, listener: (readings: readonly Reading[]) => void) {
    listen.call(this, simulationSide(listener));
  };
  // Where the board's hardware calls into the firmware (PowerDomain.enter): no closure of the
  // bench's per callback the firmware registers (a timer, a serial port's open, a crypto request).
  const enter = PowerDomain.prototype.enter;
  PowerDomain.prototype.enter = function <A>(this: PowerDomain, source: object, event: string, fn: (arg: A) => void, arg: A) {
    const name = entries.get(source);
    if (name === undefined) return enter.call<PowerDomain, [object, string, (arg: A) => void, A], void>(this, source, event, fn, arg);
    enterFirmware<[A]>(event === "readable" || event === "writable" ? `${name} ${event}` : name, fn, [arg]);
  };
  const onBoot = SimBoard.prototype.onBoot;
  SimBoard.prototype.onBoot = function (this: SimBoard, entry: (hal: Hal) => void) {
    entries = firmwareEntries(this);
    onBoot.call(this, (hal: Hal) => {
      enterFirmware("boot", entry, [hal]);
      evictLastInstances(); // see the module's comment: after the boot, outside its metered turn
    });
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

/**
 * Cuts the board's power and nothing else's, for `release`. On the site, the board's supply also
 * feeds the modules' bus supply (tools/site/world.ts) and the modem (hal/sim/modem): a plug pulled
 * there also takes down the modules with a flat battery (and the reply one of them may be sending),
 * makes the others log a mains failure, and switches the modem off. That is the modules' and the
 * modem's RAM, not the firmware's: the copy must lose the board's RAM alone, or the world's losses
 * count as the firmware's heap (and its gains, the log entries, come off it). So, during the cut, the
 * modules' bus supply is left alone and no other circuit goes off.
 */
function cutTheBoardAlone(board: SimBoard): void {
  const busPower = SimLocalModule.prototype.busPower;
  const powerOff = PowerDomain.prototype.powerOff;
  SimLocalModule.prototype.busPower = () => undefined;
  PowerDomain.prototype.powerOff = function (this: PowerDomain, reason: PowerOffReason) {
    if (this === board.domain) powerOff.call(this, reason);
  };
  try {
    board.cutPower();
  } finally {
    SimLocalModule.prototype.busPower = busPower;
    PowerDomain.prototype.powerOff = powerOff;
  }
}

/** A throwaway instance of every class (capitalised, or `localClass_`) of the bundle's modules: see the module's comment. */
function evictLastInstances(): void {
  for (const ns of namespaces) {
    for (const [name, value] of Object.entries(ns)) {
      if (typeof value !== "function" || !/^(localClass_)?[A-Z]/.test(name) || !value.prototype) continue;
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
  | { op: "start"; seed: string; modules: number; days: number; firmwareUplink: boolean; profile?: boolean; slotsAhead: number }
  | { op: "run"; untilMs: number }
  | { op: "release" }
  | { op: "released" }
  | { op: "report" };

/** Makes `slots` objects and drops them: XS keeps the heap it grew for them. */
function growSlotHeap(slots: number): void {
  const room: object[] = [];
  for (let i = 0; i < slots; i++) room.push({});
}

function execute(cmd: Command): unknown {
  switch (cmd.op) {
    case "noop":
      gc();
      return {};
    case "start": {
      growSlotHeap(cmd.slotsAhead);
      meterFirmwareEntries();
      if (cmd.profile) (profile.on = true), (profile.overhead = calibrate()), countMethods();
      const s = (site = new Site({ seed: cmd.seed, days: cmd.days, modules: cmd.modules, uplink: {}, ...(cmd.firmwareUplink ? {} : { config: { uplink: undefined } }) }));
      const c = s.concentrator!;
      registry.register(c, "concentrator");
      watched.push("concentrator");
      for (const part of WATCHED) if (c[part]) registry.register(c[part], part), watched.push(part);
      gc();
      const meters = s.world.modules.reduce((n, m) => n + m.meters.length, 0) + s.world.dlms.meters.length;
      return { meters, modules: s.world.modules.length };
    }
    case "run":
      return runUntil(site!, cmd.untilMs);
    case "release": {
      // Power gone: the firmware's RAM is lost. Everything the board had posted (its timers, a UART's
      // readable or writable, a crypto result) is cancelled with it (PowerDomain.powerOff), so no
      // simulated time passes: the world left is the world of this very crank. (Letting it run 10 s
      // instead, as before, finished the replies then on the wire, the modules' frames in their
      // senders' closures, and counted them as the firmware's: docs/memory.md.)
      cutTheBoardAlone(site!.world.board);
      evictLastInstances();
      gc();
      return {};
    }
    case "released":
      // A new crank: the registry's callbacks ran after the previous one's collection.
      gc();
      return { boardOff: !site!.world.board.domain.on, freed: [...freed].sort(), watched };
    case "report": {
      const r = site!.report();
      const calls = profile.on ? { calls: profile.largest, byRoot: profile.byRoot, callOverhead: profile.overhead } : {};
      return { kinds, headendTurns, readingsDelivered: r.readingsDelivered, readingsStored: r.readingsStored, lost: r.lost, internalErrors: r.internalErrors, boots: r.boots, ...calls };
    }
  }
}

serveJsonCommands(execute);
