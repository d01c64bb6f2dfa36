/**
 * Bundles an entry module (TypeScript sources) into one script for the XS engine, the way the device
 * build would: ES2022, no Node built-ins. tweetnacl probes require("crypto") when `self` is absent,
 * so `crypto` resolves to an empty module (randomness comes from the HAL, never from the host).
 */
import { build, type BuildOptions, type Plugin } from "esbuild";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const emptyModule = fileURLToPath(new URL("./empty-module.js", import.meta.url));
const root = fileURLToPath(new URL("../../..", import.meta.url));

const OPTIONS: BuildOptions = {
  bundle: true,
  write: false,
  format: "iife",
  platform: "neutral",
  mainFields: ["module", "main"],
  target: "es2022",
  alias: { crypto: emptyModule },
  logLevel: "warning",
};

export async function bundleForXs(entry: string): Promise<string> {
  const result = await build({ ...OPTIONS, entryPoints: [entry] });
  return result.outputFiles![0]!.text;
}

/**
 * The same bundle, in which `import { namespaces } from "generated:classes"` is the module namespace
 * of every TypeScript module of this repository in the bundle, and each module also exports its
 * top-level classes that it does not export (as `localClass_<name>`): a measurement can then reach
 * every class of the bundle (tools/bench/site-xs-entry.ts). Bundled twice: the first build finds the
 * modules.
 */
export async function bundleForXsWithClasses(entry: string): Promise<string> {
  const index = (contents: string): Plugin => ({
    name: "classes",
    setup(b) {
      b.onResolve({ filter: /^generated:classes$/ }, () => ({ path: "classes", namespace: "generated" }));
      b.onLoad({ filter: /.*/, namespace: "generated" }, () => ({ contents, loader: "ts", resolveDir: root }));
      b.onLoad({ filter: /\.ts$/ }, (a) => {
        if (relative(root, a.path).startsWith("..") || a.path.includes("/node_modules/")) return undefined;
        const text = readFileSync(a.path, "utf8");
        const local = [...text.matchAll(/^class (\w+)/gm)].map((m) => m[1]!);
        return { contents: local.length ? `${text}\nexport { ${local.map((c) => `${c} as localClass_${c}`).join(", ")} };\n` : text, loader: "ts" };
      });
    },
  });
  const first = await build({ ...OPTIONS, entryPoints: [entry], metafile: true, plugins: [index("export const namespaces = [];")] });
  const modules = Object.keys(first.metafile!.inputs)
    .filter((p) => p.endsWith(".ts") && !p.startsWith("generated:") && !p.includes("node_modules/"))
    .map((p) => `./${relative(root, `${process.cwd()}/${p}`)}`)
    .filter((p) => p !== `./${relative(root, entry)}`)
    .sort();
  const contents = `${modules.map((p, i) => `import * as m${i} from "${p}";`).join("\n")}\nexport const namespaces = [${modules.map((_, i) => `m${i}`).join(", ")}];\n`;
  const result = await build({ ...OPTIONS, entryPoints: [entry], plugins: [index(contents)] });
  return result.outputFiles![0]!.text;
}
