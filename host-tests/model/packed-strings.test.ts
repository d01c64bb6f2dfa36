import assert from "node:assert/strict";
import fc from "fast-check";
import { withRoom } from "../../firmware/model/grow.js";
import { PackedStrings } from "../../firmware/model/packed-strings.js";

type Op = { op: "insert"; at: number; s: string } | { op: "remove"; at: number } | { op: "set"; at: number; s: string };

/** Strings of ASCII, 2-byte and 3-byte code units, lone surrogates included. */
const text = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ maxLength: 6, unit: "grapheme" }), fc.string({ maxLength: 6, unit: "binary" }));

describe("packed strings", () => {
  it("holds the strings an array given the same inserts, removals and replacements holds", () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("insert" as const), at: fc.nat(), s: text }),
      fc.record({ op: fc.constant("remove" as const), at: fc.nat() }),
      fc.record({ op: fc.constant("set" as const), at: fc.nat(), s: text }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const p = new PackedStrings();
        const model: string[] = [];
        for (const o of ops) {
          if (o.op === "insert") {
            const at = o.at % (model.length + 1);
            p.insert(at, o.s), model.splice(at, 0, o.s);
          } else if (model.length > 0) {
            const at = o.at % model.length;
            if (o.op === "remove") p.remove(at), model.splice(at, 1);
            else p.set(at, o.s), (model[at] = o.s);
          }
          assert.equal(p.size, model.length);
        }
        model.forEach((s, i) => assert.equal(p.get(i), s, `string ${i}`));
      }),
    );
  });

  it("keeps strings beyond 64 KiB of packed bytes", () => {
    const p = new PackedStrings();
    const model = Array.from({ length: 4000 }, (_, i) => `serial-${"x".repeat(i % 40)}${i}`);
    model.forEach((s, i) => p.insert(i, s));
    p.remove(17), model.splice(17, 1);
    p.insert(3, "Zähler"), model.splice(3, 0, "Zähler");
    model.forEach((s, i) => assert.equal(p.get(i), s, `string ${i}`));
  });

  it("compares as the strings themselves compare (by code unit)", () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const p = new PackedStrings();
        p.insert(0, a);
        p.key(b);
        assert.equal(Math.sign(p.compareKey(0)), a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});

describe("withRoom", () => {
  it("gives the same array while the index fits, else a larger one of the same kind with the elements kept and the new ones filled", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: -5, max: 5 }), (length, index, fill) => {
        const a = Int32Array.from({ length }, (_, i) => i + 1);
        const b = withRoom(a, index, fill);
        if (index < length) return assert.equal(b, a);
        assert.ok(b instanceof Int32Array && b.length > index);
        assert.deepEqual([...b.subarray(0, length)], [...a]);
        assert.ok(b.subarray(length).every((x) => x === fill));
      }),
    );
  });
});
