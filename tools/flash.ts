#!/usr/bin/env node
/**
 * Builds the firmware with the Moddable SDK and ESP-IDF and flashes a board (README, "Flash a board").
 *
 *   npm run flash -- --port /dev/ttyUSB0 [--platform esp32/esp32s3] [--keys keys/mc-17.json [--engineers keys/engineers.bin]]
 *                    [--debug] [--dry-run]
 *
 * It first checks the environment and names everything that is missing at once: MODDABLE (an SDK
 * 8.2 with its tools built), IDF_PATH (an ESP-IDF of the version the SDK expects, v6.0 for 8.2.3) with
 * its environment exported (idf.py on PATH), the serial port (a character device this user may open),
 * and a platform the board's pin map fits. With `--keys`, the unit's keys (a device file of
 * `npm run keys`) are written first into the NVS partition, domain "keys" (secret, headend, and with
 * `--engineers` the engineers' console keys the unit trusts), where the firmware reads them at start. Then `mcconfig -m` builds and flashes (`-d`: a debug build that
 * connects xsbug). `--dry-run` prints the commands instead of running them. Exit 2: environment.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { parseOptions, UsageError } from "./cli-args.js";
import { parsePartitions } from "./check-manifest.js";
import { pinNotes } from "./device-check/pins.js";
import { readDeviceKeys } from "./headend/keyfiles.js";

const USAGE = "usage: flash --port DEVICE [--platform esp32/esp32s3] [--keys FILE [--engineers FILE]] [--debug] [--dry-run]";
/** The SDK release the firmware is checked against (tools/device-check/sdk.ts, vendor/moddable). */
const SDK_MAJOR_MINOR = "8.2";
/** The chip of each platform the manifest accepts (the SDK's target manifests set ESP32_SUBCLASS). */
export const PLATFORM_SOC: Record<string, string> = { "esp32/esp32s3": "esp32s3", "esp32/esp32s3_cdc": "esp32s3", "esp32/esp32s3_usb": "esp32s3", "esp32/nodemcu": "esp32", esp32: "esp32" };

/** What the environment checks read, so tests can stand in for the machine. */
export interface Machine {
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  read(path: string): string;
  isCharDevice(path: string): boolean;
  canReadWrite(path: string): boolean;
  hostBin: string;
}

