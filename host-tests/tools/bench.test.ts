// The benchmark runner's JSON document (npm run --silent bench -- --json): one document on standard
// output, each benchmark under its id, so runs can be compared across commits.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const RUN = fileURLToPath(new URL("../../tools/bench/run.js", import.meta.url));

function bench(...args: string[]) {
  return spawnSync(process.execPath, [RUN, ...args], { encoding: "utf8" });
}

describe("benchmark runner", () => {
  it("prints one JSON document on standard output with the chosen benchmarks' figures, and its progress on standard error", () => {
    const r = bench("--json", "--only", "simSpeed");
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { schema: string; benchmarks: Record<string, { name: string; wallMs: number; figures: Record<string, number | string> }> };
    assert.equal(doc.schema, "concentrator-bench/1");
    assert.deepEqual(Object.keys(doc.benchmarks), ["simSpeed"]);
    const figures = doc.benchmarks.simSpeed!.figures;
    assert.ok(Number(figures["characters in the busy hour"]) > 0, JSON.stringify(figures));
    assert.match(r.stderr, /^bench: simSpeed \(simulation speed\) \.\.\.$/m);
  });

  it("names the benchmarks there are when --only matches none", () => {
    const r = bench("--json", "--only", "no such bench");
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no benchmark matches \(ids: simSpeed, xsTurns, /);
  });
});
