/**
 * Firmware image slots for OTA, laid out as ESP-IDF lays them out (ESP-IDF OTA in docs/sources.md):
 * two app partitions, ota_0 and ota_1, and the boot choice in `otadata`, two sectors each holding an
 * entry (sequence number, state, CRC of the sequence). The bootloader boots the slot of the valid
 * entry with the highest sequence; with rollback enabled (manifests/sdkconfig), a slot selected by
 * `select` boots once in "pending-verify", and a reset before `confirm` marks it "aborted" and boots
 * the other slot again.
 *
 * Contract:
 * - All calls are synchronous and block the event loop; erases and programs follow hal/flash.ts
 *   (a 4 KiB erase ≈ 45 ms): keep one erase per turn.
 * - The inactive slot is written raw, at any offset, in any order, so a download resumes after a
 *   reboot where it stopped (ESP-IDF's esp_ota_begin would erase the slot first). Before the first
 *   erase of a new image, `release()` takes the slot out of the boot choice, so that neither the
 *   bootloader nor a rollback can ever pick a half-written image; it is idempotent.
 * - `select(byteLength)` checks the image the way the bootloader does (esp_image_verify: header,
 *   segments, checksum, appended SHA-256) and only then writes the boot choice; a slot that fails the
 *   check throws Error("invalid image") and the boot choice is not touched.
 * - `confirm()` marks the running image valid (cancels the rollback); `rollback()` marks it invalid
 *   and restarts into the other slot. Neither returns when the board restarts.
 * - A power cut during any call leaves at worst the sector being written torn; the boot choice is
 *   two sectors, so a torn entry leaves the other one: the board always boots a valid image.
 * - Offsets out of the slot throw RangeError("invalid offset") and touch nothing.
 */

/**
 * A slot's state in the boot choice (esp_ota_img_states_t): "new" selected and not yet booted,
 * "pending-verify" booted once and not confirmed, "valid" confirmed (or never under rollback),
 * "invalid" marked bad, "aborted" rolled back by the bootloader, "none" no entry names it.
 */
export type SlotState = "new" | "pending-verify" | "valid" | "invalid" | "aborted" | "none";

export interface SlotInfo {
  /** Partition label: "ota_0" or "ota_1". */
  readonly label: string;
  readonly state: SlotState;
  /** The image's version (esp_app_desc_t.version), when the slot holds an image whose descriptor reads. */
  readonly version?: string;
  /** The image's anti-rollback version (esp_app_desc_t.secure_version). */
  readonly securityVersion?: number;
}

export interface FirmwareSlots {
  /** The slot the board booted. */
  running(): SlotInfo;
  /** The other slot, as the boot choice says now. */
  inactive(): SlotInfo;
  /** Size of the inactive slot in bytes: the largest image. */
  readonly capacity: number;
  /** Erase-sector size in bytes (4096 on ESP32). */
  readonly blockSize: number;
  /** Takes the inactive slot out of the boot choice (esp_ota_invalidate_inactive_ota_data_slot). */
  release(): void;
  /** Erases sector `index` of the inactive slot. */
  eraseBlock(index: number): void;
  /** Programs `bytes` at `offset` of the inactive slot (NOR: bits only go from 1 to 0). */
  write(offset: number, bytes: Uint8Array): void;
  read(offset: number, byteLength: number): Uint8Array;
  /** Checks the `byteLength`-byte image in the inactive slot and makes it boot next, pending verification. */
  select(byteLength: number): void;
  /** Marks the running image good: cancels the pending rollback. */
  confirm(): void;
  /** Marks the running image bad and restarts into the previous one. */
  rollback(): void;
}
