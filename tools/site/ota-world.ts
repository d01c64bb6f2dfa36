/**
 * OTA in the simulated site (docs/ota.md "In the simulation"): the board is programmed at the
 * factory with the simulator's image of version 1.0.0, its release keys come from the seed (three
 * Ed25519 pairs, two must sign), and a campaign can offer a new image part-way through the run.
 *
 * An image for the simulator is an ESP32 application image (hal/sim/esp-image.ts) carrying the
 * firmware bundle and its version; the simulated bootloader checks it as ESP-IDF's does. The
 * simulation always runs the firmware of this build, so what an image does differently is in its
 * build note: a bad image ("uplink" defect) is built to reach a broker port where nobody listens, so
 * it passes every signature and hash check and then fails its self-test (the head-end never
 * acknowledges); "bus" never hears an RS485 answer; "hang" never feeds the watchdog.
 *
 * Pure ECMAScript (XS too).
 */
import type { OtaConfig, SiteConfig } from "../../firmware/app/concentrator.js";
import type { Concentrator } from "../../firmware/app/concentrator.js";
import { EventType } from "../../firmware/model/records.js";
import type { KeySet } from "../../firmware/ota/format.js";
import type { SwitchWindow } from "../../firmware/uplink/messages.js";
import type { Hal, SerialPort, SerialPortProvider } from "../../hal/index.js";
import { buildEspImage, type SimBuildNote } from "../../hal/sim/esp-image.js";
import { Prng } from "../../hal/sim/prng.js";
import { deflateSync } from "fflate";
import type { CampaignUnit } from "../headend/ota-campaign.js";
import { buildImagePackage } from "../ota/package.js";
import { signingKeyPairOf } from "../sim/keys.js";

/** The simulated board's hardware id (packages name it as their target). */
export const SIM_HARDWARE_ID = "MC-ESP32S3-R1";
export const FACTORY_VERSION = "1.0.0";
const DAY_S = 86_400;

export interface SiteCampaign {
  /** When the head-end starts the campaign, ms of simulated time. */
  atMs: number;
  /** The new image's version. Default "1.1.0". */
  version?: string;
  /** A defect of the new image (a bad image: it fails its self-test). */
  defect?: SimBuildNote["defect"];
  /** Compress the package's chunks. Default true. */
  compress?: boolean;
  window?: SwitchWindow;
}

export interface SiteOtaOptions {
  /** The firmware bundle the images carry (the CLI passes dist/device/device.js). Default: a generated stand-in of 256 KiB. */
  bundle?: Uint8Array;
  campaign?: SiteCampaign;
  /** The firmware's OTA settings (tests shorten the self-test). */
  firmware?: OtaConfig["options"];
  /** What the release keys derive from (sites of one fleet share them). Default the site's seed. */
  releaseSeed?: string;
}

/** The `ota` part of the site report. */
export interface OtaReport {
  /** "confirmed", "rolled-back", "rejected: REASON", "failed: REASON", or the unit's state when the run ended before the outcome. */
  outcome: string;
  /** Why it was rolled back, refused or given up, when it was. */
  reason: string | undefined;
  versionBefore: string;
  versionAfter: string;
  imageBytes: number;
  /** The package's bytes: head, table and (compressed) chunks. */
  packageBytes: number;
  /** MQTT packets that carried OTA data: frames down and requests up, re-sent ones included. */
  bytesOnAir: number;
  /** From the offer taken to the slot checked (simulated ms), or 0. */
  downloadMs: number;
  /** The head-end's last offer ([simulated ms, "offered", attempts]) and every OTA event the concentrator raised, in order: [simulated ms, event name, detail]. */
  timeline: Array<[number, string, number]>;
}

const EVENT_NAMES: Record<number, string> = {
  [EventType.otaDownload]: "download",
  [EventType.otaVerified]: "verified",
  [EventType.otaSwitched]: "switched",
  [EventType.otaConfirmed]: "confirmed",
  [EventType.otaRolledBack]: "rolled-back",
  [EventType.otaRejected]: "rejected",
};

/** Bytes that compress about as JavaScript source does, for sites without a real bundle. */
export function standInBundle(bytes: number, seed = "bundle"): Uint8Array {
  const words = ["const", "function", "return", "this.", "#state", "if (", ") {", "}\n", "readings", "journal", ".put(", "0x", "=> ", "await", "length", "new Uint8Array(", "for (let i = 0; i < n; i++) ", "counters", "//", ";\n"];
  const p = new Prng(seed);
  const out = new Uint8Array(bytes);
  let at = 0;
  while (at < bytes) {
    const w = p.chance(0.3) ? String(p.int(100_000)) : words[p.int(words.length)]!;
    for (let i = 0; i < w.length && at < bytes; i++) out[at++] = w.charCodeAt(i);
  }
  return out;
}

/** The OTA side of one simulated site. */
export class SiteOta {
  readonly keys: { publicKey: Uint8Array; secretKey: Uint8Array }[];
  readonly releaseKeys: KeySet;
  readonly bundle: Uint8Array;
  readonly initialImage: Uint8Array;
  readonly #o: SiteOtaOptions;
  readonly #now: () => number;
  readonly #timeline: Array<[number, string, number]> = [];
  #downloadFrom = -1;
  #downloadTo = -1;
  #packageBytes = 0;
  #imageBytes = 0;

