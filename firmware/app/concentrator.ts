/**
 * The concentrator: every firmware area built from the HAL and wired together, in boot order.
 *
 *   1. watchdog, then the store (state journal, record log, configuration): everything after depends
 *      on what it remembers; nothing is formatted, ever;
 *   2. topology, latches (enforced at once: a reboot may have closed relays), event handling;
 *   3. paths: a bus master per RS485 bus and a transport per bridge; acquisition, discovery;
 *   4. power supervision (mains failure: keep working on battery; low battery: stop in order);
 *   5. the uplink over the modem, when configured.
 *
 * No throw escapes a turn of the concentrator's own making: timer callbacks run through `guarded`,
 * which counts and records the failure and keeps the main loop alive.
 */
import type { Hal } from "../../hal/index.js";
import type { Readout } from "../bus/types.js";
import type { TimerId } from "../../hal/clock.js";
import type { PowerMonitor } from "../../hal/power.js";
import type { DigitalInputProvider } from "../../hal/digital.js";
import { ContactWatcher } from "../events/contact.js";
import { BridgeTransport } from "../bridge/transport.js";
import { BusMaster } from "../bus/bus-master.js";
import { BalanceMonitor, type BalanceGroupConfig } from "../events/balance.js";
import { EventManager } from "../events/event-manager.js";
import { ControlState, type ControlMode } from "../latch/disconnect-control.js";
import { LatchManager, type AuditEntry as LatchAudit, type LatchOutcome, type TriggerSource } from "../latch/latch-manager.js";
import { ModuleRelays } from "../latch/module-relays.js";
import { CONCENTRATOR, EventType, ReadingStatus, type Reading } from "../model/records.js";
import { Modem, type ModemOptions } from "../modem/modem.js";
import { packVersion, type KeySet } from "../ota/format.js";
import { OtaUpdater, type OtaUpdaterOptions } from "../ota/updater.js";
import { MAX_SMS_PAYLOAD, type IncomingSms } from "../modem/sms/channel.js";
import { AlarmSms } from "./alarm-sms.js";
import { Acquirer } from "../poll/acquirer.js";
import { ClockKeeper } from "../poll/clock-keeper.js";
import { Discovery } from "../poll/discovery.js";
import { ModuleAccess, type ModulePath } from "../poll/module-access.js";
import { ModuleLogReader } from "../poll/module-log.js";
import { PlausibilityChecker } from "../poll/plausibility.js";
import { Poller, Priority, type ReadKind } from "../poll/poller.js";
import { CatchUp } from "../poll/backfill/catch-up.js";
import { PROFILE_PERIOD_S, ProfileHoldings } from "../poll/backfill/holdings.js";
import { BackfillStore } from "./backfill-store.js";
import { readingsSince } from "./log-tail.js";
import type { GroupSchedule } from "../poll/schedule.js";
import { Topology } from "../poll/topology.js";
import { ChangeResult, ChangeSource } from "../store/audit.js";
import { ConfigStore } from "../store/config.js";
import { HighWaterMark } from "../store/counter.js";
import { RecordLog } from "../store/log.js";
import { RecordClass } from "../store/record-codec.js";
import { StateJournal } from "../store/state-journal.js";
import { STATE_KEY_COUNT, StateLayout } from "../store/state-layout.js";
import { deriveSharedKey } from "../uplink/envelope.js";
import { Uplink } from "../uplink/uplink.js";
import { ConcentratorCommands, type CommandTarget } from "./command-handlers.js";
import { Console } from "../console/console.js";
import { CONSOLE_COMMANDS } from "../console/commands/index.js";
import { ConsoleSession, type EngineerKey, type SessionPolicy } from "../console/session.js";
import type { DlmsSiteConfig } from "../dlms/integration/config.js";
import { DlmsIntegration } from "../dlms/integration/integration.js";
import { CONFIG_SCHEMA } from "./config-schema.js";
import { LatchStore, ModuleLogMarks, TopologyPersistence, UplinkCounters } from "./persistence.js";
import { StoreQueue } from "./store-queue.js";
import { AccessPorts, DiscoveryPorts, DlmsPorts, EventLogSink, LatchPorts, ModuleLogPorts, SessionPorts } from "./unit-ports.js";
import { frozen } from "../model/frozen.js";

