/**
 * Power-cut campaigns for firmware/store on simulated NOR flash (as littlefs and MCUboot test their power-loss
 * claims): a concentrator-like workload (readings, billing, events and alarms, a head-end that drains
 * and acknowledges out of order and goes offline, latch writes, counters, replay checks,
 * configuration changes, maintenance), with power cut in the middle of a program or erase.
 *
 * - `linearCampaign`: the workload once per flash operation n = 1, 2, … of an uncut run, cut at the
 *   n-th operation, then recovery, checks, the rest of the workload, checks.
 * - `randomCampaign`: one device, cut again and again after a seeded random number of operations
 *   (cuts may land in recovery too), checks after every recovery.
 *
 * A model of what was acknowledged follows the device; after every recovery the whole log is drained
 * and every key read back. Pure ECMAScript: mocha, the XS scenario and tools/powercut.ts run it.
 */
import type { FlashPartition, WallClock } from "../../hal/index.js";
import { PowerDomain, PowerLossError } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimNorFlash } from "../../hal/sim/nor-flash.js";
import type { MeterEvent, Reading } from "../../firmware/model/records.js";
import { ChangeSource, type AuditEntry } from "../../firmware/store/audit.js";
import { ConfigStore, type ConfigSchema } from "../../firmware/store/config.js";
import { HighWaterMark, MonotonicCounter } from "../../firmware/store/counter.js";
import { RecordLog, type LogCursor, type SeqRun } from "../../firmware/store/log.js";
import { decodeRecord, RecordClass, type StoredRecord } from "../../firmware/store/record-codec.js";
import { StateJournal } from "../../firmware/store/state-journal.js";

/** The four invariants, counted over a campaign (all must stay 0). */
export interface Tally {
  cuts: number;
  /** Records whose append returned, missing after a recovery (not released, not evicted with a notice). */
  lostAcknowledged: number;
  /** Records returned whose content is not what was appended, duplicates in one drain, undecodable ones. */
  corruptReturned: number;
  /**
   * A key neither its old nor its new value; a configuration value without its audit entry or the
   * reverse; a record released by the head-end returned again.
   */
  criticalStateViolations: number;
  /** A counter value, log sequence number or accepted replay counter handed out or accepted twice. */
  counterRepeats: number;
}

export interface CampaignReport extends Tally {
  /** The first violations, described. */
  failures: string[];
  boots: number;
  steps: number;
  appends: number;
  released: number;
  evictions: number;
  /** Sectors the state journal collected (copied, then erased). */
  collections: number;
  flashOperations: number;
}

/** Partition geometry: small partitions so that a short workload wraps the ring and evicts. */
export interface Geometry {
  blockSize: number;
  logSectors: number;
  stateSectors: number;
  /**
   * A faulty flash whose cut also undoes the last program that completed (a volatile write cache).
   * Only for checking that the campaign catches a store that loses acknowledged data.
   */
  volatileWrites?: boolean;
}

/** The geometries swept (data, not code: add a row to test another). */
export const GEOMETRIES: Readonly<Record<string, Geometry>> = {
  /** ESP32 sector size, a 64 KiB log and a 32 KiB journal. */
  esp32: { blockSize: 4096, logSectors: 16, stateSectors: 8 },
  /** Small sectors: many rolls, summaries and collections per operation. */
  small: { blockSize: 1024, logSectors: 24, stateSectors: 8 },
};

/** Journal keys of the workload; the audit trail keeps AUDIT_KEYS − 1 entries. */
const KEYS = { counter: 0, replay: 2, latches: 8, latchCount: 32, config: 64, audit: 128, retired: 160 } as const;
const AUDIT_KEYS = 16;
const SCHEMA: ConfigSchema = {
  pollIntervalS: { type: "int", key: 0, default: 900, min: 60, max: 86_400 },
  apn: { type: "text", key: 1, default: "internet", maxLength: 32 },
  tariff: { type: "int", key: 2, default: 0, min: 0, max: 4, writableBy: [ChangeSource.headEnd, ChangeSource.console] },
};
const CONFIG_NAMES = Object.keys(SCHEMA);
const START_TIME = 1_767_225_600; // 2026-01-01T00:00:00Z
const OUTAGE_PERIOD = 600;
const OUTAGE_START = 150;
const OUTAGE_END = 450;

