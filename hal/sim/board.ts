/**
 * A simulated concentrator board: every HAL part wired to one power domain, built on a shared
 * scheduler and seeded PRNG. The simulation attaches the board's UARTs to buses and links, then calls
 * `powerOn()`; the function given to `onBoot` is the firmware entry point and runs at every boot with
 * the board's `Hal`.
 */
import type { Hal, Rs485Port } from "../index.js";
import { PowerDomain, type PowerOffReason } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import { SimClock, SimRtc } from "./clock.js";
import { SimDigitalInput, SimDigitalOutput } from "./digital.js";
import { buildEspImage } from "./esp-image.js";
import { SimFirmwareSlots } from "./firmware-slots.js";
import { SimNorFlash, type SharedFlashOperations } from "./nor-flash.js";
import { SimPowerSupply, type PowerSupplyOptions } from "./power-supply.js";
import { SimCrypto, SimInflater, SimRandom, SimSystemControl, SimWatchdog } from "./system.js";
import { SimUart } from "./uart.js";

export interface SimBoardOptions {
  name?: string;
  /** Number of RS485 ports. Default 2. */
  rs485Ports?: number;
  /** Size of the log partition in bytes. Default 4 MiB. */
  logBytes?: number;
  /** Size of the critical-state partition in bytes. Default 64 KiB. */
  stateBytes?: number;
  /** RTC time at the start of the simulation (ms since 1970). Default 2026-01-01T00:00:00Z. */
  startEpochMs?: number;
  /** RTC crystal error in ppm. Default 20. */
  rtcDriftPpm?: number;
  power?: PowerSupplyOptions;
  /** Delay from a reset to the next boot, ms. Default 300 (ESP32 ROM + bootloader + XS start). */
  bootDelayMs?: number;
  cryptoLatencyMs?: number;
  /** Whether the modem's RTS and CTS are wired to the modem UART (as on our PCB). Default true. */
  modemFlowControl?: boolean;
  /** Bytes per OTA slot. Default 0x1e0000 (manifests/partitions.csv). */
  firmwareSlotBytes?: number;
  /**
   * The image the board is programmed with at the factory (ota_0, boot choice erased): an ESP32 app
   * image (esp-image.ts). Default: a small image of version "1.0.0" (FACTORY_IMAGE).
   */
  firmwareImage?: Uint8Array;
}

export interface SimRs485Port {
  uart: SimUart;
  de: SimDigitalOutput;
}

/** Version of the default factory image. */
export const FACTORY_VERSION = "1.0.0";

let defaultImage: Uint8Array | undefined;
/** A small valid image of FACTORY_VERSION, built once. */
function factoryImage(): Uint8Array {
  return (defaultImage ??= buildEspImage({ version: FACTORY_VERSION, bundle: new Uint8Array(1024).map((_, i) => i & 0xff) }));
}

export class SimBoard {
  readonly name: string;
  readonly scheduler: Scheduler;
  readonly domain: PowerDomain;
  readonly clock: SimClock;
  readonly rtc: SimRtc;
  readonly rs485: readonly SimRs485Port[];
  readonly modemUart: SimUart;
  readonly modemPowerKey: SimDigitalOutput;
  readonly consoleUart: SimUart;
  readonly logFlash: SimNorFlash;
  readonly stateFlash: SimNorFlash;
  readonly door: SimDigitalInput;
  readonly tamper: SimDigitalInput;
  readonly power: SimPowerSupply;
  readonly watchdog: SimWatchdog;
  readonly system: SimSystemControl;
  readonly firmware: SimFirmwareSlots;
  readonly inflater: SimInflater;
  readonly crypto: SimCrypto;
  /**
   * Program and erase operations of every flash partition of the board (log, state, otadata, the OTA
   * slots), counted together; `cutAtFlashOperation` cuts the power at one of them.
   */
  readonly flashOperations: SharedFlashOperations = { operations: 0, cutAt: 0 };
  readonly hal: Hal;
  readonly #bootDelayMs: number;
  #boot: ((hal: Hal) => void) | undefined;
  #boots = 0;