  /** `now`: the simulation's time, ms (the timeline's clock). */
  constructor(seed: string, o: SiteOtaOptions, now: () => number) {
    this.#o = o;
    this.#now = now;
    this.keys = [1, 2, 3].map((n) => signingKeyPairOf(`${o.releaseSeed ?? seed}/release-${n}`));
    this.releaseKeys = { version: 1, threshold: 2, keys: this.keys.map((k) => k.publicKey) };
    this.bundle = o.bundle ?? standInBundle(256 * 1024, seed);
    this.initialImage = this.image(FACTORY_VERSION);
  }

  /** The simulator's image of `version` (security version 1), with an optional defect. */
  image(version: string, note: SimBuildNote = {}): Uint8Array {
    return buildEspImage({ version, securityVersion: 1, note, bundle: this.bundle });
  }

  /** A package of an image, signed by the first two release keys (the threshold). */
  package(image: Uint8Array, version: string, o: { sequence: number; nowS: number; compress?: boolean; units?: number[] }): Uint8Array {
    const bytes = buildImagePackage({
      image,
      version,
      hardwareId: SIM_HARDWARE_ID,
      sequence: o.sequence,
      securityCounter: 1,
      expiresS: o.nowS + 30 * DAY_S,
      units: o.units ?? [],
      signers: [this.keys[0]!.secretKey, this.keys[1]!.secretKey],
      ...(o.compress === false ? {} : { deflate: (b: Uint8Array) => deflateSync(b, { level: 9 }) }),
    });
    return bytes;
  }

  config(): OtaConfig {
    return { hardwareId: SIM_HARDWARE_ID, releaseKeys: this.releaseKeys, ...(this.#o.firmware ? { options: this.#o.firmware } : {}) };
  }

  /**
   * Boots the firmware of the image the board's bootloader chose, with that image's defect; returns
   * the concentrator (undefined for an image that hangs).
   */
  boot(hal: Hal, note: SimBuildNote, config: SiteConfig, start: (hal: Hal, config: SiteConfig, beforeStart: (c: Concentrator) => void) => Concentrator): Concentrator | undefined {
    if (note.defect === "hang") {
      hal.watchdog.enable(config.watchdogMs ?? 30_000);
      return undefined;
    }
    const cfg = note.defect === "uplink" && config.uplink ? { ...config, uplink: { ...config.uplink, port: config.uplink.port + 1 } } : config;
    const h = note.defect === "bus" ? { ...hal, rs485: hal.rs485.map((p) => ({ ...p, serial: deaf(p.serial) })) } : hal;
    // Listening before the start: a rollback is raised there, by the previous image's updater.
    return start(h, cfg, (c) =>
      c.events.onRaised((e) => {
        const name = EVENT_NAMES[e.type];
        if (!name) return;
        const now = this.#now();
        this.#timeline.push([now, name, e.detail]);
        if (e.type === EventType.otaDownload && e.detail === 0 && this.#downloadFrom < 0) this.#downloadFrom = now;
        if (e.type === EventType.otaVerified) this.#downloadTo = now;
      }),
    );
  }

  /** The last OTA step the firmware reported ("download", "verified", …, "confirmed"), cheap to ask. */
  get lastStep(): string | undefined {
    return this.#timeline[this.#timeline.length - 1]?.[1];
  }

  /** Whether the firmware reported `step` at some point. */
  reached(step: string): boolean {
    return this.#timeline.some(([, s]) => s === step);
  }

  /** Builds the campaign's package (and remembers its size). */
  campaignPackage(c: SiteCampaign, nowS: number): Uint8Array {
    const version = c.version ?? "1.1.0";
    const image = this.image(version, c.defect ? { defect: c.defect } : {});
    const pkg = this.package(image, version, { sequence: 2, nowS, ...(c.compress === undefined ? {} : { compress: c.compress }) });
    this.#imageBytes = image.length;
    this.#packageBytes = pkg.length;
    return pkg;
  }

  /** `headendEpochMs`: the head-end's clock at simulated time 0 (its unit's offer time is on that clock). */
  report(unit: CampaignUnit | undefined, versionBefore: string, versionAfter: string, bytesOnAir: number, headendEpochMs = 0): OtaReport {
    const state = unit?.state ?? "not offered";
    const outcome = state === "rejected" || state === "failed" ? `${state}: ${unit!.reason}` : state;
    return {
      outcome,
      reason: unit?.reason ?? undefined,
      versionBefore,
      versionAfter,
      imageBytes: this.#imageBytes,
      packageBytes: this.#packageBytes,
      bytesOnAir,
      downloadMs: this.#downloadFrom >= 0 && this.#downloadTo >= this.#downloadFrom ? Math.round(this.#downloadTo - this.#downloadFrom) : 0,
      timeline: unit && unit.offeredMs > 0 ? [[unit.offeredMs - headendEpochMs, "offered", unit.attempts] as [number, string, number], ...this.#timeline].sort((a, b) => a[0] - b[0]) : this.#timeline.slice(),
    };
  }
}

/** A serial port provider whose ports never receive a byte (an RS485 driver that does not work). */
function deaf(p: SerialPortProvider): SerialPortProvider {
  return {
    open(options) {
      const port: SerialPort = p.open(options);
      return {
        write: (bytes) => port.write(bytes),
        read: (maxBytes) => void port.read(maxBytes), // drained and dropped
        close: () => port.close(),
        get writable() {
          return port.writable;
        },
        get overruns() {
          return port.overruns;
        },
      };
    },
  };
}
