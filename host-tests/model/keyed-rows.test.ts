import assert from "node:assert/strict";
import fc from "fast-check";
import { KEY_LIMIT, KeyedRows, ROW_LIMIT, type ColumnKind } from "../../firmware/model/keyed-rows.js";

/** Operations on a table and on a Map of rows (the model it must agree with). */
type Op = { op: "insert"; key: number; sub: number; value: number } | { op: "set"; key: number; sub: number; column: number; value: number } | { op: "remove"; key: number };

const key = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 600 }));
const sub = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 0xffff }));
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("insert" as const), key, sub, value: fc.double({ noNaN: true }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), key, sub, column: fc.integer({ min: 0, max: 2 }), value: fc.double() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), key }) },
  ),
  { maxLength: 400 },
);

describe("keyed rows", () => {
  it("finds, adds and removes rows as a Map of rows does, and keeps the order they were added", () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 1, max: 300 }), (list, maxRows) => {
        const t = new KeyedRows(3, maxRows, 1);
        const model = new Map<string, { key: number; cells: number[] }>();
        const id = (k: number, s: number) => `${k}/${s}`;
        for (const o of list) {
          if (o.op === "insert") {
            const row = t.insert(o.key, o.sub, o.value);
            if (model.has(id(o.key, o.sub))) assert.notEqual(row, -1);
            else if (model.size >= maxRows) assert.equal(row, -1);
            else model.set(id(o.key, o.sub), { key: o.key, cells: [o.value, o.value, o.value] });
          } else if (o.op === "set") {
            const row = t.find(o.key, o.sub);
            assert.equal(row === -1, !model.has(id(o.key, o.sub)));
            if (row !== -1) (t.set(row, o.column, o.value), (model.get(id(o.key, o.sub))!.cells[o.column] = o.value));
          } else {
            t.remove(o.key);
            for (const [k, v] of [...model]) if (v.key === o.key) model.delete(k);
          }
          assert.equal(t.size, model.size);
        }
        const rows: number[] = [];
        for (const [k, { cells }] of model) {
          const [key, sub] = k.split("/").map(Number) as [number, number];
          const row = t.find(key, sub);
          rows.push(row);
          assert.deepEqual([t.get(row, 0), t.get(row, 1), t.get(row, 2)], cells);
        }
        assert.deepEqual(rows, rows.map((_, i) => i));
      }),
    );
  });

  it("refuses a key that is not a 16-bit number with a RangeError, and finds nothing for it", () => {
    const t = new KeyedRows(1);
    for (const bad of [-1, KEY_LIMIT, 1.5, Number.NaN, 2 ** 40]) {
      assert.throws(() => t.insert(bad), RangeError);
      assert.equal(t.find(bad), -1);
    }
    assert.equal(t.size, 0);
    const row = t.insert(KEY_LIMIT - 1, 0, 5);
    assert.equal(t.find(KEY_LIMIT - 1), row);
    assert.equal(t.get(row, 0), 5);
    t.remove(KEY_LIMIT - 1);
    assert.equal(t.find(KEY_LIMIT - 1), -1);
  });

  it("refuses a second key that is not a 16-bit number with a RangeError, and keeps the ones that are", () => {
    const t = new KeyedRows(1);
    for (const bad of [1.5, -1, KEY_LIMIT, 2 ** 31, Number.NaN]) assert.throws(() => t.insert(3, bad), RangeError);
    assert.equal(t.size, 0);
    for (const good of [KEY_LIMIT - 1, 1, 0x07_00]) {
      const row = t.insert(3, good);
      assert.equal(t.find(3, good), row);
    }
    assert.equal(t.size, 3);
  });

  it("finds nothing in an empty table and refuses rows beyond its bound", () => {
    const t = new KeyedRows(1, 2);
    assert.equal(t.find(0), -1);
    assert.equal(t.insert(7), 0);
    assert.equal(t.insert(7, 1), 1);
    assert.equal(t.insert(9), -1);
    assert.equal(t.insert(7), 0);
  });

  /** The values a column of each kind holds exactly (the model's rule, written out rather than derived from the typed arrays). */
  const RANGE: Record<ColumnKind, [number, number] | undefined> = {
    f64: undefined,
    i32: [-(2 ** 31), 2 ** 31 - 1],
    u32: [0, 2 ** 32 - 1],
    i16: [-(2 ** 15), 2 ** 15 - 1],
    u16: [0, 2 ** 16 - 1],
    i8: [-128, 127],
    u8: [0, 255],
  };
  const holds = (kind: ColumnKind, v: number) => RANGE[kind] === undefined || (Number.isInteger(v) && v >= RANGE[kind]![0] && v <= RANGE[kind]![1]);
  const kind = fc.constantFrom<ColumnKind>("f64", "i32", "u32", "i16", "u16", "i8", "u8");
  /** Values near every kind's bounds, fractions, NaN and infinities. */
  const value = fc.oneof(
    fc.constantFrom(0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 0.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
    fc.double(),
  );
  type TypedOp = { op: "insert"; key: number; sub: number } | { op: "set"; key: number; sub: number; column: number; value: number } | { op: "remove"; key: number };

  it("keeps each column's values exactly in columns of any kinds, and refuses with a RangeError what a column cannot hold, changing nothing", () => {
    fc.assert(
      fc.property(
        fc.array(kind, { minLength: 1, maxLength: 6 }),
        fc.array(
          fc.oneof(
            { weight: 4, arbitrary: fc.record({ op: fc.constant("insert" as const), key, sub }) },
            { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), key, sub, column: fc.nat(), value }) },
            { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), key }) },
          ) as fc.Arbitrary<TypedOp>,
          { maxLength: 300 },
        ),
        (kinds, list) => {
          const t = new KeyedRows(kinds, ROW_LIMIT, 1);
          const model = new Map<string, { key: number; cells: number[] }>();
          const id = (k: number, s: number) => `${k}/${s}`;
          for (const o of list) {
            if (o.op === "insert") {
              assert.notEqual(t.insert(o.key, o.sub), -1);
              if (!model.has(id(o.key, o.sub))) model.set(id(o.key, o.sub), { key: o.key, cells: kinds.map(() => 0) });
            } else if (o.op === "set") {
              const row = t.find(o.key, o.sub), column = o.column % kinds.length;
              assert.equal(row === -1, !model.has(id(o.key, o.sub)));
              if (row === -1) continue;
              if (holds(kinds[column]!, o.value)) {
                t.set(row, column, o.value);
                // An integer column keeps -0 as 0.
                model.get(id(o.key, o.sub))!.cells[column] = kinds[column] === "f64" ? o.value : o.value + 0;
              } else assert.throws(() => t.set(row, column, o.value), (e: unknown) => e instanceof RangeError && e.message.includes(kinds[column]!));
            } else {
              t.remove(o.key);
              for (const [k, v] of [...model]) if (v.key === o.key) model.delete(k);
            }
          }
          assert.equal(t.size, model.size);
          for (const [k, { cells }] of model) {
            const [key, sub] = k.split("/").map(Number) as [number, number];
            const row = t.find(key, sub);
            assert.deepEqual(kinds.map((_, c) => t.get(row, c)), cells);
          }
        },
      ),
    );
  });

  it("refuses an initial value a column cannot hold, adding no row", () => {
    const t = new KeyedRows(["f64", "u8"]);
    assert.throws(() => t.insert(1, 0, -1), RangeError);
    assert.throws(() => t.insert(1, 0, 0.5), RangeError);
    assert.equal(t.size, 0);
    const row = t.insert(1, 0, 7);
    assert.deepEqual([t.get(row, 0), t.get(row, 1)], [7, 7]);
    assert.throws(() => new KeyedRows(["f64", "u64" as ColumnKind]), RangeError);
  });

  it("adds a row known to be absent as insert does, and holds at most ROW_LIMIT rows", () => {
    const t = new KeyedRows(["u8"], 2 ** 20);
    assert.equal(t.find(4, 9), -1);
    const row = t.add(4, 9, 3);
    assert.equal(t.find(4, 9), row);
    assert.equal(t.insert(4, 9), row);
    assert.equal(t.get(row, 0), 3);
    assert.throws(() => t.add(KEY_LIMIT, 0), RangeError);
    for (let k = 0; t.size < ROW_LIMIT; k++) assert.notEqual(t.add(k % KEY_LIMIT, Math.floor(k / KEY_LIMIT) + 1), -1);
    assert.equal(t.add(5, 99), -1);
    assert.equal(t.size, ROW_LIMIT);
  });
});
