import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { checkEnvironment, idfMatches, idfVersion, mcconfigCommand, nvsCommands, nvsCsv, type Machine } from "../../tools/flash.js";
import { provision } from "../../tools/headend/keyfiles.js";

// check-standalone: fixture paths (the machines below are made up).

/** A machine with an SDK 8.2.3 and ESP-IDF 6.0.1 installed and exported, and a board on /dev/ttyUSB0. */
function machine(change: { env?: Record<string, string | undefined>; files?: Record<string, string | null>; charDevice?: boolean; access?: boolean } = {}): Machine {
  const files: Record<string, string | null> = {
    "/opt/moddable/tools/VERSION": "8.2.3\n",
    "/opt/moddable/build/bin/lin/release/mcconfig": "",
    "/opt/moddable/build/devices/esp32/manifest.json": '{ "build": { "EXPECTED_ESP_IDF": "v6.0" } }',
    "/opt/esp-idf/tools/idf.py": "",
    "/opt/esp-idf/tools/cmake/version.cmake": "set(IDF_VERSION_MAJOR 6)\nset(IDF_VERSION_MINOR 0)\nset(IDF_VERSION_PATCH 1)\n",
    "/opt/esp-idf/tools/bin/idf.py": "",
    "/dev/ttyUSB0": "",
    ...change.files,
  };
  return {
    env: { MODDABLE: "/opt/moddable", IDF_PATH: "/opt/esp-idf", PATH: "/usr/bin:/opt/esp-idf/tools/bin", ...change.env },
    exists: (p) => typeof files[p] === "string",
    read: (p) => files[p] ?? "",
    isCharDevice: () => change.charDevice ?? true,
    canReadWrite: () => change.access ?? true,
    hostBin: "lin",
  };
}
const board = { port: "/dev/ttyUSB0", platform: "esp32/esp32s3" };
const problems = (m: Machine, o = board) => {
  const r = checkEnvironment(m, o);
  return r.ok ? [] : r.problems;
};

describe("npm run flash: the environment, checked before anything runs", () => {
  it("accepts an SDK 8.2 with built tools, ESP-IDF 6.0.x exported, a serial device and the S3", () => {
    const r = checkEnvironment(machine(), board);
    assert.ok(r.ok, r.ok ? "" : r.problems.join("\n"));
    assert.deepEqual(r.env, { moddable: "/opt/moddable", idfPath: "/opt/esp-idf", mcconfig: "/opt/moddable/build/bin/lin/release/mcconfig", soc: "esp32s3" });
  });

  it("names everything that is missing at once: MODDABLE, IDF_PATH and the port", () => {
    const p = problems(machine({ env: { MODDABLE: undefined, IDF_PATH: undefined } }), { port: "", platform: "esp32/esp32s3" });
    assert.equal(p.length, 3, p.join("\n"));
    assert.match(p[0]!, /^MODDABLE is not set/);
    assert.match(p[1]!, /^IDF_PATH is not set/);
    assert.match(p[2]!, /^--port is missing/);
  });

  it("refuses an SDK of another release, or whose tools are not built", () => {
    assert.match(problems(machine({ files: { "/opt/moddable/tools/VERSION": "7.1.0\n" } })).join(), /Moddable SDK 7\.1\.0; this firmware is built and checked with 8\.2\.x/);
    assert.match(problems(machine({ files: { "/opt/moddable/build/bin/lin/release/mcconfig": null } })).join(), /tools are not built .*make/);
  });

  it("refuses an ESP-IDF whose version the SDK does not expect, by the SDK's own rule", () => {
    const v5 = machine({ files: { "/opt/esp-idf/tools/cmake/version.cmake": "set(IDF_VERSION_MAJOR 5)\nset(IDF_VERSION_MINOR 1)\nset(IDF_VERSION_PATCH 2)\n" } });
    assert.deepEqual(problems(v5), ["IDF_PATH=/opt/esp-idf is ESP-IDF v5.1.2; the Moddable SDK expects v6.0"]);
    assert.equal(idfVersion(machine(), "/opt/esp-idf"), "v6.0.1");
    assert.ok(idfMatches("v6.0.1", "v6.0") && idfMatches("v6.0", "v6.0.0") && !idfMatches("v6.1", "v6.0") && !idfMatches("v5.0", "v6.0"));
  });

  it("asks for ESP-IDF's environment when idf.py is not on PATH", () => {
    assert.deepEqual(problems(machine({ env: { PATH: "/usr/bin" } })), ["idf.py is not on PATH: run `source $IDF_PATH/export.sh` in this shell first"]);
  });

  it("says what is wrong with the port: absent, not a serial device, or not this user's", () => {
    assert.match(problems(machine(), { ...board, port: "/dev/ttyUSB9" }).join(), /no such device/);
    assert.match(problems(machine({ charDevice: false })).join(), /not a serial device/);
    assert.match(problems(machine({ access: false })).join(), /dialout group/);
  });

  it("refuses a plain ESP32, whose SPI flash pins the S3 pin map would drive", () => {
    assert.match(problems(machine(), { ...board, platform: "esp32/nodemcu" }).join(), /GPIO 6, 7, 8, 9, 10, 11, wired to the SPI flash.*flashing it would drive those pins/);
    assert.match(problems(machine(), { ...board, platform: "esp32/m5stack" }).join(), /not a platform of this board/);
  });

  it("fails from the command line with exit 2 and the reasons, running nothing", () => {
    const env = { PATH: process.env.PATH ?? "" };
    const r = spawnSync(process.execPath, ["dist/tools/flash.js", "--port", "/dev/null"], { encoding: "utf8", env });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^flash: MODDABLE is not set/m);
    assert.match(r.stderr, /^flash: IDF_PATH is not set/m);
  });
});

