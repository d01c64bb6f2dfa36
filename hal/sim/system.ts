/**
 * Simulated board services: random bytes, the task watchdog, reset control, the asynchronous crypto
 * service (a Worker on the second core on the device) and the OTA firmware slots.
 */
import nacl from "tweetnacl";
import { aesGcmOpenSync, aesGcmSealSync } from "./aes-gcm.js";
import type { FirmwareSlots, FirmwareWriter, SlotInfo, SlotState } from "../firmware-slots.js";
import type { CryptoService, RandomSource, ResetReason, SystemControl, Watchdog } from "../system.js";
import type { PowerDomain, PowerOffReason } from "./power-domain.js";
import type { Prng } from "./prng.js";
import type { ScheduledEvent } from "./scheduler.js";

export class SimRandom implements RandomSource {
  readonly #domain: PowerDomain;
  readonly #prng: Prng;
  constructor(domain: PowerDomain, prng: Prng) {
    this.#domain = domain;
    this.#prng = prng;
  }
  fill(bytes: Uint8Array): void {
    this.#domain.check();
    this.#prng.fill(bytes);
  }
}

/** Resets the board (reason "watchdog") when not fed in time; a reset disables it again. */
export class SimWatchdog implements Watchdog {
  readonly #domain: PowerDomain;
  readonly #reset: (reason: PowerOffReason) => void;
  #timeoutMs = 0;
  #event: ScheduledEvent | undefined;
  #fired = 0;

  constructor(domain: PowerDomain, reset: (reason: PowerOffReason) => void) {
    this.#domain = domain;
    this.#reset = reset;
    domain.onPowerOff(() => {
      domain.scheduler.cancel(this.#event);
      this.#event = undefined;
      this.#timeoutMs = 0;
    });
  }

  get resets(): number {
    return this.#fired;
  }

  enable(timeoutMs: number): void {
    this.#domain.check();
    if (!(timeoutMs > 0)) throw new RangeError("invalid timeout");
    this.#timeoutMs = timeoutMs;
    this.feed();
  }

  feed(): void {
    this.#domain.check();
    if (!this.#timeoutMs) return;
    const s = this.#domain.scheduler;
    s.cancel(this.#event);
    this.#event = s.after(this.#timeoutMs, () => {
      this.#fired++;
      this.#reset("watchdog");
    });
  }
}

export class SimSystemControl implements SystemControl {
  #reason: ResetReason = "power-on";
  readonly #domain: PowerDomain;
  readonly #reset: (reason: PowerOffReason) => void;

  constructor(domain: PowerDomain, reset: (reason: PowerOffReason) => void) {
    this.#domain = domain;
    this.#reset = reset;
    domain.onPowerOff((why) => {
      this.#reason = why === "power-cut" ? "power-on" : why;
    });
  }

  get resetReason(): ResetReason {
    return this.#reason;
  }

  restart(): void {
    this.#domain.check();
    this.#reset("software");
  }
}

/**
 * Crypto on a worker: the result arrives `latencyMs` later in its own turn. The default latency is
 * an estimate for Ed25519 verify on an ESP32 worker (44 M XS units at ≤15 M units/s, measured in xsnap, docs/uplink.md).
 * AES-GCM is the ESP32's native code on the device: here it is computed in a turn of its own (the
 * hardware's, not the firmware's: software AES would cost the firmware's turn far more than the device
 * spends) and its result delivered `aesLatencyMs` later.
 */
export class SimCrypto implements CryptoService {
  readonly #domain: PowerDomain;
  readonly latencyMs: number;
  readonly aesLatencyMs: number;
  /** AES-GCM operations computed (each in a turn of its own). */
  aesOperations = 0;
  constructor(domain: PowerDomain, options: { latencyMs?: number; aesLatencyMs?: number } = {}) {
    this.#domain = domain;
    this.latencyMs = options.latencyMs ?? 3000;
    this.aesLatencyMs = options.aesLatencyMs ?? 1;
  }

  aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number, callback: (sealed: Uint8Array | undefined) => void): void {
    const [k, v, a, p] = [key.slice(), iv.slice(), aad.slice(), plaintext.slice()];
    this.#aes(() => aesGcmSealSync(k, v, a, p, tagLength), callback);
  }

  aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, tagLength: number, callback: (plaintext: Uint8Array | undefined) => void): void {
    const [k, v, a, c] = [key.slice(), iv.slice(), aad.slice(), sealed.slice()];
    this.#aes(() => aesGcmOpenSync(k, v, a, c, tagLength), callback);
  }

  #aes(compute: () => Uint8Array | undefined, callback: (out: Uint8Array | undefined) => void): void {
    this.#domain.check();
    this.#domain.after(0, () => {
      this.aesOperations++;
      const out = compute();
      this.#domain.after(this.aesLatencyMs, () => callback(out));
    });
  }
  /** Verifications done: the turns that did one stand for the device's worker, not its main VM. */
  verified = 0;
  verifyEd25519(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, callback: (valid: boolean) => void): void {
    this.#domain.check();
    const m = message.slice();
    const sig = signature.slice();
    const key = publicKey.slice();
    // Computed when the answer comes, in a turn of its own, as the worker's result arrives on the device.
    this.#domain.after(this.latencyMs, () => {
      this.verified++;
      callback(sig.length === nacl.sign.signatureLength && key.length === nacl.sign.publicKeyLength && nacl.sign.detached.verify(m, sig, key));
    });
  }
}

interface Slot {
  label: string;
  image: Uint8Array;
  byteLength: number;
  state: SlotState;
}

/** First byte of an ESP32 application image (esp_image_header_t.magic, ESP_IMAGE_HEADER_MAGIC). */
const ESP_IMAGE_MAGIC = 0xe9;

/**
 * Two OTA slots with ESP-IDF rollback semantics: a completed image boots once in "pending-verify";
 * if the board resets before `confirm()`, the bootloader marks it invalid and boots the previous one.
 */
export class SimFirmwareSlots implements FirmwareSlots {
  readonly capacity: number;
  readonly #domain: PowerDomain;
  readonly #reset: (reason: PowerOffReason) => void;
  readonly #slots: [Slot, Slot];
  #running = 0;
  #boot = 0;

  constructor(domain: PowerDomain, reset: (reason: PowerOffReason) => void, options: { capacity?: number } = {}) {
    this.#domain = domain;
    this.#reset = reset;
    this.capacity = options.capacity ?? 0x1f0000;
    this.#slots = [
      { label: "ota_0", image: new Uint8Array(0), byteLength: 0, state: "valid" },
      { label: "ota_1", image: new Uint8Array(0), byteLength: 0, state: "empty" },
    ];
    domain.onPowerOn(() => this.#bootloader());
  }

  running(): SlotInfo {
    return this.#info(this.#running);
  }

  inactive(): SlotInfo {
    return this.#info(1 - this.#running);
  }

  openInactive(byteLength: number): FirmwareWriter {
    this.#domain.check();
    if (!(Number.isInteger(byteLength) && byteLength > 0 && byteLength <= this.capacity)) throw new RangeError("invalid length");
    const index = 1 - this.#running;
    const slot = this.#slots[index]!;
    slot.image = new Uint8Array(byteLength).fill(0xff);
    slot.byteLength = byteLength;
    slot.state = "invalid";
    let done = false;
    const check = (offset: number, length: number) => {
      this.#domain.check();
      if (done) throw new Error("closed");
      if (!(offset >= 0 && offset + length <= byteLength)) throw new RangeError("invalid offset");
    };
    return {
      write: (offset, bytes) => {
        check(offset, bytes.length);
        slot.image.set(bytes, offset);
      },
      read: (offset, length) => {
        check(offset, length);
        return slot.image.slice(offset, offset + length);
      },
      complete: () => {
        check(0, 0);
        if (slot.image[0] !== ESP_IMAGE_MAGIC) throw new Error("invalid image");
        done = true;
        slot.state = "pending-verify";
        this.#boot = index;
      },
      abort: () => {
        done = true;
        slot.state = "invalid";
      },
    };
  }

  confirm(): void {
    this.#domain.check();
    this.#slots[this.#running]!.state = "valid";
  }

  rollback(): void {
    this.#domain.check();
    this.#slots[this.#running]!.state = "invalid";
    this.#boot = 1 - this.#running;
    this.#reset("software");
  }

  #bootloader(): void {
    const candidate = this.#slots[this.#boot]!;
    const running = this.#slots[this.#running]!;
    if (this.#boot === this.#running && running.state === "pending-verify") {
      // Reset before confirmation: roll back (ESP-IDF CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE).
      running.state = "invalid";
      this.#boot = this.#running = 1 - this.#running;
      return;
    }
    if (candidate.state === "pending-verify" || candidate.state === "valid") this.#running = this.#boot;
    else this.#boot = this.#running;
  }

  #info(i: number): SlotInfo {
    const s = this.#slots[i]!;
    return { label: s.label, state: s.state, byteLength: s.byteLength };
  }
}
