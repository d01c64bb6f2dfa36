// The live-memory and turn-length gate of docs/memory.md (tools/bench/memory-budget.ts): which
// measurements of the site in XS it lets through. The measurement itself runs in xsnap
// (tools/bench/site-xs-run.ts --check, and the siteXs benchmark).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { budgetViolations, creationBudget, EXEMPT_KINDS, margin, MAX_TURN_UNITS, MIN_MARGIN } from "../../tools/bench/memory-budget.js";

const KINDS = ["boot", "timer", "rs485 readable", "modem readable", "crypto result"] as const;

describe("memory and turn budget", () => {
  it("takes the budget from the manifest's creation heap", () => {
    const manifest = JSON.parse(readFileSync(fileURLToPath(new URL("../../../manifests/manifest.json", import.meta.url)), "utf8"));
    assert.deepEqual(creationBudget(), { slots: manifest.creation.heap.initial, chunkBytes: manifest.creation.chunk.initial });
  });

  it("refuses a peak of slots or of chunk bytes that leaves less than a quarter of its budget free, and any turn but the boot's over the limit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.dictionary(fc.constantFrom(...KINDS), fc.integer({ min: 0, max: 20_000_000 })),
        (slots, peakSlots, chunkBytes, peakChunkBytes, maxUnits) => {
          const kinds = Object.fromEntries(Object.entries(maxUnits).map(([k, u]) => [k, { maxUnits: u }]));
          const problems = budgetViolations({ kinds, peakSlots, peakChunkBytes }, { slots, chunkBytes });
          const slotsRefused = problems.some((p) => p.startsWith("live heap:") && p.includes(" slots "));
          const chunksRefused = problems.some((p) => p.startsWith("live heap:") && p.includes(" chunk bytes "));
          assert.equal(slotsRefused, (slots - peakSlots) / slots < MIN_MARGIN);
          assert.equal(chunksRefused, (chunkBytes - peakChunkBytes) / chunkBytes < MIN_MARGIN);
          const heapRefused = Number(slotsRefused) + Number(chunksRefused);
          for (const [kind, units] of Object.entries(maxUnits)) {
            const refused = problems.some((p) => p.startsWith(`turn: ${kind} `));
            assert.equal(refused, !EXEMPT_KINDS.includes(kind) && units > MAX_TURN_UNITS, `${kind} ${units}`);
          }
          assert.equal(problems.length, heapRefused + Object.entries(maxUnits).filter(([k, u]) => !EXEMPT_KINDS.includes(k) && u > MAX_TURN_UNITS).length);
        },
      ),
    );
  });

  it("lets exactly 25 % free and a turn of exactly the limit through", () => {
    assert.deepEqual(budgetViolations({ kinds: { timer: { maxUnits: MAX_TURN_UNITS } }, peakSlots: 3_000, peakChunkBytes: 60_000 }, { slots: 4_000, chunkBytes: 80_000 }), []);
    assert.equal(margin(3_000, 4_000), 0.25);
    assert.equal(budgetViolations({ kinds: { timer: { maxUnits: MAX_TURN_UNITS + 1 } }, peakSlots: 3_001, peakChunkBytes: 60_001 }, { slots: 4_000, chunkBytes: 80_000 }).length, 3);
  });
});
