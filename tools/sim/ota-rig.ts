/**
 * The OTA updater alone on a simulated board (its slots, otadata and state journal on simulated
 * NOR flash), with the head-end's campaign code serving the package parts after a network latency,
 * and hooks to drop or corrupt frames. At every boot the firmware side is built again from the
 * journal, as the device's would be. Pure ECMAScript.
 */
import { EventType } from "../../firmware/model/records.js";
import { decodeFrame, encodeFrame, type Frame } from "../../firmware/ota/frames.js";
import { packageIdHex, SIGNATURE_ENTRY_BYTES, SIGNED_BYTES, type KeySet } from "../../firmware/ota/format.js";
import { OtaUpdater, type OtaUpdaterOptions, type SelfTestProbes } from "../../firmware/ota/updater.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { STATE_KEY_COUNT } from "../../firmware/store/state-layout.js";
import type { SwitchWindow } from "../../firmware/uplink/messages.js";
import type { Hal } from "../../hal/index.js";
import { SimBoard } from "../../hal/sim/board.js";
import { buildEspImage, type SimBuildNote } from "../../hal/sim/esp-image.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { MemoryHeadendStore } from "../headend/memory-store.js";
import { OtaCampaigns } from "../headend/ota-campaign.js";
import { buildImagePackage, buildKeysPackage, splitPackage, type ImagePackageOptions } from "../ota/package.js";
import { signingKeyPairOf } from "./keys.js";
import { deflateSync } from "fflate";

export const HARDWARE_ID = "MC-TEST-1";
export const UNIT = 17;
const START_S = 1_767_225_600; // 2026-01-01

export interface RigEvent {
  type: EventType;
  detail: number;
  boot: number;
}

export interface OtaRigOptions {
  seed?: string;
  slotBytes?: number;
  /** One-way network latency, ms. Default 200. */
  latencyMs?: number;
  /** What the self-test finds; every probe passes by default. */
  probes?: Partial<Record<keyof SelfTestProbes, boolean>>;
  updater?: Partial<OtaUpdaterOptions>;
}

export class OtaRig {
  readonly s = new Scheduler();
  readonly board: SimBoard;
  readonly store = new MemoryHeadendStore();
  readonly headend: OtaCampaigns;
  readonly keys = [1, 2, 3].map((n) => signingKeyPairOf(`rig-release-${n}`));
  readonly releaseKeys: KeySet = { version: 1, threshold: 2, keys: this.keys.map((k) => k.publicKey) };
  readonly events: RigEvent[] = [];
  /** Command results of offers, in order. */
  readonly results: Array<{ code: number; detail?: string }> = [];
  /** Requests the updater sent. */
  readonly requests: Array<{ object: number; first: number; count: number }> = [];
  /** Requests the head-end answered (its turns, for the XS figures). */
  served = 0;
  /** Whether the link is up (requests go out and frames come in). */
  linkUp = true;
  /** Rewrites or drops (undefined) each frame on its way; default: as it is. */
  tamper: (f: Frame) => Uint8Array | undefined = (f) => encodeFrame(f);
  probes: Record<keyof SelfTestProbes, boolean>;
  updater!: OtaUpdater;
  hal!: Hal;
  readonly #o: OtaRigOptions;

