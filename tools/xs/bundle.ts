/**
 * Bundles an entry module (TypeScript sources) into one script for the XS engine, the way the device
 * build would: ES2022, no Node built-ins. tweetnacl probes require("crypto") when `self` is absent,
 * so `crypto` resolves to an empty module (randomness comes from the HAL, never from the host).
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const emptyModule = fileURLToPath(new URL("./empty-module.js", import.meta.url));

export async function bundleForXs(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    mainFields: ["module", "main"],
    target: "es2022",
    alias: { crypto: emptyModule },
    logLevel: "warning",
  });
  return result.outputFiles[0]!.text;
}
