/**
 * Random bytes, the task watchdog, reset control and raw-DEFLATE inflation on the ESP32, through the
 * board's FFI functions (manifests/ffi/board.c): esp_fill_random, esp_task_wdt_*, esp_reset_reason,
 * esp_restart, the ROM's tinfl.
 *
 * Implementation notes: the FFI passes a buffer as a pointer to its data; the offset and length are
 * passed alongside so a view into a larger buffer fills only its own bytes.
 */
import type FFI from "mc/ffi";
import type { Inflater, RandomSource, ResetReason, SystemControl, Watchdog } from "../system.js";

/** esp_reset_reason_t (ESP-IDF esp_system.h) → our reasons. */
function reasonOf(code: number): ResetReason {
  switch (code) {
    case 3: // ESP_RST_SW
      return "software";
    case 4: // ESP_RST_PANIC
      return "panic";
    case 5: // ESP_RST_INT_WDT
    case 6: // ESP_RST_TASK_WDT
    case 7: // ESP_RST_WDT
      return "watchdog";
    case 9: // ESP_RST_BROWNOUT
      return "brownout";
    default: // ESP_RST_POWERON, ESP_RST_EXT, ESP_RST_DEEPSLEEP, …
      return "power-on";
  }
}

export class ModdableRandom implements RandomSource {
  readonly #ffi: FFI;
  constructor(ffi: FFI) {
    this.#ffi = ffi;
  }
  fill(bytes: Uint8Array): void {
    this.#ffi.board_fill_random(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }
}

export class ModdableWatchdog implements Watchdog {
  readonly #ffi: FFI;
  constructor(ffi: FFI) {
    this.#ffi = ffi;
  }
  enable(timeoutMs: number): void {
    if (!(timeoutMs > 0)) throw new RangeError("invalid timeout");
    const err = this.#ffi.board_wdt_enable(Math.round(timeoutMs));
    if (err !== 0) throw new Error(`watchdog failed ${err}`);
  }
  feed(): void {
    this.#ffi.board_wdt_feed();
  }
}

export class ModdableSystemControl implements SystemControl {
  readonly #ffi: FFI;
  readonly resetReason: ResetReason;
  constructor(ffi: FFI) {
    this.#ffi = ffi;
    this.resetReason = reasonOf(ffi.board_reset_reason());
  }
  restart(): void {
    this.#ffi.board_restart();
  }
}

export class ModdableInflater implements Inflater {
  readonly #ffi: FFI;
  constructor(ffi: FFI) {
    this.#ffi = ffi;
  }
  inflateRaw(input: Uint8Array, output: Uint8Array): number {
    const n = this.#ffi.board_inflate_raw(input.buffer as ArrayBuffer, input.byteOffset, input.byteLength, output.buffer as ArrayBuffer, output.byteOffset, output.byteLength);
    if (n === -2) throw new Error("no memory");
    if (n < 0) throw new RangeError("invalid deflate data");
    return n;
  }
}
