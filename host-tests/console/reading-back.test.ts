// What the console reads and keeps besides its shell: the record log read back newest first (a
// part of a sector per call, acknowledged records too), the tail over several classes, the audit
// entry's actor (old entries decode as before), and the engineers' key list as provisioned into the
// NVS.
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeEngineerKeys, encodeEngineerKeys } from "../../firmware/console/engineer-keys.js";
import { LogTail } from "../../firmware/console/tail.js";
import { EventType } from "../../firmware/model/records.js";
import { ChangeResult, ChangeSource, decodeAudit, encodeAudit } from "../../firmware/store/audit.js";
import { ByteReader, ByteWriter } from "../../firmware/store/bytes.js";
import { RecordLog, type RecentResume } from "../../firmware/store/log.js";
import { RecordClass, type StoredRecord } from "../../firmware/store/record-codec.js";
import { LOG_RECORDS_AT } from "../../firmware/store/sector-format.js";
import { event, interval, simFlash } from "../store/fixtures.js";

const FRAME_OVERHEAD = 12;

describe("console: reading the log back", () => {
  /** Reads class `cls` back below `before` to the log's start, a call at a time; each call's records and bytes read. */
  function readBack(log: RecordLog, flash: { counters: { bytesRead: number } }, cls: RecordClass, before = log.nextSeq) {
    const calls: Array<{ records: StoredRecord[]; bytesRead: number; resumed: boolean }> = [];
    const back: number[] = [];
    let sector: number[] = [];
    let resume: RecentResume | undefined;
    while (before > 0 || resume) {
      const at = flash.counters.bytesRead;
      const part = log.recent(cls, before, resume);
      calls.push({ records: part.records, bytesRead: flash.counters.bytesRead - at, resumed: resume !== undefined });
      assert.ok(part.records.every((r, i) => r.seq < before && (i === 0 || r.seq > part.records[i - 1]!.seq)), "ascending, below the bound");
      assert.ok(sector.length === 0 || part.records.length === 0 || part.records[0]!.seq > sector[sector.length - 1]!, "a sector's parts in order");
      sector.push(...part.records.map((r) => r.seq));
      resume = part.resume;
      if (!resume) {
        back.unshift(...sector);
        sector = [];
      }
      before = part.next;
    }
    return { calls, back };
  }

  it("reads the newest sector below a sequence number, in parts of at most a quarter sector, acknowledged records too", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const seqs: number[] = [];
    for (let i = 0; i < 600; i++) seqs.push(log.appendEvent(event(EventType.door, i, true)));
    log.acknowledge([{ first: seqs[0]!, count: 150 }]);
    const { calls, back } = readBack(log, flash, RecordClass.alarm);
    assert.deepEqual(back, seqs, "every record, acknowledged or not, once");
    assert.ok(calls.filter((c) => !c.resumed).length > 2, "several sectors");
    assert.ok(calls.some((c) => c.resumed), "a sector read in parts");
    for (const c of calls) {
      // Frames up to 1 KiB checked, and the one that crosses it; each frame's header is read before it.
      const frames = c.records.reduce((n, r) => n + r.payload.length + FRAME_OVERHEAD, 0);
      assert.ok(frames < 1024 + 64, `${frames} B of frames in one call`);
      assert.ok(c.bytesRead <= LOG_RECORDS_AT + frames + 8 * c.records.length, `read ${c.bytesRead} B for ${frames} B of frames`);
    }
  });

  it("ends a sector evicted in the middle of its reading with what was read, and goes on below it", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const seqs: number[] = [];
    for (let i = 0; i < 60; i++) seqs.push(log.appendEvent(event(EventType.commLoss, i)));
    const part = log.recent(RecordClass.event, seqs[59]! + 1);
    assert.ok(part.resume && part.records.length > 0 && part.records.length < 60, "the first part of the oldest sector");
    // Events fill the log until the oldest sector is evicted: the class evicts only its own sectors here.
    for (let i = 0; i < 20_000 && log.stats.evictions === 0; i++) {
      log.appendEvent(event(EventType.commLoss, i));
      while (log.maintain());
    }
    assert.ok(log.stats.evictions > 0, "the sector evicted");
    const rest = log.recent(RecordClass.event, seqs[59]! + 1, part.resume);
    assert.deepEqual(rest, { records: [], next: part.resume.firstSeq });
    assert.deepEqual(log.recent(RecordClass.event, rest.next), { records: [], next: 0 });
  });

  it("reads a sector with a corrupt frame whole, the records after it too, and counts the loss", () => {
    const { flash } = simFlash();
    let log = RecordLog.open(flash);
    const seqs: number[] = [];
    for (let i = 0; i < 60; i++) seqs.push(log.appendEvent(event(EventType.door, i, true)));
    const second = LOG_RECORDS_AT + flash.read(LOG_RECORDS_AT, 1)[0]! + FRAME_OVERHEAD;
    flash.corrupt(second + 10, 0x04);
    log = RecordLog.open(flash);
    const { back } = readBack(log, flash, RecordClass.alarm);
    assert.deepEqual(back, seqs.filter((_, i) => i !== 1));
    assert.equal(log.stats.corruptRecords, 1);
  });

  it("merges classes newest first and keeps the newest N, oldest first, sectors read in parts (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 500 }), (events, every, want) => {
        const { flash } = simFlash();
        const log = RecordLog.open(flash);
        const all: number[] = [];
        for (let i = 0; i < events; i++) {
          all.push(log.appendEvent(event(i % 3 === 0 ? EventType.door : EventType.commLoss, i, i % 3 === 0)));
          if (i % every === 0) all.push(...log.appendReadings(interval(i, 2)));
        }
        const tail = new LogTail(log, [RecordClass.alarm, RecordClass.event, RecordClass.profile], want, (r) => [r.seq]);
        let steps = 0;
        while (!tail.step()) steps++;
        assert.deepEqual(tail.items(), all.slice(-want));
        assert.ok(steps >= Math.min(want, all.length), "one record per step");
        assert.equal(tail.truncated, false);
      }),
      { numRuns: 40 },
    );
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    for (let i = 0; i < 300; i++) log.appendEvent(event(EventType.door, i, true));
    const few = new LogTail(log, [RecordClass.alarm], 1000, (r) => [r.seq], 1);
    while (!few.step());
    assert.ok(few.items().length > 0 && few.sectors === 1 && few.truncated);
  });
});

