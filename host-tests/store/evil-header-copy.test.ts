// Sector headers are written twice. One bad copy: the sector still serves, and it is reported.
// Both copies bad: the sector is not read (its records are lost), nothing else is touched, nothing is
// formatted, and the log keeps working.
import assert from "node:assert/strict";
import { EventType } from "../../firmware/model/records.js";
import { RecordLog } from "../../firmware/store/log.js";
import { CorruptionReason, decodeRecord } from "../../firmware/store/record-codec.js";
import { HEADER_COPY_BYTES } from "../../firmware/store/sector-format.js";
import { event, interval, simFlash } from "./fixtures.js";

function fill() {
  const rig = simFlash(16, 1024);
  const log = RecordLog.open(rig.flash);
  const seqs: number[] = [];
  for (let k = 0; k < 12; k++) seqs.push(...log.appendReadings(interval(k, 40)));
  const alarm = log.appendEvent(event(EventType.tamper, 1, true));
  return { ...rig, seqs, alarm };
}

function sectorOf(flash: { read(o: number, n: number): Uint8Array }, seq: number): number {
  for (let s = 0; s < 16; s++) {
    const b = flash.read(s * 1024, 12);
    const first = b[8]! | (b[9]! << 8) | (b[10]! << 16) | (b[11]! << 24);
    if (b[0] === 0x43 && first === seq) return s;
  }
  return -1;
}

describe("evil: sector headers", () => {
  it("serves a sector with one unreadable header copy and reports it", () => {
    const { flash, seqs } = fill();
    const s = sectorOf(flash, seqs[0]!);
    flash.corrupt(s * 1024 + 9, 0xff);
    const log = RecordLog.open(flash);
    while (log.maintain());
    const got = log.cursor().next(100).map((r) => decodeRecord(r));
    assert.ok(seqs.every((q) => got.some((d) => d.seq === q)), "every record still there");
    assert.ok(got.some((d) => d.kind === "corruption" && d.notice.reason === CorruptionReason.headerCopy && d.notice.sector === s));
  });

  it("leaves a sector with both copies unreadable alone: no erase at open, the rest is served", () => {
    const { flash, seqs, alarm } = fill();
    const s = sectorOf(flash, seqs[0]!);
    flash.corrupt(s * 1024 + 9, 0xff);
    flash.corrupt(s * 1024 + HEADER_COPY_BYTES + 9, 0xff);
    const erases = flash.counters.erases;
    const log = RecordLog.open(flash);
    assert.equal(flash.counters.erases, erases, "open never erases");
    const got = new Set(log.cursor().next(100).map((r) => r.seq));
    assert.ok(got.has(alarm) && got.has(seqs[seqs.length - 1]!));
    assert.ok(!got.has(seqs[0]!));
    log.appendEvent(event(EventType.door, 2));
  });
});
