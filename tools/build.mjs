#!/usr/bin/env node
// Emits ES2022 JavaScript for every TypeScript source into dist/, one file per module, so the host
// tests, the tools and the Moddable manifest all run the same output. Type-checking is separate
// (npm run typecheck); this pass only strips types.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const roots = ["firmware", "hal", "host-tests", "tools", "manifests"];

function sources(dir, wanted = (name) => name.endsWith(".ts") && !name.endsWith(".d.ts")) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path, wanted));
    else if (wanted(name)) out.push(path);
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

// SQL files (the head-end's schema migrations, tools/headend/migrations) beside the modules that read them.
for (const path of roots.filter((r) => existsSync(r)).flatMap((r) => sources(r, (name) => name.endsWith(".sql")))) {
  mkdirSync(dirname(join("dist", path)), { recursive: true });
  copyFileSync(path, join("dist", path));
}

// The device's modules: firmware and hal/moddable in one preloadable ES module, the crypto worker's
// module, and the npm dependencies they share (tools/device-bundle.ts, compiled by the pass above).
const { buildDeviceModules } = await import(pathToFileURL("dist/tools/device-bundle.js").href);
await buildDeviceModules("dist/device");

// The HTML report's page script with uPlot, one file each of script and styles that tools/report/html.ts
// inlines into every report (a browser opening it needs nothing else). uPlot's MIT licence travels with it.
const uplot = JSON.parse(readFileSync("node_modules/uplot/package.json", "utf8"));
const uplotLicence = readFileSync("node_modules/uplot/LICENSE", "utf8").replaceAll("*/", "* /");
await build({
  banner: { js: `/*! uPlot ${uplot.version}\n${uplotLicence}*/` },
  entryPoints: { "page.bundle": "tools/report/page/page.ts" },
  outdir: "dist/tools/report",
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  platform: "browser",
  legalComments: "inline",
  logLevel: "warning",
});
