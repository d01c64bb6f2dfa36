import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { encode7E1 } from "../../hal/serial-7e1.js";

const tool = "dist/tools/d0-decode.js";
const run = (args: string[], input?: Uint8Array) => JSON.parse(execFileSync(process.execPath, [tool, ...args], { input, encoding: "utf8" })) as { frames: Array<Record<string, any>> };

describe("d0-decode tool", () => {
  it("prints the frames of a corpus file as JSON with identification, mode, BCC, data sets and errors", () => {
    const out = run(["host-tests/corpus/d0/iskra-mt174-1.bin"]);
    const readout = out.frames.find((f) => f.identification)!;
    assert.equal(readout.identification, "ISk5MT174-0001");
    assert.equal(readout.mode, "C");
    assert.equal(readout.bcc, "ok");
    assert.deepEqual(readout.errors, []);
    assert.deepEqual(readout.dataSets.find((d: { address: string }) => d.address === "1-0:1.8.0*255"), { address: "1-0:1.8.0*255", values: [{ value: "0008048.375", unit: "kWh" }] });
  });

  it("reports a bad BCC and its offset", () => {
    const out = run(["host-tests/corpus/d0/kamstrup-multical66-1.bin"]);
    assert.deepEqual([out.frames[0]!.bcc, out.frames[0]!.errors], ["bad", [{ code: "bcc-mismatch", offset: 84 }]]);
  });

  it("reads standard input, and with --parity checks and strips the parity bit of a raw 7E1 capture", () => {
    const text = readFileSync("host-tests/corpus/d0/emh-ehz-1.txt");
    const raw = encode7E1(Uint8Array.from(text));
    raw[40] = raw[40]! ^ 0x80; // one character with wrong parity
    const out = run(["--parity", "-"], raw);
    const f = out.frames[0]!;
    assert.deepEqual([f.identification, f.mode], ["EMH5----eHZ-E0018E", "D"]);
    assert.deepEqual(f.errors, [{ code: "parity", offset: 40 }]);
    assert.equal(f.dataSets.length, 3, "the data set with the parity error is left out");
    assert.equal(run(["-"], Uint8Array.from(text)).frames[0]!.dataSets.length, 4);
  });

  it("exits with status 2 and a usage line when no file is given", () => {
    assert.throws(() => execFileSync(process.execPath, [tool], { stdio: "pipe" }), (e: { status: number; stderr: Buffer }) => e.status === 2 && /usage/.test(String(e.stderr)));
  });
});
