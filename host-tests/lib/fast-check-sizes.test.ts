import assert from "node:assert/strict";
import fc from "fast-check";

describe("test harness: fast-check sizes", () => {
  it("generates arrays and byte arrays up to the maximum a property states, not fast-check's default of about ten", () => {
    const lengths = fc.sample(fc.array(fc.nat(), { maxLength: 300 }), { numRuns: 200, seed: 1 }).map((a) => a.length);
    const bytes = fc.sample(fc.uint8Array({ maxLength: 2048 }), { numRuns: 200, seed: 1 }).map((a) => a.length);
    assert.ok(Math.max(...lengths) > 150, `longest array ${Math.max(...lengths)} of up to 300`);
    assert.ok(Math.max(...bytes) > 1024, `longest byte array ${Math.max(...bytes)} of up to 2048`);
    assert.ok(lengths.every((n) => n <= 300) && bytes.every((n) => n <= 2048));
  });
});
