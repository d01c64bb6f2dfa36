/**
 * The modules and their buses: modules, module N, read N, bus.
 */
import type { Failure } from "../../bus/types.js";
import { frozen } from "../../model/frozen.js";
import type { ModuleEntry } from "../../poll/topology.js";
import { decodeRecord } from "../../store/record-codec.js";
import { RecordClass } from "../../store/record-codec.js";
import type { Reading } from "../../model/records.js";
import type { Command, CommandContext } from "../console.js";
import { duration, latchStateName, readingLine, wholeNumber } from "../format.js";
import { LogTail } from "../tail.js";
import type { ConsoleUnit } from "../unit.js";
import { lineSlices, printLines, printTail } from "./listing.js";

/** An on-demand readout waits behind at most the bus's current transaction and its retries. */
const READ_TIMEOUT_MS = 120_000;
/** `module N` looks this far back in the log for the last values, sectors. */
const LAST_VALUES_SECTORS = 16;
const LAST_VALUES = 24;

/** How long ago a module last answered. */
function lastOk(unit: ConsoleUnit, m: ModuleEntry): string {
  return m.lastOkMs < 0 ? "never since boot" : `${duration(unit.hal.clock.now() - m.lastOkMs)} ago`;
}

/** The module named by the command's one argument, or the error printed. */
function moduleArg(ctx: CommandContext, unit: ConsoleUnit): ModuleEntry | undefined {
  if (ctx.args.length !== 1) return void ctx.fail(`usage: ${ctx.name} N`);
  const n = wholeNumber(ctx.args[0], "N", 1, 0xffff);
  if (typeof n === "string") return void ctx.fail(n);
  const m = unit.topology.module(n);
  if (!m) ctx.fail(`no module ${n} (modules lists them)`);
  return m;
}