describe("npm run flash: the commands", () => {
  const env = { moddable: "/opt/moddable", idfPath: "/opt/esp-idf", mcconfig: "/opt/moddable/build/bin/lin/release/mcconfig", soc: "esp32s3" };

  it("builds and flashes with mcconfig -m for the platform, the port in UPLOAD_PORT", () => {
    assert.deepEqual(mcconfigCommand("/repo", env, { ...board, debug: false }), {
      program: "/opt/moddable/build/bin/lin/release/mcconfig",
      args: ["-m", "-p", "esp32/esp32s3", "-o", "/repo/.cache/flash", "manifest.json"],
      cwd: "/repo/manifests",
      env: { MODDABLE: "/opt/moddable", UPLOAD_PORT: "/dev/ttyUSB0" },
    });
    assert.deepEqual(mcconfigCommand("/repo", env, { ...board, debug: true }).args.slice(0, 2), ["-m", "-d"]);
  });

  it("writes the unit's keys into NVS domain \"keys\" (secret, headend) with ESP-IDF's generator, sized to the nvs partition", () => {
    const dir = mkdtempSync(join(tmpdir(), "flash-"));
    provision(join(dir, "keys"), [1]);
    const out = join(dir, "nvs");
    const [generate, write] = nvsCommands(resolve("."), env, join(dir, "keys/mc-1.json"), "/dev/ttyUSB0", out);
    assert.equal(readFileSync(join(out, "keys.csv"), "utf8"), nvsCsv(join(out, "secret.bin"), join(out, "headend.bin")));
    assert.match(nvsCsv("s", "h"), /^key,type,encoding,value\nkeys,namespace,,\nsecret,file,binary,s\nheadend,file,binary,h\n$/);
    const keys = JSON.parse(readFileSync(join(dir, "keys/mc-1.json"), "utf8")) as { secretKey: string };
    assert.deepEqual(readFileSync(join(out, "secret.bin")), Buffer.from(keys.secretKey, "base64"));
    assert.deepEqual(generate!.args.slice(1), ["generate", join(out, "keys.csv"), join(out, "nvs.bin"), "0x6000"]);
    assert.deepEqual(write!.args.slice(1), ["--port", "/dev/ttyUSB0", "write_partition", "--partition-name", "nvs", "--input", join(out, "nvs.bin")]);
  });

  it("adds the engineers' console keys to the NVS domain when given, and refuses a missing file", () => {
    const dir = mkdtempSync(join(tmpdir(), "flash-"));
    provision(join(dir, "keys"), [1]);
    writeFileSync(join(dir, "engineers.bin"), Uint8Array.of(1, 2, 3));
    const out = join(dir, "nvs");
    nvsCommands(resolve("."), env, join(dir, "keys/mc-1.json"), "/dev/ttyUSB0", out, join(dir, "engineers.bin"));
    assert.equal(readFileSync(join(out, "keys.csv"), "utf8"), nvsCsv(join(out, "secret.bin"), join(out, "headend.bin"), join(dir, "engineers.bin")));
    assert.match(nvsCsv("s", "h", "e"), /\nheadend,file,binary,h\nengineers,file,binary,e\n$/);
    assert.throws(() => nvsCommands(resolve("."), env, join(dir, "keys/mc-1.json"), "/dev/ttyUSB0", out, join(dir, "nope.bin")), /--engineers .*nope\.bin: no such file/);
  });

  it("refuses keys of another concentrator than the manifest's site", () => {
    const dir = mkdtempSync(join(tmpdir(), "flash-"));
    provision(join(dir, "keys"), [17]);
    assert.throws(() => nvsCommands(resolve("."), env, join(dir, "keys/mc-17.json"), "/dev/ttyUSB0", join(dir, "nvs")), /concentrator 17, but .*concentratorId is 1/);
  });

  it("prints the commands with --dry-run on a machine that has what it needs", () => {
    const dir = mkdtempSync(join(tmpdir(), "flash-"));
    const file = (path: string, text = "") => (mkdirSync(dirname(join(dir, path)), { recursive: true }), writeFileSync(join(dir, path), text));
    file("moddable/tools/VERSION", "8.2.3\n");
    file("moddable/build/bin/lin/release/mcconfig");
    file("moddable/build/devices/esp32/manifest.json", '{ "build": { "EXPECTED_ESP_IDF": "v6.0" } }');
    file("esp-idf/tools/idf.py");
    file("esp-idf/tools/cmake/version.cmake", "set(IDF_VERSION_MAJOR 6)\nset(IDF_VERSION_MINOR 0)\nset(IDF_VERSION_PATCH 0)\n");
    const env = { PATH: `${process.env.PATH ?? ""}:${join(dir, "esp-idf/tools")}`, MODDABLE: join(dir, "moddable"), IDF_PATH: join(dir, "esp-idf") };
    const out = execFileSync(process.execPath, ["dist/tools/flash.js", "--port", "/dev/null", "--dry-run"], { encoding: "utf8", env });
    assert.equal(out, `MODDABLE=${join(dir, "moddable")} UPLOAD_PORT=/dev/null (cd ${resolve("manifests")} && ${join(dir, "moddable/build/bin/lin/release/mcconfig")} -m -p esp32/esp32s3 -o ${resolve(".cache/flash")} manifest.json)\n`);
  });
});