  constructor(o: OtaRigOptions = {}) {
    this.#o = o;
    this.probes = { storeRecovered: true, busAnswered: true, headendAcknowledged: true, ...o.probes };
    this.board = new SimBoard(this.s, new Prng(o.seed ?? "ota"), { firmwareSlotBytes: o.slotBytes ?? 256 * 1024, firmwareImage: this.image("1.0.0"), startEpochMs: START_S * 1000 });
    this.headend = new OtaCampaigns({ store: this.store, now: () => START_S * 1000 + this.s.now });
    this.board.onBoot((hal) => this.#boot(hal));
    this.board.powerOn();
  }

  /** The simulator's image of `version` (a few chunks). */
  image(version: string, o: { bytes?: number; note?: SimBuildNote; securityVersion?: number } = {}): Uint8Array {
    const bundle = new Uint8Array(o.bytes ?? 20_000).map((_, i) => (i * 7 + (i >> 5)) & 0x7f);
    return buildEspImage({ version, securityVersion: o.securityVersion ?? 1, bundle, note: o.note ?? {} });
  }

  /** A package of `image`, signed by the first two release keys, unless told otherwise. */
  package(image: Uint8Array, o: Partial<ImagePackageOptions> & { version?: string } = {}): Uint8Array {
    return buildImagePackage({
      image,
      version: o.version ?? "1.1.0",
      hardwareId: HARDWARE_ID,
      sequence: 2,
      securityCounter: 1,
      expiresS: START_S + 86_400 * 30,
      signers: [this.keys[0]!.secretKey, this.keys[1]!.secretKey],
      deflate: (b) => deflateSync(b, { level: 9 }),
      ...o,
    });
  }

  keysPackage(next: KeySet, signers: Uint8Array[]): Uint8Array {
    return buildKeysPackage({ next, hardwareId: HARDWARE_ID, securityCounter: 0, expiresS: START_S + 86_400 * 30, signers });
  }

  /** Offers a package (its head) the way the update command does; the head-end keeps the package to serve it. */
  offer(pkg: Uint8Array, window?: SwitchWindow, head = headOf(pkg)): void {
    try {
      this.store.putPackage(packageIdHex(splitPackage(pkg).digest), pkg, 0);
    } catch {
      // A head that does not parse: there is nothing to serve.
    }
    this.updater.offer(head, window, (r) => this.results.push(r));
  }

  /** Runs the simulation `ms` further. */
  run(ms: number): void {
    this.s.runUntil(this.s.now + ms);
  }

  /** Events of a type, in order. */
  of(type: EventType): RigEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  #boot(hal: Hal): void {
    this.hal = hal;
    const boot = this.board.boots;
    const journal = StateJournal.open(hal.flash.state, { keyCount: STATE_KEY_COUNT, timers: hal.timers });
    this.updater = new OtaUpdater({
      concentratorId: UNIT,
      hardwareId: HARDWARE_ID,
      releaseKeys: this.releaseKeys,
      slots: hal.firmware,
      crypto: hal.crypto,
      inflater: hal.inflater,
      journal,
      timers: hal.timers,
      clock: hal.clock,
      wallClock: hal.wallClock,
      resetReason: hal.system.resetReason,
      restart: () => hal.system.restart(),
      send: (r) => {
        if (!this.linkUp) return false;
        this.requests.push({ object: r.object, first: r.first, count: r.count });
        const latency = this.#o.latencyMs ?? 200;
        this.s.after(latency, () => {
          this.served++;
          for (const out of this.headend.request(UNIT, r)) {
            const f = decodeFrame(out.payload)!;
            const bytes = this.tamper({ ...f, packageId: f.packageId.slice(), data: f.data.slice() });
            if (bytes && this.linkUp) this.board.domain.after(latency, () => this.updater.frame(bytes));
          }
        });
        return true;
      },
      raise: (type, detail) => this.events.push({ type, detail, boot }),
      probes: {
        storeRecovered: () => this.probes.storeRecovered,
        busAnswered: () => this.probes.busAnswered,
        headendAcknowledged: () => this.probes.headendAcknowledged,
      },
      utcOffsetMin: () => 0,
      selfTestPollMs: 1000,
      selfTestTimeoutMs: 60_000,
      ...this.#o.updater,
    });
    this.updater.start();
  }
}

/** A package's head: its signed part and signatures. */
export function headOf(pkg: Uint8Array): Uint8Array {
  return pkg.slice(0, SIGNED_BYTES + 1 + SIGNATURE_ENTRY_BYTES * (pkg[SIGNED_BYTES] ?? 0));
}
