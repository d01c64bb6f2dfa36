/**
 * A raw NOR flash partition (the Moddable `flash` module: `new Flash(name)`; 4096-byte sectors on ESP32).
 *
 * Contract:
 * - NOR semantics: `eraseBlock` sets every byte of one sector to 0xFF; `write` (program) can only clear
 *   bits, so the stored byte becomes old AND new. Writing over programmed bytes is not an error; it is
 *   the caller's job to know the region was erased.
 * - All calls are synchronous and block the event loop (a 4 KiB erase takes ~45 ms typical, 400 ms
 *   worst case on W25Q-class parts): keep erases out of turns that must stay short.
 * - Offsets and lengths out of the partition throw RangeError("invalid offset") and touch nothing.
 * - If power fails during `write` or `eraseBlock`, the range may be torn: partly programmed, or partly
 *   erased. Nothing else is disturbed. Readers must detect torn data (CRCs), never assume atomicity.
 */
export interface FlashPartition {
  /** Partition size in bytes, a multiple of `blockSize`. */
  readonly byteLength: number;
  /** Erase-sector size in bytes (4096 on ESP32). */
  readonly blockSize: number;
  /** Reads `byteLength` bytes at `offset` into a new array. */
  read(offset: number, byteLength: number): Uint8Array;
  /** Programs `bytes` at `offset` (bits can only go from 1 to 0). */
  write(offset: number, bytes: Uint8Array): void;
  /** Erases sector `index` (0-based) to 0xFF. */
  eraseBlock(index: number): void;
}