  constructor(scheduler: Scheduler, prng: Prng, options: SimBoardOptions = {}) {
    const name = (this.name = options.name ?? "mc");
    const p = prng.fork(name);
    this.scheduler = scheduler;
    this.#bootDelayMs = options.bootDelayMs ?? 300;
    const d = (this.domain = new PowerDomain(scheduler, name));
    const reset = (why: PowerOffReason) => this.reset(why);
    this.clock = new SimClock(d);
    this.rtc = new SimRtc(d, { startEpochMs: options.startEpochMs ?? Date.UTC(2026, 0, 1), driftPpm: options.rtcDriftPpm ?? 20 });
    this.rs485 = Array.from({ length: options.rs485Ports ?? 2 }, (_, i) => ({
      uart: new SimUart(d, `${name}.rs485-${i}`, p.fork(`rs485-${i}`)),
      de: new SimDigitalOutput(d),
    }));
    this.modemUart = new SimUart(d, `${name}.modem`, p.fork("modem"));
    this.modemPowerKey = new SimDigitalOutput(d);
    this.consoleUart = new SimUart(d, `${name}.console`, p.fork("console"));
    const shared = this.flashOperations;
    this.logFlash = new SimNorFlash(d, p.fork("log-flash"), { byteLength: options.logBytes ?? 4 * 1024 * 1024, shared });
    this.stateFlash = new SimNorFlash(d, p.fork("state-flash"), { byteLength: options.stateBytes ?? 64 * 1024, shared });
    this.door = new SimDigitalInput(d);
    this.tamper = new SimDigitalInput(d);
    this.power = new SimPowerSupply(d, options.power);
    this.watchdog = new SimWatchdog(d, reset);
    this.system = new SimSystemControl(d, reset);
    this.firmware = new SimFirmwareSlots(d, p.fork("firmware"), reset, { slotBytes: options.firmwareSlotBytes, shared });
    this.firmware.install(options.firmwareImage ?? factoryImage());
    this.crypto = new SimCrypto(d, { latencyMs: options.cryptoLatencyMs });
    this.inflater = new SimInflater(d);
    const rs485: Rs485Port[] = this.rs485.map((r) => ({ serial: r.uart, direction: r.de }));
    this.hal = {
      clock: this.clock,
      timers: this.clock,
      wallClock: this.rtc,
      rs485,
      modem: { serial: this.modemUart, powerKey: this.modemPowerKey, flowControl: options.modemFlowControl ?? true },
      console: this.consoleUart,
      flash: { log: this.logFlash, state: this.stateFlash },
      inputs: { door: this.door, tamper: this.tamper },
      power: this.power,
      random: new SimRandom(d, p.fork("random")),
      watchdog: this.watchdog,
      system: this.system,
      firmware: this.firmware,
      crypto: this.crypto,
      inflater: this.inflater,
    };
    // The bootloader (registered first, by the slots) has run: the firmware starts only on an image.
    d.onPowerOn(() => {
      this.#boots++;
      if (this.firmware.booted) this.#boot?.(this.hal);
    });
  }

  /** Sets the firmware entry point, run at every boot. */
  onBoot(entry: (hal: Hal) => void): void {
    this.#boot = entry;
  }

  /** Number of boots so far. */
  get boots(): number {
    return this.#boots;
  }

  powerOn(): void {
    this.domain.powerOn();
  }

  /** Cuts the power in the middle of the n-th flash program or erase from now (n ≥ 1), on any partition. */
  cutAtFlashOperation(n: number): void {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError("invalid count");
    this.flashOperations.cutAt = this.flashOperations.operations + n;
  }

  /** Cuts power now, as a pulled plug does (mains and battery both gone). Power returns with `powerOn`. */
  cutPower(): void {
    this.domain.powerOff("power-cut");
  }

  /** A reset: the board goes down now and boots again after the boot delay (if it still has power). */
  reset(reason: PowerOffReason): void {
    this.domain.powerOff(reason);
    this.scheduler.after(this.#bootDelayMs, () => {
      if (this.power.mains || this.power.stateOfCharge() > 0) this.domain.powerOn();
    });
  }
}
