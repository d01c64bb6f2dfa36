// Moddable SDK modules that @moddable/typings 5.6.0 does not declare (its package 'types' field is an array), written
// from the SDK sources they describe. Keep them to what hal/moddable uses.

/** XS FFI (documentation/xs/XS FFI.md): the functions of manifests/ffi/board.c, as the manifest's "ffi" describes them. */
declare module "mc/ffi" {
  export default class FFI {
    board_wdt_enable(timeoutMs: number): number;
    board_wdt_feed(): number;
    board_reset_reason(): number;
    board_restart(): void;
    board_fill_random(buffer: ArrayBuffer, offset: number, length: number): void;
    board_ota_running_slot(): number;
    board_ota_state(which: number): number;
    board_ota_describe(which: number, out: ArrayBuffer, offset: number): number;
    board_ota_release(): number;
    board_ota_select(): number;
    board_ota_confirm(): number;
    board_ota_rollback(): number;
    board_uart_flow_control(port: number, rts: number, cts: number, rxThreshold: number): number;
    board_console_open(): number;
    board_console_read(buffer: ArrayBuffer, offset: number, length: number): number;
    board_console_write(buffer: ArrayBuffer, offset: number, length: number): number;
    /** AES-128-GCM through PSA Crypto: the output's length, -1 when the tag does not authenticate, -2 on any other failure. */
    board_aes_gcm(encrypt: number, key: ArrayBuffer, iv: ArrayBuffer, aad: ArrayBuffer, aadLength: number, input: ArrayBuffer, inputLength: number, output: ArrayBuffer, outputLength: number, tagLength: number): number;
    board_sha256_start(context: ArrayBuffer): number;
    board_sha256_update(context: ArrayBuffer, data: ArrayBuffer, offset: number, length: number): number;
    board_sha256_finish(context: ArrayBuffer, digest: ArrayBuffer): number;
    board_inflate_raw(input: ArrayBuffer, inOffset: number, inLength: number, output: ArrayBuffer, outOffset: number, outLength: number): number;
  }
}

/** ECMA-419 flash storage (modules/io/flash/esp32/flash-esp32.js). */
declare module "embedded:storage/flash" {
  export interface FlashFile {
    read(byteLength: number, offset: number): ArrayBuffer;
    write(buffer: ArrayBuffer | ArrayBufferView, offset: number): void;
    eraseBlock(start: number, end?: number): void;
    status(): { size: number; blockLength: number; blocks: number };
    close(): void;
  }
  const flash: { open(options: { path: string; mode?: "r" | "r+" }): FlashFile };
  export default flash;
}

/** ECMA-419 firmware update (modules/io/update/esp32/update-esp32.js): esp_ota_begin/write/end + set boot partition. */
declare module "embedded:update" {
  import type { FlashFile } from "embedded:storage/flash";
  export interface UpdateSession {
    /** Mode "w": writes at an offset (esp_ota_write_with_offset). */
    write(buffer: ArrayBuffer | ArrayBufferView, offset: number): void;
    /** esp_ota_end (validates the image) and esp_ota_set_boot_partition. */
    complete(): void;
    /** Aborts (esp_ota_abort) unless completed. */
    close(): void;
  }
  const Update: { open(options: { partition: FlashFile; mode?: "a" | "w"; byteLength?: number }): UpdateSession };
  export default Update;
}