export interface BridgeConfig {
  /** Path name, e.g. "plc0". */
  name: string;
  /** Index of the RS485 bus (hal.rs485) the bridge is on. */
  bus: number;
  /** The bridge's bus address, 1..254. */
  address: number;
}

export interface BalanceConfig {
  id: number;
  /** Serials (0-0:C.1.0 of the meter, 1-b:C.1.0 in the readout) of the balance meter and its consumers. */
  balanceMeter: string;
  consumers: readonly string[];
}

export interface UplinkConfig {
  modem: Omit<ModemOptions, "port" | "timers" | "clock" | "random">;
  host: string;
  port: number;
  /** The concentrator's X25519 secret key and the head-end's public key (provisioned). */
  secretKey: Uint8Array;
  headendPublicKey: Uint8Array;
  /**
   * The head-end's SMS gateway ("+40700000900"): alarms go there while GPRS is down, and sealed
   * messages from it (commands, acknowledgements) are taken like those on the down topic. No SMS use
   * without it.
   */
  smsNumber?: string;
}

/** The engineers' console on the service port (docs/console.md). */
export interface ConsoleConfig {
  /** The engineers' Ed25519 public keys the unit trusts (provisioned); without any, no privileged command runs. */
  engineers?: readonly EngineerKey[];
  /** Session expiry and login lockout (defaults: 5 min idle; 3 failures in 15 min lock out for 15 min). */
  policy?: SessionPolicy;
  /** Bit rate of the service port, default 115200. */
  baud?: number;
}

/** Site wiring: what depends on the installation, not on configuration the head-end changes. */
export interface SiteConfig {
  /** u32: in the uplink's topics and every envelope. */
  concentratorId: number;
  /** Candidate module addresses per RS485 bus, for discovery (the installation's address plan). */
  busAddresses: ReadonlyArray<readonly string[]>;
  bridges?: readonly BridgeConfig[];
  /** Groups besides the default one (which takes every other module and is configured by parameters). */
  groups?: readonly GroupSchedule[];
  balance?: readonly BalanceConfig[];
  uplink?: UplinkConfig;
  console?: ConsoleConfig;
  /** Over-the-air updates (firmware/ota, docs/ota.md); none without it. */
  ota?: OtaConfig;
  /** Task watchdog timeout, ms. Default 30 s. */
  watchdogMs?: number;
  /** DLMS/COSEM meters on the RS485 buses (docs/dlms.md). */
  dlms?: DlmsSiteConfig;
}

export interface OtaConfig {
  /** This board's hardware id, as packages name their target (e.g. "MC-ESP32S3-R1"). */
  hardwareId: string;
  /** The release key set pinned in this build (tools/ota keygen), until a rotation replaces it. */
  releaseKeys: KeySet;
  /** Download, self-test and timing settings (tests shorten them). */
  options?: Partial<Pick<OtaUpdaterOptions, "windowChunks" | "requestTimeoutMs" | "maxRefetch" | "hashBytesPerTurn" | "selfTestTimeoutMs" | "selfTestPollMs">>;
}

export type ConcentratorState = "running" | "shutdown";

const DEFAULT_GROUP_ID = 0;
/** OTA states as numbers in the status message (index in this list). */
const OTA_STATES = frozen(["idle", "verifying", "downloading", "checking", "waiting", "switching", "testing"] as const);
/**
 * Bytes of TCP data asked of the modem per read command: with the answer's framing it fits the modem
 * UART's 128-byte receive FIFO, which the ESP32 port does not empty while a turn runs (no software
 * buffer; at 115200 Bd it fills in 11 ms). So no turn, however long, loses TCP data, even on a board
 * without RTS/CTS (docs/uplink.md "Turns and the modem UART"). The downlink carries acknowledgements
 * and commands: little.
 */
const MODEM_READ_BYTES = 64;
/** A bridge that did not list its modules is asked again after this long, ms. */
const BRIDGE_RETRY_MS = 60_000;
/** Battery checks while on battery, ms. */
const BATTERY_CHECK_MS = 10_000;

