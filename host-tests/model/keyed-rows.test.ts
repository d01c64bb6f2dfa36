import assert from "node:assert/strict";
import fc from "fast-check";
import { KeyedRows } from "../../firmware/model/keyed-rows.js";

/** Operations on a table and on a Map of arrays (the model it must agree with). */
type Op = { op: "insert"; key: number; value: number } | { op: "set"; key: number; column: number; value: number } | { op: "remove"; mod: number };

const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.integer({ min: 0, max: 65_535 }).map((m) => m * 0x100_0000 + 0x010800));
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("insert" as const), key, value: fc.double({ noNaN: true }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), key, column: fc.integer({ min: 0, max: 2 }), value: fc.double() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), mod: fc.integer({ min: 2, max: 5 }) }) },
  ),
  { maxLength: 400 },
);

describe("keyed rows", () => {
  it("finds, adds and removes rows as a Map of rows does, and keeps the order they were added", () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 1, max: 300 }), (list, maxRows) => {
        const t = new KeyedRows(3, maxRows, 1);
        const model = new Map<number, number[]>();
        for (const o of list) {
          if (o.op === "insert") {
            const row = t.insert(o.key, o.value);
            if (model.has(o.key)) assert.notEqual(row, -1);
            else if (model.size >= maxRows) assert.equal(row, -1);
            else model.set(o.key, [o.value, o.value, o.value]);
          } else if (o.op === "set") {
            const row = t.find(o.key);
            assert.equal(row === -1, !model.has(o.key));
            if (row !== -1) (t.set(row, o.column, o.value), (model.get(o.key)![o.column] = o.value));
          } else {
            t.removeWhere((k) => k % o.mod === 0);
            for (const k of [...model.keys()]) if (k % o.mod === 0) model.delete(k);
          }
          assert.equal(t.size, model.size);
        }
        const rows: number[] = [];
        for (const [k, cells] of model) {
          const row = t.find(k);
          rows.push(row);
          assert.deepEqual([t.get(row, 0), t.get(row, 1), t.get(row, 2)], cells);
        }
        assert.deepEqual(rows, rows.map((_, i) => i));
      }),
    );
  });

  it("finds nothing in an empty table and refuses rows beyond its bound", () => {
    const t = new KeyedRows(1, 2);
    assert.equal(t.find(0), -1);
    assert.equal(t.insert(7), 0);
    assert.equal(t.insert(9), 1);
    assert.equal(t.insert(11), -1);
    assert.equal(t.insert(7), 0);
  });
});
