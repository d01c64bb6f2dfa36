/**
 * XS computation units of the OTA updater, from tools/bench/ota-xs-run.ts in its own process:
 * per chunk, for the signature check, and the largest turn during a download (docs/ota.md "Figures").
 * ESP32 time ≈ units / 15 M per second at best.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Bench } from "./bench.js";

export const otaXs: Bench = {
  name: "OTA XS units",
  async run() {
    const runner = fileURLToPath(new URL("./ota-xs-run.js", import.meta.url));
    const text = execFileSync(process.execPath, [runner], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const figures = JSON.parse(text.trim().split("\n").at(-1)!) as Record<string, number>;
    const verify = figures["XS units: one Ed25519 verify of a head (the crypto worker's, per signature)"] ?? 0;
    return { ...figures, "ESP32 s for a 2-of-3 signature check in the worker at 15 M units/s (best case)": Number(((2 * verify) / 15e6).toFixed(1)) };
  },
};
