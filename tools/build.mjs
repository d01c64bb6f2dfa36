#!/usr/bin/env node
// Emits ES2022 JavaScript for every TypeScript source into dist/, one file per module, so the host
// tests, the tools and the Moddable manifest all run the same output. Type-checking is separate
// (npm run typecheck); this pass only strips types.
import { build } from "esbuild";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const roots = ["firmware", "hal", "host-tests", "tools", "manifests"];

function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: roots.filter((r) => existsSync(r)).flatMap((r) => sources(r)),
  outdir: "dist",
  outbase: ".",
  format: "esm",
  target: "es2022",
  platform: "neutral",
  sourcemap: "linked",
  logLevel: "warning",
});

// The device module: firmware and hal/moddable in one preloadable ES module. Moddable SDK modules
// stay imports (the manifest provides them); everything of ours is inlined, so the module names inside
// XS never depend on how relative paths resolve on the device.
export const sdkModules = ["embedded:*", "timer", "time", "flash", "mc/*", "preference", "worker", "crypt", "gcm"];
await build({
  entryPoints: { device: "manifests/device.ts", "crypto-worker": "manifests/crypto-worker.ts" },
  outdir: "dist/device",
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  mainFields: ["module", "main"],
  external: sdkModules,
  alias: { crypto: "./manifests/no-node-crypto.js" },
  logLevel: "warning",
});
