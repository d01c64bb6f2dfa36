/**
 * Digital pins, in the shape of ECMA-419 `embedded:io/digital`: values are 0 or 1 after `activeLow`
 * has been applied by the implementation, so 1 always means "asserted" (e.g. RS485 driver enabled,
 * door open, tamper switch triggered).
 */

export type Level = 0 | 1;

export interface DigitalOutput {
  write(value: Level): void;
  /** The level last written. */
  read(): Level;
}

export interface DigitalInputOptions {
  /** Called in its own turn after the level changes; `value` is the new level. */
  onChange?: (value: Level) => void;
}

export interface DigitalInput {
  read(): Level;
  close(): void;
}

export interface DigitalInputProvider {
  open(options: DigitalInputOptions): DigitalInput;
}

/**
 * RS485 transceiver direction: the ESP32 UART driver has no DE pin (Moddable SDK modules/io/serial/esp32/serial.c),
 * so the driver-enable line is a plain digital output. 1 = driver enabled (transmitting),
 * 0 = receiving. Bytes still leaving the UART when the driver is disabled are cut off on the wire:
 * the caller waits for the last character time before releasing the line.
 */
export type Rs485Direction = DigitalOutput;
