/**
 * The device check of one platform: links it (link.ts), reads the image (image.ts) and the linker's
 * warnings (warnings.ts), runs the checks (checks.ts) and gathers the figures the report prints.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { checkPreload, checkReadOnly, checkStrip, checkWarnings, checkWorkers, type Check, type ModuleSource } from "./checks.js";
import { builtins, imageFigures, linkerSummary, readOnlyVariables } from "./image.js";
import { linkPlatform, type LinkResult } from "./link.js";
import { pinNotes } from "./pins.js";
import type { SdkTools } from "./sdk.js";
import { countWarnings, parseWarnings, type WarningsByOrigin } from "./warnings.js";

/** The manifest as the check reads it (manifests/manifest.json). */
export interface DeviceManifest {
  modules: Record<string, string>;
  preload: string[];
}

/** The XS machine's allocation as xsl was given it (the makefile's CREATION, from the merged manifests). */
export interface Creation {
  /** Initial chunk heap (strings, arrays, byte code of closures...), bytes. */
  chunkBytes: number;
  /** Initial slot heap, slots of 16 bytes on a 32-bit MCU. */
  heapSlots: number;
  /** The chunk heap and the slot heap together, bytes. */
  heapBytes: number;
  /** Stack, slots. */
  stackSlots: number;
  /** One static block for the whole machine (0: separate chunk and slot heaps), bytes. */
  staticBytes: number;
  /** Growth allowed beyond the initial heaps (0 on ESP32: fixed heaps). */
  incrementalChunkBytes: number;
  incrementalHeapSlots: number;
}

export interface PlatformReport {
  platform: string;
  /** The chip the platform builds for (ESP32_SUBCLASS). */
  soc: string;
  ok: boolean;
  /** The step that failed, or "ok". */
  stage: LinkResult["stage"];
  seconds: number;
  /** What the failing tool said, when a step failed. */
  error?: string[];
  modules?: { inImage: number; compiled: number; preloaded: number; atRunTime: string[] };
  image?: { instances: number; heapSlots: number; keys: number; aliases: number };
  warnings?: WarningsByOrigin;
  creation?: Creation;
  strippedBuiltins?: number;
  checks: Check[];
  /** Facts worth knowing that do not fail the check. */
  notes: string[];
  /** Where mcconfig wrote the makefile, the generated sources and mc.xs.c. */
  outDir: string;
}

/** Parses the makefile's `CREATION = -c chunk,chunkInc,heap,heapInc,stack,...,static,main,nativeStack`. */
export function creationOf(makefile: string): Creation | undefined {
  const m = /^CREATION = -c (\d+),(\d+),(\d+),(\d+),(\d+),\d+,\d+,\d+,\d+,\d+,\d+,(\d+),/m.exec(makefile);
  if (!m) return undefined;
  const [chunk, chunkInc, heap, heapInc, stack, stat] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return { chunkBytes: chunk, heapSlots: heap, heapBytes: chunk + heap * 16, stackSlots: stack, staticBytes: stat, incrementalChunkBytes: chunkInc, incrementalHeapSlots: heapInc };
}

/** The lines of a failed step's log that say why (not its progress lines or linker warnings). */
export function errorLines(log: string): string[] {
  return log
    .split("\n")
    .filter((l) => l.trim() && !/^(### warning|# (xsc|xsid|xsl|cp|mcconfig)\b|make(\[\d+\])?: (Entering|Leaving)|fatal: not a git repository)/.test(l))
    .slice(-15);
}

function moduleSource(manifestDir: string, name: string, path: string): ModuleSource | undefined {
  const file = resolve(manifestDir, `${path}.js`);
  return existsSync(file) ? { name, text: readFileSync(file, "utf8") } : undefined;
}

/** Modules of the manifest named after an npm dependency of the project (package.json): built from it (manifests/deps). */
export function dependencyNames(root: string, manifest: DeviceManifest): Set<string> {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  return new Set(Object.keys(manifest.modules).filter((m) => m in (pkg.dependencies ?? {})));
}

/** Checks `platform` for the manifest at `manifestPath`, in the project at `root`, writing into `outDir`. */
export function checkPlatform(root: string, tools: SdkTools, manifestPath: string, platform: string, outDir: string): PlatformReport {
  const manifestDir = dirname(resolve(manifestPath));
  const raw = JSON.parse(readFileSync(manifestPath, "utf8")) as { modules: Record<string, unknown>; preload?: string[] };
  // "~" lists SDK files left out of the image, not a module
  const manifest: DeviceManifest = { modules: Object.fromEntries(Object.entries(raw.modules).filter((e): e is [string, string] => e[0] !== "~" && typeof e[1] === "string")), preload: raw.preload ?? [] };
  const link = linkPlatform(tools, manifestPath, platform, outDir);
  const makefile = link.dir ? readFileSync(join(link.dir, "makefile"), "utf8") : "";
  const soc = /^ESP32_SUBCLASS = (\w+)$/m.exec(makefile)?.[1] ?? "esp32";
  const report: PlatformReport = { platform, soc, ok: false, stage: link.stage, seconds: link.seconds, checks: [], notes: [], outDir };
  if (link.stage !== "ok" || !link.dir) return { ...report, error: errorLines(link.log) };

  const mcXsC = readFileSync(join(link.dir, "mc.xs.c"), "utf8");
  const image = imageFigures(mcXsC);
  const deps = dependencyNames(root, manifest);
  const own = new Set(Object.keys(manifest.modules).filter((m) => !deps.has(m)));
  const sources = Object.entries(manifest.modules).flatMap(([name, path]) => moduleSource(manifestDir, name, path) ?? []);
  const warnings = countWarnings(parseWarnings(link.log), own, deps);
  const all = builtins(mcXsC);
  const summary = linkerSummary(link.log);
  const checks = [
    checkPreload(manifest.preload, image),
    checkWorkers(
      sources.filter((s) => own.has(s.name)),
      sources,
      manifest.modules,
      manifest.preload,
      image,
    ),
    checkWarnings(warnings),
    checkStrip(all, sources),
    checkReadOnly(readOnlyVariables(mcXsC), sources),
  ];
  const creation = creationOf(makefile);
  return {
    ...report,
    ok: checks.every((c) => c.ok),
    modules: {
      inImage: image.scripts.length,
      compiled: (link.log.match(/^# xsc /gm) ?? []).length,
      preloaded: image.scripts.filter((s) => s.preloaded).length,
      atRunTime: image.scripts.filter((s) => !s.preloaded).map((s) => s.name),
    },
    image: { instances: summary?.instances ?? 0, heapSlots: image.heapSlots, keys: image.keys, aliases: image.aliases },
    warnings,
    ...(creation ? { creation } : {}),
    strippedBuiltins: all.filter((b) => b.stripped).length,
    checks,
    notes: pinNotes(soc),
  };
}
