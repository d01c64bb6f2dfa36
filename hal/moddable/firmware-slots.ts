/**
 * OTA slots on ESP-IDF: the next update partition is written raw through ECMA-419
 * `embedded:storage/flash` ("nextota"), and the boot choice is changed through the board's FFI
 * (manifests/ffi/board.c): release (erase the otadata entry naming the slot), select
 * (esp_ota_set_boot_partition, which runs esp_image_verify first), confirm
 * (esp_ota_mark_app_valid_cancel_rollback), rollback (esp_ota_mark_app_invalid_rollback_and_reboot),
 * the slots' states (esp_ota_get_state_partition) and versions (esp_ota_get_partition_description).
 *
 * Implementation notes:
 * - Neither `embedded:update` nor ESP-IDF's esp_ota_begin is used: both erase the slot when a
 *   session opens (esp_ota_begin erases the image size, or the whole partition), which would throw
 *   away a download that a reboot interrupted. ESP-IDF v6.0's esp_ota_resume keeps the slot but
 *   writes sequentially from a byte offset and needs the session's erase mode again; raw partition
 *   writes, with the boot choice handled here, resume at any sector and in any order.
 * - ESP-IDF's esp_ota_write refuses a first byte other than the image magic (0xE9); raw writes do not
 *   check, so a half-written slot must never be in the boot choice: `release` first (the contract).
 * - `select` fails (and writes nothing) unless esp_image_verify accepts the image: with
 *   CONFIG_BOOTLOADER_SKIP_VALIDATE_ALWAYS=n the bootloader checks it again at every boot.
 * - The otadata helpers assume two OTA slots (manifests/partitions.csv), as `board_ota_release` does.
 */
import type FFI from "mc/ffi";
import flash, { type FlashFile } from "embedded:storage/flash";
import type { FirmwareSlots, SlotInfo, SlotState } from "../firmware-slots.js";

/** esp_ota_img_states_t → our states (-1: no entry names the slot). */
function stateOf(code: number): SlotState {
  switch (code) {
    case 0:
      return "new";
    case 1:
      return "pending-verify";
    case 2:
      return "valid";
    case 3:
      return "invalid";
    case 4:
      return "aborted";
    default:
      return "none";
  }
}

const RUNNING = 0;
const NEXT = 1;
/** board_ota_describe: secure_version (4) + version (32). */
const DESCRIPTION_BYTES = 36;

export class ModdableFirmwareSlots implements FirmwareSlots {
  readonly #ffi: FFI;
  readonly #next: FlashFile;
  readonly capacity: number;
  readonly blockSize: number;

  constructor(ffi: FFI) {
    this.#ffi = ffi;
    this.#next = flash.open({ path: "nextota", mode: "r+" });
    const status = this.#next.status();
    this.capacity = status.size;
    this.blockSize = status.blockLength;
  }

  running(): SlotInfo {
    const slot = this.#ffi.board_ota_running_slot();
    return this.#info(RUNNING, slot < 0 ? "factory" : `ota_${slot}`);
  }

  inactive(): SlotInfo {
    return this.#info(NEXT, `ota_${this.#ffi.board_ota_running_slot() === 0 ? 1 : 0}`);
  }

  release(): void {
    const err = this.#ffi.board_ota_release();
    if (err !== 0) throw new Error(`release failed ${err}`);
  }

  eraseBlock(index: number): void {
    if (!(Number.isInteger(index) && index >= 0 && (index + 1) * this.blockSize <= this.capacity)) throw new RangeError("invalid offset");
    this.#next.eraseBlock(index);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check(offset, bytes.length);
    this.#next.write(bytes, offset);
  }

  read(offset: number, byteLength: number): Uint8Array {
    this.#check(offset, byteLength);
    return new Uint8Array(this.#next.read(byteLength, offset));
  }

  select(byteLength: number): void {
    this.#check(0, byteLength);
    // esp_image_verify finds the image's end itself; the length only bounds it.
    if (this.#ffi.board_ota_select() !== 0) throw new Error("invalid image");
  }

  confirm(): void {
    const err = this.#ffi.board_ota_confirm();
    if (err !== 0) throw new Error(`confirm failed ${err}`);
  }

  rollback(): void {
    this.#ffi.board_ota_rollback();
  }

  #check(offset: number, length: number): void {
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.capacity)) throw new RangeError("invalid offset");
  }

  #info(which: number, label: string): SlotInfo {
    const state = stateOf(this.#ffi.board_ota_state(which));
    const d = new ArrayBuffer(DESCRIPTION_BYTES);
    if (this.#ffi.board_ota_describe(which, d, 0) !== 0) return { label, state };
    const b = new Uint8Array(d);
    let version = "";
    for (let i = 4; i < DESCRIPTION_BYTES && b[i] !== 0; i++) version += String.fromCharCode(b[i]!);
    return { label, state, version, securityVersion: (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0 };
  }
}
