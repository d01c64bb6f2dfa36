/**
 * Digital outputs and inputs on ECMA-419 `embedded:io/digital` (RS485 driver enable, modem PWRKEY,
 * door and tamper contacts).
 */
import Digital from "embedded:io/digital";
import type { DigitalInput, DigitalInputOptions, DigitalInputProvider, DigitalOutput, Level } from "../digital.js";

export class ModdableDigitalOutput implements DigitalOutput {
  readonly #pin: Digital;
  #value: Level;

  constructor(pin: number, initial: Level = 0) {
    this.#pin = new Digital({ pin, mode: Digital.Output });
    this.#value = initial;
    this.#pin.write(initial);
  }

  write(value: Level): void {
    this.#value = value;
    this.#pin.write(value);
  }

  read(): Level {
    return this.#value;
  }
}

export class ModdableDigitalInputProvider implements DigitalInputProvider {
  readonly #pin: number;
  constructor(pin: number) {
    this.#pin = pin;
  }

  open(options: DigitalInputOptions): DigitalInput {
    const onChange = options.onChange;
    const pin: Digital = new Digital({
      pin: this.#pin,
      mode: Digital.InputPullUp,
      ...(onChange ? { edge: Digital.Rising + Digital.Falling, onReadable: () => onChange(pin.read()) } : {}),
    });
    return { read: () => pin.read(), close: () => pin.close() };
  }
}