/**
 * Counts every program and erase of both partitions, cuts power at the armed one, and wears sectors
 * out at the operations listed in `wearOutAt`.
 */
class CutSwitch {
  operations = 0;
  cutAt = 0;
  wearOutAt: number[] = [];
}

class CuttableFlash implements FlashPartition {
  readonly #inner: SimNorFlash;
  readonly #sw: CutSwitch;
  readonly #volatile: boolean;
  /** With `volatileWrites`: where the last program went and what was there before. */
  #undo: { offset: number; before: Uint8Array; after: Uint8Array } | undefined;
  readonly byteLength: number;
  readonly blockSize: number;

  constructor(inner: SimNorFlash, sw: CutSwitch, volatileWrites: boolean) {
    this.#inner = inner;
    this.#sw = sw;
    this.#volatile = volatileWrites;
    this.byteLength = inner.byteLength;
    this.blockSize = inner.blockSize;
  }

  read(offset: number, byteLength: number): Uint8Array {
    return this.#inner.read(offset, byteLength);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#arm();
    this.#wearOut(offset);
    const before = this.#volatile ? this.#inner.read(offset, bytes.length) : undefined;
    this.#guard(() => this.#inner.write(offset, bytes));
    if (before) this.#undo = { offset, before, after: this.#inner.read(offset, bytes.length) };
  }

  /** A faulty part (for checking the checks): the cut also loses the last program that completed. */
  #guard(op: () => void): void {
    try {
      op();
    } catch (e) {
      const u = this.#undo;
      if (e instanceof PowerLossError && u) for (let i = 0; i < u.before.length; i++) this.#inner.corrupt(u.offset + i, u.before[i]! ^ u.after[i]!);
      throw e;
    }
  }

  eraseBlock(index: number): void {
    this.#arm();
    this.#wearOut(index * this.blockSize);
    this.#guard(() => this.#inner.eraseBlock(index));
    this.#undo = undefined;
  }

  #arm(): void {
    const sw = this.#sw;
    if (++sw.operations === sw.cutAt) this.#inner.cutAtOperation(1);
    if (sw.wearOutAt[0] === sw.operations) {
      // The sector this operation touches wears out now: its data stays, programs and erases fail.
      sw.wearOutAt.shift();
      this.#wearOutNext = true;
    }
  }

  /** Set when the next operation's sector is to wear out. */
  #wearOutNext = false;

  #wearOut(offset: number): void {
    if (!this.#wearOutNext) return;
    this.#wearOutNext = false;
    this.#inner.markBad(Math.floor(offset / this.blockSize));
  }
}

class SettableClock implements WallClock {
  ms = START_TIME * 1000;
  valid = true;
  now(): number {
    return this.ms;
  }
  set(epochMs: number): void {
    this.ms = epochMs;
  }
}

interface Expected {
  /** Keys of what the record may contain (readings of its append call, or the event). */
  allowed: Set<string>;
  /** The decoded content, pinned when first seen. */
  digest: string | undefined;
  cls: number;
}

interface InFlight {
  allowed: Set<string>;
  cls: number;
}

const readingKey = (r: Reading) => `r${r.meter}/${r.register}/${r.time}/${r.value}/${r.status}`;
const eventKey = (e: MeterEvent) => `e${e.type}/${e.subject}/${e.time}/${e.alarm}/${e.detail}`;
const auditKey = (e: AuditEntry) => JSON.stringify(e);

