import assert from "node:assert/strict";
import fc from "fast-check";
import { decode7E1InPlace, encode7E1, hasEvenParity, isParityError, withEvenParity } from "../../hal/serial-7e1.js";

describe("7E1 in software over 8N1", () => {
  it("encodes every 7-bit character with even parity over the 8 bits on the wire", () => {
    for (let c = 0; c < 128; c++) {
      const b = withEvenParity(c);
      let ones = 0;
      for (let v = b; v; v >>= 1) ones += v & 1;
      assert.equal(ones % 2, 0, `char ${c}`);
      assert.equal(b & 0x7f, c);
    }
  });

  it("decodes what it encodes, with no parity errors", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }).map((a) => a.map((b) => b & 0x7f)), (chars) => {
        const wire = encode7E1(chars);
        assert.equal(decode7E1InPlace(wire), 0);
        assert.deepEqual(wire, chars);
      }),
    );
  });

  it("marks every single-bit error at its exact position and keeps the other characters", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }).map((a) => a.map((b) => b & 0x7f)),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (chars, pos, bit) => {
          const at = pos % chars.length;
          const wire = encode7E1(chars);
          wire[at]! ^= 1 << bit;
          assert.equal(hasEvenParity(wire[at]!), false);
          assert.equal(decode7E1InPlace(wire), 1);
          wire.forEach((c, i) => assert.equal(isParityError(c), i === at));
          assert.equal(wire[at]! & 0x7f, (chars[at]! ^ (1 << bit)) & 0x7f);
        },
      ),
    );
  });
});