export class Concentrator implements CommandTarget {
  readonly hal: Hal;
  readonly site: SiteConfig;
  readonly journal: StateJournal;
  readonly log: RecordLog;
  readonly config: ConfigStore;
  readonly topology: Topology;
  readonly events: EventManager;
  readonly latch: LatchManager;
  readonly buses: BusMaster[];
  readonly bridges: Map<string, BridgeTransport>;
  readonly access: ModuleAccess;
  readonly acquirer: Acquirer;
  readonly poller: Poller;
  readonly discovery: Discovery;
  readonly clockKeeper: ClockKeeper;
  /** The load-profile catch-up (docs/backfill.md); none while the wall clock is not set at boot. */
  readonly catchUp: CatchUp | undefined;
  /** The DLMS meters' side of the buses, when the site has DLMS meters. */
  readonly dlms: DlmsIntegration | undefined;
  readonly modem: Modem | undefined;
  readonly uplink: Uplink | undefined;
  /** Alarms by SMS while GPRS is down (with `uplink.smsNumber`). */
  readonly alarmSms: AlarmSms | undefined;
  /** The engineers' serial console. */
  readonly console: Console;
  /** Over-the-air updates (with `site.ota`). */
  readonly ota: OtaUpdater | undefined;
  readonly counters = { internalErrors: 0, topologyFull: 0, readingsStored: 0, storeErrors: 0 };
  #state: ConcentratorState = "running";
  #power: PowerMonitor;
  #batteryTimer: TimerId | undefined;
  #busProbed = false;
  readonly #topologyStore: TopologyPersistence;
  readonly #balance: BalanceMonitor[] = [];
  readonly #storedListeners: Array<(readings: readonly Reading[]) => void> = [];
  readonly #readoutListeners: Array<(module: number, readout: Readout) => void> = [];
  lastInternalError: unknown;
  /** Why the console's port could not be opened, if it could not. */
  consoleUnavailable: string | undefined;

