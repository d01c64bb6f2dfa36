/**
 * The record log read back: events [N], log [N], readings METER [N]. Acknowledged records are shown
 * too (what was sent stays in the log until its sector is reclaimed); each listing reads one sector or
 * looks at one record per turn (tail.ts).
 */
import type { Reading } from "../../model/records.js";
import { frozen } from "../../model/frozen.js";
import { decodeRecord, RecordClass, type DecodedRecord, type StoredRecord } from "../../store/record-codec.js";
import type { Command, CommandContext } from "../console.js";
import { className, eventLine, readingLine, resultName, sourceName, wallTime, wholeNumber } from "../format.js";
import { LogTail } from "../tail.js";
import { printTail } from "./listing.js";
import { pickReadings } from "./modules.js";

const DEFAULT_COUNT = 10;
/** Bounds what a listing collects (about 100 bytes an item) on a heap of ~150 KB. */
const MAX_COUNT = 100;
/** `readings` gives up after this many sectors of readings (a meter read no more shows nothing). */
const READINGS_SECTORS = 256;
const ALL_CLASSES = frozen([RecordClass.alarm, RecordClass.event, RecordClass.billing, RecordClass.profile]);

/** N from the optional argument at `index`, or the error printed. */
function countArg(ctx: CommandContext, index: number): number | undefined {
  const n = ctx.args[index] === undefined ? DEFAULT_COUNT : wholeNumber(ctx.args[index], "N", 1, MAX_COUNT);
  if (typeof n === "string") return void ctx.fail(n);
  return n;
}

export const RECORD_COMMANDS: readonly Command[] = frozen([
  {
    name: "events",
    usage: "events [N]",
    help: `the last N events and alarms (default ${DEFAULT_COUNT}, at most ${MAX_COUNT})`,
    run(ctx, unit) {
      if (ctx.args.length > 1) return ctx.fail("usage: events [N]");
      const n = countArg(ctx, 0);
      if (n === undefined) return;
      const tail = new LogTail(unit.log, [RecordClass.alarm, RecordClass.event], n, (r: StoredRecord) => {
        const d = decodeRecord(r);
        return d.kind === "event" ? [{ seq: d.seq, event: d.event }] : [];
      });
      printTail(ctx, tail, (x) => eventLine(x.seq, x.event), (k) => `${k} events`);
    },
  },
  {
    name: "log",
    usage: "log [N]",
    help: `the last N records of the log, every class and kind (default ${DEFAULT_COUNT}, at most ${MAX_COUNT})`,
    run(ctx, unit) {
      if (ctx.args.length > 1) return ctx.fail("usage: log [N]");
      const n = countArg(ctx, 0);
      if (n === undefined) return;
      const tail = new LogTail(unit.log, ALL_CLASSES, n, (r: StoredRecord) => [recordLine(decodeRecord(r))]);
      printTail(ctx, tail, (line) => line, (k) => `${k} records (next #${unit.log.nextSeq})`);
    },
  },
  {
    name: "readings",
    usage: "readings METER [N]",
    help: `the last N readings of a meter, any register (default ${DEFAULT_COUNT}, at most ${MAX_COUNT})`,
    run(ctx, unit) {
      if (ctx.args.length < 1 || ctx.args.length > 2) return ctx.fail("usage: readings METER [N]");
      const meter = wholeNumber(ctx.args[0], "METER", 0, 0xffff);
      if (typeof meter === "string") return ctx.fail(meter);
      const n = countArg(ctx, 1);
      if (n === undefined) return;
      const tail = new LogTail<Reading>(unit.log, [RecordClass.billing, RecordClass.profile], n, pickReadings((r) => r.meter === meter), READINGS_SECTORS);
      printTail(ctx, tail, readingLine, (k) => `${k} readings of meter ${meter}`);
    },
  },
]);

/** One line for any record of the log. */
function recordLine(d: DecodedRecord): string {
  const head = `#${d.seq} ${className(d.cls)}`;
  switch (d.kind) {
    case "readings": {
      const meters = new Set(d.readings.map((r) => r.meter));
      const times = d.readings.map((r) => r.time);
      return `${head} readings: ${d.readings.length} values of ${meters.size} meters, ${wallTime(Math.min(...times))} to ${wallTime(Math.max(...times))}`;
    }
    case "event":
      return `${head} ${eventLine(d.seq, d.event).slice(String(d.seq).length + 2)}`;
    case "audit": {
      const e = d.entry;
      return `${head} audit ${wallTime(e.time)} ${e.name}: ${e.oldValue} -> ${e.newValue} (${sourceName(e.source)}${e.actor ? ` ${e.actor}` : ""}, ${resultName(e.result)})`;
    }
    case "result":
      return `${head} command result ${JSON.stringify(d.result)}`;
    case "eviction":
      return `${head} eviction: ${d.notice.records} ${className(d.notice.evictedClass)} records dropped (#${d.notice.firstSeq}..#${d.notice.lastSeq})`;
    case "corruption":
      return `${head} corruption notice: reason ${d.notice.reason}, sector ${d.notice.sector}, ${d.notice.records} records`;
    case "undecodable":
      return `${head} undecodable record of kind ${d.storedKind}`;
  }
}
