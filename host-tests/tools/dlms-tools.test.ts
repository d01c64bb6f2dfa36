import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../tools/net/servers.js";

const tool = (name: string) => fileURLToPath(new URL(`../../tools/${name}.js`, import.meta.url));

/** `npm run meter` in a child process: resolves once it prints its details. */
function startMeter(port: number, extra: string[]): Promise<{ child: ChildProcess; details: Record<string, unknown> }> {
  const child = spawn(process.execPath, [tool("meter"), "--dlms", "--tcp", `127.0.0.1:${port}`, "--seed", "t", ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve({ child, details: JSON.parse(line!) as Record<string, unknown> });
    });
    child.once("exit", (code) => reject(new Error(`meter exited ${code}`)));
  });
}

function read(port: number, args: string[]): { status: number | null; out: Record<string, any> } {
  const r = spawnSync(process.execPath, [tool("dlms-read"), "--tcp", `127.0.0.1:${port}`, "--json", ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: JSON.parse(r.stdout) as Record<string, any> };
}

describe("tools: npm run meter --dlms --tcp and npm run dlms-read (HDLC over TCP, real time)", function () {
  this.timeout(120_000);
  let meter: ChildProcess | undefined;
  afterEach(() => meter?.kill("SIGTERM"));

  it("by default reads the clock, the active import energy and a day of load profile with the public client; exit 0", async () => {
    const port = await freePort();
    const m = await startMeter(port, []);
    meter = m.child;
    const r = read(port, []);
    assert.equal(r.status, 0, JSON.stringify(r.out));
    assert.deepEqual(r.out.objects.map((o: { obis: string; ok: boolean }) => [o.obis, o.ok]), [["0.0.1.0.0.255", true], ["1.0.1.8.0.255", true]]);
    assert.equal(r.out.objects[1].unit, "Wh");
    assert.ok(Math.abs(Date.parse(r.out.objects[0].time) - Date.now()) < 60_000, "the meter keeps the host's time");
    assert.ok(r.out.profile.entries >= 95, `${r.out.profile.entries} entries of the last day`);
  });

  it("with the keys file (HLS) reads what --obis names; a wrong password is refused and the exit status says so", async () => {
    const port = await freePort();
    const keys = join(mkdtempSync(join(tmpdir(), "dlms-")), "keys.json");
    const m = await startMeter(port, ["--keys-out", keys]);
    meter = m.child;
    const r = read(port, ["--keys", keys, "--obis", "4:1.0.1.6.0.255", "0.0.96.3.10.255", "0.0.96.1.0.255"]);
    assert.equal(r.status, 0, JSON.stringify(r.out));
    assert.equal(r.out.security, "hls");
    assert.equal(r.out.objects[2].value, m.details.serial);
    assert.equal(r.out.objects[1].outputState, true);
    assert.ok(r.out.objects[0].captured);
    const wrong = read(port, ["--password", "nope"]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.out.error, /association-refused/);
  });
});
