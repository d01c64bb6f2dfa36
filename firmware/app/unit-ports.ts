/**
 * The concentrator as its parts call it back. Each part's options are one object of a class here: the
 * callbacks are the class's methods (on its prototype: in flash on the device, preloaded with the
 * firmware), the clocks and timers getters of the unit's HAL. A closure per callback built by every
 * unit was some 11 slots each in XS (docs/memory.md, "What XS charges"); an object here is a slot and
 * one per field. The parts keep their options as given (none copies them: a spread would lose the
 * methods).
 */
import type { MonotonicClock, Timers, WallClock } from "../../hal/clock.js";
import type { CryptoService, RandomSource } from "../../hal/system.js";
import type { Readout } from "../bus/types.js";
import type { DlmsSiteConfig } from "../dlms/integration/config.js";
import type { Emergency } from "../dlms/integration/control.js";
import type { DlmsIntegrationOptions } from "../dlms/integration/integration.js";
import type { EventManager } from "../events/event-manager.js";
import type { ControlMode } from "../latch/disconnect-control.js";
import type { AuditEntry, LatchManager, LatchOptions, LatchPersistence, RelayActuator } from "../latch/latch-manager.js";
import type { EventType, MeterEvent, Reading } from "../model/records.js";
import type { ModuleAccess, ModuleAccessOptions, ModulePath } from "../poll/module-access.js";
import type { LogMarkStore, ModuleLogOptions } from "../poll/module-log.js";
import type { DiscoveryOptions } from "../poll/discovery.js";
import type { Topology } from "../poll/topology.js";
import type { EngineerKey, SessionOptions, SessionPolicy } from "../console/session.js";
import { passwordGuessing } from "../console/commands/system.js";
import { ChangeResult, ChangeSource } from "../store/audit.js";
import type { Concentrator } from "./concentrator.js";

/** What every part's options read from the unit: its HAL's clocks and timers. */
class UnitPort {
  constructor(readonly unit: Concentrator) {}

  get clock(): MonotonicClock {
    return this.unit.hal.clock;
  }

  get timers(): Timers {
    return this.unit.hal.timers;
  }

  get wallClock(): WallClock {
    return this.unit.hal.wallClock;
  }
}

/** The event manager's sink: the record log. */
export class EventLogSink extends UnitPort {
  append(e: MeterEvent): void {
    this.unit.log.appendEvent(e);
  }
}

export class LatchPorts extends UnitPort implements LatchOptions {
  constructor(
    unit: Concentrator,
    readonly persistence: LatchPersistence,
    readonly relays: RelayActuator,
    readonly defaultMode: ControlMode,
  ) {
    super(unit);
  }

  moduleOf(consumer: number): number | undefined {
    return this.unit.topology.moduleOfMeter(consumer);
  }

  consumersOf(module: number): readonly number[] {
    return [...this.unit.topology.metersOf(module).values()];
  }

  raise(event: MeterEvent): void {
    this.unit.events.record(event);
  }

  audit(entry: AuditEntry): void {
    this.unit.auditLatch(entry);
  }

  limitedByMeter(consumer: number): boolean {
    return this.unit.dlms?.limitedByMeter(consumer) ?? false;
  }
}

export class DlmsPorts extends UnitPort implements DlmsIntegrationOptions {
  constructor(
    unit: Concentrator,
    readonly config: DlmsSiteConfig,
  ) {
    super(unit);
  }

  get journal() {
    return this.unit.journal;
  }

  get crypto(): CryptoService {
    return this.unit.hal.crypto;
  }

  get random(): RandomSource {
    return this.unit.hal.random;
  }

  get events(): EventManager {
    return this.unit.events;
  }

  moduleAt(path: string, address: string): number | undefined {
    return this.unit.topology.numberAt(path, address);
  }

  meterOf(module: number): number | undefined {
    const t = this.unit.topology;
    return t.has(module) ? t.metersOf(module).get(1) : undefined;
  }

  latch(): LatchManager {
    return this.unit.latch;
  }

  store(readings: readonly Reading[]): void {
    this.unit.guarded(() => this.unit.storeReadings(readings, false));
  }

  emergency(): Emergency | undefined {
    return this.unit.emergencyForMeters();
  }
}

export class AccessPorts extends UnitPort implements ModuleAccessOptions {
  constructor(
    unit: Concentrator,
    readonly topology: Topology,
    readonly paths: ReadonlyMap<string, ModulePath>,
  ) {
    super(unit);
  }

  passwordOf(): string {
    return String(this.unit.config.get("module.password"));
  }
}

export class ModuleLogPorts extends UnitPort implements ModuleLogOptions {
  constructor(
    unit: Concentrator,
    readonly access: ModuleAccess,
    readonly marks: LogMarkStore,
    readonly bootS: number | undefined,
  ) {
    super(unit);
  }

  /** Raised at the module's time. */
  pulse(type: EventType, subject: number, detail: number, timeS: number): void {
    this.unit.events.pulse(type, subject, detail, timeS);
  }
}

export class DiscoveryPorts extends UnitPort implements DiscoveryOptions {
  constructor(
    unit: Concentrator,
    readonly topology: Topology,
    readonly paths: ReadonlyMap<string, ModulePath>,
  ) {
    super(unit);
  }

  /** A bridge's table of what it reaches; on a bus, its configured range and the DLMS meters' addresses. */
  candidates(path: string): readonly string[] {
    const u = this.unit;
    const bus = Number(path.slice(3));
    return u.bridges.get(path)?.addresses ?? [...(u.site.busAddresses[bus] ?? []), ...(u.dlms?.scanAddresses(bus) ?? [])];
  }

  onFound(path: string, address: string, readout: Readout): void {
    const u = this.unit;
    u.guarded(() => u.acquirer.readout(path, address, readout, "discovery", u.hal.wallClock.now() / 1000));
  }
}

export class SessionPorts extends UnitPort implements SessionOptions {
  // Declared, not defined: a figure the policy leaves out is no property at all.
  declare readonly idleMs?: number;
  declare readonly maxFailures?: number;
  declare readonly windowMs?: number;
  declare readonly lockoutMs?: number;

  constructor(
    unit: Concentrator,
    readonly engineers: readonly EngineerKey[],
    policy: SessionPolicy,
  ) {
    super(unit);
    // Only the policy's figures that are set: an absent one takes the session's default.
    if (policy.idleMs !== undefined) this.idleMs = policy.idleMs;
    if (policy.maxFailures !== undefined) this.maxFailures = policy.maxFailures;
    if (policy.windowMs !== undefined) this.windowMs = policy.windowMs;
    if (policy.lockoutMs !== undefined) this.lockoutMs = policy.lockoutMs;
  }

  get unitId(): number {
    return this.unit.site.concentratorId;
  }

  get random(): RandomSource {
    return this.unit.hal.random;
  }

  get crypto(): CryptoService {
    return this.unit.hal.crypto;
  }

  audit(name: string, engineer: string, detail: string, ok: boolean): void {
    this.unit.config.record(name, "", detail, ChangeSource.console, ok ? ChangeResult.applied : ChangeResult.denied, engineer);
  }

  lockedOut(failures: number): void {
    passwordGuessing(this.unit, failures);
  }
}
