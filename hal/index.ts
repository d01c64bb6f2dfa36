/**
 * The hardware the firmware is given. The device entry point (manifests/) builds it from hal/moddable;
 * the simulator and the tests build it from hal/sim. Firmware code receives it (or parts of it) as
 * constructor arguments and never imports an implementation.
 */
import type { MonotonicClock, Timers, WallClock } from "./clock.js";
import type { DigitalInputProvider, Rs485Direction, DigitalOutput } from "./digital.js";
import type { FlashPartition } from "./flash.js";
import type { FirmwareSlots } from "./firmware-slots.js";
import type { PowerMonitorProvider } from "./power.js";
import type { SerialPortProvider } from "./serial.js";
import type { CryptoService, Inflater, RandomSource, SystemControl, Watchdog } from "./system.js";

export interface Rs485Port {
  serial: SerialPortProvider;
  direction: Rs485Direction;
}

export interface ModemPort {
  serial: SerialPortProvider;
  /** PWRKEY line: a held pulse switches the modem on or off (SIM800: ≥1 s, Quectel: ≥500 ms). */
  powerKey: DigitalOutput;
  /**
   * True when the board wires the modem's RTS and CTS to this UART: the port can then be opened with
   * `flowControl`, and the modem is told to use it (AT+IFC=2,2).
   */
  flowControl?: boolean;
}

export interface Hal {
  clock: MonotonicClock;
  timers: Timers;
  wallClock: WallClock;
  /** The RS485 buses, in the order of the board's connectors. */
  rs485: readonly Rs485Port[];
  modem: ModemPort;
  /** The field engineers' console UART. */
  console: SerialPortProvider;
  /** Raw flash partitions by role. */
  flash: { readonly log: FlashPartition; readonly state: FlashPartition };
  /** Cabinet door and tamper contacts of the concentrator itself. */
  inputs: { readonly door: DigitalInputProvider; readonly tamper: DigitalInputProvider };
  power: PowerMonitorProvider;
  random: RandomSource;
  watchdog: Watchdog;
  system: SystemControl;
  firmware: FirmwareSlots;
  crypto: CryptoService;
  /** Raw-DEFLATE inflation of compressed OTA chunks. */
  inflater: Inflater;
}

export type * from "./clock.js";
export type * from "./digital.js";
export type * from "./flash.js";
export type * from "./firmware-slots.js";
export type * from "./power.js";
export type * from "./serial.js";
export type * from "./system.js";
