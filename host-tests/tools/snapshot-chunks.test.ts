// tools/xs/snapshot-chunks.ts: the live chunk bytes of an XS machine, read from its snapshot
// (docs/memory.md, "How it is measured"). A real xsnap machine (in a child process:
// xs-chunks-probe.ts) keeps values of known sizes; its chunk figures must grow by exactly their chunks.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { chunkFigures, SnapshotFormatError, type ChunkFigures } from "../../tools/xs/snapshot-chunks.js";

const probe = fileURLToPath(new URL("./xs-chunks-probe.js", import.meta.url));
type Probe = Array<{ value: [string, number]; without: ChunkFigures; with: ChunkFigures }>;
const run = (values: Array<[string, number]>): Probe => JSON.parse(execFileSync(process.execPath, [probe, JSON.stringify(values)], { encoding: "utf8" }).trim().split("\n").at(-1)!) as Probe;
const round = (n: number, to: number) => Math.ceil(n / to) * to;

describe("XS snapshot chunk bytes", () => {
  it("grow by an ArrayBuffer's chunk: its bytes and a header (16 B on the host, 8 B on the device)", () => {
    const sizes = fc.sample(fc.integer({ min: 1, max: 70_000 }), { numRuns: 12, seed: 7 });
    for (const r of run(sizes.map((n) => ["buffer", n]))) {
      const n = r.value[1];
      assert.equal(r.with.slotSize, 32, "the host is 64-bit");
      assert.equal(r.with.chunks - r.without.chunks, 1, `${n}`);
      assert.equal(r.with.hostBytes - r.without.hostBytes, 16 + round(n, 8), `${n}`);
      // The device rounds to 4 B where the host rounds to 8: the device figure is the host's rounding, an upper bound.
      const device = r.with.deviceBytes - r.without.deviceBytes;
      assert.equal(device, 8 + round(n, 8), `${n}`);
      assert.equal(r.with.deviceByKind.arrayBuffers - r.without.deviceByKind.arrayBuffers, device, `${n}`);
      assert.ok(device - (8 + round(n, 4)) <= 4);
    }
  });

  it("count an Array's elements at 32 B on the host and 16 B on the device, a Map's table at 8 and 4 B a pointer", () => {
    const lengths = fc.sample(fc.integer({ min: 1, max: 3_000 }), { numRuns: 6, seed: 11 });
    const r = run([...lengths.map((n): [string, number] => ["array", n]), ...lengths.map((n): [string, number] => ["map", n])]);
    for (const { value: [kind, n], with: w, without } of r) {
      const host = w.hostBytes - without.hostBytes, device = w.deviceBytes - without.deviceBytes;
      assert.equal(w.chunks - without.chunks, 1, `${kind} ${n}`);
      if (kind === "array") {
        assert.ok(host >= 16 + 32 * n && (host - 16) % 32 === 0, `array ${n}: ${host}`);
        assert.equal(device, 8 + ((host - 16) / 32) * 16, `array ${n}`);
        assert.equal(w.deviceByKind.arrays - without.deviceByKind.arrays, device, `array ${n}`);
      } else {
        assert.ok((host - 16) % 8 === 0, `map ${n}: ${host}`);
        assert.equal(device, 8 + (host - 16) / 2, `map ${n}`);
        assert.equal(w.deviceByKind.tables - without.deviceByKind.tables, device, `map ${n}`);
      }
    }
  });

  it("leaves out the byte code XS copies into a chunk per function made from a script (in flash on the device)", () => {
    const counts = fc.sample(fc.integer({ min: 1, max: 500 }), { numRuns: 5, seed: 3 });
    for (const { value: [, n], with: w, without } of run(counts.map((n) => ["closures", n]))) {
      // An Array of n closures: the Array's chunk, and one chunk of byte code per closure.
      assert.equal(w.chunks - without.chunks, n + 1, `${n}`);
      const code = w.codeBytes - without.codeBytes;
      assert.ok(code > 0 && code % n === 0, `${n}: ${code}`);
      assert.equal(w.hostBytes - without.hostBytes, 16 + 32 * n + code, `${n}`);
      assert.equal(w.deviceBytes - without.deviceBytes, 8 + 16 * n, `${n}`);
    }
  });

  it("sums the breakdown by kind to the device figure, and tells a string's chunk", () => {
    const [r] = run([["string", 5000]]);
    const { with: w, without } = r!;
    assert.equal(Object.values(w.deviceByKind).reduce((a, b) => a + b, 0), w.deviceBytes);
    assert.equal(w.deviceByKind.strings - without.deviceByKind.strings, w.deviceBytes - without.deviceBytes);
    assert.ok(w.deviceBytes - without.deviceBytes >= 8 + 5000);
  });

  it("refuses what is not a snapshot with a typed error, and reads a cut snapshot as the whole or not at all", () => {
    const snapshot = snapshotOfProbe();
    const whole = chunkFigures(snapshot);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: snapshot.byteLength - 1 }), (cut) => {
        try {
          assert.deepEqual(chunkFigures(snapshot.subarray(0, cut)), whole);
        } catch (e) {
          assert.ok(e instanceof SnapshotFormatError, String(e));
        }
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, tagged) => {
        const b = tagged && bytes.length >= 8 ? Uint8Array.from([...bytes.subarray(0, 4), 0x58, 0x53, 0x5f, 0x4d, ...bytes.subarray(8)]) : bytes;
        assert.throws(() => chunkFigures(b), SnapshotFormatError);
      }),
    );
  });
});

/** A real snapshot (the probe's machine, written by the probe to standard output as base64 with `--snapshot`). */
function snapshotOfProbe(): Uint8Array {
  return Buffer.from(execFileSync(process.execPath, [probe, "--snapshot"], { encoding: "utf8" }).trim().split("\n").at(-1)!, "base64");
}
