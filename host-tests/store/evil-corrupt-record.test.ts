// Bit rot inside records: a record that fails its CRC is skipped and never returned, the records after
// it in the same sector still are, and the loss is counted and reported as a notice.
import assert from "node:assert/strict";
import { EventType } from "../../firmware/model/records.js";
import { RecordLog } from "../../firmware/store/log.js";
import { CorruptionReason, decodeRecord, RecordClass } from "../../firmware/store/record-codec.js";
import { LOG_RECORDS_AT } from "../../firmware/store/sector-format.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { CorruptStateError } from "../../firmware/store/errors.js";
import { HEADERS_BYTES } from "../../firmware/store/sector-format.js";
import { event, simFlash } from "./fixtures.js";

describe("evil: a corrupt record in the middle of a sector", () => {
  it("is skipped, the records after it still come back, and a corruption notice reports one record", () => {
    const { flash } = simFlash();
    let log = RecordLog.open(flash);
    const seqs = [1, 2, 3, 4].map((i) => log.appendEvent(event(EventType.door, i)));
    // The second event's frame starts right after the first (each frame is 12 B + its payload).
    const second = LOG_RECORDS_AT + flash.read(LOG_RECORDS_AT, 1)[0]! + 12;
    flash.corrupt(second + 10, 0x04);
    log = RecordLog.open(flash);
    while (log.maintain());
    const got = [];
    for (let b = log.cursor().next(20); b.length; b = []) got.push(...b.map((r) => decodeRecord(r)));
    const notices = got.filter((d) => d.kind === "corruption");
    assert.deepEqual(got.filter((d) => d.kind === "event").map((d) => d.seq), [seqs[0], seqs[2], seqs[3]]);
    assert.equal(notices.length, 1);
    assert.ok(notices[0]!.kind === "corruption" && notices[0]!.notice.reason === CorruptionReason.corruptRecords && notices[0]!.notice.records === 1);
    assert.equal(notices[0]!.cls, RecordClass.alarm);
    assert.equal(log.stats.corruptRecords, 1);
  });

  it("in the state journal, falls back to the key's previous value and is reported at recovery", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 8 });
    j.put(1, Uint8Array.of(1));
    j.put(1, Uint8Array.of(2));
    j.put(2, Uint8Array.of(3));
    // Frames: [8-byte header][count][key u16][len][value][crc] = 17 bytes each.
    flash.corrupt(HEADERS_BYTES + 17 + 12, 0x01);
    const reports: number[] = [];
    const again = StateJournal.open(flash, { keyCount: 8, onCorruption: (_s, n) => reports.push(n) });
    assert.deepEqual(again.get(1), Uint8Array.of(1));
    assert.deepEqual(again.get(2), Uint8Array.of(3));
    assert.deepEqual(reports, [1]);
  });

  it("in the state journal after boot, makes a read throw CorruptStateError instead of returning it", () => {
    const { flash } = simFlash(8, 4096);
    const j = StateJournal.open(flash, { keyCount: 8 });
    j.put(1, Uint8Array.of(7, 7));
    flash.corrupt(HEADERS_BYTES + 12, 0x80);
    assert.throws(() => j.get(1), CorruptStateError);
    assert.equal(j.stats.corruptRecords, 1);
  });
});
