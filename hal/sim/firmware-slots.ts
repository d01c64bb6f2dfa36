/**
 * The simulated board's OTA slots and boot choice, on simulated NOR flash (three partitions: otadata,
 * ota_0, ota_1), with ESP-IDF's bootloader behaviour under CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
 * (bootloader_utility.c, esp_ota_ops.c; ESP-IDF in docs/sources.md):
 *
 * - otadata is two sectors, each holding one entry: sequence (u32), label (20 bytes, unused: 0xFF),
 *   state (u32: 0 new, 1 pending-verify, 2 valid, 3 invalid, 4 aborted), CRC-32 of the sequence (u32).
 *   An entry is valid when its sequence is not 0xFFFFFFFF and its CRC holds; it names slot
 *   (sequence − 1) mod 2. Every change rewrites one sector (erase, then program the entry), so a cut
 *   leaves at worst that one entry torn (invalid) and the other intact.
 * - At every power-on the bootloader takes the valid entry with the highest sequence. If its state is
 *   pending-verify (the image booted once and was never confirmed), it writes "aborted" and takes the
 *   other entry; if "new", it writes "pending-verify". An invalid or aborted entry is skipped. No valid
 *   entry: ota_0. The slot's image must then pass the image check (esp-image.ts), else the other slot
 *   is tried; if neither passes, nothing boots (`booted` is undefined).
 * - `select` writes the new entry into the sector that does not hold the highest sequence;
 *   `release` erases every entry naming the inactive slot; `confirm` and `rollback` rewrite the running
 *   slot's entry.
 */
import type { FirmwareSlots, SlotInfo, SlotState } from "../firmware-slots.js";
import { APP_DESC_MAGIC, CHIP_ESP32S3, espImageLength, put32, text, u32, verifyEspImage, type EspImageInfo } from "./esp-image.js";
import { SimNorFlash, type SharedFlashOperations } from "./nor-flash.js";
import type { PowerDomain, PowerOffReason } from "./power-domain.js";
import type { Prng } from "./prng.js";

const ENTRY_BYTES = 32;
const SEQ_NONE = 0xffffffff;
const STATE = { new: 0, pendingVerify: 1, valid: 2, invalid: 3, aborted: 4 } as const;
const STATE_NAMES: Record<number, SlotState> = { 0: "new", 1: "pending-verify", 2: "valid", 3: "invalid", 4: "aborted" };
/** esp_app_desc_t sits at the start of the first segment: image offset 0x20. */
const APP_DESC_OFFSET = 0x20;

interface Entry {
  seq: number;
  state: number;
  valid: boolean;
}

export interface SimFirmwareSlotsOptions {
  /** Bytes per slot. Default 0x1e0000 (manifests/partitions.csv). */
  slotBytes?: number;
  /** The chip the bootloader accepts images for. Default ESP32-S3. */
  chipId?: number;
  shared?: SharedFlashOperations;
}

export class SimFirmwareSlots implements FirmwareSlots {
  readonly capacity: number;
  readonly blockSize = 4096;
  readonly otadata: SimNorFlash;
  readonly slots: readonly [SimNorFlash, SimNorFlash];
  readonly #domain: PowerDomain;
  readonly #reset: (reason: PowerOffReason) => void;
  readonly #chipId: number;
  #running = 0;
  #booted: EspImageInfo | undefined;
  /** Boots that found no image to run. */
  bootFailures = 0;
  /** Images checked by `select` (esp_image_verify: native on the device), for the XS figures. */
  imageChecks = 0;

