/**
 * A whole site: the simulated installation (world.ts) with the concentrator firmware booted on its
 * board at every power-on, as the device would be, and the figures the site simulation reports. The
 * report's ground truth comes from the world (what the meters did, whether a latched consumer was
 * supplied), the firmware's figures from its own counters, summed over every boot.
 *
 * Pure ECMAScript: `npm start`, the tests and the XS scenarios all run it.
 */
import { Concentrator, type SiteConfig } from "../../firmware/app/concentrator.js";
import { StoreQueue } from "../../firmware/app/store-queue.js";
import { IMPORT_TOTAL, ReadingStatus, registerCode, type Reading } from "../../firmware/model/records.js";
import type { UplinkRecord } from "../../firmware/uplink/ports.js";
import type { Hal } from "../../hal/index.js";
import { SimMeter } from "../../hal/sim/meters.js";
import type { MemoryHeadendStore } from "../headend/memory-store.js";
import { SiteRecorder, type SiteSeries } from "./recorder.js";
import { SiteOta, type OtaReport, type SiteOtaOptions } from "./ota-world.js";
import { APN } from "./uplink-world.js";
import { World, type WorldOptions } from "./world.js";

const SLOT_MS = 15 * 60_000;
const EXPORT_TOTAL = registerCode(2, 8, 0);
/** How often the latch check looks at every consumer's supply, ms. */
const LATCH_SAMPLE_MS = 30_000;

export interface SiteOptions extends WorldOptions {
  /** Extra site wiring for the firmware (groups). */
  config?: Partial<SiteConfig>;
  /**
   * Share of the local modules whose consumers the head-end disconnects as soon as the concentrator
   * knows them (a seeded choice of that many), so latches are held through the faults. Default 0.1.
   */
  disconnectedShare?: number;
  /** The head-end's database, when it is not the simulated one (a real head-end on SQLite). */
  headendView?: HeadendView;
  /** Record the time series of the report's charts (recorder.ts): `series` in the report. Default false. */
  record?: boolean;
  /** OTA: the board runs the simulator's image of 1.0.0 and may be offered a new one (ota-world.ts). */
  ota?: SiteOtaOptions;
}

/** What a head-end's database holds, for the report's ground truth. */
export interface HeadendView {
  /** Every reading stored for a concentrator. */
  readings(concentrator: number): Iterable<Reading>;
  /** Readings stored for a concentrator. */
  count(concentrator: number): number;
  /** Readings that reached the head-end again after they were stored (absorbed: stored once). */
  duplicates(concentrator: number): number;
}

