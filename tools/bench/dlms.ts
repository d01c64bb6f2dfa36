/**
 * DLMS/COSEM over HDLC on RS485 at 9600 Bd, the figures of docs/dlms.md:
 *
 * - bytes on the bus per reading: the concentrator's routine scheduled read of a meter (identity,
 *   clock, disconnect control, the 7 default registers, the profile entry of the last 15 minutes, two
 *   event logs; the profiles' headers known from an earlier read) with each security level, against
 *   the mode D readout (2400 Bd) of an IEC module with one serial meter; every byte of the exchange,
 *   both ways, counts;
 * - XS computation units of the largest event-loop turn the concentrator makes during an HLS read of
 *   5 registers and a day of load profile (the "dlms bus" XS scenario, its turns told apart from the
 *   simulated meters' and the AES hardware's), from the XS runner in its own process.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readingsOf } from "../../firmware/d0/readings.js";
import { ReadScript, type ReadPlan } from "../../firmware/dlms/client/scripts.js";
import type { Endpoint } from "../../firmware/dlms/client/types.js";
import { DEFAULT_LOGS, DEFAULT_PROFILE, DEFAULT_REGISTERS, registerSpec } from "../../firmware/dlms/integration/config.js";
import { packHeader } from "../../firmware/dlms/integration/packed-header.js";
import { formatLogicalName, parseLogicalName } from "../../firmware/dlms/cosem/obis.js";
import { busSite } from "../sim/bus-rig.js";
import { dlmsRig } from "../sim/dlms-rig.js";
import type { Bench } from "./bench.js";

const HOUR = 3_600_000;

/** Bytes both ways and readings of one scheduled read of a DLMS meter with `security`. */
function dlmsRead(security: "none" | "lls" | "hls"): { bytes: number; readings: number } {
  const rig = dlmsRig("bench", { meters: 1, meter: security === "lls" ? { management: { mechanism: "lls", password: "12345678" } } : {} });
  rig.scheduler.runUntil(2 * HOUR);
  const meter = rig.meters[0]!;
  const endpoint: Partial<Endpoint> =
    security === "none" ? { clientSap: 16, security: { level: "none" } } : security === "lls" ? { security: { level: "lls", password: Uint8Array.from("12345678", (c) => c.charCodeAt(0)) } } : {};
  const plan = (headers: Map<string, Int32Array>): ReadPlan => {
    const nowS = Math.floor(meter.clockMs() / 1000);
    const range = (text: string) => ({ ln: parseLogicalName(text)!, fromS: nowS - 899, toS: nowS, deviation: 0, ...(headers.has(text) ? { header: headers.get(text)! } : {}) });
    return { registers: DEFAULT_REGISTERS.map((t) => registerSpec(t)!), ranges: [range(DEFAULT_PROFILE), ...DEFAULT_LOGS.map(range)] };
  };
  // The first read learns the profiles' headers, as the concentrator's does once per meter; the routine read is the second.
  const headers = new Map<string, Int32Array>();
  let readings = -1;
  let before = 0;
  const read = (then: () => void) =>
    rig.session(meter, endpoint, () => new ReadScript(plan(headers)), (r) => {
      if (!r.ok) throw new Error(`bench read failed: ${r.failure.code}`);
      for (const p of r.value.profiles) headers.set(formatLogicalName(p.ln), packHeader(p));
      readings = r.value.registers.size + r.value.profiles[0]!.rows.length * 2;
      then();
    });
  read(() => {
    before = rig.master.lineCounters.bytesSent + rig.master.lineCounters.bytesReceived;
    readings = -1;
    rig.scheduler.after(15 * 60_000, () => read(() => undefined));
  });
  rig.scheduler.runUntilTrue(() => before > 0 && readings >= 0, 30 * 60_000);
  return { bytes: rig.master.lineCounters.bytesSent + rig.master.lineCounters.bytesReceived - before, readings };
}

/** Bytes both ways and readings of a mode D readout of an IEC module with one serial meter. */
function iecReadout(): { bytes: number; readings: number } {
  const site = busSite("bench", { modules: 16, echo: false });
  const m = site.modules.find((x) => x.meters.length === 1 && x.meters[0]!.kind === "serial" && x.meters[0]!.phases === 1)!;
  const before = site.master.lineCounters.bytesSent + site.master.lineCounters.bytesReceived;
  let readings = -1;
  site.master.enqueue({ kind: "readout", address: m.address, onDone: (r) => (readings = r.ok ? readingsOf(r.readout.dataSets, { meterOf: (b) => b, time: 0 }).length : 0) });
  site.scheduler.runUntilTrue(() => readings >= 0, 60_000);
  return { bytes: site.master.lineCounters.bytesSent + site.master.lineCounters.bytesReceived - before, readings };
}

interface XsReport {
  results: Array<{ name: string; ok: boolean; maxUnitsByKind?: Record<string, number> }>;
}

export const dlmsBench: Bench = {
  name: "DLMS/COSEM over HDLC (bytes per reading, XS units per turn)",
  async run() {
    const figures: Record<string, number | string> = {};
    const line = (r: { bytes: number; readings: number }, baud: number) => `${r.bytes} / ${r.readings} / ${(r.bytes / r.readings).toFixed(1)} / ${((r.bytes * 10_000) / baud / r.readings).toFixed(0)} ms`;
    figures["IEC 62056-21 mode D readout at 2400 Bd, 1 meter: bytes / readings / bytes per reading / wire time per reading"] = line(iecReadout(), 2400);
    for (const level of ["none", "lls", "hls"] as const) {
      figures[`DLMS routine read at 9600 Bd, ${level === "none" ? "public client" : level.toUpperCase()}: bytes / readings / bytes per reading / wire time per reading`] = line(dlmsRead(level), 9600);
    }
    const out = join(mkdtempSync(join(tmpdir(), "dlms-xs-")), "report.json");
    const runner = fileURLToPath(new URL("../../host-tests/xs/run-xs.js", import.meta.url));
    execFileSync(process.execPath, [runner, "--grep", "dlms bus", "--json", out], { stdio: ["ignore", "ignore", "inherit"] });
    const r = (JSON.parse(readFileSync(out, "utf8")) as XsReport).results[0]!;
    const kinds = r.maxUnitsByKind ?? {};
    figures["HLS read of 5 registers and a day of profile: largest concentrator turn, XS units"] = `${r.ok ? "" : "FAILED "}${kinds["concentrator"] ?? "?"} (budget 150,000)`;
    figures["… the same read: largest turn of the simulated meters / of the AES hardware (not firmware)"] = `${kinds["meters"] ?? "?"} / ${kinds["AES (hardware)"] ?? "?"}`;
    return figures;
  },
};
