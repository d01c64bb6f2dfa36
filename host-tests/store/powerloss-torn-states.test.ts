// Particular states a cut can leave, each forced exactly (littlefs test_powerloss style): what
// recovery makes of them, and that the next records go where they should.
import assert from "node:assert/strict";
import { EventType } from "../../firmware/model/records.js";
import { RecordLog } from "../../firmware/store/log.js";
import { LOG_RECORDS_AT, parseSummary } from "../../firmware/store/sector-format.js";
import { PowerLossError } from "../../hal/sim/power-domain.js";
import { event, simFlash, TearingFlash } from "./fixtures.js";

const SECTOR = 1024;

function cut(f: () => void): void {
  assert.throws(f, PowerLossError);
}

function eventSector(flash: TearingFlash): number {
  for (let s = 0; s < flash.byteLength / SECTOR; s++) {
    const b = flash.read(s * SECTOR, 6);
    if (b[0] === 0x43 && b[5] === 1) return s;
  }
  return -1;
}

describe("powerloss: torn states", () => {
  it("torn record at the end of the open sector: the next record takes its slot after a guard gap, nothing is reported", () => {
    const rig = simFlash(16, SECTOR);
    const flash = new TearingFlash(rig);
    let log = RecordLog.open(flash);
    const a = log.appendEvent(event(EventType.door, 1));
    flash.tearProgram(1, 7);
    cut(() => log.appendEvent(event(EventType.door, 2)));
    rig.domain.powerOn();
    log = RecordLog.open(flash);
    const c = log.appendEvent(event(EventType.door, 3));
    while (log.maintain());
    assert.deepEqual(log.cursor().next(10).map((r) => r.seq), [a, c]);
    assert.equal(log.stats.corruptRecords, 0);
    const s = eventSector(flash);
    const frames = flash.read(s * SECTOR + LOG_RECORDS_AT, 80);
    const second = frames[0]! + 12;
    assert.equal(frames[second]! !== 0xff, true, "the torn bytes are still there");
    assert.equal(frames[second + 7 + 16], frames[0], "the next frame starts 16 bytes past them (same payload length)");
  });

  it("only the headers of a new sector written: the sector is taken again, no sector is wasted", () => {
    const rig = simFlash(16, SECTOR);
    const flash = new TearingFlash(rig);
    let log = RecordLog.open(flash);
    while (log.maintain());
    flash.tearProgram(2, 0); // program 1: the sector's headers; program 2: the record, torn at once
    cut(() => log.appendEvent(event(EventType.door, 1)));
    rig.domain.powerOn();
    const opened = eventSector(flash);
    log = RecordLog.open(flash);
    log.appendEvent(event(EventType.door, 2));
    assert.equal(eventSector(flash), opened);
    assert.equal(log.usage().live[1], 1);
  });

  it("torn close summary of the newest sector: closed again with the same bytes, not taken again", () => {
    // A dry run finds the append that closes the first event sector (its first program is the summary).
    const appendsUntilClose = (() => {
      const dry = simFlash(16, SECTOR);
      const log = RecordLog.open(dry.flash);
      while (log.maintain());
      for (let n = 1; ; n++) {
        log.appendEvent(event(EventType.door, n));
        if (parseSummary(dry.flash.read(0, 64))) return n;
      }
    })();
    const rig = simFlash(16, SECTOR);
    const flash = new TearingFlash(rig);
    let log = RecordLog.open(flash);
    while (log.maintain());
    const seqs: number[] = [];
    for (let n = 1; n < appendsUntilClose; n++) seqs.push(log.appendEvent(event(EventType.door, n)));
    flash.tearProgram(1, 5);
    cut(() => log.appendEvent(event(EventType.door, appendsUntilClose)));
    rig.domain.powerOn();
    assert.equal(parseSummary(flash.read(0, 64)), undefined, "the summary is torn");
    log = RecordLog.open(flash);
    const summary = parseSummary(flash.read(0, 64));
    assert.deepEqual(summary && [summary.count, summary.lastSeq], [seqs.length, seqs[seqs.length - 1]], "closed at recovery, same content");
    const next = log.appendEvent(event(EventType.door, 0));
    assert.deepEqual(RecordLog.open(flash).cursor().next(500).map((r) => r.seq), [...seqs, next]);
    assert.equal(eventSector(flash), 0);
    assert.equal(parseSummary(flash.read(0, 64))!.count, seqs.length, "the next record went to another sector");
  });
});
