// The catch-up's bookkeeping (firmware/poll/backfill): the holdings' missing slots against a plain
// model through slots held and missed, give-ups, reboots (the persisted rows reloaded) and the window
// moving on; the R5 request and its answer as the simulated module sends it.
import assert from "node:assert/strict";
import fc from "fast-check";
import { HOLDINGS_ROW_BYTES, ProfileHoldings, Unrecoverable, WINDOW_SLOTS, type HoldingsStore } from "../../firmware/poll/backfill/holdings.js";
import { profileRows, readProfile } from "../../firmware/poll/backfill/profile-request.js";
import { D0Decoder } from "../../firmware/d0/decoder.js";
import { encodeCommand } from "../../firmware/d0/encoder.js";
import type { DataSet } from "../../firmware/d0/data-set.js";
import { ReadingStatus, registerCode } from "../../firmware/model/records.js";
import { parseStamp, SimProfileMemory } from "../../hal/sim/profile-memory.js";

/** What a state journal keeps, in memory: rows, the accounted slot, the commissioning slot. */
class MemoryStore implements HoldingsStore {
  rows = new Map<number, { top: number; bits: Uint8Array }>();
  acc = -1;
  comm = -1;
  writes = 0;
  load(each: (meter: number, top: number, bits: Uint8Array) => void): void {
    for (const [meter, r] of [...this.rows].sort((a, b) => a[0] - b[0])) each(meter, r.top, r.bits);
  }
  save(meter: number, top: number, bits: Uint8Array): void {
    assert.equal(bits.length, HOLDINGS_ROW_BYTES);
    this.rows.set(meter, { top, bits: bits.slice() });
    this.writes++;
  }
  accounted(): number {
    return this.acc;
  }
  setAccounted(slot: number): void {
    this.acc = Math.max(this.acc, slot);
  }
  commissioned(): number {
    return this.comm;
  }
  setCommissioned(slot: number): void {
    if (this.comm < 0) this.comm = slot;
  }
}

type Op = { kind: "slot"; read: boolean[] } | { kind: "giveUp"; pick: number } | { kind: "reboot"; downSlots: number; cutRead: boolean[] } | { kind: "late"; pick: number };

const METERS = [3, 7, 11, 40];
const START = 1_963_584;