/** One simulated device and the model of what it acknowledged. */
class Rig {
  readonly tally: Tally = { cuts: 0, lostAcknowledged: 0, corruptReturned: 0, criticalStateViolations: 0, counterRepeats: 0 };
  readonly domain: PowerDomain;
  readonly sw = new CutSwitch();
  readonly logFlash: CuttableFlash;
  readonly stateFlash: CuttableFlash;
  readonly clock = new SettableClock();
  readonly #seed: string;
  log!: RecordLog;
  journal!: StateJournal;
  counter!: MonotonicCounter;
  replay!: HighWaterMark;
  config!: ConfigStore;
  cursor!: LogCursor;
  boots = 0;
  steps = 0;
  collections = 0;
  appends = 0;
  evictions = 0;
  // ---- the model ----
  /** Appended, not released, not evicted: must come back after every recovery. */
  readonly #stored = new Map<number, Expected>();
  /** Evicted with a notice: may still come back until the sector is erased, then not. */
  readonly #evicted = new Map<number, Expected>();
  readonly #released = new Set<number>();
  #maybeReleased = new Set<number>();
  #inFlight: InFlight | undefined;
  #maxSeq = 0;
  readonly #latches = new Map<number, string>();
  #latchInFlight: { key: number; value: string } | undefined;
  #maxCounter = -1;
  #accepted = -1;
  #replayInFlight: number | undefined;
  readonly #configValues = new Map<string, string>();
  #configInFlight: { name: string; value: string; number: number } | undefined;
  readonly #audits = new Map<number, string>();
  #auditInFlight: number | undefined;
  #lastAudit = 0;
  // ---- the workload's own state ----
  #time = START_TIME;

  constructor(seed: string, g: Geometry) {
    this.#seed = seed;
    this.domain = new PowerDomain(new Scheduler(), "mc");
    const prng = new Prng(seed);
    const volatile = g.volatileWrites ?? false;
    this.logFlash = new CuttableFlash(new SimNorFlash(this.domain, prng.fork("log"), { byteLength: g.logSectors * g.blockSize, blockSize: g.blockSize }), this.sw, volatile);
    this.stateFlash = new CuttableFlash(new SimNorFlash(this.domain, prng.fork("state"), { byteLength: g.stateSectors * g.blockSize, blockSize: g.blockSize }), this.sw, volatile);
    for (const n of CONFIG_NAMES) this.#configValues.set(n, String(SCHEMA[n]!.default));
  }

  /** Powers on and opens the store. Throws PowerLossError when a cut lands in recovery. */
  boot(): void {
    this.domain.powerOn();
    this.boots++;
    // Count the previous boot's collections once (its journal object is dead now).
    if (this.boots > 1 && this.journal) {
      this.collections += this.journal.stats.collections;
      this.journal.stats.collections = 0;
    }
    this.journal = StateJournal.open(this.stateFlash, { keyCount: 256 });
    this.log = RecordLog.open(this.logFlash, { retired: this.journal.region(KEYS.retired, 8) });
    this.counter = new MonotonicCounter(this.journal, KEYS.counter, { block: 8 });
    this.replay = new HighWaterMark(this.journal, KEYS.replay);
    this.config = new ConfigStore({ journal: this.journal, schema: SCHEMA, wallClock: this.clock, log: this.log, values: { base: KEYS.config, count: 32 }, audit: { base: KEYS.audit, count: AUDIT_KEYS } });
    this.cursor = this.log.cursor();
  }

  /** Boots until a boot completes (a cut may land in recovery), then checks everything. */
  recover(): void {
    for (;;) {
      try {
        this.boot();
        break;
      } catch (e) {
        if (!(e instanceof PowerLossError)) throw e;
        this.tally.cuts++;
      }
    }
    this.verify();
  }

  // ---- the workload ----

  /** Workload step `i` (its choices depend only on the seed and i). Throws PowerLossError on a cut. */
  step(i: number): void {
    this.steps++;
    const r = new Prng(`${this.#seed}/step${i}`);
    const x = r.next();
    if (x < 0.28) this.#readings(r, RecordClass.profile);
    else if (x < 0.33) this.#readings(r, RecordClass.billing);
    else if (x < 0.43) this.#event(r);
    else if (x < 0.63) this.#headEnd(r, i);
    else if (x < 0.71) this.#latch(r);
    else if (x < 0.8) this.#count();
    else if (x < 0.83) this.#replayCheck(r);
    else if (x < 0.86) this.#configure(r);
    else if (x < 0.97) r.chance(0.5) ? this.log.maintain() : this.journal.maintain();
    else {
      // The meters' and the concentrator's clocks jump back (a bad time sync).
      this.#time -= r.int(7200);
      this.clock.ms -= r.int(7_200_000);
    }
  }

