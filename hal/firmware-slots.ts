/**
 * Firmware image slots for OTA: the running slot and the inactive one (ESP-IDF ota_0 / ota_1 via
 * `embedded:update`, with boot confirmation through FFI to esp_ota_mark_app_valid_cancel_rollback,
 * see docs/sources.md: ESP-IDF OTA).
 *
 * Life cycle: `openInactive(byteLength)` erases the inactive slot and returns a writer; chunks may be
 * written at any offset (resumable download); `complete()` checks the image and makes the slot boot
 * next in "pending-verify" state; after the restart the new image calls `confirm()` once its self-test
 * passed, otherwise the next reset (or `rollback()`) boots the previous image again.
 */
export type SlotState = "valid" | "pending-verify" | "invalid" | "empty";

export interface SlotInfo {
  readonly label: string;
  readonly state: SlotState;
  readonly byteLength: number;
}

export interface FirmwareWriter {
  write(offset: number, bytes: Uint8Array): void;
  read(offset: number, byteLength: number): Uint8Array;
  /** Validates the image and selects it for the next boot. Throws Error("invalid image") otherwise. */
  complete(): void;
  /** Abandons the image; the slot is left invalid. */
  abort(): void;
}

export interface FirmwareSlots {
  running(): SlotInfo;
  inactive(): SlotInfo;
  /** Maximum image size in bytes. */
  readonly capacity: number;
  openInactive(byteLength: number): FirmwareWriter;
  /** Marks the running image good: cancels the pending rollback. */
  confirm(): void;
  /** Marks the running image bad and restarts into the previous one. */
  rollback(): void;
}
