/**
 * Simulated digital pins. An output remembers when it last changed (the RS485 bus needs it to know
 * whether the driver was enabled for a whole character) and falls to 0 when its circuit loses power.
 * An input is driven by the simulation (a door contact, a tamper switch).
 */
import type { DigitalInput, DigitalInputOptions, DigitalInputProvider, DigitalOutput, Level } from "../digital.js";
import type { PowerDomain } from "./power-domain.js";

export class SimDigitalOutput implements DigitalOutput {
  readonly #domain: PowerDomain;
  #value: Level = 0;
  #changedAt = 0;
  /** Observers of level changes (the simulation side, e.g. a modem's PWRKEY input). */
  readonly #watchers: Array<(value: Level) => void> = [];

  constructor(domain: PowerDomain) {
    this.#domain = domain;
    domain.onPowerOff(() => this.#set(0));
  }

  write(value: Level): void {
    this.#domain.check();
    this.#set(value ? 1 : 0);
  }

  read(): Level {
    return this.#value;
  }

  /** Level seen by the simulation; 0 when the circuit is off. */
  get level(): Level {
    return this.#value;
  }

  /** Scheduler time of the last change. */
  get changedAt(): number {
    return this.#changedAt;
  }

  watch(fn: (value: Level) => void): void {
    this.#watchers.push(fn);
  }

  #set(value: Level): void {
    if (value === this.#value) return;
    this.#value = value;
    this.#changedAt = this.#domain.scheduler.now;
    for (const w of this.#watchers) w(value);
  }
}

export class SimDigitalInput implements DigitalInputProvider {
  readonly #domain: PowerDomain;
  #level: Level;
  #onChange: ((value: Level) => void) | undefined;
  #open = false;

  constructor(domain: PowerDomain, initial: Level = 0) {
    this.#domain = domain;
    this.#level = initial;
    domain.onPowerOff(() => {
      this.#open = false;
      this.#onChange = undefined;
    });
  }

  /** Simulation side: drive the pin. */
  drive(level: Level): void {
    if (level === this.#level) return;
    this.#level = level;
    const cb = this.#onChange;
    if (this.#open && cb) this.#domain.after(0, () => this.#domain.enter(this, "change", cb, level));
  }

  get level(): Level {
    return this.#level;
  }

  open(options: DigitalInputOptions): DigitalInput {
    this.#domain.check();
    if (this.#open) throw new Error("in use");
    this.#open = true;
    this.#onChange = options.onChange;
    const epoch = this.#domain.epoch;
    return {
      read: () => {
        this.#domain.check();
        return this.#level;
      },
      close: () => {
        if (epoch !== this.#domain.epoch) return;
        this.#open = false;
        this.#onChange = undefined;
      },
    };
  }
}
