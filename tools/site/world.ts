/**
 * The simulated installation around a concentrator: the board, two RS485 buses of local modules
 * (identities and meters after real ones), a PLC and a radio bridge with remote modules behind
 * repeaters, a feeder balance meter for one group, the grid (mains failures reach the consumers and
 * the concentrator's cabinet alike), the bus supply of the modules (the concentrator's power-supply
 * module feeds it: when the board is down, modules run on their batteries or go down cold), and seeded
 * faults: module reboots, tamper and door openings, repeater outages. With `uplink`, also a GPRS
 * modem on the board and the network, broker and head-end behind it, with their faults (uplink-world.ts).
 *
 * Pure ECMAScript on hal/sim: the same world runs in the site simulation, the tests and inside XS.
 */
import { SimBoard, type SimBoardOptions } from "../../hal/sim/board.js";
import { populateBridge, type BridgeSite } from "../../hal/sim/bridge-site.js";
import { SimLocalModule } from "../../hal/sim/local-module.js";
import { SimFeederMeter, SimMeter } from "../../hal/sim/meters.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { populateBus } from "../../hal/sim/site.js";
import { UplinkWorld, type UplinkWorldOptions } from "./uplink-world.js";
import type { SimDlmsMeter } from "../../hal/sim/dlms/meter.js";
import { dlmsSite, type DlmsSite } from "./dlms-site.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Wall-clock time at simulated time 0, unless the board options say otherwise. */
const START_EPOCH_MS = Date.UTC(2026, 0, 1);
/** Bus addresses of the bridges (1..254; D0 modules use their own address space). */
export const PLC_BRIDGE_ADDRESS = 201;
export const RADIO_BRIDGE_ADDRESS = 202;

export interface WorldOptions {
  seed: string;
  /** The simulation's event loop; default a new one (a real-time runner passes the one it drives). */
  scheduler?: Scheduler;
  /** Local modules, half on each bus. Default 64. */
  modules?: number;
  /** Remote modules behind the PLC bridge (bus 0) and the radio bridge (bus 1). Defaults 8 and 4. */
  plc?: number;
  radio?: number;
  /** How long faults are scheduled for, days. */
  days: number;
  /** Mean mains failures per day (exponential gaps) and their mean duration, ms. Defaults 0.5 and 1.5 h. */
  mainsFailuresPerDay?: number;
  meanOutageMs?: number;
  /** Share of local modules whose backup battery is flat (they boot cold when the bus supply fails). Default 0.1. */
  flatBatteryShare?: number;
  /** Mean module reboots per module per day. Default 0.05. */
  moduleRebootsPerDay?: number;
  /** Mean tamper or door openings per module per day. Default 0.02. */
  openingsPerDay?: number;
  /** Mean repeater outages per repeater per day, and their mean duration. Defaults 0.5 and 1 h. */
  repeaterOutagesPerDay?: number;
  repeaterOutageMs?: number;
  /** Consumers (the first modules of bus 0) behind a feeder with a balance meter; 0 for none. Default 8. */
  balanceConsumers?: number;
  board?: SimBoardOptions;
  /** A GPRS modem on the board, the network behind it, and the broker and head-end (uplink-world.ts). */
  uplink?: UplinkWorldOptions;
  /** Flash content the board starts with (images a previous run kept), instead of erased parts. */
  flash?: { log: Uint8Array; state: Uint8Array };
  /** DLMS/COSEM meters, half on each bus (dlms-site.ts). Default 8. */
  dlmsMeters?: number;
  /**
   * Which modules keep a load profile (docs/backfill.md): "models" (default) as `PROFILE_DAYS` says per
   * model (basic eHZ modules have none), "all" every module (60 days when its model has none), "none" no module.
   */
  profileMemory?: ProfileMemoryChoice;
}

export type ProfileMemoryChoice = "models" | "all" | "none";

/**
 * Days of 15-minute load profile a module keeps, by manufacturer (FLAG id): L+G ZMD/ZMF and Iskra
 * MT174/MT382 keep about two months of a few channels, EMH LZQJ more, Elster A1800 about a month; the
 * Hager eHZ basic meters have no profile memory.
 */
export const PROFILE_DAYS: Readonly<Record<string, number>> = Object.freeze({ LGZ: 45, ISk: 60, EMH: 90, ELS: 35, HAg: 0 });
const PROFILE_DAYS_ALL = 60;

/** Options of a world without random faults, for a benchmark or a campaign that injects its own. */
export const NO_FAULTS = { mainsFailuresPerDay: 0, moduleRebootsPerDay: 0, openingsPerDay: 0, repeaterOutagesPerDay: 0, flatBatteryShare: 0, balanceConsumers: 0 } as const;

