/**
 * Pin map of the concentrator PCB: an ESP32-S3-WROOM-1-N8 (8 MB flash, no PSRAM, ESP32-class
 * Xtensa LX7, three UARTs plus USB-Serial-JTAG). The S3 is chosen over the plain ESP32 because the
 * concentrator needs three UARTs for itself (two RS485 buses and the modem) while the debugger and the
 * field console use USB-Serial-JTAG (USE_USB in the manifest), not a UART. The memory budget stays the
 * plain ESP32's (~150 KB of XS heap): the manifest's `creation` sets it.
 *
 * One object, so the device entry point and the manifest check read the same facts.
 */
import { frozen } from "../firmware/model/frozen.js";

export const board = frozen({
  /** What OTA packages name as their target hardware (docs/ota.md): this PCB's revision. */
  hardwareId: "MC-ESP32S3-R1",
  rs485: [
    { uart: { port: 0, transmit: 17, receive: 18 }, driverEnable: 8 },
    { uart: { port: 1, transmit: 15, receive: 16 }, driverEnable: 7 },
  ],
  /** The modem's RTS/CTS are wired: long answers (an SMS read) wait in the modem while a turn runs. */
  modem: { uart: { port: 2, transmit: 4, receive: 5, rts: 12, cts: 13 }, powerKey: 6 },
  inputs: { door: 9, tamper: 10 },
  /** Power-supply module: mains-present line, the battery through a 2:1 divider (ADC1 channel), the battery-hold line. */
  power: { mainsSense: 11, batteryAdc: 1, dividerRatio: 2, fullScaleMv: 3100, batteryHold: 14 },
  /** Raw flash partitions by role (names in partitions.csv). */
  partitions: { log: "log", state: "state" },
} as const);
