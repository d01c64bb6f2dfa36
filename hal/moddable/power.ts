/**
 * The power-supply module's signals on the board: a mains-present digital line (active high from the
 * supply's optocoupler), the backup battery through a resistor divider into an ADC pin, and the
 * battery-hold line: the board holds it high while it runs on battery; low, the module opens the
 * battery switch (the board goes off until mains return).
 *
 * Implementation notes: `embedded:io/analog` returns raw counts at its `resolution` (12 bits on the
 * ESP32-S3, full scale ≈ 3100 mV at 12 dB attenuation); the divider ratio comes from the board.
 * to do: calibrate with the eFuse ADC calibration (esp_adc_cal) through FFI; the linear scale is within
 * about ±2 % here, enough for a shutdown threshold a few hundred mV above brown-out.
 */
import Analog from "embedded:io/analog";
import Digital from "embedded:io/digital";
import type { PowerMonitor, PowerMonitorOptions, PowerMonitorProvider } from "../power.js";

export interface PowerPins {
  mainsSense: number;
  batteryAdc: number;
  /** Battery voltage over ADC pin voltage (the divider). */
  dividerRatio: number;
  /** ADC full-scale input, mV. */
  fullScaleMv: number;
  /** Battery-hold output to the power-supply module (high: battery switched in). */
  batteryHold: number;
}

export class ModdablePowerMonitor implements PowerMonitorProvider {
  readonly #pins: PowerPins;
  constructor(pins: PowerPins) {
    this.#pins = pins;
  }

  open(options: PowerMonitorOptions): PowerMonitor {
    const pins = this.#pins;
    const onChange = options.onMainsChange;
    const mains: Digital = new Digital({
      pin: pins.mainsSense,
      mode: Digital.InputPullDown,
      ...(onChange ? { edge: Digital.Rising + Digital.Falling, onReadable: () => onChange(mains.read() === 1) } : {}),
    });
    const battery = new Analog({ pin: pins.batteryAdc });
    const scale = (pins.fullScaleMv * pins.dividerRatio) / ((1 << battery.resolution) - 1);
    const hold = new Digital({ pin: pins.batteryHold, mode: Digital.Output });
    hold.write(1);
    return {
      mainsPresent: () => mains.read() === 1,
      batteryMillivolts: () => Math.round(battery.read() * scale),
      disconnectBattery: () => {
        if (mains.read() !== 1) hold.write(0);
      },
      close: () => {
        mains.close();
        hold.close();
      },
    };
  }
}