export interface FaultCounters {
  mainsFailures: number;
  moduleReboots: number;
  openings: number;
  repeaterOutages: number;
}

export class World {
  readonly scheduler: Scheduler;
  /** Wall-clock time at simulated time 0, ms since 1970. */
  readonly startEpochMs: number;
  readonly prng: Prng;
  readonly board: SimBoard;
  readonly buses: Rs485Bus[];
  /** Local modules per bus. */
  readonly local: SimLocalModule[][];
  readonly bridgeSites: Array<{ name: string; bus: number; address: number; site: BridgeSite }>;
  /** The feeder's balance meter, its module (on bus 0) and the consumer meter serials behind it. */
  readonly feeder: { meter: SimFeederMeter; module: SimLocalModule; consumers: string[] } | undefined;
  readonly faults: FaultCounters = { mainsFailures: 0, moduleReboots: 0, openings: 0, repeaterOutages: 0 };
  /** Every time the grid was down at the site, simulated ms (`untilMs` undefined while it still is). */
  readonly gridOutages: Array<{ fromMs: number; untilMs: number | undefined }> = [];
  /** The modem, the network and what is at its other end, when the site has an uplink. */
  readonly uplink: UplinkWorld | undefined;
  /** The DLMS meters on the buses and the concentrator's configuration for them. */
  readonly dlms: DlmsSite;
  #gridUp = true;

