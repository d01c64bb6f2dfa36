#!/usr/bin/env node
/**
 * The device build with the real Moddable toolchain, as far as it goes without ESP-IDF: builds the
 * SDK's host tools once (from vendor/moddable, cached), runs `mcconfig` on the manifest, drives the
 * generated makefile through `xsc` and `xsl` for each platform, and checks what the device relies on
 * and the host engine never exercises (tools/device-check/checks.ts). docs/device.md explains the figures.
 *
 *   npm run device-check [-- --platform esp32/esp32s3 ...] [--json] [--manifest FILE] [--cache DIR] [--no-strip]
 *
 * Default platforms: esp32/esp32s3, esp32/nodemcu, esp32. `MODDABLE=/path/to/sdk` uses a full SDK
 * whose tools are built instead of the vendored subset. Prints the figures per platform (`--json`: one
 * document); exits 1 when a platform fails, 2 when the tools cannot run (and says what to install).
 * Run `npm run build` first (`npm run device-check` does). `--no-strip` links a copy of the manifest
 * with the SDK's strip turned off, to measure what strip saves (docs/device.md).
 */
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseOptions, UsageError } from "./cli-args.js";
import { checkPlatform, type PlatformReport } from "./device-check/platform.js";
import { SdkError, userSdk, vendoredSdk, type SdkTools } from "./device-check/sdk.js";
import { manifestVariant } from "./device-check/variant.js";

export const DEFAULT_PLATFORMS = ["esp32/esp32s3", "esp32/nodemcu", "esp32"];
const USAGE = "usage: device-check [--platform P ...] [--json] [--manifest FILE] [--cache DIR] [--no-strip]";

export interface DeviceCheckReport {
  ok: boolean;
  sdk: { version: string; source: SdkTools["source"]; moddable: string; toolsBuiltThisRun: boolean };
  manifest: string;
  /** The SDK's strip as the manifest sets it (false with --no-strip). */
  strip: boolean;
  platforms: PlatformReport[];
}

const n = (x: number) => x.toLocaleString("en-US");

export function formatPlatform(r: PlatformReport): string[] {
  const out = [`${r.platform} (${r.soc}): ${r.ok ? "ok" : `FAILED${r.stage === "ok" ? "" : ` in ${r.stage}`}`} (${r.seconds} s)`];
  if (r.error) out.push(...r.error.map((l) => `  | ${l}`));
  if (r.modules) out.push(`  modules: ${r.modules.inImage} in the image (${r.modules.compiled} compiled by xsc), ${r.modules.preloaded} preloaded, ${r.modules.atRunTime.length} loaded at run time (${r.modules.atRunTime.join(", ")})`);
  if (r.image) out.push(`  preloaded image: ${n(r.image.instances)} instances, ${n(r.image.heapSlots)} heap slots, ${n(r.image.keys)} keys, ${n(r.image.aliases)} aliasable (one RAM pointer each per XS machine)`);
  if (r.warnings) {
    const w = r.warnings;
    const deps = Object.entries(w.dependencies).map(([d, c]) => `${d} ${c["no const"]} + ${c["not frozen"]}`);
    out.push(`  linker warnings ("no const" + "not frozen"): this project ${w.own["no const"]} + ${w.own["not frozen"]}; dependencies: ${deps.join(", ") || "none"}; SDK ${w.sdk["no const"]} + ${w.sdk["not frozen"]}`);
  }
  if (r.creation) {
    const c = r.creation;
    out.push(`  creation: chunks ${n(c.chunkBytes)} B + heap ${n(c.heapSlots)} slots (${n(c.heapSlots * 16)} B) = ${n(c.heapBytes)} B, stack ${n(c.stackSlots)} slots, static ${n(c.staticBytes)} B, increments ${n(c.incrementalChunkBytes)} B / ${n(c.incrementalHeapSlots)} slots`);
  }
  if (r.strippedBuiltins !== undefined) out.push(`  stripped built-ins: ${r.strippedBuiltins}`);
  for (const c of r.checks) out.push(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.details[0] ?? ""}`, ...c.details.slice(1).map((d) => `       ${d}`));
  for (const note of r.notes) out.push(`  note: ${note}`);
  return out;
}

export interface DeviceCheckOptions {
  platforms: string[];
  manifest: string;
  cache: string;
  /** A full SDK with built tools, instead of the vendored subset. */
  moddable?: string | undefined;
  /** Link with the SDK's strip turned off (a copy of the manifest with "strip": []). */
  noStrip?: boolean;
  log: (line: string) => void;
}

export function runDeviceCheck(root: string, options: DeviceCheckOptions): DeviceCheckReport {
  for (const m of ["device", "crypto-worker", "cbor-x", "tweetnacl"]) {
    if (!existsSync(join(root, "dist/device", `${m}.js`))) throw new SdkError(`dist/device/${m}.js is missing: run npm run build first`);
  }
  const tools = options.moddable ? userSdk(options.moddable) : vendoredSdk(root, options.cache, options.log);
  const out = join(options.cache, "device-check", options.noStrip ? "no-strip" : "");
  const manifest = options.noStrip ? manifestVariant(options.manifest, join(out, "manifest"), (m) => (m.strip = [])) : options.manifest;
  const platforms = options.platforms.map((p) => checkPlatform(root, tools, manifest, p, join(out, p.replaceAll("/", "_"))));
  return {
    ok: platforms.every((p) => p.ok),
    sdk: { version: tools.version, source: tools.source, moddable: tools.moddable, toolsBuiltThisRun: tools.built },
    manifest: relative(root, options.manifest) || options.manifest,
    strip: !options.noStrip,
    platforms,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const o = parseOptions(process.argv.slice(2), { platform: "strings", json: "boolean", manifest: "string", cache: "string", "no-strip": "boolean" });
    if (o._.length) throw new UsageError(USAGE);
    const root = process.cwd();
    const log = (line: string) => console.error(`device-check: ${line}`);
    const report = runDeviceCheck(root, {
      platforms: o.platform?.flatMap((p) => p.split(",")) ?? DEFAULT_PLATFORMS,
      manifest: resolve(o.manifest ?? "manifests/manifest.json"),
      cache: resolve(o.cache ?? ".cache"),
      moddable: process.env.MODDABLE || undefined,
      noStrip: o["no-strip"] === true,
      log,
    });
    if (o.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`device-check: Moddable SDK ${report.sdk.version} (${report.sdk.source === "vendored" ? "vendored subset" : `MODDABLE=${report.sdk.moddable}`}), ${report.manifest}${report.strip ? "" : ", strip off"}`);
      for (const p of report.platforms) console.log(formatPlatform(p).join("\n"));
      const failed = report.platforms.filter((p) => !p.ok).map((p) => p.platform);
      console.log(failed.length ? `device-check: FAILED for ${failed.join(", ")}` : `device-check: ok for ${report.platforms.map((p) => p.platform).join(", ")}`);
    }
    process.exitCode = report.ok ? 0 : 1;
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof SdkError)) throw e;
    console.error(e.message);
    process.exitCode = 2;
  }
}
