// What the console reads and keeps besides its shell: the record log read back newest first (one
// sector per call, acknowledged records too), the tail over several classes, the audit entry's actor
// (old entries decode as before), and the engineers' key list as provisioned into the NVS.
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeEngineerKeys, encodeEngineerKeys } from "../../firmware/console/engineer-keys.js";
import { LogTail } from "../../firmware/console/tail.js";
import { EventType } from "../../firmware/model/records.js";
import { ChangeResult, ChangeSource, decodeAudit, encodeAudit } from "../../firmware/store/audit.js";
import { ByteReader, ByteWriter } from "../../firmware/store/bytes.js";
import { RecordLog } from "../../firmware/store/log.js";
import { RecordClass } from "../../firmware/store/record-codec.js";
import { event, interval, simFlash } from "../store/fixtures.js";

describe("console: reading the log back", () => {
  it("reads the newest sector below a sequence number, one sector per call, acknowledged records too", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const seqs: number[] = [];
    for (let i = 0; i < 600; i++) seqs.push(log.appendEvent(event(EventType.door, i, true)));
    log.acknowledge([{ first: seqs[0]!, count: 150 }]);
    const back: number[] = [];
    let calls = 0;
    for (let before = log.nextSeq; before > 0; calls++) {
      const { records, next } = log.recent(RecordClass.alarm, before);
      assert.ok(records.every((r, i) => r.seq < before && (i === 0 || r.seq > records[i - 1]!.seq)), "ascending, below the bound");
      back.unshift(...records.map((r) => r.seq));
      before = next;
    }
    assert.deepEqual(back, seqs, "every record, acknowledged or not, once");
    assert.ok(calls > 2, `${calls} sectors`);
  });

  it("merges classes newest first and keeps the newest N, oldest first", () => {
    const { flash } = simFlash();
    const log = RecordLog.open(flash);
    const all: number[] = [];
    for (let i = 0; i < 40; i++) {
      all.push(log.appendEvent(event(i % 3 === 0 ? EventType.door : EventType.commLoss, i, i % 3 === 0)));
      if (i % 5 === 0) all.push(...log.appendReadings(interval(i, 2)));
    }
    const tail = new LogTail(log, [RecordClass.alarm, RecordClass.event, RecordClass.profile], 25, (r) => [r.seq]);
    let steps = 0;
    while (!tail.step()) steps++;
    assert.deepEqual(tail.items(), all.slice(-25));
    assert.ok(steps >= 25, "one record per step");
    const few = new LogTail(log, [RecordClass.alarm], 1000, (r) => [r.seq], 1);
    while (!few.step());
    assert.ok(few.items().length > 0 && few.sectors === 1);
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