  constructor(o: WorldOptions) {
    const s = (this.scheduler = o.scheduler ?? new Scheduler());
    this.prng = new Prng(o.seed);
    const p = this.prng;
    const startEpochMs = (this.startEpochMs = o.board?.startEpochMs ?? START_EPOCH_MS);
    this.board = new SimBoard(s, p, { power: { capacityMah: 800 }, startEpochMs, ...o.board });
    if (o.flash) {
      this.board.logFlash.load(o.flash.log);
      this.board.stateFlash.load(o.flash.state);
    }
    const total = o.modules ?? 64;
    const perBus = Math.ceil(total / this.board.rs485.length);
    this.buses = this.board.rs485.map((port, i) => {
      const bus = new Rs485Bus(s, p, { name: `bus${i}` });
      bus.attach({ uart: port.uart, de: port.de, echo: true });
      return bus;
    });
    this.local = this.buses.map((bus, i) => {
      const count = Math.max(0, Math.min(perBus, total - i * perBus));
      return populateBus({ scheduler: s, prng: p.fork(`bus${i}`), bus, count, firstAddress: 10_000_001 + i * 1000 });
    });
    const specs = [
      { name: "plc0", kind: "plc" as const, address: PLC_BRIDGE_ADDRESS, modules: o.plc ?? 8, bus: 0, firstAddress: 20_000_001 },
      { name: "radio0", kind: "radio" as const, address: RADIO_BRIDGE_ADDRESS, modules: o.radio ?? 4, bus: 1 % this.buses.length, firstAddress: 30_000_001 },
    ].filter((b) => b.modules > 0);
    this.bridgeSites = specs.map((b) => ({
      name: b.name,
      bus: b.bus,
      address: b.address,
      site: populateBridge({ scheduler: s, prng: p.fork(`bridge-${b.kind}`), bus: this.buses[b.bus]!, kind: b.kind, address: b.address, modules: b.modules, firstAddress: b.firstAddress }),
    }));
    this.feeder = this.#feeder(o.balanceConsumers ?? 8);
    // With every meter keeping its profile, the DLMS meters write the entries of their outages too.
    this.dlms = dlmsSite(s, p.fork("dlms"), this.buses, o.dlmsMeters ?? 8, startEpochMs, o.profileMemory === "all");

    // The modules' bus supply follows the board; the grid reaches every consumer.
    this.board.domain.onPowerOff(() => this.#busPower(false));
    this.board.domain.onPowerOn(() => this.#busPower(true));
    const flat = o.flatBatteryShare ?? 0.1;
    const batteries = p.fork("batteries");
    for (const m of this.local.flat()) if (batteries.chance(flat)) m.setBattery(false);
    const profiles = o.profileMemory ?? "models";
    for (const m of this.modules) {
      const days = PROFILE_DAYS[m.identity.manufacturer] ?? 0;
      m.setProfileMemory(96 * (profiles === "none" ? 0 : profiles === "all" ? days || PROFILE_DAYS_ALL : days));
    }
    this.uplink = o.uplink ? new UplinkWorld(s, p.fork("uplink"), this.board, o.uplink, o.days, startEpochMs) : undefined;
    this.#scheduleFaults(o);
  }

  /** Every simulated DLMS meter. */
  get dlmsMeters(): SimDlmsMeter[] {
    return this.dlms.meters;
  }

  /** Every simulated module: local, behind bridges, and the feeder's. */
  get modules(): SimLocalModule[] {
    return [...this.local.flat(), ...this.bridgeSites.flatMap((b) => b.site.remotes.map((r) => r.module))];
  }

  get gridUp(): boolean {
    return this.#gridUp;
  }

  /** Candidate addresses per bus for the concentrator's discovery (the installation's address plan). */
  busAddresses(): string[][] {
    return this.local.map((mods, i) => {
      const first = 10_000_001 + i * 1000;
      // The plan covers more addresses than are installed, as a real one does.
      return Array.from({ length: Math.max(mods.length + 8, 16) }, (_, k) => String(first + k));
    });
  }

  /** Mains fail or return at the site: the concentrator's cabinet and every consumer. */
  setGrid(up: boolean): void {
    if (up === this.#gridUp) return;
    this.#gridUp = up;
    const now = this.scheduler.now;
    if (!up) this.gridOutages.push({ fromMs: now, untilMs: undefined });
    else this.gridOutages[this.gridOutages.length - 1]!.untilMs = now;
    for (const m of this.modules) {
      m.advanceMeters();
      for (const meter of m.meters) if (meter instanceof SimMeter) meter.setGrid(up);
    }
    for (const d of this.dlms.meters) d.setGrid(up);
    this.board.power.setMains(up);
  }

  #busPower(on: boolean): void {
    for (const m of this.local.flat()) m.busPower(on);
  }

  #feeder(consumers: number): World["feeder"] {
    const bus0 = this.local[0] ?? [];
    const fed = bus0.slice(0, consumers);
    if (fed.length === 0) return undefined;
    const meters = fed.flatMap((m) => m.meters.filter((x): x is SimMeter => x instanceof SimMeter));
    const meter = new SimFeederMeter({ serial: "9000000001", consumers: meters });
    const module = new SimLocalModule({
      scheduler: this.scheduler,
      prng: this.prng.fork("feeder"),
      bus: this.buses[0]!,
      address: String(10_000_001 + bus0.length),
      serial: "90000001",
      // A three-phase CT-connected meter in the transformer cabinet (L+G ZMD310CT class).
      identity: { manufacturer: "LGZ", model: "ZMD310CT.44" },
      meters: [meter],
    });
    bus0.push(module);
    return { meter, module, consumers: meters.map((m) => m.serial) };
  }

  #scheduleFaults(o: WorldOptions): void {
    const s = this.scheduler;
    const end = o.days * DAY;
    const every = (rate: number, label: string, fn: (p: Prng) => void) => {
      if (rate <= 0) return;
      const p = this.prng.fork(label);
      for (let t = p.exponential(DAY / rate); t < end; t += p.exponential(DAY / rate)) s.at(t, () => fn(p));
    };
    const grid = this.prng.fork("grid");
    const mainsRate = o.mainsFailuresPerDay ?? 0.5;
    if (mainsRate > 0) {
      for (let t = grid.exponential(DAY / mainsRate); t < end; t += grid.exponential(DAY / mainsRate)) {
        const duration = grid.exponential(o.meanOutageMs ?? 1.5 * HOUR);
        s.at(t, () => {
          this.faults.mainsFailures++;
          this.setGrid(false);
        });
        s.at(t + duration, () => this.setGrid(true));
        t += duration;
      }
    }
    for (const m of this.local.flat()) {
      every(o.moduleRebootsPerDay ?? 0.05, `reboots-${m.address}`, () => {
        this.faults.moduleReboots++;
        m.reboot();
      });
      every(o.openingsPerDay ?? 0.02, `openings-${m.address}`, (p) => {
        this.faults.openings++;
        const door = p.chance(0.5);
        if (door) m.setDoor(true);
        else m.setTamper(true);
        s.after(p.exponential(10 * 60_000), () => (door ? m.setDoor(false) : m.setTamper(false)));
      });
    }
    for (const b of this.bridgeSites) {
      for (const [id, domain] of b.site.repeaters) {
        const p = this.prng.fork(`outages-${b.address}-${id}`);
        const rate = o.repeaterOutagesPerDay ?? 0.5;
        if (rate <= 0) continue;
        for (let t = p.exponential(DAY / rate); t < end; t += p.exponential(DAY / rate)) {
          const duration = p.exponential(o.repeaterOutageMs ?? HOUR);
          s.at(t, () => {
            this.faults.repeaterOutages++;
            domain.powerOff("power-cut");
          });
          s.at(t + duration, () => domain.powerOn());
          t += duration;
        }
      }
    }
  }
}
