/**
 * A copy of a manifest, changed, in a folder of its own: its relative paths (modules, sdkconfig,
 * partition table, FFI sources) made absolute so it builds from anywhere. The device check links one
 * with the SDK's strip turned off to measure what strip saves; the tests reintroduce faults with them.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The manifest's JSON, as far as a variant touches it. */
export interface ManifestJson {
  build: Record<string, string>;
  modules: Record<string, string | string[]>;
  preload: string[];
  ffi: { sources: string[] };
  platforms: Record<string, unknown>;
  strip?: string | string[];
  [key: string]: unknown;
}

/** Writes `manifest` changed by `edit` to `dir`/manifest.json and returns that path. */
export function manifestVariant(manifest: string, dir: string, edit: (m: ManifestJson) => void): string {
  const base = dirname(resolve(manifest));
  const m = JSON.parse(readFileSync(manifest, "utf8")) as ManifestJson;
  const abs = (p: string) => (p.startsWith("$(") ? p : resolve(base, p));
  for (const [k, v] of Object.entries(m.modules)) m.modules[k] = typeof v === "string" ? abs(v) : v;
  for (const k of ["SDKCONFIGPATH", "PARTITIONS_FILE"]) if (m.build[k]) m.build[k] = abs(m.build[k]!);
  m.ffi.sources = m.ffi.sources.map(abs);
  edit(m);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m, null, 2));
  return join(dir, "manifest.json");
}
