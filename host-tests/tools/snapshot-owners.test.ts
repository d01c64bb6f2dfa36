// tools/xs/snapshot-owners.ts: the Arrays of an XS snapshot by holder. A real xsnap machine (the
// chunk probe, in a child process) keeps Arrays of known lengths in a class's private field, a plain
// object's property and a closure's variable; each must be found under its holder, with its size.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { arrayOwners, heapOwners, heapOwnersDifference, ownersDifference } from "../../tools/xs/snapshot-owners.js";
import { SnapshotFormatError } from "../../tools/xs/snapshot-chunks.js";

const probe = fileURLToPath(new URL("./xs-chunks-probe.js", import.meta.url));
const snapshot = (value: [string, number]) => Buffer.from(execFileSync(process.execPath, [probe, "--snapshot", JSON.stringify(value)], { encoding: "utf8" }).trim().split("\n").at(-1)!, "base64");

describe("XS snapshot Arrays by holder", () => {
  const lengths = fc.sample(fc.integer({ min: 30, max: 2_000 }), { numRuns: 3, seed: 5 });

  it("names a private field of a class, a property of a plain object and a closure's variable, each with its elements (16 B on the device)", () => {
    for (const n of lengths) {
      const owners = arrayOwners(snapshot(["held", n]));
      const expected: Array<[string, number]> = [
        ["Array <- Holder <- Object <- Object.kept.holder.#items", n],
        ["Array <- Object <- Object <- Object.kept.plain.list", n + 1],
        ["Array <- variable bytes of function counter", n + 2],
      ];
      for (const [owner, elements] of expected) {
        assert.deepEqual(owners.get(owner), { arrays: 1, elements, deviceBytes: 8 + 16 * elements }, `${owner} (n = ${n}); found: ${[...owners.keys()].filter((k) => !k.includes("(")).join(" | ")}`);
      }
    }
  });

  it("tells a machine from another by holder: what one keeps and the other does not", () => {
    const n = lengths[0]!;
    const rows = ownersDifference(arrayOwners(snapshot(["held", n])), arrayOwners(snapshot(["array", 10])));
    const byOwner = new Map(rows.map((r) => [r.owner, r.deviceBytes]));
    assert.equal(byOwner.get("Array <- Holder <- Object <- Object.kept.holder.#items"), 8 + 16 * n);
    assert.equal(byOwner.get("Array <- variable bytes of function counter"), 8 + 16 * (n + 2));
    assert.equal(byOwner.get("Array <- Object <- Object <- Object.global.global.kept"), -(8 + 16 * 10));
    for (let i = 1; i < rows.length; i++) assert.ok(Math.abs(rows[i - 1]!.deviceBytes) >= Math.abs(rows[i]!.deviceBytes));
  });

  it("puts every slot and chunk under its owner: an Array's elements, a typed array's bytes, a closure's variable under its function", () => {
    const n = lengths[1]!;
    const held = snapshot(["held", n]);
    const owners = heapOwners(held);
    assert.equal(owners.get("Array <- Holder <- Object <- Object.kept.holder.#items")?.chunkBytes, 8 + 16 * n, "the same Array as arrayOwners finds");
    const bytes = [...owners].find(([owner]) => owner.startsWith("ArrayBuffer <- Uint8Array <- Object <- Object.plain.bytes"));
    assert.ok(bytes, `a typed array's buffer; found: ${[...owners.keys()].filter((k) => k.startsWith("ArrayBuffer")).join(" | ")}`);
    assert.ok(bytes[1].chunkBytes >= 8 + n + 3 && bytes[1].chunkBytes < 8 + n + 3 + 8, `${bytes[1].chunkBytes} B for ${n + 3} bytes`);
    const counter = heapOwners(held, 0).get("Function counter");
    assert.ok(counter && counter.slots >= 3, "the function, its environment and the variable it captures");
    for (const f of owners.values()) assert.equal(f.deviceBytes, f.slots * 16 + f.chunkBytes);
    const rows = heapOwnersDifference(owners, heapOwners(snapshot(["array", 10])));
    const grown = rows.reduce((s, r) => s + r.chunkBytes, 0);
    assert.ok(grown >= 16 * (3 * n + 3) - 16 * 10 + n, `the three Arrays and the bytes are what the first keeps more: ${grown} B`);
  });

  it("refuses what is not an XS snapshot", () => {
    assert.throws(() => arrayOwners(new Uint8Array(64)), SnapshotFormatError);
    assert.throws(() => heapOwners(new Uint8Array(64)), SnapshotFormatError);
  });
});