  constructor(hal: Hal, site: SiteConfig) {
    this.hal = hal;
    this.site = site;
    const t = hal.timers;
    hal.watchdog.enable(site.watchdogMs ?? 30_000);
    t.set(() => hal.watchdog.feed(), (site.watchdogMs ?? 30_000) / 4, (site.watchdogMs ?? 30_000) / 4);

    // 1. The store.
    this.journal = StateJournal.open(hal.flash.state, { keyCount: STATE_KEY_COUNT, timers: t });
    const retired = this.journal.region(StateLayout.retiredLogSectors.base, StateLayout.retiredLogSectors.count);
    this.log = RecordLog.open(hal.flash.log, { timers: t, retired });
    this.config = new ConfigStore({ journal: this.journal, schema: CONFIG_SCHEMA, wallClock: hal.wallClock, log: this.log });

    // 2. What the concentrator knows: topology, events, latches.
    this.events = new EventManager({ sink: new EventLogSink(this), clock: hal.clock, wallClock: hal.wallClock });
    this.#topologyStore = new TopologyPersistence(this.journal);
    this.topology = new Topology({ maxModules: StateLayout.modules.count }, this.#topologyStore.load());
    if (this.#topologyStore.unreadable > 0) this.events.pulse(EventType.storageQuarantine, CONCENTRATOR, this.#topologyStore.unreadable);

    // 3. Paths to the modules (and DLMS meters, which a bus's path tells apart by their address).
    const paths = new Map<string, ModulePath>();
    this.dlms = site.dlms ? new DlmsIntegration(new DlmsPorts(this, site.dlms)) : undefined;
    this.buses = hal.rs485.map((port, i) => {
      const bus = new BusMaster({ port, clock: hal.clock, timers: t });
      paths.set(`bus${i}`, this.dlms ? this.dlms.path(bus, i) : bus);
      return bus;
    });
    this.bridges = new Map();
    for (const b of site.bridges ?? []) {
      const bus = this.buses[b.bus];
      if (!bus) continue;
      const transport = new BridgeTransport({ bus, clock: hal.clock, timers: t, address: b.address });
      this.bridges.set(b.name, transport);
      paths.set(b.name, transport);
    }
    this.access = new ModuleAccess(new AccessPorts(this, this.topology, paths));

    const defaultMode = Number(this.config.get("latch.defaultMode")) as ControlMode;
    this.latch = new LatchManager(
      new LatchPorts(this, new LatchStore(this.journal, (r) => r.state === ControlState.connected && r.mode === defaultMode && !r.limiter), new ModuleRelays(this.access), defaultMode),
    );

    this.clockKeeper = new ClockKeeper({
      access: this.access,
      clock: hal.clock,
      wallClock: hal.wallClock,
      maxDriftS: Number(this.config.get("clock.maxDriftS")),
      pulse: (type, subject, detail) => this.events.pulse(type, subject, detail),
      audit: (subject, oldS, newS, ok) => this.config.record(`clock.module${subject}`, String(oldS ?? ""), String(newS), ChangeSource.local, ok ? ChangeResult.applied : ChangeResult.invalid),
      observed: (module, offsetS, atS) => this.catchUp?.observeClock(module, offsetS, atS),
    });
    const moduleLog = new ModuleLogReader(
      new ModuleLogPorts(this, this.access, new ModuleLogMarks(this.journal), hal.wallClock.valid ? Math.floor(hal.wallClock.now() / 1000) : undefined),
    );
    this.acquirer = new Acquirer({
      clock: hal.clock,
      timers: t,
      guard: (fn) => this.guarded(fn),
      identified: (path, address) => this.persistChanges(path, address),
      wallClock: hal.wallClock,
      topology: this.topology,
      plausibility: new PlausibilityChecker(),
      events: this.events,
      latch: this.latch,
      clockKeeper: this.clockKeeper,
      moduleLog,
      balance: this.#balance,
      readings: { append: (readings, billing) => this.storeReadings(readings, billing) },
      intervalOf: () => Number(this.config.get("poll.intervalMin")),
      reread: (module) => this.poller.readNow([module], () => undefined),
    });
    this.poller = new Poller({
      clock: hal.clock,
      timers: t,
      wallClock: hal.wallClock,
      topology: this.topology,
      access: this.access,
      groups: this.#groups(),
      utcOffsetMin: Number(this.config.get("site.utcOffsetMin")),
      billingDays: this.#billingDays(),
      listener: {
        readout: (module, readout, kind, timeS) => this.guarded(() => this.#onReadout(module, readout, kind, timeS)),
        failed: (module, failure) => this.guarded(() => this.acquirer.failed(module, failure)),
      },
    });
    this.catchUp = hal.wallClock.valid
      ? new CatchUp({
          holdings: new ProfileHoldings(new BackfillStore(this.journal), Math.floor(hal.wallClock.now() / 1000 / PROFILE_PERIOD_S)),
          access: this.access,
          topology: this.topology,
          clock: hal.clock,
          timers: t,
          wallClock: hal.wallClock,
          priority: Priority.backfill,
          pathIdle: (path) => this.poller.idle(path),
          store: (readings) => this.storeReadings(readings, false),
          maxDriftS: () => Number(this.config.get("clock.maxDriftS")),
          guard: (fn) => this.guarded(fn),
          storedSince: (fromS, each, done) => readingsSince(this.log, t, (fn) => this.guarded(fn), fromS, each, done),
        })
      : undefined;
    this.discovery = new Discovery(new DiscoveryPorts(this, this.topology, paths));

    // 4. Power supervision, and the concentrator's own cabinet door and tamper contacts.
    this.#power = hal.power.open({ onMainsChange: (present) => this.guarded(() => this.onMains(present)) });
    const watch = (type: EventType, input: DigitalInputProvider) => {
      const w = new ContactWatcher({ timers: t, events: this.events, type, subject: CONCENTRATOR });
      const pin = input.open({ onChange: (level) => this.guarded(() => w.change(level)) });
      // A cabinet already open at boot is reported like one that opens.
      w.change(pin.read());
    };
    watch(EventType.door, hal.inputs.door);
    watch(EventType.tamper, hal.inputs.tamper);

    // 5. The uplink.
    if (site.uplink) {
      const u = site.uplink;
      const sms = u.smsNumber ? { ...u.modem.sms, whitelist: [u.smsNumber], onMessage: (m: IncomingSms) => this.guarded(() => this.smsIn(m)) } : u.modem.sms;
      this.modem = new Modem({
        ...u.modem,
        tcp: { readChunkBytes: MODEM_READ_BYTES, ...u.modem.tcp },
        ...(sms ? { sms } : {}),
        port: hal.modem,
        timers: t,
        clock: hal.clock,
        random: hal.random,
      });
      this.uplink = new Uplink({
        concentratorId: site.concentratorId,
        sharedKey: deriveSharedKey(u.secretKey, u.headendPublicKey),
        counters: new UplinkCounters(this.journal),
        queue: new StoreQueue(this.log),
        handlers: new ConcentratorCommands(this),
        connector: this.modem.tcp,
        host: u.host,
        port: u.port,
        clock: hal.clock,
        timers: t,
        wallClock: hal.wallClock,
        random: hal.random,
        crypto: hal.crypto,
        statusCounters: () => this.statusCounters(),
        ...(site.ota ? { ota: { frame: (p: Uint8Array) => this.guarded(() => this.ota?.frame(p)), linkUp: () => this.guarded(() => this.ota?.linkUp()) } } : {}),
      });
      this.events.onRaised((e) => this.uplink!.notify(e.alarm ? "alarm" : "event"));
      if (u.smsNumber) {
        const alarmSms = new AlarmSms({ number: u.smsNumber, sms: this.modem.sms, queue: new StoreQueue(this.log), uplink: this.uplink, timers: t, maxBytes: MAX_SMS_PAYLOAD });
        this.alarmSms = alarmSms;
        this.events.onRaised((e) => e.alarm && alarmSms.alarmStored());
      }
    }

    // 6. The engineers' console.
    const c = site.console ?? {};
    const session = new ConsoleSession(new SessionPorts(this, c.engineers ?? [], c.policy ?? {}));
    this.console = new Console({ serial: hal.console, timers: t, clock: hal.clock, session, commands: CONSOLE_COMMANDS, unit: this, name: `mc${site.concentratorId}`, ...(c.baud ? { baud: c.baud } : {}) });

    // 6. Over-the-air updates: last, so that its self-test can look at everything above.
    if (site.ota) {
      this.ota = new OtaUpdater({
        ...site.ota.options,
        concentratorId: site.concentratorId,
        hardwareId: site.ota.hardwareId,
        releaseKeys: site.ota.releaseKeys,
        slots: hal.firmware,
        crypto: hal.crypto,
        inflater: hal.inflater,
        journal: this.journal,
        timers: t,
        clock: hal.clock,
        wallClock: hal.wallClock,
        resetReason: hal.system.resetReason,
        restart: () => hal.system.restart(),
        send: (r) => this.uplink?.sendOtaRequest(r) ?? false,
        raise: (type, detail) => void this.events.pulse(type, CONCENTRATOR, detail),
        utcOffsetMin: () => Number(this.config.get("site.utcOffsetMin")),
        probes: {
          storeRecovered: () => this.counters.storeErrors === 0,
          busAnswered: () => this.#busAnswered(),
          headendAcknowledged: () => (this.uplink?.drain.counters.recordsAcknowledged ?? 0) > 0,
        },
      });
    }
  }

  get state(): ConcentratorState {
    return this.#state;
  }

  /** Mains and battery, as the power-supply module reports them. */
  get powerMonitor(): PowerMonitor {
    return this.#power;
  }

  /** Starts everything, in order. */
  start(): void {
    const reason = this.hal.system.resetReason;
    this.events.pulse(EventType.firmware, CONCENTRATOR, reason === "power-on" ? 0 : 1);
    if (reason === "power-on" || reason === "brownout") {
      // Power came back (the failure was reported by the boot that saw it, if it had time): the
      // interval of every module's next reading had a power failure.
      this.events.pulse(EventType.powerRestore, CONCENTRATOR, 0);
      this.acquirer.flagAll(ReadingStatus.powerFailure);
    }
    this.resolveBalance();
    this.applyEmergency();
    this.latch.start();
    this.poller.start();
    this.catchUp?.start();
    this.discovery.start();
    for (const name of this.bridges.keys()) this.discoverBridge(name);
    if (!this.#power.mainsPresent()) this.onMains(false);
    this.modem?.start();
    this.uplink?.start();
    // A board whose service port cannot be had (a debug build: the debugger owns it) runs without.
    this.consoleUnavailable = this.console.start();
    this.ota?.start();
  }

  /** `listener` runs after every readout of a module (scheduled, billing, on demand), before its readings are stored. */
  onReadout(listener: (module: number, readout: Readout) => void): void {
    this.#readoutListeners.push(listener);
  }

  /** `listener` runs after every append of readings to the store, when they are durable. */
  onReadingsStored(listener: (readings: readonly Reading[]) => void): void {
    this.#storedListeners.push(listener);
  }

  /** The readings, events and latch counters the status message and the console show. */
  statusCounters(): Record<string, number> {
    return {
      modules: this.topology.size,
      readingsStored: this.counters.readingsStored,
      eventsRaised: this.events.counters.raised,
      alarms: this.events.counters.alarms,
      latched: this.latch.latchedConsumers().length,
      mismatchesDetected: this.latch.counters.mismatchesDetected,
      mismatchesRepaired: this.latch.counters.mismatchesRepaired,
      internalErrors: this.counters.internalErrors,
      ...this.dlmsCounters(),
      ...this.otaCounters(),
    };
  }

  /**
   * The OTA self-test's bus check: a module answered since boot. The first time it has not, one
   * known module is read at once rather than waiting for the schedule (up to a poll interval).
   */
  #busAnswered(): boolean {
    if (this.topology.size === 0 || this.poller.counters.ok > 0) return true;
    if (!this.#busProbed) {
      this.#busProbed = true;
      const first = this.topology.next(0);
      if (first !== 0) this.poller.readNow([first], () => undefined);
    }
    return false;
  }

  /** The OTA state for the head-end's status view (docs/ota.md "Reports"). */
  private otaCounters(): Record<string, number> {
    if (!this.ota) return {};
    const s = this.ota.status();
    return {
      "ota.state": OTA_STATES.indexOf(s.state),
      "ota.version": Math.max(0, packVersion(s.runningVersion)),
      "ota.bytes": s.bytesDone,
      "ota.securityCounter": s.securityCounter,
      "ota.keySet": s.keySetVersion,
    };
  }

  /** DLMS diagnostics apart, as a field engineer needs them: answers not authentic, replayed, refused, unreadable. */
  private dlmsCounters(): Record<string, number> {
    const s = this.dlms?.stats;
    return s ? { dlmsAuthFailed: s.authFailed, dlmsReplayed: s.replayed, dlmsRefused: s.refused, dlmsParseFailed: s.parseFailed } : {};
  }

  /** Applies configuration that the running parts read once (schedules, thresholds). */
  applyConfiguration(): void {
    this.poller.setGroups(this.#groups(), Number(this.config.get("site.utcOffsetMin")));
    this.clockKeeper.setMaxDrift(Number(this.config.get("clock.maxDriftS")));
    this.resolveBalance();
    this.applyEmergency();
  }

  /** Triggers a latch from an authenticated source (the command path, a console with privileges). */
  latchTrigger(consumer: number, trigger: "remoteDisconnect" | "remoteReconnect", source: TriggerSource, actor?: string): LatchOutcome {
    return this.latch.trigger(consumer, trigger, source, actor);
  }

  /** Sets the wall clock (from the head-end): audited, an event, and the readings of the interval flagged. */
  setWallClock(epochMs: number, source: ChangeSource): number {
    const before = this.hal.wallClock.now();
    this.hal.wallClock.set(epochMs);
    const offset = epochMs - before;
    this.config.record("clock.concentrator", String(Math.floor(before / 1000)), String(Math.floor(epochMs / 1000)), source, ChangeResult.applied);
    this.events.pulse(EventType.clockSet, CONCENTRATOR, Math.round(offset / 1000));
    this.acquirer.flagAll(ReadingStatus.clockAdjusted);
    this.clockKeeper.wallClockSet();
    this.applyEmergency();
    return offset;
  }

  // ---- internals ----

  /** Each group's last completed billing day, as a high-water mark in the counters range (keys 4 + 2 × group id). */
  #billingDays() {
    const marks = new Map<number, HighWaterMark>();
    const mark = (group: number) => {
      if (!(Number.isInteger(group) && group >= 0 && 4 + 2 * group + 1 < StateLayout.counters.count)) return undefined;
      let m = marks.get(group);
      if (!m) marks.set(group, (m = new HighWaterMark(this.journal, StateLayout.counters.base + 4 + 2 * group)));
      return m;
    };
    return {
      last: (group: number) => {
        const v = mark(group)?.value ?? -1;
        return v >= 0 ? v : undefined;
      },
      done: (group: number, day: number) => void mark(group)?.accept(day),
    };
  }

  /** Asks a bridge what it reaches, then scans those modules; a bridge that does not answer is asked again. */
  private discoverBridge(name: string): void {
    const bridge = this.bridges.get(name);
    if (!bridge || this.#state !== "running") return;
    bridge.discover((r) =>
      this.guarded(() => {
        if (r.ok) this.discovery.scan(name);
        else this.hal.timers.set(() => this.discoverBridge(name), BRIDGE_RETRY_MS);
      }),
    );
  }

  #groups(): GroupSchedule[] {
    const from = Number(this.config.get("poll.windowFromMin"));
    const to = Number(this.config.get("poll.windowToMin"));
    const main: GroupSchedule = {
      id: DEFAULT_GROUP_ID,
      modules: [],
      intervalMin: Number(this.config.get("poll.intervalMin")),
      billingAtMin: Number(this.config.get("billing.atMin")),
      ...(from !== to ? { window: { fromMin: from, toMin: to } } : {}),
    };
    return [...(this.site.groups ?? []), main];
  }

  #onReadout(module: number, readout: Readout, kind: ReadKind, timeS: number): void {
    const t = this.topology;
    if (!t.has(module)) return;
    for (const l of this.#readoutListeners) l(module, readout);
    this.acquirer.readout(t.pathOf(module), t.addressOf(module), readout, kind, timeS);
  }

  /** After the topology took in who answered at `path`/`address` (the acquirer's first step of a readout). */
  private persistChanges(path: string, address: string): void {
    // Persist every module whose record changed (a new number, meters, its place, displaced), the one
    // that answered first: a cut between two writes leaves its claim on a meter (Topology restore).
    const changed = this.topology.takeChanged();
    if (changed.length === 0) return;
    const answered = this.topology.numberAt(path, address);
    for (const n of changed.sort((a, b) => (b === answered ? 1 : 0) - (a === answered ? 1 : 0))) this.persistModule(n);
    this.resolveBalance();
  }

  private persistModule(module: number): void {
    const p = this.topology.persistent(module);
    if (!p) return;
    try {
      this.#topologyStore.save(p, this.topology.counters());
    } catch (e) {
      this.counters.topologyFull++;
      this.recordError(e);
    }
  }

  /** @internal For the parts' callbacks (unit-ports.ts). */
  storeReadings(readings: readonly Reading[], billing: boolean): void {
    this.log.appendReadings(readings, billing ? RecordClass.billing : RecordClass.profile);
    this.counters.readingsStored += readings.length;
    // The profile catch-up first (called, not a listener: a closure per listener is 10 slots on the device).
    this.catchUp?.stored(readings);
    for (const l of this.#storedListeners) l(readings);
    this.uplink?.notify(billing ? "billing" : "reading");
  }

  /** @internal For the parts' callbacks (unit-ports.ts). */
  auditLatch(e: LatchAudit): void {
    const source = e.source === "head-end" ? ChangeSource.headEnd : e.source === "console" ? ChangeSource.console : ChangeSource.local;
    // "latch.<consumer>.<trigger or mode>": at most 27 characters, within the audit's 32.
    this.config.record(`latch.${e.subject}.${e.action}`, e.old, e.new, source, e.result === "ok" ? ChangeResult.applied : ChangeResult.denied, e.actor);
  }

  /** The emergency profile of the configuration, for the time it has left on the wall clock (none while that clock is not set). */
  private applyEmergency(): void {
    const id = Number(this.config.get("limiter.emergencyProfile"));
    const wall = this.hal.wallClock;
    const leftMs = Number(this.config.get("limiter.emergencyUntilS")) * 1000 - wall.now();
    this.latch.setEmergency(id > 0 && wall.valid && leftMs > 0 ? { id, activationMs: this.hal.clock.now(), durationMs: leftMs } : undefined);
  }

  /**
   * The emergency profile of the configuration as DLMS limiters take it (IC 71 activation and duration,
   * s). The configuration has only its end: the meters are told it has been active since 2000-01-01.
   */
  /** @internal For the parts' callbacks (unit-ports.ts). */
  emergencyForMeters(): { id: number; startS: number; durationS: number } | undefined {
    const id = Number(this.config.get("limiter.emergencyProfile"));
    const untilS = Number(this.config.get("limiter.emergencyUntilS"));
    const since2000 = 946_684_800;
    return id > 0 && untilS > since2000 ? { id, startS: since2000, durationS: untilS - since2000 } : undefined;
  }

  /** Balance groups are configured by meter serial; they start once every meter is known. */
  private resolveBalance(): void {
    const configs = this.site.balance ?? [];
    if (this.#balance.length === configs.length) return;
    // By serial, one lookup each: this runs at every topology change until every group resolves
    // (building every module's persistent record here made a discovery turn 5 M XS units, docs/memory.md).
    const t = this.topology;
    this.#balance.length = 0;
    for (const b of configs) {
      // Each lookup packs its serial and compares bytes in script: none after the first meter not known yet.
      const balanceMeter = t.meterNumber(b.balanceMeter);
      if (balanceMeter === undefined) continue;
      const consumers: number[] = [];
      for (const serial of b.consumers) {
        const c = t.meterNumber(serial);
        if (c === undefined) break;
        consumers.push(c);
      }
      if (consumers.length < b.consumers.length) continue;
      const config: BalanceGroupConfig = {
        id: b.id,
        balanceMeter,
        consumers,
        thresholdPercent: Number(this.config.get("balance.thresholdPct")),
        minDurationMs: Number(this.config.get("balance.minDurationMin")) * 60_000,
        minBalanceWh: 10,
      };
      this.#balance.push(new BalanceMonitor(config));
    }
  }

  private onMains(present: boolean): void {
    this.events.pulse(present ? EventType.powerRestore : EventType.powerFail, CONCENTRATOR, 0);
    const t = this.hal.timers;
    if (present) {
      if (this.#batteryTimer !== undefined) t.clear(this.#batteryTimer);
      this.#batteryTimer = undefined;
      // Mains back after an orderly shutdown the battery cutoff did not end (mains returned as it
      // shut down): start afresh (recovery is the normal boot path).
      if (this.#state === "shutdown") this.hal.system.restart();
      return;
    }
    this.acquirer.flagAll(ReadingStatus.powerFailure);
    if (this.#batteryTimer === undefined) this.#batteryTimer = t.set(() => this.guarded(() => this.checkBattery()), BATTERY_CHECK_MS, BATTERY_CHECK_MS);
  }

  /**
   * On battery, below the low-battery threshold: record it, stop everything that draws current or
   * writes, then have the power-supply module disconnect the battery (the ENERGSys MC/ML product document: "automatically
   * records and stores the event then disconnects the system"); the board starts again when mains
   * return. Everything acknowledged is already on flash.
   */
  private checkBattery(): void {
    if (this.#state !== "running" || this.#power.mainsPresent()) return;
    if (this.#power.batteryMillivolts() > Number(this.config.get("power.lowBatteryMv"))) return;
    this.events.pulse(EventType.batteryLow, CONCENTRATOR, this.#power.batteryMillivolts());
    this.#state = "shutdown";
    this.console.stop();
    this.alarmSms?.stop();
    this.uplink?.stop();
    this.modem?.stop();
    this.discovery.stop();
    this.poller.stop();
    this.catchUp?.stop();
    this.latch.stop();
    for (const b of this.bridges.values()) b.close();
    for (const b of this.buses) b.close();
    // Readouts already taken are stored before the battery goes (their acquisition runs in turns).
    this.guarded(() => this.acquirer.flush());
    while (this.log.maintain());
    this.#power.disconnectBattery();
  }

  /** A message from the head-end's SMS gateway: a sealed downlink message, confirmed once it is taken. */
  private smsIn(m: IncomingSms): void {
    // Confirmed once opened and acted on; anything else is dropped silently, counted by the channel.
    if (m.alphabet === "8bit") this.uplink?.receive(m.data, () => this.modem?.sms.confirm(m));
  }

  /** @internal For the parts' callbacks (unit-ports.ts). */
  guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.recordError(e);
    }
  }

  private recordError(e: unknown): void {
    // A power loss in the simulation unwinds through here: it is not an error of ours.
    if (e instanceof Error && e.name === "PowerLossError") throw e;
    this.counters.internalErrors++;
    this.lastInternalError = e;
  }
}
