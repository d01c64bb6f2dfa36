/**
 * The board's pin map (manifests/board.ts) against the chip a platform builds for. The map is the
 * ESP32-S3 PCB's; a build for a plain ESP32 links the same firmware, and these notes say what the
 * same pins would mean on that chip.
 */
import { board } from "../../manifests/board.js";

/** GPIOs wired to the module's SPI flash: ESP32 datasheet §2.2 (GPIO6-11), ESP32-S3 datasheet §2.3 (GPIO26-32). */
const FLASH_PINS: Record<string, readonly number[]> = { esp32: [6, 7, 8, 9, 10, 11], esp32s3: [26, 27, 28, 29, 30, 31, 32] };
/** ESP32: GPIO34-39 are inputs only (ESP32 datasheet §2.2). */
const INPUT_ONLY: Record<string, readonly number[]> = { esp32: [34, 35, 36, 37, 38, 39] };

interface BoardPins {
  inputs: number[];
  outputs: number[];
}

function pinsOf(b: typeof board): BoardPins {
  const uarts = [...b.rs485.map((r) => r.uart), b.modem.uart];
  return {
    inputs: [...uarts.map((u) => u.receive), b.modem.uart.cts, b.inputs.door, b.inputs.tamper, b.power.mainsSense],
    outputs: [...uarts.map((u) => u.transmit), b.modem.uart.rts, ...b.rs485.map((r) => r.driverEnable), b.modem.powerKey, b.power.batteryHold],
  };
}

/** What board.ts's pins mean on `soc` (the platform's ESP32_SUBCLASS), one note per problem. */
export function pinNotes(soc: string, b: typeof board = board): string[] {
  const { inputs, outputs } = pinsOf(b);
  const notes: string[] = [];
  const flash = [...new Set([...inputs, ...outputs])].filter((p) => FLASH_PINS[soc]?.includes(p)).sort((x, y) => x - y);
  if (flash.length) notes.push(`board.ts uses GPIO ${flash.join(", ")}, wired to the SPI flash on an ${soc} module: the pin map is the ESP32-S3 PCB's, a board with this chip needs its own`);
  const inputOnly = outputs.filter((p) => INPUT_ONLY[soc]?.includes(p));
  if (inputOnly.length) notes.push(`board.ts drives GPIO ${inputOnly.join(", ")}, input-only on an ${soc}`);
  if (soc === "esp32") notes.push("a plain ESP32 has no USB-Serial-JTAG: the debugger and trace() take UART0, which board.ts gives to RS485 bus 1");
  return notes;
}
