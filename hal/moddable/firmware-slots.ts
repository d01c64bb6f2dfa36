/**
 * OTA slots on ESP-IDF: images are written to the next OTA partition through ECMA-419
 * `embedded:update` (mode "w": writes at offsets, so a download can resume), read back through
 * `embedded:storage/flash`, and confirmed or rolled back through FFI (esp_ota_mark_app_valid_cancel_rollback,
 * esp_ota_mark_app_invalid_rollback_and_reboot), which the SDK does not expose (the SDK's embedded:update has no confirm; ESP-IDF OTA in docs/sources.md).
 *
 * to do: the inactive slot's state after a reboot is not queried (esp_ota_get_state_partition of the
 * next partition); `inactive()` reports what this boot did to it.
 */
import type FFI from "mc/ffi";
import flash from "embedded:storage/flash";
import Update from "embedded:update";
import type { FirmwareSlots, FirmwareWriter, SlotInfo, SlotState } from "../firmware-slots.js";

/** esp_ota_img_states_t → our states. */
function stateOf(code: number): SlotState {
  return code === 1 ? "pending-verify" : code === 3 || code === 4 ? "invalid" : "valid";
}

export class ModdableFirmwareSlots implements FirmwareSlots {
  readonly #ffi: FFI;
  readonly capacity: number;
  #inactiveState: SlotState = "empty";
  #inactiveLength = 0;

  constructor(ffi: FFI) {
    this.#ffi = ffi;
    const next = flash.open({ path: "nextota" });
    this.capacity = next.status().size;
    next.close();
  }

  running(): SlotInfo {
    const slot = this.#ffi.board_ota_running_slot();
    return { label: slot < 0 ? "factory" : `ota_${slot}`, state: stateOf(this.#ffi.board_ota_running_state()), byteLength: 0 };
  }

  inactive(): SlotInfo {
    const slot = this.#ffi.board_ota_running_slot();
    return { label: `ota_${slot === 0 ? 1 : 0}`, state: this.#inactiveState, byteLength: this.#inactiveLength };
  }

  openInactive(byteLength: number): FirmwareWriter {
    if (!(Number.isInteger(byteLength) && byteLength > 0 && byteLength <= this.capacity)) throw new RangeError("invalid length");
    const partition = flash.open({ path: "nextota", mode: "r+" });
    const session = Update.open({ partition, mode: "w", byteLength });
    this.#inactiveState = "invalid";
    this.#inactiveLength = byteLength;
    let done = false;
    const check = (offset: number, length: number) => {
      if (done) throw new Error("closed");
      if (!(offset >= 0 && offset + length <= byteLength)) throw new RangeError("invalid offset");
    };
    return {
      write: (offset, bytes) => {
        check(offset, bytes.length);
        session.write(bytes, offset);
      },
      read: (offset, length) => {
        check(offset, length);
        return new Uint8Array(partition.read(length, offset));
      },
      complete: () => {
        check(0, 0);
        try {
          session.complete();
        } catch {
          throw new Error("invalid image");
        } finally {
          done = true;
          session.close();
          partition.close();
        }
        this.#inactiveState = "pending-verify";
      },
      abort: () => {
        if (done) return;
        done = true;
        session.close();
        partition.close();
      },
    };
  }

  confirm(): void {
    const err = this.#ffi.board_ota_confirm();
    if (err !== 0) throw new Error(`confirm failed ${err}`);
  }

  rollback(): void {
    this.#ffi.board_ota_rollback();
  }
}
