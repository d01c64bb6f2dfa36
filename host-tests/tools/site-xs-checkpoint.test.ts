// tools/bench/site-xs-checkpoint.ts and site-xs-run --checkpoint: a run cut at any point goes on
// from its last checkpoint, to the same figures as a run never cut; a checkpoint of another run is
// refused.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { CheckpointError, Checkpoints, type RunIdentity, type RunState } from "../../tools/bench/site-xs-checkpoint.js";

const IDENTITY: RunIdentity = { seed: "1", minutes: 180, modules: 156, stepS: 5, sampleMin: 0.25, onlyA: true };
type State = RunState<{ atMs: number }, { atMs: number }>;
const stateAt = (atMs: number, firmwareUplink = true): State => ({ firmwareUplink, atMs, nextSampleMs: atMs + 15_000, meters: 3, modules: 2, cranks: [{ atMs }], samples: [{ atMs }] });

describe("site-xs-run checkpoints", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "checkpoint-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const open = (bundle = "bundle", identity = IDENTITY, everyMin = 1) => new Checkpoints<{ atMs: number }, { atMs: number }, string>(dir, bundle, identity, everyMin);
  const snapshots = () => readdirSync(dir).filter((f) => f.endsWith(".snap")).sort();

  it("goes on from the last checkpoint: its state and the machine's snapshot, byte for byte", () => {
    const c = open();
    assert.equal(c.resume(true), undefined, "nothing to go on from in an empty directory");
    assert.equal(c.due(59_999), false);
    assert.equal(c.due(60_000), true);
    c.save(stateAt(60_000), new Uint8Array([1, 2, 3]));
    assert.equal(c.due(119_999), false, "the next one is a minute on");
    const again = open().resume(true);
    assert.deepEqual(again?.state, stateAt(60_000));
    assert.deepEqual([...again!.snapshot], [1, 2, 3]);
    assert.equal(open().resume(false), undefined, "run B has no checkpoint of its own");
  });

  it("keeps the latest checkpoint and its snapshot alone, whatever the sequence of saves", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 20 }), (minutes) => {
        for (const f of readdirSync(dir)) rmSync(join(dir, f));
        const c = open();
        for (const m of minutes) c.save(stateAt(m * 60_000), new Uint8Array([m & 0xff]));
        const last = minutes.at(-1)!;
        assert.deepEqual(snapshots(), [`machine-a-${last * 60_000}.snap`]);
        const again = open();
        assert.deepEqual(again.resume(true)?.state, stateAt(last * 60_000));
        assert.equal(again.due(last * 60_000 + 59_999), false);
        assert.equal(again.due((last + 1) * 60_000), true);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses a checkpoint of another bundle or other options, naming the difference", () => {
    open().save(stateAt(60_000), new Uint8Array(8));
    assert.throws(() => open("another bundle"), (e: unknown) => e instanceof CheckpointError && /another firmware bundle/.test(e.message));
    assert.throws(() => open("bundle", { ...IDENTITY, minutes: 1440, seed: "2" }), (e: unknown) => e instanceof CheckpointError && /seed 1, not 2; minutes 180, not 1440/.test(e.message));
    assert.throws(() => open("bundle", IDENTITY, 0), CheckpointError);
    assert.ok(open("bundle", { ...IDENTITY, snapshotsDir: "/elsewhere" } as RunIdentity).resume(true), "options that do not change the run do not matter");
  });

  it("keeps run A's result once it is over, while B starts afresh; clears everything at the end", () => {
    const c = open("bundle", { ...IDENTITY, onlyA: false });
    c.save(stateAt(60_000), new Uint8Array(4));
    c.finish("A's figures");
    assert.deepEqual(snapshots(), [], "A's snapshot has served");
    const afterA = open("bundle", { ...IDENTITY, onlyA: false });
    assert.equal(afterA.finished, "A's figures");
    assert.equal(afterA.resume(false), undefined, "B starts afresh");
    assert.equal(afterA.due(60_000), true);
    afterA.save(stateAt(60_000, false), new Uint8Array(4));
    const inB = open("bundle", { ...IDENTITY, onlyA: false });
    assert.equal(inB.finished, "A's figures");
    assert.equal(inB.resume(false)?.state.firmwareUplink, false);
    inB.clear();
    assert.deepEqual(readdirSync(dir), []);
  });

  describe("a real run cut twice", function () {
    this.timeout(180_000);
    const runner = fileURLToPath(new URL("../../tools/bench/site-xs-run.js", import.meta.url));
    const args = (out: string) => [runner, "--minutes", "2", "--modules", "2", "--step-s", "5", "--json-out", out];
    const figures = (file: string) => {
      const m = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      delete m.options;
      return m;
    };
    /** Runs the command until a checkpoint satisfies `cut`, then kills it as a power cut would; its stderr. */
    const runUntil = (argv: string[], cut: (c: { finished: unknown; current: { atMs: number; firmwareUplink: boolean } | null }) => boolean) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const poll = setInterval(() => {
          try {
            // Once the runner said so: the line follows the checkpoint's rename.
            if (stderr.includes("checkpointed") && cut(JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8")))) child.kill("SIGKILL");
          } catch {
            // not written yet
          }
        }, 20);
        child.on("close", (code, signal) => {
          clearInterval(poll);
          if (signal === "SIGKILL") resolve(stderr);
          else reject(new Error(`the run ended (${code}) before its cut: ${stderr}`));
        });
      });

    it("finds the figures of a run never cut, A's and B's", async () => {
      const straight = join(dir, "straight.json");
      execFileSync(process.execPath, args(straight), { stdio: "ignore" });
      const cut = join(dir, "cut.json");
      const argv = [...args(cut), "--checkpoint", dir, "--checkpoint-min", "1"];
      const first = await runUntil(argv, (c) => c.current?.firmwareUplink === true);
      assert.match(first, /run A checkpointed at 60 s simulated of 120/, "a long run says how far it got");
      // Looked at meanwhile (--so-far): A's figures up to the checkpoint, the run left as it was.
      const soFar = join(dir, "so-far.json");
      const look = spawnSync(process.execPath, [...args(soFar), "--checkpoint", dir, "--checkpoint-min", "1", "--so-far"], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
      assert.equal(look.status, 0, look.stderr);
      const whole = JSON.parse(readFileSync(straight, "utf8")) as { samples: Array<{ atMs: number }>; readingsStored: number };
      const part = JSON.parse(readFileSync(soFar, "utf8")) as { options: { minutes: number }; samples: Array<{ atMs: number }>; readingsStored: number };
      assert.equal(part.options.minutes, 1);
      assert.deepEqual(part.samples, whole.samples.filter((x) => x.atMs <= 60_000));
      assert.ok(part.readingsStored > 0 && part.readingsStored < whole.readingsStored, `${part.readingsStored} of ${whole.readingsStored} readings`);
      const second = await runUntil(argv, (c) => c.finished !== null && c.current !== null);
      assert.match(second, /run A goes on from its checkpoint at (60|120) s/);
      const third = spawnSync(process.execPath, argv, { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
      assert.equal(third.status, 0, third.stderr);
      assert.match(third.stderr, /run B goes on from its checkpoint at (60|120) s/);
      assert.deepEqual(figures(cut), figures(straight));
      assert.ok(!existsSync(join(dir, "checkpoint.json")), "the checkpoint has served");
      assert.deepEqual(snapshots(), []);
    });
  });
});
