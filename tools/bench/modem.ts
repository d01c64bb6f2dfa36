/**
 * The modem driver's cost: XS computation units per AT line, per FIFO of input, per TCP chunk and per
 * SMS PDU (deterministic, from tools/bench/modem-xs.ts in its own process), and how fast the simulated
 * modem runs on the host (wall clock, noisy).
 *
 * Budget: a 128-byte FIFO fills in 11.1 ms at 115200 Bd (Moddable SDK modules/io/serial/esp32/serial.c). On this host XS
 * runs about 150 k units per ms (44.2 M units ≈ 290 ms, measured in xsnap, docs/uplink.md) and the ESP32 is
 * about 10 times slower, so the modem's work per FIFO should stay well under ~150 k units.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { echoClient, modemRig, pattern } from "../sim/modem-rig.js";
import type { Bench } from "./bench.js";

/** Units per ms on an ESP32, derived from the host figure measured in xsnap and the ~10× clock factor of docs/design.md. */
const ESP32_UNITS_PER_MS = 44.2e6 / 290 / 10;

export const modemBench: Bench = {
  name: "modem driver (XS meter per item; wall-clock simulation speed)",
  async run() {
    const script = fileURLToPath(new URL("./modem-xs.js", import.meta.url));
    const xs = JSON.parse(execFileSync(process.execPath, [script], { encoding: "utf8" })) as Record<string, { item: string; unitsPerItem: number; heapSlots: number }>;
    const figures: Record<string, number | string> = {};
    const { modem, ...perItem } = xs;
    for (const { item, unitsPerItem } of Object.values(perItem)) figures[`XS units per ${item}`] = unitsPerItem;
    figures[`XS heap slots (16 B) held by a ${modem!.item}`] = modem!.heapSlots;
    figures["estimated ESP32 ms per 128-byte FIFO of response lines"] = Number((xs.fifo!.unitsPerItem / ESP32_UNITS_PER_MS).toFixed(2));

    const wall = performance.now();
    const rig = modemRig({ family: "sim800", seed: "bench" });
    rig.until(() => rig.fw.state === "ready", 120_000);
    const bringUpVirtual = rig.scheduler.now;
    const c = echoClient(rig, pattern(30_000));
    rig.until(() => c.complete, 300_000);
    figures["simulated bring-up (virtual ms)"] = Math.round(bringUpVirtual);
    figures["simulated bring-up + 30 kB echo, wall ms"] = Math.round(performance.now() - wall);
    figures["simulated 30 kB echo, virtual ms"] = Math.round(rig.scheduler.now - bringUpVirtual);
    return figures;
  },
};