export const thisMachine = (): Machine => ({
  env: process.env,
  exists: existsSync,
  read: (p) => readFileSync(p, "utf8"),
  isCharDevice: (p) => statSync(p).isCharacterDevice(),
  canReadWrite: (p) => {
    try {
      accessSync(p, constants.R_OK | constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  hostBin: process.platform === "darwin" ? "mac" : "lin",
});

/** ESP-IDF's version from $IDF_PATH/tools/cmake/version.cmake, as "v6.0.1". */
export function idfVersion(m: Machine, idfPath: string): string | undefined {
  const file = join(idfPath, "tools/cmake/version.cmake");
  if (!m.exists(file)) return undefined;
  const text = m.read(file);
  const part = (n: string) => new RegExp(`set\\(IDF_VERSION_${n} (\\d+)\\)`).exec(text)?.[1];
  const [major, minor, patch] = [part("MAJOR"), part("MINOR"), part("PATCH")];
  return major && minor ? `v${major}.${minor}.${patch ?? 0}` : undefined;
}

/** The SDK's rule (build/devices/esp32/xsProj-*\/versionCheck.py): major and minor must match, the patch may differ. */
export function idfMatches(found: string, expected: string): boolean {
  const parts = (v: string) => v.replace(/^v/, "").split(".");
  const [f, e] = [parts(found), parts(expected)];
  return f[0] === e[0] && (f[1] ?? "0") === (e[1] ?? "0");
}

export interface FlashEnvironment {
  moddable: string;
  idfPath: string;
  mcconfig: string;
  soc: string;
}

/** Checks everything the flash needs; returns the environment, or every problem found. */
export function checkEnvironment(m: Machine, o: { port: string; platform: string }): { ok: true; env: FlashEnvironment } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const moddable = m.env.MODDABLE;
  const mcconfig = moddable ? join(moddable, "build/bin", m.hostBin, "release/mcconfig") : "";
  let expectedIdf: string | undefined;
  if (!moddable) problems.push("MODDABLE is not set: install the Moddable SDK 8.2.3 (README, \"Flash a board\") and export MODDABLE=/path/to/moddable");
  else if (!m.exists(join(moddable, "tools/VERSION"))) problems.push(`MODDABLE=${moddable} is not a Moddable SDK (no tools/VERSION)`);
  else {
    const version = m.read(join(moddable, "tools/VERSION")).trim();
    if (!version.startsWith(`${SDK_MAJOR_MINOR}.`)) problems.push(`MODDABLE=${moddable} is the Moddable SDK ${version}; this firmware is built and checked with ${SDK_MAJOR_MINOR}.x (8.2.3)`);
    if (!m.exists(mcconfig)) problems.push(`the SDK's tools are not built (no ${mcconfig}): cd $MODDABLE/build/makefiles/${m.hostBin} && make`);
    const device = join(moddable, "build/devices/esp32/manifest.json");
    if (m.exists(device)) expectedIdf = (JSON.parse(m.read(device)) as { build?: { EXPECTED_ESP_IDF?: string } }).build?.EXPECTED_ESP_IDF;
  }
  const idfPath = m.env.IDF_PATH;
  if (!idfPath) problems.push("IDF_PATH is not set: install ESP-IDF v6.0 and run `source $IDF_PATH/export.sh` (README, \"Flash a board\")");
  else if (!m.exists(join(idfPath, "tools/idf.py"))) problems.push(`IDF_PATH=${idfPath} is not an ESP-IDF (no tools/idf.py)`);
  else {
    const found = idfVersion(m, idfPath);
    const expected = expectedIdf ?? "v6.0";
    if (!found) problems.push(`IDF_PATH=${idfPath}: cannot read its version (tools/cmake/version.cmake)`);
    else if (!idfMatches(found, expected)) problems.push(`IDF_PATH=${idfPath} is ESP-IDF ${found}; the Moddable SDK expects ${expected}`);
    const onPath = (m.env.PATH ?? "").split(delimiter).some((d) => d && m.exists(join(d, "idf.py")));
    if (!onPath) problems.push("idf.py is not on PATH: run `source $IDF_PATH/export.sh` in this shell first");
  }
  const soc = PLATFORM_SOC[o.platform];
  if (!soc) problems.push(`--platform ${o.platform}: not a platform of this board (${Object.keys(PLATFORM_SOC).join(", ")})`);
  else {
    const clash = pinNotes(soc).filter((n) => n.includes("SPI flash") || n.includes("input-only"));
    if (clash.length) problems.push(`--platform ${o.platform}: ${clash.join("; ")}; flashing it would drive those pins`);
  }
  if (!o.port) problems.push("--port is missing: the board's serial device, e.g. /dev/ttyUSB0 or /dev/ttyACM0");
  else if (!m.exists(o.port)) problems.push(`--port ${o.port}: no such device (is the board plugged in? ls /dev/ttyUSB* /dev/ttyACM*)`);
  else if (!m.isCharDevice(o.port)) problems.push(`--port ${o.port}: not a serial device`);
  else if (!m.canReadWrite(o.port)) problems.push(`--port ${o.port}: this user may not open it (add yourself to the dialout group: sudo usermod -aG dialout $USER, then log in again)`);
  return problems.length || !moddable || !idfPath || !soc ? { ok: false, problems } : { ok: true, env: { moddable, idfPath, mcconfig, soc } };
}

/** One command to run: program, arguments, working folder and extra environment. */
export interface Command {
  program: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
}

/** The build-and-flash command: `mcconfig -m [-d] -p PLATFORM -o OUT manifest.json` with UPLOAD_PORT. */
export function mcconfigCommand(root: string, env: FlashEnvironment, o: { port: string; platform: string; debug: boolean }): Command {
  return {
    program: env.mcconfig,
    args: ["-m", ...(o.debug ? ["-d"] : []), "-p", o.platform, "-o", join(root, ".cache/flash"), "manifest.json"],
    cwd: join(root, "manifests"),
    env: { MODDABLE: env.moddable, UPLOAD_PORT: o.port },
  };
}

/**
 * The unit's keys as ESP-IDF's NVS partition generator takes them: namespace "keys" with the blobs
 * "secret" (the concentrator's X25519 secret key), "headend" (the head-end's public key) and, when given,
 * "engineers" (the console's trusted engineer keys, engineers.bin of `npm run keys -- --engineer`): the
 * domain and names manifests/device.ts reads through the SDK's Preference module (NVS blobs).
 */
export function nvsCsv(secretFile: string, headendFile: string, engineersFile?: string): string {
  const engineers = engineersFile === undefined ? "" : `engineers,file,binary,${engineersFile}\n`;
  return `key,type,encoding,value\nkeys,namespace,,\nsecret,file,binary,${secretFile}\nheadend,file,binary,${headendFile}\n${engineers}`;
}

/** Writes the NVS image's inputs for `keysFile` into `dir`; returns the commands that make and write it. */
export function nvsCommands(root: string, env: FlashEnvironment, keysFile: string, port: string, dir: string, engineersFile?: string): Command[] {
  const keys = readDeviceKeys(keysFile);
  const manifest = JSON.parse(readFileSync(join(root, "manifests/manifest.json"), "utf8")) as { config: { site: { concentratorId: number } } };
  if (keys.concentratorId !== manifest.config.site.concentratorId) {
    throw new UsageError(`--keys ${keysFile} is concentrator ${keys.concentratorId}, but manifests/manifest.json config.site.concentratorId is ${manifest.config.site.concentratorId}: set the site's id first`);
  }
  const nvs = parsePartitions(readFileSync(join(root, "manifests/partitions.csv"), "utf8")).find((p) => p.name === "nvs");
  if (!nvs) throw new UsageError("manifests/partitions.csv has no nvs partition");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "secret.bin"), keys.secretKey, { mode: 0o600 });
  writeFileSync(join(dir, "headend.bin"), keys.headendPublicKey);
  if (engineersFile !== undefined && !existsSync(engineersFile)) throw new UsageError(`--engineers ${engineersFile}: no such file (npm run keys -- --dir DIR --engineer NAME writes DIR/engineers.bin)`);
  writeFileSync(join(dir, "keys.csv"), nvsCsv(join(dir, "secret.bin"), join(dir, "headend.bin"), engineersFile === undefined ? undefined : resolve(engineersFile)));
  const image = join(dir, "nvs.bin");
  return [
    { program: "python", args: [join(env.idfPath, "components/nvs_flash/nvs_partition_generator/nvs_partition_gen.py"), "generate", join(dir, "keys.csv"), image, `0x${nvs.size.toString(16)}`], cwd: dir },
    { program: "python", args: [join(env.idfPath, "components/partition_table/parttool.py"), "--port", port, "write_partition", "--partition-name", "nvs", "--input", image], cwd: dir },
  ];
}

