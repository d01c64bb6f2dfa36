/**
 * XS computation units per uplink message built (CBOR + seal) and opened (verify + decrypt + decode),
 * from tools/bench/uplink-xs-run.ts in its own process. ESP32 time ≈ units / 15 M per second at best.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Bench } from "./bench.js";

export const uplinkXs: Bench = {
  name: "uplink XS units per message",
  async run() {
    const runner = fileURLToPath(new URL("./uplink-xs-run.js", import.meta.url));
    const text = execFileSync(process.execPath, [runner], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const figures = JSON.parse(text.trim().split("\n").at(-1)!) as Record<string, number>;
    const build = figures["XS units: build 256 readings (CBOR + seal)"] ?? 0;
    const seal = figures["XS units: seal it: the drain's third turn"] ?? 0;
    return {
      ...figures,
      "XS units per reading built (256-reading batch)": Math.round(build / 256),
      "ESP32 ms per 256-reading message at 15 M units/s (best case)": Number((build / 15_000).toFixed(1)),
      "ESP32 ms to seal a 64-reading message of readouts (15 M units/s)": Number((seal / 15_000).toFixed(1)),
    };
  },
};