describe("profile catch-up: holdings", () => {
  it("keep exactly the slots each meter missed, across reboots and the window's end, and count what is given up or expires", () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 8, arbitrary: fc.record({ kind: fc.constant("slot" as const), read: fc.array(fc.boolean(), { minLength: METERS.length, maxLength: METERS.length }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("giveUp" as const), pick: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("late" as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("reboot" as const), downSlots: fc.integer({ min: 0, max: 60 }), cutRead: fc.array(fc.boolean(), { minLength: METERS.length, maxLength: METERS.length }) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const store = new MemoryStore();
        let now = START;
        let h = new ProfileHoldings(store, now);
        for (const m of METERS) h.held(m, now);
        h.accountUntil(now++);
        const missing = new Set<string>();
        const lost = [0, 0, 0, 0];
        // The window is the last WINDOW_SLOTS slots that have ended: now - WINDOW_SLOTS … now - 1.
        const expire = () => {
          for (const k of [...missing]) {
            if (Number(k.split("/")[1]) >= now - WINDOW_SLOTS) continue;
            missing.delete(k);
            lost[Unrecoverable.expired]! += 1;
          }
        };
        /** The current slot ends: meters not read in it miss it. */
        const endSlot = (read: boolean[]) => {
          METERS.forEach((m, i) => (read[i] ? h.held(m, now) : missing.add(`${m}/${now}`)));
          now++;
          h.accountUntil(now - 1);
          expire();
          h.flush(3);
        };
        for (const o of ops) {
          if (o.kind === "slot") endSlot(o.read);
          else if (o.kind === "giveUp" || o.kind === "late") {
            const all = [...missing].sort();
            if (!all.length) continue;
            const k = all[o.pick % all.length]!;
            const [m, s] = k.split("/").map(Number) as [number, number];
            missing.delete(k);
            if (o.kind === "giveUp") {
              h.giveUp(m, s, Unrecoverable.notRecorded);
              lost[Unrecoverable.notRecorded]! += 1;
            } else h.held(m, s); // a back-filled value arrived
            h.flushMeters([m]);
          } else {
            // Read in the slot the power is cut in (the store's tail says so), then off for `downSlots`.
            // The holdings were written (they are, a few records per turn, within turns of a change).
            while (!h.flush(2));
            const cut = now;
            const read = new Set(METERS.filter((_, i) => o.cutRead[i]));
            for (const m of METERS) if (!read.has(m)) missing.add(`${m}/${cut}`);
            for (let s = cut + 1; s <= cut + o.downSlots; s++) for (const m of METERS) missing.add(`${m}/${s}`);
            const carried = METERS.map((m) => h.unrecoverableOf(m));
            now = cut + o.downSlots + 1;
            h = new ProfileHoldings(store, now);
            // What the store's newest readings show: every slot since the last accounted one up to the cut that a meter was read in.
            h.accountUntil(now - 1, (m, s) => s <= cut && !missing.has(`${m}/${s}`));
            expire();
            while (!h.flush(2));
            // Counters are the running boot's: carry the earlier ones in the model's check.
            METERS.forEach((m, i) => carried[i]!.forEach((n, k) => (lost[k]! -= n)));
          }
          for (const m of METERS) {
            let count = 0, oldest: number | undefined;
            for (let s = now - WINDOW_SLOTS - 2; s < now + 2; s++) {
              const want = missing.has(`${m}/${s}`);
              assert.equal(h.isMissing(m, s), want, `meter ${m} slot ${s - START}`);
              if (want) {
                count++;
                oldest ??= s;
              }
            }
            assert.equal(h.missingSlots(m), count);
            assert.equal(h.oldestMissing(m), oldest);
          }
          const totals = h.unrecoverableTotals();
          assert.equal(totals.notRecorded + totals.expired + totals.noProfile + totals.profileTooShort, lost.reduce((a, b) => a + b, 0));
          // Each meter's counts, as listed (meters with any, in row order) and as asked, add up to the totals.
          const listed: number[] = [], sums = [0, 0, 0, 0];
          h.forEachUnrecoverable((m, counts) => {
            listed.push(m);
            assert.deepEqual([...counts], h.unrecoverableOf(m));
            counts.forEach((n, k) => (sums[k]! += n));
          });
          assert.deepEqual(listed, METERS.filter((m) => h.unrecoverableOf(m).some((n) => n > 0)));
          assert.deepEqual(sums, [totals.noProfile, totals.profileTooShort, totals.notRecorded, totals.expired]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("give a new meter the slots since commissioning as missing, within the window", () => {
    const store = new MemoryStore();
    const h = new ProfileHoldings(store, START);
    for (let s = START; s < START + 10; s++) {
      h.held(1, s);
      h.accountUntil(s);
    }
    h.held(2, START + 10);
    assert.equal(h.missingSlots(2), 10);
    assert.equal(h.oldestMissing(2), START);
    assert.equal(h.missingSlots(1), 0);
  });
});

describe("profile catch-up: the R5 read", () => {
  /** The data sets of `lines` as the decoder delivers them from one block. */
  const dataSetsOf = (lines: string[]): DataSet[] => {
    const out: DataSet[] = [];
    const d = new D0Decoder({ onDataSet: (ds) => void out.push(ds), onMessage: () => undefined, onError: () => undefined });
    const body = "\x02" + lines.join("\r\n") + "\x03";
    let bcc = 0;
    for (let i = 1; i < body.length; i++) bcc ^= body.charCodeAt(i);
    d.push(Uint8Array.from([...body].map((c) => c.charCodeAt(0)).concat(bcc)));
    return out;
  };

  it("asks for a range of minutes and reads the rows the simulated module answers, with their status and exact values", () => {
    const cmd = readProfile(1_767_225_600, 1_767_229_200);
    assert.equal(new TextDecoder().decode(encodeCommand(cmd.letter, cmd.type, cmd.dataSet)).slice(1, -2), "R5\x02P.01(02601010000;02601010100)");
    assert.equal(parseStamp("02601010100"), 1_767_229_200);
    let wh = 1_234_567;
    const memory = new SimProfileMemory(4, [{ code: "1-1:1.8.0", value: () => wh }, { code: "1-2:2.8.0", value: () => wh * 2 }]);
    for (let k = 0; k < 6; k++) {
      memory.record(1_767_225_600 + k * 900, k === 3 ? 0x01 : 0);
      wh += 10;
    }
    // Depth 4: the first two rows are gone; a new header where the status changes.
    const lines = memory.answer(1_767_225_600, 1_767_230_100);
    assert.equal(lines.filter((l) => l.startsWith("P.01")).length, 3);
    const { rows, skipped } = profileRows(dataSetsOf(lines));
    assert.equal(skipped, 0);
    assert.deepEqual(rows.map((r) => r.moduleS - 1_767_225_600), [1800, 2700, 3600, 4500]);
    assert.deepEqual(rows.map((r) => r.status), [0, ReadingStatus.powerFailure, 0, 0]);
    assert.deepEqual(rows[0]!.values, [
      { channel: 1, register: registerCode(1, 8, 0), value: 1_234_587 },
      { channel: 2, register: registerCode(2, 8, 0), value: 2_469_174 },
    ]);
  });

  it("leaves out a row whose value does not read, and channels that are no energy register", () => {
    const lines = ["P.01(02601010000)(00)(15)(2)(1-1:1.8.0)(kWh)(1-1:0.9.1)()", "(0000001.000)(120000)", "(0000A01.000)(121500)", "(0000002.500)(123000)"];
    const { rows, skipped } = profileRows(dataSetsOf(lines));
    assert.equal(skipped, 1);
    assert.deepEqual(rows.map((r) => r.values.map((v) => v.value)), [[1000], [2500]]);
  });
});
