/**
 * The device side of the HAL: builds the hal/moddable implementations from the board's pin map.
 * This is the one place that picks hal/moddable (DESIGN.md, dependency rule). It is bundled into the
 * preloadable "device" module; manifests/main.ts calls `start()` at boot, when hardware may be touched.
 *
 * to do (each arrives with the capability that needs it): power monitor (ADC + mains sense), watchdog
 * and firmware slots (FFI to esp_task_wdt / esp_ota_*), the crypto worker, the console over USB.
 */
import type { Hal, Rs485Port } from "../hal/index.js";
import { ModdableClock, ModdableWallClock } from "../hal/moddable/clock.js";
import { ModdableDigitalInputProvider, ModdableDigitalOutput } from "../hal/moddable/digital.js";
import { ModdableFlashPartition } from "../hal/moddable/flash.js";
import { ModdableSerialProvider } from "../hal/moddable/serial.js";
import { board } from "./board.js";

/** The parts of the HAL the device implements so far. */
export type DeviceHal = Pick<Hal, "clock" | "timers" | "wallClock" | "rs485" | "flash" | "inputs"> & {
  modem: Pick<Hal["modem"], "serial" | "powerKey">;
};

export function createDeviceHal(): DeviceHal {
  const clock = new ModdableClock();
  const rs485: Rs485Port[] = board.rs485.map((bus) => ({
    serial: new ModdableSerialProvider(bus.uart),
    direction: new ModdableDigitalOutput(bus.driverEnable, 0),
  }));
  return {
    clock,
    timers: clock,
    wallClock: new ModdableWallClock(),
    rs485,
    modem: { serial: new ModdableSerialProvider(board.modem.uart), powerKey: new ModdableDigitalOutput(board.modem.powerKey, 0) },
    flash: { log: new ModdableFlashPartition(board.partitions.log), state: new ModdableFlashPartition(board.partitions.state) },
    inputs: { door: new ModdableDigitalInputProvider(board.inputs.door), tamper: new ModdableDigitalInputProvider(board.inputs.tamper) },
  };
}

export function start(): DeviceHal {
  const hal = createDeviceHal();
  trace(`concentrator: log ${hal.flash.log.byteLength} B, state ${hal.flash.state.byteLength} B, ${hal.rs485.length} RS485 buses\n`);
  return hal;
}