  constructor(domain: PowerDomain, prng: Prng, reset: (reason: PowerOffReason) => void, o: SimFirmwareSlotsOptions = {}) {
    this.#domain = domain;
    this.#reset = reset;
    this.capacity = o.slotBytes ?? 0x1e0000;
    this.#chipId = o.chipId ?? CHIP_ESP32S3;
    const flash = (label: string, byteLength: number) => new SimNorFlash(domain, prng.fork(label), { byteLength, shared: o.shared });
    this.otadata = flash("otadata", 2 * this.blockSize);
    this.slots = [flash("ota_0", this.capacity), flash("ota_1", this.capacity)];
    domain.onPowerOn(() => this.#bootloader());
  }

  /** Factory programming: `image` into ota_0, the boot choice erased (as esptool leaves a new board). */
  install(image: Uint8Array): void {
    if (image.length > this.capacity) throw new RangeError("image larger than the slot");
    const slot = new Uint8Array(this.capacity).fill(0xff);
    slot.set(image);
    this.slots[0].load(slot);
    this.otadata.load(new Uint8Array(this.otadata.byteLength).fill(0xff));
  }

  /** The image this boot runs: undefined while off, or when no slot held one that checks. */
  get booted(): EspImageInfo | undefined {
    return this.#domain.on ? this.#booted : undefined;
  }

  /** The image the bootloader chose at the last power-on (undefined: none checked), on or off since. */
  get lastBoot(): EspImageInfo | undefined {
    return this.#booted;
  }

  running(): SlotInfo {
    return this.#info(this.#running);
  }

  inactive(): SlotInfo {
    return this.#info(1 - this.#running);
  }

  release(): void {
    this.#domain.check();
    const target = 1 - this.#running;
    const entries = this.#entries();
    entries.forEach((e, sector) => {
      if (e.valid && slotOf(e.seq) === target) this.otadata.eraseBlock(sector);
    });
  }

  eraseBlock(index: number): void {
    this.#slot().eraseBlock(index);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#slot().write(offset, bytes);
  }

  read(offset: number, byteLength: number): Uint8Array {
    return this.#slot().read(offset, byteLength);
  }

  select(byteLength: number): void {
    this.#domain.check();
    if (!(Number.isInteger(byteLength) && byteLength > 0 && byteLength <= this.capacity)) throw new RangeError("invalid length");
    const target = 1 - this.#running;
    const slot = this.slots[target]!;
    this.imageChecks++;
    if (!verifyEspImage((o, n) => slot.read(o, n), byteLength, this.#chipId)) throw new Error("invalid image");
    const entries = this.#entries();
    const active = activeIndex(entries);
    const top = active < 0 ? 0 : entries[active]!.seq;
    let seq = top + 1;
    while (slotOf(seq) !== target) seq++;
    this.#writeEntry(active < 0 ? 0 : 1 - active, seq, STATE.new);
  }

  confirm(): void {
    this.#domain.check();
    const entries = this.#entries();
    const i = this.#runningEntry(entries);
    if (i >= 0 && entries[i]!.state !== STATE.valid) this.#writeEntry(i, entries[i]!.seq, STATE.valid);
  }

  rollback(): void {
    this.#domain.check();
    const entries = this.#entries();
    const i = this.#runningEntry(entries);
    if (i >= 0) this.#writeEntry(i, entries[i]!.seq, STATE.invalid);
    this.#reset("software");
  }

  // ---- internals ----

  #slot(): SimNorFlash {
    this.#domain.check();
    return this.slots[1 - this.#running]!;
  }

  #info(index: number): SlotInfo {
    const entries = this.#entries();
    let state: SlotState = "none";
    let best = -1;
    for (const e of entries) {
      if (e.valid && slotOf(e.seq) === index && e.seq > best) {
        best = e.seq;
        state = STATE_NAMES[e.state] ?? "none";
      }
    }
    const desc = this.slots[index]!.read(APP_DESC_OFFSET, 48);
    if (u32(desc, 0) !== APP_DESC_MAGIC) return { label: `ota_${index}`, state };
    return { label: `ota_${index}`, state, version: text(desc.subarray(16, 48)), securityVersion: u32(desc, 4) };
  }

  #entries(): [Entry, Entry] {
    const read = (sector: number): Entry => {
      const b = this.otadata.read(sector * this.blockSize, ENTRY_BYTES);
      const seq = u32(b, 0);
      return { seq, state: u32(b, 24), valid: seq !== SEQ_NONE && u32(b, 28) === crc32(b.subarray(0, 4)) };
    };
    return [read(0), read(1)];
  }

  /** The entry that names the running slot (the newer, if both do), or -1. */
  #runningEntry(entries: [Entry, Entry]): number {
    let best = -1;
    entries.forEach((e, i) => {
      if (e.valid && slotOf(e.seq) === this.#running && (best < 0 || e.seq > entries[best]!.seq)) best = i;
    });
    return best;
  }

  #writeEntry(sector: number, seq: number, state: number): void {
    const b = new Uint8Array(ENTRY_BYTES).fill(0xff);
    put32(b, 0, seq);
    put32(b, 24, state);
    put32(b, 28, crc32(b.subarray(0, 4)));
    this.otadata.eraseBlock(sector);
    this.otadata.write(sector * this.blockSize, b);
  }

  /** Runs at every power-on, before the firmware (SimBoard wires the firmware after this). */
  #bootloader(): void {
    this.#booted = undefined;
    const entries = this.#entries();
    let choice = activeIndex(entries);
    if (choice >= 0 && entries[choice]!.state === STATE.pendingVerify) {
      // Booted once and never confirmed: roll back.
      this.#writeEntry(choice, entries[choice]!.seq, STATE.aborted);
      entries[choice]!.state = STATE.aborted;
    }
    choice = activeIndex(entries);
    if (choice >= 0 && entries[choice]!.state === STATE.new) this.#writeEntry(choice, entries[choice]!.seq, STATE.pendingVerify);
    const first = choice >= 0 ? slotOf(entries[choice]!.seq) : 0;
    for (const index of [first, 1 - first]) {
      const slot = this.slots[index]!;
      const read = (o: number, n: number) => slot.read(o, n);
      const length = espImageLength(read, this.capacity);
      const info = length === undefined ? undefined : verifyEspImage(read, length, this.#chipId);
      if (info) {
        this.#running = index;
        this.#booted = info;
        return;
      }
    }
    this.bootFailures++;
  }
}

/** The valid entry with the highest sequence that is neither invalid nor aborted, or -1. */
function activeIndex(entries: [Entry, Entry]): number {
  let best = -1;
  entries.forEach((e, i) => {
    if (!e.valid || e.state === STATE.invalid || e.state === STATE.aborted) return;
    if (best < 0 || e.seq > entries[best]!.seq) best = i;
  });
  return best;
}

const slotOf = (seq: number) => (seq - 1) % 2;

/** CRC-32 (reflected 0xEDB88320, as esp_rom_crc32_le) of a few bytes, bit by bit. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