  #append(seqs: number[], allowed: Set<string>, cls: number): void {
    for (const s of seqs) {
      if (s <= this.#maxSeq) this.#fail("counterRepeats", `log seq ${s} after ${this.#maxSeq}`);
      this.#maxSeq = Math.max(this.#maxSeq, s);
      this.#stored.set(s, { allowed, digest: undefined, cls });
    }
    this.appends++;
  }

  #readings(r: Prng, cls: typeof RecordClass.profile | typeof RecordClass.billing): void {
    this.#time += 900;
    const meters = 1 + r.int(24);
    const first = r.int(200);
    const intervals = 1 + r.int(4);
    const register = r.chance(0.8) ? 0x010800 : 0x020800;
    const rs: Reading[] = [];
    for (let m = first; m < first + meters; m++) {
      let value = 1_000_000 + m * 7919 + r.int(1000);
      for (let k = 0; k < intervals; k++) {
        value += r.int(600);
        rs.push({ meter: m, register, time: this.#time + k * 900, value, status: r.chance(0.05) ? 1 << r.int(6) : 0 });
      }
    }
    const allowed = new Set(rs.map(readingKey));
    this.#inFlight = { allowed, cls };
    const seqs = this.log.appendReadings(rs, cls);
    this.#inFlight = undefined;
    this.#append(seqs, allowed, cls);
  }

  #event(r: Prng): void {
    const alarm = r.chance(0.3);
    const e: MeterEvent = { type: (1 + r.int(21)) as MeterEvent["type"], subject: r.int(300), time: this.#time, alarm, detail: r.int(100_000) - 50_000 };
    const allowed = new Set([eventKey(e)]);
    const cls = alarm ? RecordClass.alarm : RecordClass.event;
    this.#inFlight = { allowed, cls };
    const seq = this.log.appendEvent(e);
    this.#inFlight = undefined;
    this.#append([seq], allowed, cls);
  }

  #headEnd(r: Prng, i: number): void {
    // The head-end is unreachable for steps 150-449 of every 600: the log fills and evicts.
    if (i % OUTAGE_PERIOD >= OUTAGE_START && i % OUTAGE_PERIOD < OUTAGE_END) return;
    if (r.chance(0.05)) this.cursor.rewind();
    const batch = this.cursor.next(1 + r.int(30), 1 + r.int(3000));
    const seen = new Set<number>();
    for (const rec of batch) this.#observe(rec, seen);
    const acked = batch.filter(() => r.chance(0.8)).map((rec) => rec.seq);
    if (acked.length === 0) return;
    const runs: SeqRun[] = acked.map((s) => ({ first: s, count: 1 }));
    this.#maybeReleased = new Set(acked);
    this.log.acknowledge(runs);
    for (const s of acked) this.#release(s);
    this.#maybeReleased = new Set();
  }

