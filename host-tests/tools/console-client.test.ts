// tools/console against the running simulation over TCP, as an engineer uses it: `npm run keys` makes
// the engineer's key, `simulate --realtime --console tcp:…` runs the site with its console open, and
// `console --run` logs in from the key file and runs commands; its exit status says whether every
// command succeeded. SIGTERM ends the simulation with its report.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { constants, existsSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { ReadStream } from "node:tty";
import { tmpdir } from "node:os";
import { join } from "node:path";

const node = process.execPath;

function consoleRun(port: number, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(node, ["dist/tools/console.js", "--tcp", `127.0.0.1:${port}`, "--timeout", "30", ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("tools: the console client against the running simulation", function () {
  this.timeout(120_000);
  let dir = "";
  let sim: ChildProcess | undefined;
  let simOut = "";
  let port = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-console-"));
    const keys = spawnSync(node, ["dist/tools/keys.js", "--dir", dir, "--engineer", "alice"], { encoding: "utf8" });
    assert.equal(keys.status, 0, keys.stderr);
    sim = spawn(node, ["dist/tools/simulate.js", "--realtime", "--console", "tcp:127.0.0.1:0", "--engineers", join(dir, "engineers.json"), "--modules", "4", "--plc", "0", "--radio", "0", "--seed", "7"], { stdio: ["ignore", "pipe", "pipe"] });
    sim.stdout!.on("data", (d: Buffer) => (simOut += d.toString()));
    sim.stderr!.on("data", (d: Buffer) => (simOut += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/console: tcp 127\.0\.0\.1:(\d+)/.test(simOut) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    port = Number(/console: tcp 127\.0\.0\.1:(\d+)/.exec(simOut)?.[1]);
    assert.ok(port > 0, `the simulation says where its console is: ${simOut}`);
  });

  after(() => {
    if (sim && sim.exitCode === null) sim.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs read-only commands and exits 0", () => {
    const r = consoleRun(port, ["--run", "version; status; config get poll.intervalMin"]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^firmware \d+\.\d+\.\d+\n/);
    assert.match(r.stdout, /\nunit 17, up \d\d:\d\d:\d\d, boot reason power-on, state running\n/);
    assert.match(r.stdout, /\npoll\.intervalMin = 15 \(default 15/);
    assert.doesNotMatch(r.stdout, /mc17[>#]/, "no prompts or echoes in what a script reads");
  });

  it("exits 1 with the console's own message for an unknown command, bad arguments, or a privileged command without login", () => {
    const unknown = consoleRun(port, ["--run", "version; frobnicate"]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stdout, /\nerror: frobnicate: unknown command \(help lists the commands\)\n$/);
    const bad = consoleRun(port, ["--run", "events 0"]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, "error: events: N: a whole number from 1 to 100\n");
    const privileged = consoleRun(port, ["--run", "config set poll.intervalMin=5"]);
    assert.equal(privileged.status, 1);
    assert.equal(privileged.stdout, "error: config: needs a login (login NAME, then auth SIGNATURE)\n");
  });

  it("logs in from the key file and runs a privileged command, audited as the engineer", () => {
    const r = consoleRun(port, ["--key", join(dir, "engineer-alice.json"), "--unit", "17", "--run", "config set poll.intervalMin=5; config get poll.intervalMin; log 3"]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^logged in as alice\npoll\.intervalMin: 15 -> 5 \(audited as alice\)\npoll\.intervalMin = 5 /);
    assert.match(r.stdout, /audit .* poll\.intervalMin: 15 -> 5 \(console alice, applied\)/, "the audit entry in the log");
    const after = consoleRun(port, ["--run", "status"]);
    assert.match(after.stdout, /\nsession: not logged in\n/, "the tool logged out as it ended");
  });

  it("signs a challenge for an engineer on a plain terminal program (--sign), and the unit takes it", async () => {
    const { createConnection } = await import("node:net");
    const socket = createConnection({ host: "127.0.0.1", port });
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (!re.test(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(text, re);
    };
    socket.write("login alice\r");
    await until(/challenge ([0-9A-F]{32})\r\n[^]*mc17> $/);
    const nonce = /challenge ([0-9A-F]{32})/.exec(text)![1]!;
    const signed = spawnSync(node, ["dist/tools/console.js", "--key", join(dir, "engineer-alice.json"), "--unit", "17", "--sign", nonce], { encoding: "utf8" });
    assert.equal(signed.status, 0, signed.stderr);
    assert.match(signed.stdout, /^auth [0-9A-F]{128}\n$/);
    text = "";
    socket.write(signed.stdout.trim() + "\r");
    await until(/logged in as alice\r\nmc17# $/);
    socket.write("logout\r");
    await until(/alice logged out/);
    socket.destroy();
  });

  it("refuses to sign for another unit than the one meant, and exits 2 when there is no console to reach", () => {
    const other = consoleRun(port, ["--key", join(dir, "engineer-alice.json"), "--unit", "18", "--run", "status"]);
    assert.equal(other.status, 2);
    assert.match(other.stderr, /this is unit 17, not 18: not signing/);
    const none = spawnSync(node, ["dist/tools/console.js", "--tcp", "127.0.0.1:1", "--run", "status"], { encoding: "utf8" });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^console: /);
  });

  it("ends the simulation cleanly on SIGTERM, with its report", async () => {
    const exited = new Promise<number | null>((resolve) => sim!.once("exit", (code) => resolve(code)));
    sim!.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.match(simOut, /site simulation, seed 7: 0\.\d{3} of 1 day\(s\) of \d+ modules/);
    assert.match(simOut, /internal errors 0/);
  });
});

describe("tools: the simulation's console on a pseudo-terminal", function () {
  this.timeout(60_000);

  it("answers on the PTY a terminal program opens (socat links it to the console)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mc-pty-"));
    const path = join(dir, "console");
    const sim = spawn(node, ["dist/tools/simulate.js", "--realtime", "--console", `pty:${path}`, "--modules", "2", "--plc", "0", "--radio", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    sim.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (!existsSync(path) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(path), `the PTY link: ${out}`);
      // As picocom does: open the terminal device, write a line, read the answer.
      const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
      const stream = new ReadStream(fd);
      const answer = await new Promise<string>((resolve, reject) => {
        let text = "";
        stream.on("data", (d: Buffer) => {
          text += d.toString("latin1");
          if (/security counter[^]*mc\d+> $/.test(text)) resolve(text);
        });
        writeSync(fd, "version\r");
        setTimeout(() => reject(new Error(`no answer: ${JSON.stringify(text)}`)), 15_000);
      });
      stream.destroy();
      assert.match(answer, /^version\r\nfirmware \d+\.\d+\.\d+\r\n/);
    } finally {
      sim.kill("SIGTERM");
      await new Promise((r) => sim.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
