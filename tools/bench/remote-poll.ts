/**
 * A remote poll cycle through a bridge: a mode D readout of 8 modules behind a PLC bridge, and of 4
 * behind a radio bridge (repeater levels 0, 1, 2 in turn), each bridge alone on its bus, links as
 * populateBridge draws them, at midnight (no PLC evening noise), over 5 seeds.
 *
 * - lower bound: per readout, the D0 bytes at the medium's rate over every hop each way, plus their
 *   wire time on the module's segment and its tr (firmware/bridge/link.ts stepLowerBoundMs);
 * - medium model: what the bridge's medium needs without a loss (frames with their overhead,
 *   acknowledgements, latencies: link.ts expectedStepMs from the bridge's INFO);
 * - cycle / lower bound is what the medium and the protocol cost together; cycle / medium model is what
 *   the RS485 side (RELAY, polls, FETCH of each part at 9600 Bd) and the polling delay add.
 */
import type { ReadoutResult } from "../../firmware/bus/types.js";
import { expectedStepMs } from "../../firmware/bridge/link.js";
import { bridgeSite } from "../sim/bus-rig.js";
import type { Bench } from "./bench.js";

interface Cycle {
  ms: number;
  lowerBoundMs: number;
  modelMs: number;
  ok: number;
  failed: number;
  wallMs: number;
}

function cycle(seed: string, kind: "plc" | "radio", modules: number): Cycle {
  const wall = performance.now();
  const site = bridgeSite(seed, { bridges: [{ kind, address: 7, modules }] });
  const t = site.bridges[0]!.transport;
  let found = false;
  t.discover((r) => (found = r.ok));
  site.scheduler.runUntilTrue(() => found, 60_000);
  const started = site.scheduler.now;
  const results: ReadoutResult[] = [];
  let modelMs = 0;
  for (const address of t.addresses) {
    t.enqueue({
      kind: "readout",
      address,
      onDone: (r) => {
        results.push(r);
        if (!r.ok) return;
        const route = t.routeStats(address)![0]!;
        modelMs += expectedStepMs(t.info!, { hops: route.path.length + 1, rateBps: route.rateBps, sendBytes: r.wire.sentBytes, answerBytes: r.wire.receivedBytes, sendBaud: 2400, listenBaud: 2400 });
      },
    });
  }
  site.scheduler.runUntilTrue(() => results.length === modules, 3_600_000);
  const ok = results.filter((r) => r.ok);
  return {
    ms: site.scheduler.now - started,
    lowerBoundMs: ok.reduce((n, r) => n + (r.ok ? r.wire.lowerBoundMs : 0), 0),
    modelMs,
    ok: ok.length,
    failed: results.length - ok.length,
    wallMs: performance.now() - wall,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const remotePoll: Bench = {
  name: "remote poll cycle through a bridge (simulated time per module / air and wire lower bound)",
  async run() {
    const figures: Record<string, number | string> = {};
    for (const [kind, modules] of [["plc", 8], ["radio", 4]] as const) {
      const runs = ["1", "2", "3", "4", "5"].map((s) => cycle(s, kind, modules));
      const label = `${kind}, ${modules} modules`;
      const ratios = runs.map((r) => r.ms / r.lowerBoundMs);
      figures[`${label}: s per module (mean), lower bound s per module (mean)`] = `${(mean(runs.map((r) => r.ms)) / modules / 1000).toFixed(2)}, ${(mean(runs.map((r) => r.lowerBoundMs)) / modules / 1000).toFixed(2)}`;
      figures[`${label}: cycle / lower bound, mean / max`] = `${mean(ratios).toFixed(3)} / ${Math.max(...ratios).toFixed(3)}`;
      figures[`${label}: medium model / lower bound (mean)`] = Number(mean(runs.map((r) => r.modelMs / r.lowerBoundMs)).toFixed(3));
      figures[`${label}: cycle / medium model (mean)`] = Number(mean(runs.map((r) => r.ms / r.modelMs)).toFixed(3));
      figures[`${label}: read ok / failed (all seeds)`] = `${runs.reduce((n, r) => n + r.ok, 0)} / ${runs.reduce((n, r) => n + r.failed, 0)}`;
      figures[`${label}: wall ms per simulated cycle (mean)`] = Math.round(mean(runs.map((r) => r.wallMs)));
    }
    return figures;
  },
};