describe("console: audit actor and engineer keys", () => {
  it("keeps the actor of an audit entry, and decodes an entry written without one as before", () => {
    const base = { number: 7, time: 1_767_225_600, timeValid: true, source: ChangeSource.console, name: "poll.intervalMin", oldValue: "15", newValue: "5", result: ChangeResult.applied } as const;
    for (const entry of [{ ...base, actor: "alice" }, { ...base }]) {
      const w = new ByteWriter(new Uint8Array(256));
      encodeAudit(entry, w);
      assert.deepEqual(decodeAudit(new ByteReader(w.bytes.slice(0, w.pos))), entry);
    }
  });

  it("round-trips the engineers' list, and trusts nobody from a damaged one", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([id, publicKey]) => ({ id, publicKey })), { maxLength: 16 }), fc.nat(), (list, cut) => {
        const blob = encodeEngineerKeys(list);
        assert.deepEqual(decodeEngineerKeys(blob), list);
        if (blob.length > 0 && cut % blob.length !== 0) {
          const cutBlob = blob.slice(0, cut % blob.length);
          const decoded = decodeEngineerKeys(cutBlob);
          assert.ok(decoded.length === 0 || encodeEngineerKeys(decoded).length === cutBlob.length, "a cut list is whole entries or nothing");
        }
      }),
    );
    assert.deepEqual(decodeEngineerKeys(new Uint8Array([5, 0x61, 0x62])), []);
    assert.deepEqual(decodeEngineerKeys(new Uint8Array([1, 0x2f, ...new Uint8Array(32)])), [], "a name that is not an engineer name");
  });
});
