/** Simulated hardware: deterministic, pure ECMAScript, runs under Node and inside XS. */
export { Scheduler, type ScheduledEvent } from "./scheduler.js";
export { Prng } from "./prng.js";
export { PowerDomain, PowerLossError, type PowerOffReason } from "./power-domain.js";
export { SimClock, SimRtc } from "./clock.js";
export { SimUart, type Medium, type Transceiver } from "./uart.js";
export { SerialLink } from "./serial-link.js";
export { Rs485Bus, type Rs485Attachment, type BusCounters } from "./rs485-bus.js";
export { LineNoise, type LineNoiseRates, type NoiseCounters } from "./line-noise.js";
export { SimDigitalInput, SimDigitalOutput } from "./digital.js";
export { SimNorFlash, type NorFlashOptions, type FlashCounters } from "./nor-flash.js";
export { SimPowerSupply, type PowerSupplyOptions } from "./power-supply.js";
export { SimCrypto, SimFirmwareSlots, SimRandom, SimSystemControl, SimWatchdog } from "./system.js";
export { SimBoard, type SimBoardOptions, type SimRs485Port } from "./board.js";
export { Trace, traceTime } from "./trace.js";
export { SimMeter, type SimMeterOptions } from "./meters.js";
export { SimLocalModule, ModuleEvent, type LocalModuleOptions, type ModuleIdentity, type LogEntry } from "./local-module.js";
export { populateBus, type PopulateOptions } from "./site.js";