const show = (c: Command) => `${c.env ? `${Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(" ")} ` : ""}(cd ${c.cwd} && ${[c.program, ...c.args].join(" ")})`;

function run(c: Command): void {
  console.log(`flash: ${show(c)}`);
  const r = spawnSync(c.program, c.args, { cwd: c.cwd, env: { ...process.env, ...c.env }, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`flash: ${c.program} failed (exit ${r.status ?? r.signal})`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const o = parseOptions(process.argv.slice(2), { port: "string", platform: "string", keys: "string", engineers: "string", debug: "boolean", "dry-run": "boolean" });
    if (o._.length || (o.engineers !== undefined && o.keys === undefined)) throw new UsageError(USAGE);
    const root = resolve(".");
    const options = { port: o.port ?? "", platform: o.platform ?? "esp32/esp32s3", debug: o.debug === true };
    const checked = checkEnvironment(thisMachine(), options);
    if (!checked.ok) {
      for (const p of checked.problems) console.error(`flash: ${p}`);
      process.exit(2);
    }
    const nvsDir = join(root, ".cache/flash/nvs");
    const commands = [...(o.keys ? nvsCommands(root, checked.env, o.keys, options.port, nvsDir, o.engineers) : []), mcconfigCommand(root, checked.env, options)];
    if (o["dry-run"]) for (const c of commands) console.log(show(c));
    else
      try {
        for (const c of commands) run(c);
      } finally {
        rmSync(nvsDir, { recursive: true, force: true }); // the unit's secret key, in the clear
      }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(e.message);
    process.exitCode = 2;
  }
}