export interface SiteReport {
  seed: string;
  days: number;
  simulatedMs: number;
  boots: number;
  brownouts: number;
  shutdowns: number;
  /** Orderly shutdowns that ended with the battery disconnected (the board off until mains return). */
  batteryCutoffs: number;
  mainsFailures: number;
  /**
   * Profile slots (docs/backfill.md): every 15-minute interval of the run for every energy channel of
   * every installed meter (import, and export for serial and DLMS meters), and of those the ones the
   * concentrator holds a value for (stored with a time in that interval, live or back-filled): the same
   * slots on both sides, so the ratio is the completeness of the billing profile.
   */
  readingsExpected: number;
  readingsAcquired: number;
  /** Of the slots acquired, those first filled from a meter's own load profile. */
  readingsBackfilled: number;
  /** Expected − acquired. */
  readingsUnrecoverable: number;
  /** Why: the firmware's count per reason (slots × the meter's channels); `pending` is the rest (not yet caught up, a module never found). */
  unrecoverableBy: { noProfile: number; profileTooShort: number; notRecorded: number; expired: number; pending: number };
  /** Register values read by readouts (every register, not only the profile channels). */
  readingsRead: number;
  /** Back-filled readings stored (every channel), catch-up sessions, modules whose clock was found off beyond the tolerance. */
  backfillReadingsStored: number;
  backfillSessions: number;
  meterClockOffsets: number;
  /** Distinct readings stored, by the protocol of the meter they came from (IEC 62056-21 readouts, DLMS/COSEM). */
  readingsByProtocol: { iec: number; dlms: number };
  /** DLMS meters installed and known to the concentrator at the end; of their readings, those from load profiles. */
  dlmsMeters: number;
  dlmsMetersKnown: number;
  dlmsProfileReadings: number;
  readingsStored: number;
  readingsImplausible: number;
  readoutsOk: number;
  readoutsFailed: number;
  eventsRaised: number;
  alarms: number;
  modules: number;
  modulesDiscovered: number;
  /** Installed modules the concentrator does not hold as present at the end. */
  modulesMissing: number;
  /** Consumers the firmware holds disconnected at the end. */
  latchedConsumers: number;
  latchMismatchesDetected: number;
  latchMismatchesRepaired: number;
  /** Times a latched consumer stayed supplied for longer than one poll interval (must be 0). */
  latchViolations: number;
  /** Longest time a latched consumer was supplied, ms. */
  latchLongestSuppliedMs: number;
  busUtilisation: number;
  /** RS485 poll cycles: mean duration over the wire-time lower bound (docs/d0.md), and their number. */
  pollCycleRatio: number;
  pollCycles: number;
  /** The same through the bridges, over the air-and-wire lower bound (docs/bridge.md). */
  remoteCycleRatio: number;
  remoteCycles: number;
  routeFailovers: number;
  internalErrors: number;
  /** Distinct readings (meter, register, time) the concentrator stored that are in the head-end's database. */
  readingsDelivered: number;
  /** Readings stored, not yet delivered, still in the concentrator's store (a backlog, not a loss). */
  readingsPending: number;
  /** Readings that reached the head-end again after they were stored there (harmless: stored once). */
  duplicatesAtHeadEnd: number;
  /** Readings stored that never reached the head-end and are no longer in the concentrator's store (must be 0). */
  lost: number;
  /** Readings in the head-end's database that the concentrator never stored, or with another value (must be 0). */
  readingsCorrupt: number;
  /** TCP payload bytes through the modem, both directions: MQTT, envelopes, acknowledgements, pings, status. */
  uplinkBytes: number;
  uplinkBytesPerReading: number;
  /** Commands the concentrator dropped (not authentic, not fresh, not for it, unreadable) or refused. */
  commandsRejected: number;
  /** Alarm messages the concentrator sent by SMS while GPRS was down, and SMS the head-end took. */
  alarmSmsSent: number;
  smsTakenAtHeadEnd: number;
  commandsRejectedBy: { malformed: number; foreign: number; authFailed: number; replayed: number; parseFailed: number; refused: number };
  /** With `ota.campaign`: how the update went. */
  ota?: OtaReport;
  faults: World["faults"] & Partial<NonNullable<World["uplink"]>["faults"]>;
  wallMs: number;
  /** The run over time, with `record` (recorder.ts). */
  series?: SiteSeries;
}

interface Totals {
  acquired: number;
  stored: number;
  implausible: number;
  ok: number;
  failed: number;
  events: number;
  alarms: number;
  detected: number;
  repaired: number;
  cycles: number;
  ratioSum: number;
  remoteCycles: number;
  remoteRatioSum: number;
  failovers: number;
  internalErrors: number;
  shutdowns: number;
  malformed: number;
  foreign: number;
  authFailed: number;
  replayed: number;
  parseFailed: number;
  refused: number;
  alarmSms: number;
  dlmsProfile: number;
  otaRequestBytes: number;
  backfillReadings: number;
  backfillSessions: number;
  clockOffsets: number;
}

function zero(): Totals {
  return {
    acquired: 0, stored: 0, implausible: 0, ok: 0, failed: 0, events: 0, alarms: 0, detected: 0, repaired: 0, cycles: 0, ratioSum: 0, remoteCycles: 0, remoteRatioSum: 0, failovers: 0, internalErrors: 0, shutdowns: 0,
    malformed: 0, foreign: 0, authFailed: 0, replayed: 0, parseFailed: 0, refused: 0, alarmSms: 0, dlmsProfile: 0, otaRequestBytes: 0,
    backfillReadings: 0, backfillSessions: 0, clockOffsets: 0,
  };
}

