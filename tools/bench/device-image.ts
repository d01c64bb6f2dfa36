/**
 * The device check's figures (tools/device-check.ts, docs/device.md): per platform the preloaded image
 * the XS linker wrote, the aliasable slots (one RAM pointer each per XS machine), the linker warnings
 * by origin and the creation budget; and for esp32/esp32s3 the same image linked with the SDK's strip
 * off, to show what strip saves. Deterministic: the same sources give the same figures.
 */
import { resolve } from "node:path";
import { DEFAULT_PLATFORMS, runDeviceCheck } from "../device-check.js";
import type { PlatformReport } from "../device-check/platform.js";
import type { Bench } from "./bench.js";

function figures(p: PlatformReport): Record<string, number | string> {
  if (!p.image || !p.warnings || !p.creation) return { [`${p.platform} failed in`]: p.stage };
  const deps = Object.entries(p.warnings.dependencies).map(([d, c]) => `${d} ${c["no const"] + c["not frozen"]}`).join(", ");
  return {
    [`${p.platform} checks`]: p.ok ? "ok" : `FAILED: ${p.checks.filter((c) => !c.ok).map((c) => c.name).join(", ")}`,
    [`${p.platform} modules in the image (preloaded)`]: `${p.modules!.inImage} (${p.modules!.preloaded})`,
    [`${p.platform} preloaded heap slots`]: p.image.heapSlots,
    [`${p.platform} preloaded instances`]: p.image.instances,
    [`${p.platform} aliasable slots (RAM pointers per XS machine)`]: p.image.aliases,
    [`${p.platform} linker warnings, our modules`]: p.warnings.own["no const"] + p.warnings.own["not frozen"],
    [`${p.platform} linker warnings, dependencies`]: deps,
    [`${p.platform} stripped built-ins`]: p.strippedBuiltins ?? 0,
    [`${p.platform} creation: heap bytes (chunks + slots)`]: p.creation.heapBytes,
  };
}

export const deviceImage: Bench = {
  name: "device image (real mcconfig, xsc and xsl)",
  async run() {
    const options = { manifest: resolve("manifests/manifest.json"), cache: resolve(".cache"), moddable: process.env.MODDABLE || undefined, log: (l: string) => console.error(`device-check: ${l}`) };
    const strip = runDeviceCheck(resolve("."), { ...options, platforms: DEFAULT_PLATFORMS });
    const s3 = strip.platforms.find((p) => p.platform === "esp32/esp32s3");
    const plain = runDeviceCheck(resolve("."), { ...options, platforms: ["esp32/esp32s3"], noStrip: true }).platforms[0]!;
    const out: Record<string, number | string> = {};
    for (const p of strip.platforms) Object.assign(out, figures(p));
    if (s3?.image && plain.image) {
      out["esp32/esp32s3 strip off: preloaded heap slots"] = plain.image.heapSlots;
      out["esp32/esp32s3 strip off: aliasable slots"] = plain.image.aliases;
      out["esp32/esp32s3 strip saves: heap slots (16 B of flash each)"] = plain.image.heapSlots - s3.image.heapSlots;
      out["esp32/esp32s3 strip saves: aliasable slots (4 B of RAM each per XS machine)"] = plain.image.aliases - s3.image.aliases;
      out["esp32/esp32s3 strip saves: built-in functions"] = s3.strippedBuiltins ?? 0;
    }
    return out;
  },
};
