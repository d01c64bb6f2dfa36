import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { SoftSha256, sha256 } from "../../hal/sim/sha256.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const node = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("sim SHA-256", () => {
  it("gives the FIPS 180-4 example digests", () => {
    assert.equal(hex(sha256(new TextEncoder().encode("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(hex(sha256(new Uint8Array(0))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const two = new TextEncoder().encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    assert.equal(hex(sha256(two)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("agrees with Node's crypto on any bytes fed in any pieces", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 8 }), (bytes, cuts) => {
        const h = new SoftSha256();
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const to = Math.min(bytes.length, c);
          if (to > at) h.update(bytes.subarray(at, to));
          at = Math.max(at, to);
        }
        h.update(bytes.subarray(at));
        assert.equal(hex(h.digest()), node(bytes));
      }),
    );
  });

  it("refuses to be used after its digest is taken", () => {
    const h = new SoftSha256();
    h.digest();
    assert.throws(() => h.update(new Uint8Array(1)), /digest taken/);
    assert.throws(() => h.digest(), /digest taken/);
  });
});
