import assert from "node:assert/strict";
import fc from "fast-check";
import { PowerDomain, PowerLossError } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimNorFlash } from "../../hal/sim/nor-flash.js";

const SECTOR = 256;
const SIZE = 8 * SECTOR;

function flash(seed = "f") {
  const d = new PowerDomain(new Scheduler(), "board");
  d.powerOn();
  return { d, f: new SimNorFlash(d, new Prng(seed), { byteLength: SIZE, blockSize: SECTOR }) };
}

type Op = { kind: "erase"; sector: number } | { kind: "program"; offset: number; bytes: Uint8Array };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("erase" as const), sector: fc.integer({ min: 0, max: 7 }) }),
  fc.integer({ min: 0, max: SIZE - 1 }).chain((offset) =>
    fc.record({ kind: fc.constant("program" as const), offset: fc.constant(offset), bytes: fc.uint8Array({ maxLength: Math.min(64, SIZE - offset) }) }),
  ),
);

describe("sim NOR flash", () => {
  it("behaves as NOR against a model: erase sets 0xFF per sector, program only clears bits", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { f } = flash();
        const model = new Uint8Array(SIZE).fill(0xff);
        const wear = new Array<number>(8).fill(0);
        for (const o of ops) {
          if (o.kind === "erase") {
            f.eraseBlock(o.sector);
            model.fill(0xff, o.sector * SECTOR, (o.sector + 1) * SECTOR);
            wear[o.sector]!++;
          } else {
            f.write(o.offset, o.bytes);
            o.bytes.forEach((b, i) => (model[o.offset + i]! &= b));
          }
        }
        assert.deepEqual(f.read(0, SIZE), model);
        assert.deepEqual(Array.from(f.wear), wear);
        assert.equal(f.counters.operations, ops.length);
      }),
    );
  });

  it("rejects ranges outside the partition and touches nothing", () => {
    const { f } = flash();
    assert.throws(() => f.write(SIZE - 2, new Uint8Array(4)), RangeError);
    assert.throws(() => f.read(-1, 2), RangeError);
    assert.throws(() => f.eraseBlock(8), RangeError);
    assert.equal(f.counters.operations, 0);
    assert.deepEqual(f.read(0, SIZE), new Uint8Array(SIZE).fill(0xff));
  });

  it("tears the n-th operation after a cut is armed, powers the board off, and keeps the data", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 3 }), (seed, n) => {
        const { d, f } = flash(seed);
        const data = new Uint8Array(SECTOR).map((_, i) => i & 0x0f);
        f.cutAtOperation(n);
        let thrown: unknown;
        try {
          for (let s = 0; s < 3; s++) f.write(s * SECTOR, data);
        } catch (e) {
          thrown = e;
        }
        assert.ok(thrown instanceof PowerLossError);
        assert.equal(d.on, false);
        d.powerOn();
        const after = f.read(0, SIZE);
        // Operations before the n-th landed whole; the ones after it never ran.
        for (let s = 0; s < n - 1; s++) assert.deepEqual(after.subarray(s * SECTOR, (s + 1) * SECTOR), data);
        for (let s = n; s < 3; s++) assert.ok(after.subarray(s * SECTOR, (s + 1) * SECTOR).every((b) => b === 0xff));
        // The torn one: a programmed prefix, at most one half-programmed byte, erased after it.
        const torn = after.subarray((n - 1) * SECTOR, n * SECTOR);
        let k = 0;
        while (k < SECTOR && torn[k] === data[k]) k++;
        for (let i = k + 1; i < SECTOR; i++) assert.equal(torn[i], 0xff);
      }),
    );
  });

  it("leaves a torn erase partly erased with random bits set in the rest", () => {
    let partial = 0;
    for (let seed = 0; seed < 20; seed++) {
      const { d, f } = flash(String(seed));
      f.write(0, new Uint8Array(SECTOR)); // all zeros
      f.cutAtOperation(1);
      assert.throws(() => f.eraseBlock(0), PowerLossError);
      d.powerOn();
      const s = f.read(0, SECTOR);
      const erased = s.filter((b) => b === 0xff).length;
      if (erased > 0 && erased < SECTOR) partial++;
    }
    assert.ok(partial >= 15, `partly erased in ${partial} of 20 cuts`);
  });

  it("leaves a bad sector with random data after erase and ignores programs to it", () => {
    const { f } = flash();
    f.markBad(2);
    f.eraseBlock(2);
    const before = f.read(2 * SECTOR, SECTOR);
    f.write(2 * SECTOR, new Uint8Array(SECTOR));
    assert.deepEqual(f.read(2 * SECTOR, SECTOR), before);
    assert.ok(before.some((b) => b !== 0xff));
  });
});