  #latch(r: Prng): void {
    const key = r.int(KEYS.latchCount);
    const value = new Uint8Array(1 + r.int(8)).map(() => r.int(256));
    this.#latchInFlight = { key, value: hex(value) };
    this.journal.put(KEYS.latches + key, value);
    this.#latches.set(key, hex(value));
    this.#latchInFlight = undefined;
  }

  #count(): void {
    const v = this.counter.next();
    if (v <= this.#maxCounter) this.#fail("counterRepeats", `counter ${v} after ${this.#maxCounter}`);
    this.#maxCounter = Math.max(this.#maxCounter, v);
  }

  #replayCheck(r: Prng): void {
    if (this.#accepted >= 0 && r.chance(0.3)) {
      const old = r.int(this.#accepted + 1);
      if (this.replay.accept(old)) this.#fail("counterRepeats", `replay of ${old} accepted (highest ${this.#accepted})`);
      return;
    }
    const v = this.#accepted + 1 + r.int(5);
    this.#replayInFlight = v;
    if (!this.replay.accept(v)) this.#fail("criticalStateViolations", `counter ${v} refused (highest ${this.#accepted})`);
    this.#accepted = v;
    this.#replayInFlight = undefined;
  }

  #configure(r: Prng): void {
    const name = r.chance(0.1) ? "noSuchParameter" : CONFIG_NAMES[r.int(CONFIG_NAMES.length)]!;
    const p = SCHEMA[name];
    let value: string;
    if (p?.type === "text") value = r.chance(0.2) ? "x".repeat(40) : `apn${r.int(100)}.example`;
    else value = String(r.chance(0.2) ? 1_000_000 : r.int(5) * 60 + (name === "tariff" ? 0 : 60));
    if (name === "tariff") value = String(r.int(6));
    const source = (1 + r.int(3)) as ChangeSource;
    this.#configInFlight = { name, value, number: this.#lastAudit + 1 };
    this.#auditInFlight = this.#lastAudit + 1;
    const entry = this.config.set(name, value, source);
    this.#configInFlight = undefined;
    this.#auditInFlight = undefined;
    if (entry.number !== this.#lastAudit + 1) this.#fail("counterRepeats", `audit number ${entry.number} after ${this.#lastAudit}`);
    this.#lastAudit = entry.number;
    this.#audits.set(entry.number, auditKey(entry));
    if (entry.result === 1) this.#configValues.set(name, value);
  }

  // ---- the checks ----

  /** The first violations, described (for the report). */
  readonly failures: string[] = [];

  #fail(kind: Exclude<keyof Tally, "cuts">, what: string): void {
    this.tally[kind]++;
    if (this.failures.length < 20) this.failures.push(`${kind} at boot ${this.boots}, step ${this.steps}: ${what}`);
  }

  #release(seq: number): void {
    this.#released.add(seq);
    this.#stored.delete(seq);
    this.#evicted.delete(seq);
  }

  /** Checks one returned record against the model (content, release, duplicates within one drain). */
  #observe(rec: StoredRecord, seen: Set<number>): void {
    if (seen.has(rec.seq)) this.#fail("corruptReturned", `seq ${rec.seq} twice in one drain`);
    seen.add(rec.seq);
    if (this.#released.has(rec.seq)) this.#fail("criticalStateViolations", `released seq ${rec.seq} returned`);
    const d = decodeRecord(rec);
    switch (d.kind) {
      case "undecodable":
        this.#fail("corruptReturned", `seq ${rec.seq} undecodable`);
        return;
      case "eviction": {
        this.evictions++;
        const n = d.notice;
        for (const [seq, exp] of this.#stored) {
          if (exp.cls !== n.evictedClass || seq < n.firstSeq || seq > n.lastSeq) continue;
          this.#stored.delete(seq);
          this.#evicted.set(seq, exp);
        }
        return;
      }
      case "corruption":
        return;
      case "result":
        // The campaign's workload never appends results.
        this.#fail("corruptReturned", `seq ${rec.seq}: a result that was never appended`);
        return;
      case "audit": {
        const known = this.#audits.get(d.entry.number);
        if (known !== undefined ? known !== auditKey(d.entry) : d.entry.number !== this.#auditInFlight) this.#fail("corruptReturned", `audit entry ${d.entry.number} unexpected`);
        if (known === undefined && d.entry.number === this.#auditInFlight) this.#audits.set(d.entry.number, auditKey(d.entry));
        return;
      }
    }
    const keys = d.kind === "readings" ? d.readings.map(readingKey) : [eventKey(d.event)];
    let exp = this.#stored.get(rec.seq) ?? this.#evicted.get(rec.seq);
    if (!exp && this.#inFlight && rec.seq > this.#maxSeq && rec.cls === this.#inFlight.cls) {
      // The append that power interrupted landed: from now on it must stay.
      exp = { allowed: this.#inFlight.allowed, digest: undefined, cls: this.#inFlight.cls };
      this.#stored.set(rec.seq, exp);
    }
    const digest = keys.join(",");
    if (!exp || exp.cls !== rec.cls || keys.some((k) => !exp.allowed.has(k)) || (exp.digest !== undefined && exp.digest !== digest)) {
      this.#fail("corruptReturned", `seq ${rec.seq} (${d.kind}, class ${rec.cls}) not as appended`);
      return;
    }
    exp.digest = digest;
  }

  /** After a recovery: drain everything, read every key back, then resolve what was in flight. */
  verify(): void {
    const seen = new Set<number>();
    const all = this.log.cursor();
    for (let batch = all.next(64); batch.length > 0; batch = all.next(64)) for (const rec of batch) this.#observe(rec, seen);
    for (const s of this.#maybeReleased) if (!seen.has(s)) this.#release(s);
    this.#maybeReleased = new Set();
    for (const seq of this.#stored.keys()) {
      if (seen.has(seq)) continue;
      this.#fail("lostAcknowledged", `seq ${seq} missing`);
      this.#stored.delete(seq);
    }
    this.#inFlight = undefined;
    for (const s of seen) if (s > this.#maxSeq) this.#maxSeq = s;
    this.#checkLatches();
    this.#checkReplay();
    this.#checkConfig();
  }

  #checkLatches(): void {
    for (let key = 0; key < KEYS.latchCount; key++) {
      const got = this.journal.get(KEYS.latches + key);
      const actual = got ? hex(got) : undefined;
      const old = this.#latches.get(key);
      const fresh = this.#latchInFlight?.key === key ? this.#latchInFlight.value : undefined;
      if (actual !== old && actual !== fresh) this.#fail("criticalStateViolations", `latch ${key} is ${actual}, old ${old}, new ${fresh}`);
      if (actual !== undefined) this.#latches.set(key, actual);
    }
    this.#latchInFlight = undefined;
  }

  #checkReplay(): void {
    const v = this.replay.value;
    if (v !== this.#accepted && v !== this.#replayInFlight) {
      if (v < this.#accepted) this.#fail("counterRepeats", `replay mark ${v} below ${this.#accepted}`);
      else this.#fail("criticalStateViolations", `replay mark ${v}, expected ${this.#accepted} or ${this.#replayInFlight}`);
    }
    this.#accepted = Math.max(this.#accepted, v);
    this.#replayInFlight = undefined;
  }

  #checkConfig(): void {
    const history = this.config.history();
    const pending = this.#configInFlight;
    const landed = pending ? history.find((e) => e.number === pending.number) : undefined;
    if (landed) {
      this.#lastAudit = landed.number;
      this.#audits.set(landed.number, auditKey(landed));
      if (landed.result === 1) this.#configValues.set(landed.name, pending!.value);
    }
    const numbers = new Set(history.map((e) => e.number));
    for (let n = Math.max(1, this.#lastAudit - AUDIT_KEYS + 2); n <= this.#lastAudit; n++) {
      if (!numbers.has(n)) this.#fail("criticalStateViolations", `audit entry ${n} missing`);
    }
    for (const name of CONFIG_NAMES) {
      const got = String(this.config.get(name));
      if (got !== this.#configValues.get(name)) this.#fail("criticalStateViolations", `config ${name} is ${got}, expected ${this.#configValues.get(name)}`);
    }
    this.#configInFlight = undefined;
    this.#auditInFlight = undefined;
  }

  report(): CampaignReport {
    return { ...this.tally, failures: this.failures, boots: this.boots, steps: this.steps, appends: this.appends, released: this.#released.size, evictions: this.evictions, collections: this.collections + this.journal.stats.collections, flashOperations: this.sw.operations };
  }
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += (x < 16 ? "0" : "") + x.toString(16);
  return s;
}

export interface LinearOptions {
  seed: string;
  geometry: Geometry;
  /** Workload steps. */
  steps: number;
  /** Cut only every `stride`-th operation (1 = every one). */
  stride?: number;
}

/** Flash operations of the uncut workload (boot included). */
export function workloadOperations(seed: string, g: Geometry, steps: number): number {
  const rig = new Rig(seed, g);
  rig.boot();
  for (let i = 0; i < steps; i++) rig.step(i);
  return rig.sw.operations;
}

/**
 * One run per flash operation n of the uncut workload: cut at operation n, recover, check, run the
 * remaining steps, check again. Returns the tallies summed over all runs.
 */
export function linearCampaign(o: LinearOptions): CampaignReport {
  const total = workloadOperations(o.seed, o.geometry, o.steps);
  const sum: CampaignReport = { cuts: 0, lostAcknowledged: 0, corruptReturned: 0, criticalStateViolations: 0, counterRepeats: 0, failures: [], boots: 0, steps: 0, appends: 0, released: 0, evictions: 0, collections: 0, flashOperations: 0 };
  for (let n = 1; n <= total; n += o.stride ?? 1) {
    const rig = new Rig(o.seed, o.geometry);
    rig.sw.cutAt = n;
    let i = -1;
    try {
      rig.boot();
      for (i = 0; i < o.steps; i++) rig.step(i);
    } catch (e) {
      if (!(e instanceof PowerLossError)) throw e;
      rig.tally.cuts++;
    }
    i++; // the interrupted step is not retried: a device that lost power forgets what it was doing
    rig.recover();
    for (; i < o.steps; i++) rig.step(i);
    rig.verify();
    const r = rig.report();
    for (const k of Object.keys(sum) as Array<keyof CampaignReport>) if (k !== "failures") sum[k] += r[k];
    for (const f of r.failures) if (sum.failures.length < 20) sum.failures.push(`cut at operation ${n}: ${f}`);
  }
  return sum;
}

export interface RandomOptions {
  seed: string;
  geometry: Geometry;
  cuts: number;
  /** A cut lands 1 … maxGap flash operations after the previous recovery. Default 150. */
  maxGap?: number;
  /**
   * Sectors that wear out during the campaign (programs then change nothing, erases leave junk), at
   * seeded random operations within the first `cuts × maxGap / 2`: the sector of that operation.
   */
  wornSectors?: number;
}

/**
 * One device cut `cuts` times at seeded random operations, checked after every recovery, one
 * workload step or one boot per `step()` call (so that a simulation can run it turn by turn).
 */
export class RandomCampaign {
  readonly #rig: Rig;
  readonly #gaps: Prng;
  readonly #o: RandomOptions;
  #i = 0;
  #up = false;
  #done = false;

  constructor(o: RandomOptions) {
    this.#o = o;
    this.#rig = new Rig(o.seed, o.geometry);
    this.#gaps = new Prng(`${o.seed}/cuts`);
    const wear = new Prng(`${o.seed}/wear`);
    const span = (o.cuts * (o.maxGap ?? 150)) / 2;
    this.#rig.sw.wearOutAt = Array.from({ length: o.wornSectors ?? 0 }, () => 1 + wear.int(span)).sort((a, b) => a - b);
    this.#arm();
  }

  get done(): boolean {
    return this.#done;
  }

  /** Boots and checks (when down), or runs one workload step. False once the campaign is over. */
  step(): boolean {
    if (this.#done) return false;
    const rig = this.#rig;
    try {
      if (!this.#up) {
        // A cut may land in recovery.
        rig.boot();
        this.#up = true;
        rig.verify();
        if (rig.tally.cuts >= this.#o.cuts) this.#done = true;
      } else {
        rig.step(this.#i++);
      }
    } catch (e) {
      if (!(e instanceof PowerLossError)) throw e;
      rig.tally.cuts++;
      this.#up = false;
      this.#arm();
    }
    return !this.#done;
  }

  report(): CampaignReport {
    return this.#rig.report();
  }

  #arm(): void {
    const maxGap = this.#o.maxGap ?? 150;
    this.#rig.sw.cutAt = this.#rig.tally.cuts < this.#o.cuts ? this.#rig.sw.operations + 1 + this.#gaps.int(maxGap) : 0;
  }
}

export function randomCampaign(o: RandomOptions): CampaignReport {
  const c = new RandomCampaign(o);
  while (c.step());
  return c.report();
}
