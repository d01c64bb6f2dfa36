import assert from "node:assert/strict";
import fc from "fast-check";
import { MeterMemory } from "../../firmware/dlms/integration/meter-memory.js";

/** A logical name and a packed header (any numbers: the memory keeps them as they are). */
const entry = fc.record({
  meter: fc.integer({ min: 0, max: 5 }),
  ln: fc.uint8Array({ minLength: 6, maxLength: 6 }),
  packed: fc.array(fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), { maxLength: 30 }).map((a) => Int32Array.from(a)),
});

describe("dlms: what the integration remembers of each meter", () => {
  it("gives back the last header kept for each meter and logical name, and nothing for the others", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), fc.uint8Array({ minLength: 6, maxLength: 6 }), (entries, other) => {
        const memory = new MeterMemory();
        const model = new Map<string, number[]>();
        for (const e of entries) {
          memory.setHeader(memory.row(1000 + e.meter), e.ln, e.packed);
          model.set(`${e.meter}/${e.ln.join(".")}`, [...e.packed]);
        }
        for (const e of entries) assert.deepEqual([...memory.header(memory.row(1000 + e.meter), e.ln)!], model.get(`${e.meter}/${e.ln.join(".")}`));
        for (let m = 0; m <= 5; m++) {
          const key = `${m}/${other.join(".")}`;
          const got = memory.header(memory.row(1000 + m), other);
          assert.deepEqual(got && [...got], model.get(key));
        }
      }),
    );
  });

  it("keeps each meter's deviation, limiter text and flags apart, the rows found again by the meter's id", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0x3_ffff }), { minLength: 1, maxLength: 70 }), (ids) => {
        const memory = new MeterMemory();
        ids.forEach((id, i) => {
          const row = memory.row(id);
          memory.setDeviation(row, (i % 1441) - 720);
          memory.setSyncing(row, i % 2 === 0);
          memory.setLimiting(row, i % 3 === 0);
          if (i % 4 === 0) memory.setLimiter(row, `limit ${id}`);
        });
        ids.forEach((id, i) => {
          const row = memory.row(id);
          assert.deepEqual(
            [memory.deviation(row), memory.syncing(row), memory.limiting(row), memory.limiter(row)],
            [(i % 1441) - 720, i % 2 === 0, i % 3 === 0, i % 4 === 0 ? `limit ${id}` : undefined],
          );
        });
        const first = memory.row(ids[0]!);
        memory.setSyncing(first, false);
        assert.equal(memory.syncing(first), false);
        assert.equal(memory.limiting(first), true, "the other flag stays");
      }),
    );
  });
});
