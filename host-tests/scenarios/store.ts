/**
 * Scenarios for firmware/store inside the engine: a small power-cut campaign (one workload step or
 * one recovery per turn), and a day of a 256-meter site on the 4 MiB log of a simulated board with
 * maintenance in turns of its own.
 */
import type { Hal } from "../../hal/index.js";
import { SimBoard } from "../../hal/sim/board.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { EventType, type Reading } from "../../firmware/model/records.js";
import { RecordLog } from "../../firmware/store/log.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { MonotonicCounter } from "../../firmware/store/counter.js";
import { StateLayout, STATE_KEY_COUNT } from "../../firmware/store/state-layout.js";
import { GEOMETRIES, RandomCampaign } from "../../tools/powercut/campaign.js";
import * as check from "../lib/check.js";
import type { Scenario } from "../lib/scenario.js";

const MINUTE = 60_000;

export const powerCutCampaign: Scenario = {
  name: "store: 40 random power cuts, each followed by recovery, checks and more workload",
  start(seed) {
    const s = new Scheduler();
    const c = new RandomCampaign({ seed: `xs/${seed}`, geometry: GEOMETRIES.small!, cuts: 40, maxGap: 60 });
    const tick = () => {
      if (c.step()) s.after(1, tick);
    };
    s.after(0, tick);
    return {
      scheduler: s,
      limitMs: 1e9,
      done: () => c.done,
      check() {
        const r = c.report();
        check.equal(r.cuts, 40, "cuts");
        check.deepEqual(r.failures, [], "violations");
        check.ok(r.appends > 100 && r.released > 50, "the workload ran between cuts");
      },
    };
  },
};

export const siteDay: Scenario = {
  name: "store: a day of 256 meters every 15 min on a 4 MiB log, drained hourly, erases in turns of their own",
  start(seed) {
    const s = new Scheduler();
    const board = new SimBoard(s, new Prng(seed));
    const appended: number[] = [];
    const released: number[] = [];
    let log: RecordLog | undefined;
    let counter: MonotonicCounter | undefined;
    board.onBoot((hal: Hal) => {
      const l = (log = RecordLog.open(hal.flash.log, { timers: hal.timers }));
      const journal = StateJournal.open(hal.flash.state, { keyCount: STATE_KEY_COUNT, timers: hal.timers });
      const c = (counter = new MonotonicCounter(journal, StateLayout.counters.base));
      const cursor = l.cursor();
      let k = 0;
      hal.timers.set(
        () => {
          const time = 1_767_225_600 + k * 900;
          const rs: Reading[] = [];
          for (let m = 0; m < 256; m++) rs.push({ meter: m, register: 0x010800, time, value: 3_000_000 + m * 977 + k * (60 + (m % 13) * 25), status: 0 });
          appended.push(...l.appendReadings(rs));
          if (k % 16 === 5) appended.push(l.appendEvent({ type: EventType.door, subject: 0xffff, time, alarm: k % 32 === 5, detail: k }));
          k++;
        },
        15 * MINUTE,
        15 * MINUTE,
      );
      // The uplink, hourly: one bounded batch per turn (a message), acknowledged by the head-end in
      // a later turn, until nothing is left.
      const sendBatch = () => {
        const b = cursor.next(16, 4096);
        if (b.length === 0) return;
        c.next();
        hal.timers.set(() => {
          l.acknowledge(b.map((r) => ({ first: r.seq, count: 1 })));
          released.push(...b.map((r) => r.seq));
          sendBatch();
        }, 2000);
      };
      hal.timers.set(sendBatch, 60 * MINUTE + 7 * MINUTE, 60 * MINUTE);
    });
    board.powerOn();
    return {
      scheduler: s,
      limitMs: 24 * 60 * MINUTE + 10 * MINUTE,
      done: () => false,
      check() {
        const l = log!;
        check.equal(appended.length > 96, true, "records appended");
        check.equal(l.stats.inlineMaintenance, 0, "maintenance steps inside an append");
        const left = new Set(appended.filter((q) => !released.includes(q)));
        const waiting = l.cursor().next(1000).map((r) => r.seq);
        check.deepEqual(waiting, [...left].sort((a, b) => a - b), "what the head-end has not acknowledged is still there");
        check.ok(counter!.peek() > 20, "message counter used");
      },
    };
  },
};

export const scenarios: Scenario[] = [powerCutCampaign, siteDay];