function countersOf(c: Concentrator): Totals {
  const rx = c.uplink?.channel.counters;
  let failovers = 0;
  for (const b of c.bridges.values()) failovers += b.counters.failovers;
  let cycles = 0, ratioSum = 0, remoteCycles = 0, remoteRatioSum = 0;
  for (const [path, k] of c.poller.cycles) {
    if (c.bridges.has(path)) {
      remoteCycles += k.complete;
      remoteRatioSum += k.ratioSum;
    } else {
      cycles += k.complete;
      ratioSum += k.ratioSum;
    }
  }
  return {
    acquired: c.acquirer.counters.readings,
    stored: c.counters.readingsStored,
    implausible: c.acquirer.counters.implausible,
    ok: c.poller.counters.ok,
    failed: c.poller.counters.failed,
    events: c.events.counters.raised,
    alarms: c.events.counters.alarms,
    detected: c.latch.counters.mismatchesDetected,
    repaired: c.latch.counters.mismatchesRepaired,
    cycles,
    ratioSum,
    remoteCycles,
    remoteRatioSum,
    failovers,
    internalErrors: c.counters.internalErrors,
    shutdowns: c.state === "shutdown" ? 1 : 0,
    malformed: rx?.malformed ?? 0,
    foreign: rx?.foreign ?? 0,
    authFailed: rx?.authFailed ?? 0,
    replayed: rx?.replayed ?? 0,
    parseFailed: rx?.parseFailed ?? 0,
    refused: c.uplink?.commands.counters.rejected ?? 0,
    alarmSms: c.alarmSms?.counters.messages ?? 0,
    dlmsProfile: c.dlms?.counters.profileReadings ?? 0,
    otaRequestBytes: c.uplink?.otaRequestBytes ?? 0,
    backfillReadings: c.catchUp?.counters.readings ?? 0,
    backfillSessions: c.catchUp?.counters.sessions ?? 0,
    clockOffsets: c.catchUp?.counters.clockOffsets ?? 0,
  };
}

function add(a: Totals, b: Totals): Totals {
  const out = { ...a };
  for (const k of Object.keys(out) as Array<keyof Totals>) out[k] += b[k];
  return out;
}

export class Site {
  readonly world: World;
  readonly options: SiteOptions;
  /** The firmware of the current boot, undefined while the board is off. */
  concentrator: Concentrator | undefined;
  #previous: Totals = zero();
  /** Consumers (by meter serial) whose supply must be off, as the firmware last said. */
  #latched = new Set<string>();
  /** Since when each latched consumer (meter serial) has been supplied. */
  #suppliedSince = new Map<string, number>();
  #violations = 0;
  /** Modules and DLMS meters whose consumers the head-end is still to disconnect. */
  readonly #toDisconnect: Array<{ serial: string }>;
  /** Distinct readings stored, by protocol. */
  readonly #byProtocol = { iec: 0, dlms: 0 };
  /** Profile slots held ("meter/register/slot" of an energy channel), and whether the first value for it was back-filled. */
  readonly #slots = new Map<string, boolean>();
  /** Unrecoverable slots by reason, per meter serial, of the boots that ended (holdings are RAM per boot). */
  readonly #unrecoverable = new Map<string, number[]>();
  #longestSupplied = 0;
  /** Ground truth of the uplink: every distinct reading the firmware stored, with its first value. */
  readonly #storedValues = new Map<string, number>();
  readonly #headend: HeadendView | undefined;
  readonly #started = Date.now();
  readonly #recorder: SiteRecorder | undefined;
  /** OTA: the site's release keys, images and report, with `options.ota`. */
  readonly ota: SiteOta | undefined;
  #versionBefore = "";

