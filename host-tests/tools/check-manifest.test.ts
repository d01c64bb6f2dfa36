// tools/check-manifest.ts: what the ESP32-S3 leaves the main XS machine (docs/memory.md, "What the
// ESP32-S3 can give"), the check of the manifest's `creation` against it, and of a measured peak
// against `creation` (each figure at least 25 % free).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { checkCreation, checkMeasured, CRYPTO_WORKER_STATIC_BYTES, esp32s3Memory, mainMachineBytes, type Creation } from "../../tools/check-manifest.js";
import { MIN_MARGIN, SLOT_BYTES } from "../../tools/bench/memory-budget.js";

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), "utf8");
const manifestCreation = (JSON.parse(read("manifests/manifest.json")) as { creation: Creation }).creation;
const creation = (chunk: number, slots: number, stack = 512): Creation => ({ static: 0, stack, chunk: { initial: chunk, incremental: 0 }, heap: { initial: slots, incremental: 0 } });

describe("ESP32-S3 memory budget of the main XS machine", () => {
  it("takes the chip's SRAM less every line, each with its source, the estimates marked", () => {
    const lines = esp32s3Memory(512);
    assert.equal(lines[0]!.bytes, 512 * 1024);
    assert.ok(lines.slice(1).every((l) => l.bytes < 0), "every line after the SRAM takes");
    for (const l of lines) {
      assert.ok(l.source.length > 0, l.what);
      assert.equal(l.estimate, l.source.startsWith("estimate"), l.what);
    }
    // docs/memory.md's table: about 270 KiB left.
    assert.ok(Math.abs(mainMachineBytes(lines) / 1024 - 270) < 5, String(mainMachineBytes(lines)));
  });

  it("follows the main machine's stack and the crypto worker's creation in the firmware", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4096 }), (stack) => assert.equal(mainMachineBytes(esp32s3Memory(512)) - mainMachineBytes(esp32s3Memory(stack)), (stack - 512) * SLOT_BYTES)));
    const worker = /WORKER_CREATION = Object\.freeze\(\{ static: (\d+)/.exec(read("hal/moddable/crypto.ts"));
    assert.equal(Number(worker?.[1]), CRYPTO_WORKER_STATIC_BYTES);
  });

  it("refuses a creation whose chunks and slots × 16 B exceed what the ESP32-S3 leaves, or that grows", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400_000 }), fc.integer({ min: 0, max: 25_000 }), fc.integer({ min: 64, max: 2048 }), (chunk, slots, stack) => {
        const over = chunk + slots * SLOT_BYTES > mainMachineBytes(esp32s3Memory(stack));
        assert.equal(checkCreation(creation(chunk, slots, stack)).length, Number(over));
      }),
    );
    assert.equal(checkCreation({ ...creation(1000, 100), chunk: { initial: 1000, incremental: 1024 } }).length, 1);
    assert.deepEqual(checkCreation(manifestCreation), []);
  });

  it("refuses a measured peak that leaves less than a quarter of either creation figure free", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 1, max: 300_000 }), fc.integer({ min: 0, max: 600_000 }), (slots, peakSlots, chunk, peakChunkBytes) => {
        const problems = checkMeasured(creation(chunk, slots), { peakSlots, peakChunkBytes });
        assert.equal(problems.some((p) => p.includes(" slots ")), peakSlots > slots * (1 - MIN_MARGIN));
        assert.equal(problems.some((p) => p.includes(" chunk bytes ")), peakChunkBytes > chunk * (1 - MIN_MARGIN));
      }),
    );
  });
});
