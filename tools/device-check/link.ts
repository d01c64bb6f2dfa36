/**
 * One platform's device build, as far as it goes without ESP-IDF: the real `mcconfig` on the manifest
 * (without -m: it writes the makefile and the generated sources), then the generated makefile driven to
 * `mc.xs.c`, which runs `xsid` on the C sources, `xsc` on every JavaScript module and `xsl`, the XS
 * linker, which executes the preloaded modules and writes the image (the preloaded heap, keys and
 * module table) as C. What follows on a real build is the C compile by ESP-IDF.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join } from "node:path";
import type { SdkTools } from "./sdk.js";

export interface LinkResult {
  platform: string;
  /** The step that failed, or "ok" when xsl wrote mc.xs.c. */
  stage: "mcconfig" | "xsc" | "xsl" | "ok";
  /** What mcconfig and make printed. */
  log: string;
  /** The folder of the generated makefile and of mc.xs.c (when mcconfig got that far). */
  dir?: string;
  /** Seconds the two steps took. */
  seconds: number;
}

/** The ESP-IDF version the SDK's ESP32 build expects (build/devices/esp32/manifest.json, EXPECTED_ESP_IDF). */
export function expectedIdf(moddable: string): string {
  const manifest = JSON.parse(readFileSync(join(moddable, "build/devices/esp32/manifest.json"), "utf8")) as { build?: { EXPECTED_ESP_IDF?: string } };
  const v = manifest.build?.EXPECTED_ESP_IDF;
  if (!v) throw new Error("the SDK's esp32 device manifest names no EXPECTED_ESP_IDF");
  return v;
}

function findMakefile(dir: string): string | undefined {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "makefile") return dir;
    if (statSync(p).isDirectory()) {
      const found = findMakefile(p);
      if (found) return found;
    }
  }
  return undefined;
}

/** Runs mcconfig and the XS steps of `manifest` for `platform` into `outDir` (emptied first). */
export function linkPlatform(tools: SdkTools, manifest: string, platform: string, outDir: string): LinkResult {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const env = { ...process.env, MODDABLE: tools.moddable, PATH: `${tools.bin}:${process.env.PATH ?? ""}` };
  const mc = spawnSync(join(tools.bin, "mcconfig"), ["-o", outDir, "-p", platform, basename(manifest)], { cwd: dirname(manifest), env, encoding: "utf8", maxBuffer: 64 << 20 });
  let log = mc.stdout + mc.stderr;
  const dir = existsSync(join(outDir, "tmp")) ? findMakefile(join(outDir, "tmp")) : undefined;
  if (mc.status !== 0 || !dir) return { platform, stage: "mcconfig", log, seconds: seconds() };

  // The makefile's checks want an ESP-IDF: an empty folder stands in for IDF_PATH and the expected
  // version for the one `git describe` would read there; SDKCONFIG_H is what `idf.py reconfigure`
  // would generate (mc.xs.c depends on it, nothing in these steps reads it).
  const noIdf = join(outDir, "no-idf");
  mkdirSync(noIdf, { recursive: true });
  const target = join(dir, "mc.xs.c");
  const make = spawnSync(
    "make",
    [`-j${Math.min(4, availableParallelism())}`, "-C", dir, "-f", "makefile", `IDF_PATH=${noIdf}`, `IDF_VERSION=${expectedIdf(tools.moddable)}`, "SDKCONFIG_H=/dev/null", target],
    { env, encoding: "utf8", maxBuffer: 256 << 20 },
  );
  log += make.stdout + make.stderr;
  if (make.status === 0 && existsSync(target)) return { platform, stage: "ok", log, dir, seconds: seconds() };
  return { platform, stage: /^# xsl /m.test(log) ? "xsl" : "xsc", log, dir, seconds: seconds() };
}
