/**
 * FlashPartition on the Moddable `flash` module (modules/files/flash/esp32): a raw data partition
 * found by name in the partition table (manifests/partitions.csv), 4096-byte sectors.
 *
 * Implementation notes: `Flash.write` and `erase` call esp_partition_write/erase_range, which block
 * the calling task (a 4 KiB erase is 45 ms typical). Ranges are checked here so that a bad offset is
 * a RangeError before it reaches ESP-IDF.
 */
import Flash from "flash";
import type { FlashPartition } from "../flash.js";

export class ModdableFlashPartition implements FlashPartition {
  readonly #flash: Flash;
  readonly byteLength: number;
  readonly blockSize: number;

  constructor(partitionName: string) {
    this.#flash = new Flash(partitionName);
    this.byteLength = this.#flash.byteLength;
    this.blockSize = this.#flash.blockSize;
  }

  read(offset: number, byteLength: number): Uint8Array {
    this.#check(offset, byteLength);
    return new Uint8Array(this.#flash.read(offset, byteLength) as ArrayBuffer);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check(offset, bytes.length);
    this.#flash.write(offset, bytes.length, bytes);
  }

  eraseBlock(index: number): void {
    if (!(Number.isInteger(index) && index >= 0 && index * this.blockSize < this.byteLength)) throw new RangeError("invalid sector");
    this.#flash.erase(index);
  }

  #check(offset: number, byteLength: number): void {
    if (!(Number.isInteger(offset) && Number.isInteger(byteLength) && offset >= 0 && byteLength >= 0 && offset + byteLength <= this.byteLength)) {
      throw new RangeError("invalid offset");
    }
  }
}
