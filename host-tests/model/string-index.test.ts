import assert from "node:assert/strict";
import fc from "fast-check";
import { StringIndex } from "../../firmware/model/string-index.js";

type Op = { op: "set"; key: string; value: number } | { op: "delete"; key: string };

/** Keys from a small alphabet, so that sets, overwrites and deletes of the same key are frequent. */
const key = fc.oneof(fc.string({ maxLength: 3, unit: fc.constantFrom("0", "1", "a", "/", "Z") }), fc.string({ maxLength: 12 }));
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant("set" as const), key, value: fc.integer({ min: 0, max: 0xffff }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), key }) },
  ),
  { maxLength: 300 },
);

describe("string index", () => {
  it("answers get, has, size and keyOf as a Map of the same operations does", () => {
    fc.assert(
      fc.property(ops, (list) => {
        const t = new StringIndex();
        const model = new Map<string, number>();
        for (const o of list) {
          if (o.op === "set") (t.set(o.key, o.value), model.set(o.key, o.value));
          else assert.equal(t.delete(o.key), model.delete(o.key));
          assert.equal(t.size, model.size);
        }
        for (const o of list) {
          assert.equal(t.get(o.key), model.get(o.key));
          assert.equal(t.has(o.key), model.has(o.key));
        }
        for (const v of model.values()) {
          const found = t.keyOf(v);
          assert.ok(found !== undefined && model.get(found) === v, `keyOf(${v})`);
        }
        assert.equal(t.keyOf(0x1_0000), undefined);
      }),
    );
  });

  it("refuses a number that is not 16-bit with a RangeError and keeps nothing of it", () => {
    const t = new StringIndex();
    for (const bad of [-1, 0x1_0000, 1.5, Number.NaN]) assert.throws(() => t.set("x", bad), RangeError);
    assert.equal(t.size, 0);
    assert.equal(t.get("x"), undefined);
  });
});
