import assert from "node:assert/strict";
import { EventManager } from "../../firmware/events/event-manager.js";
import { EventType, type MeterEvent } from "../../firmware/model/records.js";
import { SimClock, SimRtc } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";

const START_MS = Date.UTC(2026, 5, 1);

function rig() {
  const s = new Scheduler();
  const domain = new PowerDomain(s, "mc");
  domain.powerOn();
  const stored: MeterEvent[] = [];
  const events = new EventManager({ sink: { append: (e) => stored.push(e) }, clock: new SimClock(domain), wallClock: new SimRtc(domain, { startEpochMs: START_MS, driftPpm: 0 }) });
  return { events, stored };
}

describe("event manager", () => {
  it("stores a pulse with the time it happened when that is within the last year, else with now", () => {
    const nowS = START_MS / 1000;
    const cases: Array<[number | undefined, number]> = [
      [undefined, nowS],
      [nowS - 3600, nowS - 3600],
      [nowS - 364 * 86_400, nowS - 364 * 86_400],
      [nowS + 60, nowS], // a module clock ahead of ours
      [nowS - 2 * 365 * 86_400, nowS], // a module clock reset to an old date
    ];
    for (const [i, [timeS, expected]] of cases.entries()) {
      const r = rig();
      assert.equal(r.events.pulse(EventType.tamper, i + 1, 0, timeS), true);
      assert.equal(r.stored[0]!.time, expected, `time ${timeS}`);
    }
  });
});
