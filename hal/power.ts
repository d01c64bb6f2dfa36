/**
 * Power supply monitor (the power-supply module of the concentrator: mains sense and backup battery).
 *
 * The backup battery keeps the board running through a mains failure long enough to finish writes
 * and shut down in order; below `brownoutMillivolts` the board resets and stays off until mains return.
 */
export interface PowerMonitorOptions {
  /** Called in its own turn when mains power disappears or returns. */
  onMainsChange?: (present: boolean) => void;
}

export interface PowerMonitor {
  mainsPresent(): boolean;
  /** Backup battery terminal voltage in millivolts. */
  batteryMillivolts(): number;
  close(): void;
}

export interface PowerMonitorProvider {
  open(options: PowerMonitorOptions): PowerMonitor;
}