  constructor(options: SiteOptions) {
    this.options = options;
    const ota = (this.ota = options.ota ? new SiteOta(options.seed, options.ota, () => this.world.scheduler.now) : undefined);
    const w = (this.world = new World(ota ? { ...options, board: { ...options.board, firmwareImage: ota.initialImage } } : options));
    const u = w.uplink;
    const config: SiteConfig = {
      concentratorId: u?.concentratorId ?? 17,
      busAddresses: w.busAddresses(),
      bridges: w.bridgeSites.map((b) => ({ name: b.name, bus: b.bus, address: b.address })),
      ...(w.feeder ? { balance: [{ id: 1, balanceMeter: w.feeder.meter.serial, consumers: w.feeder.consumers }] } : {}),
      ...(u
        ? {
            uplink: {
              modem: { family: u.modem.family, apn: APN },
              host: u.brokerHost,
              port: u.brokerPort,
              secretKey: u.keys.secretKey,
              headendPublicKey: u.keys.headendPublicKey,
              ...(u.smsNumber ? { smsNumber: u.smsNumber } : {}),
            },
          }
        : {}),
      ...(w.dlms.meters.length ? { dlms: w.dlms.config } : {}),
      ...(ota ? { ota: ota.config() } : {}),
      ...options.config,
    };
    const headend = u?.headend;
    this.#headend = options.headendView ?? (headend ? memoryView(headend.store) : undefined);
    const recorder = (this.#recorder = options.record ? new SiteRecorder(this) : undefined);
    const start = (hal: Hal, cfg: SiteConfig, beforeStart?: (c: Concentrator) => void) => {
      const c = new Concentrator(hal, cfg);
      this.concentrator = c;
      c.onReadingsStored((readings) => this.#stored(readings));
      recorder?.watch(c);
      beforeStart?.(c);
      c.start();
      return c;
    };
    w.board.onBoot((hal: Hal) => {
      if (ota) ota.boot(hal, w.board.firmware.booted!.note, config, start);
      else start(hal, config);
    });
    const campaign = options.ota?.campaign;
    if (ota && campaign && headend && u) {
      w.scheduler.at(campaign.atMs, () => {
        this.#versionBefore = w.board.firmware.booted?.version ?? "";
        headend.startCampaign(ota.campaignPackage(campaign, Math.floor(w.board.rtc.now() / 1000)), [u.concentratorId], campaign.window ? { window: campaign.window } : {});
      });
    }
    w.board.domain.onPowerOff(() => {
      if (this.concentrator) this.#previous = add(this.#previous, countersOf(this.concentrator));
      if (this.concentrator) this.#keepUnrecoverable(this.concentrator);
      this.concentrator = undefined;
    });
    const chosen = w.prng.fork("disconnected");
    const candidates: Array<{ serial: string }> = [...w.local.flat(), ...w.dlms.meters];
    this.#toDisconnect = [];
    for (let k = Math.round(candidates.length * (options.disconnectedShare ?? 0.1)); k > 0; k--) this.#toDisconnect.push(...candidates.splice(chosen.int(candidates.length), 1));
    const tick = () => {
      this.#disconnect();
      this.#sampleLatches();
      w.scheduler.after(LATCH_SAMPLE_MS, tick);
    };
    w.scheduler.after(LATCH_SAMPLE_MS, tick);
    w.board.powerOn();
  }

  /** Runs the site until `untilMs` of simulated time, calling `onHour` after every simulated hour. */
  run(untilMs: number, onHour?: () => void): void {
    const s = this.world.scheduler;
    while (s.now < untilMs) {
      s.runUntil(Math.min(untilMs, s.now + 3_600_000));
      onHour?.();
    }
  }

  report(): SiteReport {
    const w = this.world;
    const c = this.concentrator;
    const t = c ? add(this.#previous, countersOf(c)) : this.#previous;
    const s = w.scheduler;
    const present = new Set<string>();
    if (c) for (const m of c.topology.modules) if (m.state === "present") present.add(m.serial);
    const modules = w.modules;
    return {
      seed: this.options.seed,
      days: this.options.days,
      simulatedMs: s.now,
      boots: w.board.boots,
      brownouts: w.board.power.brownouts,
      shutdowns: t.shutdowns,
      batteryCutoffs: w.board.power.cutoffs,
      mainsFailures: w.faults.mainsFailures,
      ...this.#profileSlots(c),
      readingsRead: t.acquired,
      backfillReadingsStored: t.backfillReadings,
      backfillSessions: t.backfillSessions,
      meterClockOffsets: t.clockOffsets,
      readingsByProtocol: { ...this.#byProtocol },
      dlmsMeters: w.dlms.meters.length,
      dlmsMetersKnown: c ? [...c.topology.modules].filter((m) => m.address.startsWith("dlms:") && m.state === "present").length : 0,
      dlmsProfileReadings: t.dlmsProfile,
      readingsStored: t.stored,
      readingsImplausible: t.implausible,
      readoutsOk: t.ok,
      readoutsFailed: t.failed,
      eventsRaised: t.events,
      alarms: t.alarms,
      modules: modules.length,
      modulesDiscovered: c ? c.topology.size : 0,
      modulesMissing: modules.filter((m) => !present.has(m.serial)).length,
      latchedConsumers: c ? c.latch.latchedConsumers().length : 0,
      latchMismatchesDetected: t.detected,
      latchMismatchesRepaired: t.repaired,
      latchViolations: this.#violations + this.#openEpisodes().filter((d) => d > SLOT_MS).length,
      latchLongestSuppliedMs: Math.round(Math.max(this.#longestSupplied, ...this.#openEpisodes())),
      busUtilisation: Number((w.buses.reduce((n, b) => n + b.busyMs, 0) / w.buses.length / Math.max(1, s.now)).toFixed(4)),
      pollCycleRatio: t.cycles ? Number((t.ratioSum / t.cycles).toFixed(4)) : 0,
      pollCycles: t.cycles,
      remoteCycleRatio: t.remoteCycles ? Number((t.remoteRatioSum / t.remoteCycles).toFixed(4)) : 0,
      remoteCycles: t.remoteCycles,
      routeFailovers: t.failovers,
      internalErrors: t.internalErrors,
      ...this.#uplinkTruth(),
      commandsRejected: t.malformed + t.foreign + t.authFailed + t.replayed + t.parseFailed + t.refused,
      commandsRejectedBy: { malformed: t.malformed, foreign: t.foreign, authFailed: t.authFailed, replayed: t.replayed, parseFailed: t.parseFailed, refused: t.refused },
      alarmSmsSent: t.alarmSms,
      smsTakenAtHeadEnd: w.uplink?.headend?.smsCounters.taken ?? 0,
      faults: { ...w.faults, ...w.uplink?.faults },
      ...(this.options.ota?.campaign ? { ota: this.#otaReport(t) } : {}),
      wallMs: Date.now() - this.#started,
      ...(this.#recorder ? { series: this.#recorder.series() } : {}),
    };
  }

  /** The campaign's outcome as the simulated head-end has it, and what the board runs now. */
  #otaReport(t: Totals): OtaReport {
    const u = this.world.uplink!;
    const he = u.headend;
    const unit = he?.ota.progress()[0]?.units.find((x) => x.concentrator === u.concentratorId);
    const frames = he?.ota.frameBytes.get(u.concentratorId) ?? 0;
    return this.ota!.report(unit, this.#versionBefore, this.world.board.firmware.booted?.version ?? "", frames + t.otaRequestBytes, this.world.startEpochMs);
  }

  /** A few running figures, cheap enough for a progress line. */
  progress(): { boots: number; modulesDiscovered: number; readingsStored: number; readingsDistinct: number; readingsDelivered: number; eventsRaised: number; alarms: number; latchViolations: number } {
    const c = this.concentrator;
    const t = c ? add(this.#previous, countersOf(c)) : this.#previous;
    const u = this.world.uplink;
    return {
      boots: this.world.board.boots,
      modulesDiscovered: c ? c.topology.size : 0,
      readingsStored: t.stored,
      readingsDistinct: this.#storedValues.size,
      readingsDelivered: u && this.#headend ? this.#headend.count(u.concentratorId) : 0,
      eventsRaised: t.events,
      alarms: t.alarms,
      latchViolations: this.#violations,
    };
  }

  /** Consumers the firmware holds disconnected (as it last said), and of those, supplied now (ground truth). */
  latchState(): { latched: number; supplied: number } {
    return { latched: this.#latched.size, supplied: this.#suppliedSince.size };
  }

  /** The readings the firmware stored against the head-end's database and the concentrator's store. */
  #uplinkTruth(): Pick<SiteReport, "readingsDelivered" | "readingsPending" | "duplicatesAtHeadEnd" | "lost" | "readingsCorrupt" | "uplinkBytes" | "uplinkBytesPerReading"> {
    const u = this.world.uplink;
    const he = this.#headend;
    if (!u || !he) return { readingsDelivered: 0, readingsPending: 0, duplicatesAtHeadEnd: 0, lost: 0, readingsCorrupt: 0, uplinkBytes: 0, uplinkBytesPerReading: 0 };
    const id = u.concentratorId;
    const pending = new Set<string>();
    const c = this.concentrator;
    if (c) {
      const queue = new StoreQueue(c.log);
      for (const kind of ["reading", "billing"] as const) {
        let records: UplinkRecord[] | undefined;
        while (!(records = queue.pending(kind, 0, Infinity))); // a chunk of the log per call, to its end
        for (const r of records) pending.add(keyOf((r as { reading: Reading }).reading));
      }
    }
    const atHeadend = new Map<string, number>();
    for (const r of he.readings(id)) atHeadend.set(keyOf(r), r.value);
    let delivered = 0;
    let waiting = 0;
    let lost = 0;
    for (const [key, value] of this.#storedValues) {
      const there = atHeadend.get(key);
      if (there === undefined) {
        if (pending.has(key)) waiting++;
        else lost++;
      } else if (there === value) delivered++;
    }
    const bytes = u.bytes.up + u.bytes.down;
    return {
      readingsDelivered: delivered,
      readingsPending: waiting,
      duplicatesAtHeadEnd: he.duplicates(id),
      lost,
      // In the database with another value than stored, or without ever having been stored.
      readingsCorrupt: atHeadend.size - delivered,
      uplinkBytes: bytes,
      uplinkBytesPerReading: delivered ? Number((bytes / delivered).toFixed(2)) : 0,
    };
  }

  /** Expected and acquired profile slots (see SiteReport), and why the missing ones are missing. */
  #profileSlots(c: Concentrator | undefined): Pick<SiteReport, "readingsExpected" | "readingsAcquired" | "readingsBackfilled" | "readingsUnrecoverable" | "unrecoverableBy"> {
    const w = this.world;
    const slots = Math.floor(w.scheduler.now / SLOT_MS);
    const firstSlot = Math.floor(w.startEpochMs / SLOT_MS);
    const channels = this.#channelsBySerial();
    let expected = 0;
    for (const n of channels.values()) expected += n * slots;
    let acquired = 0;
    let backfilled = 0;
    for (const [key, filled] of this.#slots) {
      const slot = Number(key.slice(key.lastIndexOf("/") + 1)) - firstSlot;
      if (slot < 0 || slot >= slots) continue;
      acquired++;
      if (filled) backfilled++;
    }
    const by = { noProfile: 0, profileTooShort: 0, notRecorded: 0, expired: 0 };
    const names = Object.keys(by) as Array<keyof typeof by>;
    const counts = new Map(this.#unrecoverable);
    if (c) for (const [serial, k] of this.#unrecoverableOf(c)) counts.set(serial, (counts.get(serial) ?? [0, 0, 0, 0]).map((n, i) => n + k[i]!));
    for (const [serial, k] of counts) names.forEach((name, i) => (by[name] += k[i]! * (channels.get(serial) ?? 0)));
    const unrecoverable = expected - acquired;
    const declared = names.reduce((n, name) => n + by[name], 0);
    return { readingsExpected: expected, readingsAcquired: acquired, readingsBackfilled: backfilled, readingsUnrecoverable: unrecoverable, unrecoverableBy: { ...by, pending: Math.max(0, unrecoverable - declared) } };
  }

  /** Energy channels of every installed meter, by serial: import, and export for serial and DLMS meters. */
  #channelsBySerial(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.world.modules) for (const meter of m.meters) out.set(meter.serial, meter.kind === "pulse" ? 1 : 2);
    for (const d of this.world.dlmsMeters) out.set(d.meter.serial, 2);
    return out;
  }

  /** The current boot's unrecoverable slots per meter serial. */
  #unrecoverableOf(c: Concentrator): Map<string, number[]> {
    const out = new Map<string, number[]>();
    c.catchUp?.holdings.forEachUnrecoverable((meter, counts) => {
      const serial = this.#meterSerial(c, meter);
      if (serial) out.set(serial, [...counts]);
    });
    return out;
  }

  #keepUnrecoverable(c: Concentrator): void {
    for (const [serial, k] of this.#unrecoverableOf(c)) this.#unrecoverable.set(serial, (this.#unrecoverable.get(serial) ?? [0, 0, 0, 0]).map((n, i) => n + k[i]!));
  }

  #meterSerial(c: Concentrator, meter: number): string | undefined {
    const at = c.topology.meterLocation(meter);
    return at && c.topology.persistent(at.module.number)?.meters.find((x) => x.meter === meter)?.serial;
  }

  #stored(readings: readonly Reading[]): void {
    const topology = this.concentrator?.topology;
    for (const r of readings) {
      if (r.register === IMPORT_TOTAL || r.register === EXPORT_TOTAL) {
        const key = `${r.meter}/${r.register}/${Math.floor(r.time / (SLOT_MS / 1000))}`;
        if (!this.#slots.has(key)) this.#slots.set(key, (r.status & ReadingStatus.backfilled) !== 0);
      }
      const key = keyOf(r);
      if (this.#storedValues.has(key)) continue;
      this.#storedValues.set(key, r.value);
      const address = topology?.meterLocation(r.meter)?.module.address ?? "";
      this.#byProtocol[address.startsWith("dlms:") ? "dlms" : "iec"]++;
    }
  }

  /** The module behind a simulated module's (or DLMS meter's) serial, in the firmware's topology now. */
  moduleNumber(m: { serial: string }): number | undefined {
    const c = this.concentrator;
    if (!c) return undefined;
    for (const e of c.topology.modules) if (e.serial === m.serial) return e.number;
    return undefined;
  }

  /** The head-end's disconnections, for the modules the concentrator has come to know. */
  #disconnect(): void {
    const c = this.concentrator;
    if (!c || c.state !== "running") return;
    for (let i = this.#toDisconnect.length - 1; i >= 0; i--) {
      const n = this.moduleNumber(this.#toDisconnect[i]!);
      if (n === undefined) continue;
      for (const meter of c.topology.module(n)!.meters.values()) c.latchTrigger(meter, "remoteDisconnect", "head-end");
      this.#toDisconnect.splice(i, 1);
    }
  }

  /**
   * The ground truth of the latches: a consumer is its meter, and it is supplied when the relay of the
   * module it hangs behind (whichever module that is now: a replacement too) is closed and the grid is
   * up. While the board is off, the latches the firmware last held still apply.
   */
  #sampleLatches(): void {
    const c = this.concentrator;
    if (c) {
      this.#latched = new Set<string>();
      for (const consumer of c.latch.latchedConsumers()) {
        const serial = this.#meterSerial(c, consumer);
        if (serial) this.#latched.add(serial);
      }
    }
    const now = this.world.scheduler.now;
    for (const meters of [...this.world.modules.map((m) => m.meters), this.world.dlmsMeters.map((d) => d.meter)]) {
      for (const meter of meters) {
        if (!(meter instanceof SimMeter)) continue;
        const supplied = this.#latched.has(meter.serial) && meter.supplied;
        const since = this.#suppliedSince.get(meter.serial);
        if (supplied && since === undefined) this.#suppliedSince.set(meter.serial, now);
        if (!supplied && since !== undefined) this.#endEpisode(meter.serial, now - since);
      }
    }
  }

  /** Durations of the episodes still going on, ms. */
  #openEpisodes(): number[] {
    const now = this.world.scheduler.now;
    return [...this.#suppliedSince.values()].map((since) => now - since);
  }

  #endEpisode(serial: string, durationMs: number): void {
    this.#suppliedSince.delete(serial);
    this.#longestSupplied = Math.max(this.#longestSupplied, durationMs);
    if (durationMs > SLOT_MS) this.#violations++;
  }
}

function keyOf(r: Reading): string {
  return `${r.meter}/${r.register}/${r.time}`;
}

function memoryView(store: MemoryHeadendStore): HeadendView {
  return {
    readings: (concentrator) => store.readingsOf(concentrator),
    count: (concentrator) => store.readingCount(concentrator),
    duplicates: (concentrator) => store.duplicateReadings(concentrator),
  };
}
