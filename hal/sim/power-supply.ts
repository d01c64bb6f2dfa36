/**
 * The concentrator's power-supply module: mains sense and a backup battery that carries the board
 * through a mains failure until the firmware has it disconnected (`disconnectBattery`) or the battery
 * is flat (the board browns out); either way the board stays off until mains return (then it boots
 * again and the battery recharges).
 *
 * Battery model: charge in mAh drained by a constant board load on battery and refilled by a constant
 * charge current on mains. Terminal voltage is linear in state of charge from `emptyMillivolts` to
 * `fullMillivolts`, with the brown-out at `brownoutMillivolts` reached when the charge is exhausted.
 */
import type { PowerMonitor, PowerMonitorOptions, PowerMonitorProvider } from "../power.js";
import type { PowerDomain } from "./power-domain.js";
import type { ScheduledEvent } from "./scheduler.js";

export interface PowerSupplyOptions {
  /** Usable battery capacity in mAh. Default 1000. */
  capacityMah?: number;
  /** Initial charge as a fraction of capacity. Default 1. */
  stateOfCharge?: number;
  /** Board current on battery in mA (modem included). Default 250. */
  loadMa?: number;
  /** Charge current on mains in mA. Default 200. */
  chargeMa?: number;
  /** Voltage at full charge, mV. Default 4150. */
  fullMillivolts?: number;
  /** Voltage at 1% charge, mV. Default 3500. */
  emptyMillivolts?: number;
  /** The regulator drops out and the board resets at this voltage, mV. Default 3300. */
  brownoutMillivolts?: number;
}

const MS_PER_HOUR = 3_600_000;

export class SimPowerSupply implements PowerMonitorProvider {
  readonly #domain: PowerDomain;
  readonly #o: Required<PowerSupplyOptions>;
  #mains = true;
  #chargeMah: number;
  #updatedAt: number;
  #brownout: ScheduledEvent | undefined;
  #listener: ((present: boolean) => void) | undefined;
  #brownouts = 0;
  #cutoffs = 0;

  constructor(domain: PowerDomain, options: PowerSupplyOptions = {}) {
    this.#domain = domain;
    this.#o = {
      capacityMah: 1000, stateOfCharge: 1, loadMa: 250, chargeMa: 200,
      fullMillivolts: 4150, emptyMillivolts: 3500, brownoutMillivolts: 3300, ...options,
    };
    this.#chargeMah = this.#o.capacityMah * this.#o.stateOfCharge;
    this.#updatedAt = domain.scheduler.now;
    domain.onPowerOff(() => (this.#listener = undefined));
  }

  /** Simulation side: mains fail or return. */
  setMains(present: boolean): void {
    if (present === this.#mains) return;
    this.#integrate();
    this.#mains = present;
    // Only the boot that saw the change is told; a boot caused by the return of mains reads the state.
    const cb = this.#listener;
    const s = this.#domain.scheduler;
    s.cancel(this.#brownout);
    this.#brownout = undefined;
    if (present) {
      if (!this.#domain.on) this.#domain.powerOn();
    } else if (this.#domain.on) {
      const hours = this.#chargeMah / this.#o.loadMa;
      this.#brownout = s.after(hours * MS_PER_HOUR, () => {
        this.#integrate();
        this.#brownouts++;
        this.#domain.powerOff("brownout");
      });
    }
    if (cb && this.#domain.on) this.#domain.after(0, () => this.#domain.enter(this, "mains", cb, present));
  }

  get mains(): boolean {
    return this.#mains;
  }

  get brownouts(): number {
    return this.#brownouts;
  }

  /** Times the firmware had the battery disconnected. */
  get cutoffs(): number {
    return this.#cutoffs;
  }

  /** Battery charge as a fraction of capacity. */
  stateOfCharge(): number {
    this.#integrate();
    return this.#chargeMah / this.#o.capacityMah;
  }

  millivolts(): number {
    const soc = this.stateOfCharge();
    const o = this.#o;
    if (soc <= 0) return o.brownoutMillivolts;
    if (soc < 0.01) return o.brownoutMillivolts + ((o.emptyMillivolts - o.brownoutMillivolts) * soc) / 0.01;
    return o.emptyMillivolts + ((o.fullMillivolts - o.emptyMillivolts) * (soc - 0.01)) / 0.99;
  }

  open(options: PowerMonitorOptions): PowerMonitor {
    this.#domain.check();
    this.#listener = options.onMainsChange;
    const epoch = this.#domain.epoch;
    return {
      mainsPresent: () => {
        this.#domain.check();
        return this.#mains;
      },
      batteryMillivolts: () => {
        this.#domain.check();
        return Math.round(this.millivolts());
      },
      disconnectBattery: () => {
        this.#domain.check();
        if (this.#mains) return;
        this.#integrate();
        this.#domain.scheduler.cancel(this.#brownout);
        this.#brownout = undefined;
        this.#cutoffs++;
        this.#domain.powerOff("power-cut");
      },
      close: () => {
        if (epoch === this.#domain.epoch) this.#listener = undefined;
      },
    };
  }

  #integrate(): void {
    const now = this.#domain.scheduler.now;
    const hours = (now - this.#updatedAt) / MS_PER_HOUR;
    this.#updatedAt = now;
    if (this.#mains) this.#chargeMah = Math.min(this.#o.capacityMah, this.#chargeMah + hours * this.#o.chargeMa);
    else if (this.#domain.on) this.#chargeMah = Math.max(0, this.#chargeMah - hours * this.#o.loadMa);
  }
}
