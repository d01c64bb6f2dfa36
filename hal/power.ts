/**
 * Power supply monitor (the power-supply module of the concentrator: mains sense and backup battery).
 *
 * The backup battery keeps the board running through a mains failure long enough to finish writes
 * and shut down in order; then the firmware has the module cut the battery off (`disconnectBattery`),
 * and the board stays off until mains return. If it never does, the board browns out when the battery
 * is flat, and likewise stays off until mains return.
 */
export interface PowerMonitorOptions {
  /** Called in its own turn when mains power disappears or returns. */
  onMainsChange?: (present: boolean) => void;
}

export interface PowerMonitor {
  mainsPresent(): boolean;
  /** Backup battery terminal voltage in millivolts. */
  batteryMillivolts(): number;
  /**
   * On battery: the power-supply module disconnects the battery, and the board goes off at once,
   * keeping the battery's remaining charge; it starts again (a power-on reset) when mains return. The
   * last thing an orderly shutdown does. With mains present it does nothing.
   */
  disconnectBattery(): void;
  close(): void;
}

export interface PowerMonitorProvider {
  open(options: PowerMonitorOptions): PowerMonitor;
}