export const MODULE_COMMANDS: readonly Command[] = frozen([
  {
    name: "modules",
    usage: "modules",
    help: "the topology: number, path, address, serial, meters, state, last good readout, failures",
    maxArgs: 0,
    run(ctx, unit) {
      const list = [...unit.topology.modules];
      let i = 0;
      ctx.print("  N path    address   serial            meters state    last good readout    failures");
      ctx.slices(
        lineSlices(ctx, () => {
          if (i > list.length) return undefined;
          const m = list[i++];
          if (!m) return `${list.length} modules`;
          return `${String(m.number).padStart(3)} ${m.path.padEnd(7)} ${m.address.padEnd(9)} ${m.serial.padEnd(17)} ${String(m.meters.size).padStart(6)} ${m.state.padEnd(8)} ${lastOk(unit, m).padEnd(20)} ${m.failures}`;
        }),
      );
    },
  },
  {
    name: "module",
    usage: "module N",
    help: "one module: where it is, its meters and their latches, bus statistics, last values",
    run(ctx, unit) {
      const m = moduleArg(ctx, unit);
      if (!m) return;
      const p = unit.topology.persistent(m.number);
      const lines = [
        `module ${m.number}: serial ${m.serial}, ${m.path} address ${m.address}, ${m.state}, last good readout ${lastOk(unit, m)}, ${m.failures} consecutive failures`,
        ...(p?.meters ?? []).map((x) => `  meter ${x.meter} (serial ${x.serial}) on channel ${x.channel}: latch ${latchStateName(unit.latch.state(x.meter))}, mode ${unit.latch.mode(x.meter)}`),
      ];
      const bus = unit.buses[Number(m.path.slice(3))];
      const s = m.path.startsWith("bus") ? bus?.moduleStats(m.address) : undefined;
      if (s) {
        const mean = s.ok ? Math.round(s.totalResponseMs / s.ok) : 0;
        lines.push(`  bus: ${s.transactions} transactions, ${s.ok} ok, ${s.failed} failed, ${s.retries} retries, ${s.timeouts} timeouts, ${s.errors} line errors; response ${mean} ms mean, ${Math.round(s.maxResponseMs)} ms max`);
      }
      const meters = new Set(m.meters.values());
      lines.push("  last values:");
      // A handful of lines (a module fronts at most a few meters), then the log's newest readings of its meters.
      for (const line of lines) ctx.print(line);
      const tail = new LogTail<Reading>(unit.log, [RecordClass.profile, RecordClass.billing], LAST_VALUES, pickReadings((r) => meters.has(r.meter)), LAST_VALUES_SECTORS);
      printTail(ctx, tail, (r) => `  ${readingLine(r)}`, (n) => (n === 0 ? "  (none in the newest sectors of the log)" : `  ${n} values`));
    },
  },
  {
    name: "read",
    usage: "read N",
    help: "reads module N now (on-demand priority) and prints what came back",
    run(ctx, unit) {
      const m = moduleArg(ctx, unit);
      if (!m) return;
      ctx.print(`reading module ${m.number} (${m.path} ${m.address}) ...`);
      ctx.later(READ_TIMEOUT_MS);
      const t0 = unit.hal.clock.now();
      unit.poller.readNow(
        [m.number],
        (results) => {
          if (!ctx.active) return;
          const r = results[0];
          if (!r?.ok || !r.readout) return ctx.fail(`no readout: ${r?.failure ? describe(r.failure) : "failed"}`);
          const out = r.readout;
          const lines = [`/${out.identification.text}`];
          for (const d of out.dataSets) lines.push(`${d.address}${d.values.map((v) => `(${v.value}${v.unit !== undefined ? `*${v.unit}` : ""})`).join("")}`);
          lines.push(`${out.dataSets.length} data sets in ${duration(unit.hal.clock.now() - t0)}`);
          printLines(ctx, lines);
        },
        true,
      );
    },
  },
  {
    name: "bus",
    usage: "bus",
    help: "per bus and bridge: bytes, wire time, utilisation, queue, transactions, failures",
    maxArgs: 0,
    run(ctx, unit) {
      const lines: string[] = [];
      unit.buses.forEach((b, i) => {
        const c = b.lineCounters;
        const tot = { transactions: 0, ok: 0, failed: 0, retries: 0, timeouts: 0, errors: 0 };
        let present = 0;
        let missing = 0;
        for (const m of unit.topology.modules) {
          if (m.path !== `bus${i}`) continue;
          if (m.state === "present") present++;
          else missing++;
          const s = b.moduleStats(m.address);
          if (s) for (const k of Object.keys(tot) as Array<keyof typeof tot>) tot[k] += s[k];
        }
        lines.push(`bus${i}: ${present} modules answering, ${missing} missing; utilisation ${(100 * b.utilisation).toFixed(1)} %, ${b.queued} queued${b.busy ? ", busy" : ""}`);
        lines.push(`  ${c.bytesSent} bytes sent, ${c.bytesReceived} received, ${Math.round(c.wireMs / 1000)} s on the wire, ${c.echoMismatches} echo mismatches`);
        lines.push(`  ${tot.transactions} transactions: ${tot.ok} ok, ${tot.failed} failed, ${tot.retries} retries, ${tot.timeouts} timeouts, ${tot.errors} line errors`);
      });
      for (const [name, b] of unit.bridges) {
        const c = b.counters;
        lines.push(`${name} (bridge ${b.address}): ${c.transactions} transactions, ${c.ok} ok, ${c.failed} failed, ${c.bridgeFailures} bridge failures, ${c.routeFailures} route failures, ${c.failovers} failovers, ${c.recoveries} recoveries`);
      }
      printLines(ctx, lines);
    },
  },
]);

/** The readings of a readings record that `wanted` keeps (events and other kinds: none). */
export function pickReadings(wanted: (r: Reading) => boolean) {
  return (record: Parameters<typeof decodeRecord>[0]): Reading[] => {
    const d = decodeRecord(record);
    return d.kind === "readings" ? d.readings.filter(wanted) : [];
  };
}

function describe(failure: Failure): string {
  return failure.detail ? `${failure.code} (${failure.detail})` : failure.code;
}
