import assert from "node:assert/strict";
import fc from "fast-check";
import { applyPatches, CBOR_X_PATCHES, restoreConst } from "../../tools/device-bundle.js";
import { readFileSync } from "node:fs";

describe("device modules: const restored after bundling", () => {
  it("declares const a top-level var that nothing assigns, and leaves assigned ones var", () => {
    const out = restoreConst("var a = 1;\nvar b = 2;\nvar c;\nfunction f() { b = 3; }\nvar d = 4, e = 5;\nvar g = 6, h = 7;\nh++;\n");
    assert.equal(out, "const a = 1;\nvar b = 2;\nvar c;\nfunction f() { b = 3; }\nconst d = 4, e = 5;\nvar g = 6, h = 7;\nh++;\n");
  });

  it("counts every form of assignment: compound, ++/--, destructuring, for-in/of heads", () => {
    for (const form of ["x ||= 1;", "--x;", "[x] = [1];", "({ x } = { x: 1 });", "({ y: x } = { y: 1 });", "for (x of []) ;", "for (x in {}) ;"]) {
      assert.equal(restoreConst(`var x = 0;\n${form}`), `var x = 0;\n${form}`, form);
    }
  });

  it("leaves nested functions' vars, lets and destructuring declarations alone", () => {
    const src = "function f() { var inner = 1; return inner; }\nlet l = 1;\nvar { p } = { p: 1 };\n";
    assert.equal(restoreConst(src), src);
  });

  it("property: const exactly where no assignment names the binding, and the program still runs the same", () => {
    const names = ["a", "b", "c", "d"];
    const forms = [(n: string) => `${n} = 9;`, (n: string) => `${n} += 1;`, (n: string) => `function w_${n}() { ${n}--; }`, (n: string) => `[${n}] = [7];`];
    const program = fc.subarray(names, { minLength: 1 }).chain((declared) =>
      fc.tuple(fc.constant(declared), fc.array(fc.tuple(fc.constantFrom(...declared), fc.constantFrom(...forms)).map(([n, form]) => form(n)), { maxLength: 4 })),
    );
    fc.assert(
      fc.property(program, ([declared, assignments]) => {
        const src = [...declared.map((n, i) => `var ${n} = ${i};`), ...assignments, `return [${declared.join(", ")}];`].join("\n");
        const out = restoreConst(src);
        for (const n of declared) {
          const assigned = assignments.some((a) => new RegExp(`(^|[^\\w])${n}([^\\w]|$)`).test(a));
          assert.match(out, new RegExp(`^${assigned ? "var" : "const"} ${n} =`, "m"));
        }
        assert.deepEqual(new Function(out)(), new Function(src)());
      }),
      { numRuns: 300 },
    );
  });
});

describe("device modules: patches", () => {
  it("applies a patch that matches exactly once", () => {
    const p = [{ file: "x/decode.js", why: "test", from: "a.name", to: "'a'" }];
    assert.equal(applyPatches("/root/x/decode.js", "let n = a.name;", p), "let n = 'a';");
    assert.equal(applyPatches("/root/y/other.js", "let n = a.name;", p), "let n = a.name;");
  });

  it("fails the build when a patch matches nowhere or twice (a new cbor-x must be looked at again)", () => {
    const p = [{ file: "decode.js", why: "test", from: "a.name", to: "'a'" }];
    assert.throws(() => applyPatches("decode.js", "let n = b.name;", p), /does not match exactly once/);
    assert.throws(() => applyPatches("decode.js", "a.name; a.name;", p), /does not match exactly once/);
  });

  it("the patched cbor-x of the device decodes half floats and round-trips like cbor-x as published", async () => {
    const device = (await import(new URL("../../device/cbor-x.js", import.meta.url).href)) as typeof import("cbor-x");
    const published = await import("cbor-x");
    assert.equal(device.decode(new Uint8Array([0xf9, 0x55, 0x4c])), 84.75);
    assert.equal(device.decode(new Uint8Array([0xf9, 0xc0, 0x00])), -2);
    assert.ok(Number.isNaN(device.decode(new Uint8Array([0xf9, 0x7e, 0x00]))));
    const value = [1, -2, 3.5, 2 ** 40, "text", new Uint8Array([1, 2]), [true, false, null]];
    assert.deepEqual(new Uint8Array(device.encode(value)), new Uint8Array(published.encode(value)));
    assert.deepEqual(device.decode(device.encode(value)), published.decode(published.encode(value)));
  });

  it("the cbor-x patch matches the installed cbor-x and leaves no read of a built-in's name there", () => {
    const path = "node_modules/cbor-x/decode.js";
    const patched = applyPatches(path, readFileSync(path, "utf8"), CBOR_X_PATCHES);
    assert.doesNotMatch(patched, /TypedArray\.name/);
  });
});
