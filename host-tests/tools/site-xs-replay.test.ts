// site-xs-run's replays: a crank between two samples that the interpolation puts at or over the
// near-limit is sampled after all, in a replay of the machine from the sample before; the replay's
// sample is the very sample a run that sampled that crank directly takes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HeapSample, SiteXsMeasurement } from "../../tools/bench/site-xs-run.js";

describe("site-xs-run replays", function () {
  this.timeout(180_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "replay-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const runner = fileURLToPath(new URL("../../tools/bench/site-xs-run.js", import.meta.url));
  /** Two minutes of a two-module site, run A; the measurement and what the runner said on stderr. */
  const measure = (name: string, ...options: string[]) => {
    const out = join(dir, `${name}.json`);
    const r = spawnSync(process.execPath, [runner, "--minutes", "2", "--modules", "2", "--only-a", "--json-out", out, ...options], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
    assert.equal(r.status, 0, r.stderr);
    return { m: JSON.parse(readFileSync(out, "utf8")) as SiteXsMeasurement, stderr: r.stderr };
  };
  const withoutFlag = ({ replayed: _, ...s }: HeapSample) => s;

  it("samples every crank the interpolation puts near the limit, exactly as a sample taken there", () => {
    // Samples at 0 and 120 s alone; before the second, no sample is done to extrapolate from, so
    // only the replays can sample a crank in between.
    const every = measure("every-crank", "--sample-min", String(5 / 60));
    const sparse = measure("sparse", "--sample-min", "2");
    const limit = sparse.m.peakSlots - 200;
    assert.ok(every.m.peakSampledSlots < sparse.m.peakSlots, "the interpolation between 0 and 120 s overstates the firmware");
    const replayed = measure("replayed", "--sample-min", "2", "--near-limit-slots", String(limit));
    const samples = replayed.m.samples.filter((s) => s.replayed);
    assert.ok(samples.length > 0, "some cranks replayed");
    assert.doesNotMatch(replayed.stderr, /the replay to/, "each replay had the machine's slots");
    const direct = new Map(every.m.samples.map((s) => [s.atMs, s]));
    for (const s of samples) assert.deepEqual(withoutFlag(s), withoutFlag(direct.get(s.atMs)!), `the replayed sample at ${s.atMs} ms`);
    // What is left at or over the limit rests on a sample.
    assert.ok(replayed.m.peakSlots < limit || replayed.m.samples.some((s) => s.atMs === replayed.m.peakAtMs), `peak ${replayed.m.peakSlots} at ${replayed.m.peakAtMs} ms`);
    assert.ok(replayed.m.peakSlots <= sparse.m.peakSlots);
  });
});
