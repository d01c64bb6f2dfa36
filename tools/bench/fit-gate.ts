#!/usr/bin/env node
/**
 * The fit gate, the last step of `npm test` (docs/memory.md, "The gate"): the firmware in the
 * 256-meter site, 15 simulated minutes inside XS (`site-xs-run --check`, run A: the firmware with its
 * uplink, whose peaks are the larger), must keep every turn within 150,000 units and leave at least
 * 25 % of each of the manifest's `creation` figures free at its peaks (slots, chunk bytes).
 *
 *   node dist/tools/bench/fit-gate.js [--json-out FILE]
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseOptions } from "../cli-args.js";

/**
 * The gate's run: 15 simulated minutes, run A, sampled every 15 simulated seconds (about 80 s of CPU;
 * docs/memory.md, "The gate"). Samples a minute apart put the world's passing peaks into the
 * firmware's figure between them (6,748 slots where samples 15 s apart find 5,555).
 */
export const FIT_GATE_ARGS: readonly string[] = Object.freeze(["--minutes", "15", "--only-a", "--sample-min", "0.25"]);

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseOptions(process.argv.slice(2), { "json-out": "string" });
  const runner = fileURLToPath(new URL("./site-xs-run.js", import.meta.url));
  try {
    execFileSync(process.execPath, [runner, ...FIT_GATE_ARGS, "--check", ...(o["json-out"] ? ["--json-out", o["json-out"]] : [])], { stdio: ["ignore", "ignore", "inherit"] });
    console.log("fit gate: ok (every turn within 150,000 units; the live heap's peaks leave 25 % of the manifest's creation free)");
  } catch {
    console.error("fit gate: FAILED (the lines above say what is over budget)");
    process.exitCode = 1;
  }
}
