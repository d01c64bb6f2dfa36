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
    board_ota_running_state(): number;
    board_ota_confirm(): number;
    board_ota_rollback(): number;
    board_uart_flow_control(port: number, rts: number, cts: number, rxThreshold: number): number;
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

/** Native ciphers (modules/crypt/digest/crypt.js, preloaded by modules/crypt/digest/manifest.json). Only what hal/moddable uses. */
declare module "crypt" {
  export class BlockCipher {
    /** `cipher`: "AES", "DES", "TDES"; the key length picks AES-128/192/256. */
    constructor(cipher: string, key: ArrayBuffer);
    readonly blockSize: number;
    encrypt(data: ArrayBuffer, result?: ArrayBuffer): ArrayBuffer;
    decrypt(data: ArrayBuffer, result?: ArrayBuffer): ArrayBuffer;
  }
}

/**
 * GCM over a block cipher (modules/crypt/etc/gcm.js): CTR and GHASH natively. `process(data, buf, iv, aad,
 * true)` returns the ciphertext followed by the tag cut to `tagLength`; with `false` it takes ciphertext
 * and tag and returns the plaintext, or undefined when the tag does not match.
 */
declare module "gcm" {
  import type { BlockCipher } from "crypt";
  export default class GCM {
    constructor(cipher: BlockCipher, tagLength?: number);
    process(data: ArrayBuffer | Uint8Array, buf: ArrayBuffer | undefined, iv: ArrayBuffer, aad: ArrayBuffer, encrypt: boolean): ArrayBuffer | undefined;
  }
}
