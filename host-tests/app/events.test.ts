// Events of the modules as the whole concentrator raises them: from the status a readout shows and
// from the module's own event log (read at the daily billing point), debounced, one alarm per
// happening, alarms marked.
import assert from "node:assert/strict";
import { readRelay } from "../../firmware/bus/local-module.js";
import { CONCENTRATOR, EventType } from "../../firmware/model/records.js";
import { SimMeter } from "../../hal/sim/meters.js";
import { addModule, calmSite, eventsOf, firmware, handheld, HOUR, MINUTE, play, POLL_MS, ProbeMeter, afterDiscovery, stored } from "../lib/core-rig.js";

const DAY = 24 * HOUR;

describe("core: events", () => {
  it("raises one alarm per tamper, door, battery or password happening, whether a readout saw it or only the module's log, and a voltage excursion once", () => {
    const site = calmSite("events", { modules: 4 });
    const w = site.world;
    const s = w.scheduler;
    const [m1, m2] = w.local[0]!;
    const [m3, m4] = w.local[1]!;
    const probe = new ProbeMeter(new SimMeter({ serial: "44440001", kind: "serial", meanPowerW: 500, prng: w.prng.fork("probe") }));
    const m5 = addModule(site, 0, { address: String(10_000_001 + 5), serial: "88880005", meters: [probe] });
    const tool = handheld(site, 0);
    let wrongPasswords = 0;
    const slot = (minute: number) => s.now % POLL_MS >= minute * MINUTE && s.now % POLL_MS < (minute + 1) * MINUTE;
    const script = afterDiscovery(site, 5)
      .when("a quiet minute of a slot", () => slot(5) && s.now > HOUR)
      // Seen by the next readout (the tamper stays open 40 minutes).
      .do("m1 tamper opens", () => m1!.setTamper(true))
      .wait(40 * MINUTE, "40 minutes", () => m1!.setTamper(false))
      .when("a quiet minute of a slot", () => slot(5))
      // Open 15 minutes: across exactly one readout.
      .do("m2 door opens", () => m2!.setDoor(true))
      .wait(15 * MINUTE, "15 minutes", () => m2!.setDoor(false))
      .when("a quiet minute of a slot", () => slot(5))
      // A chattering contact between two readouts: only the module's log has it.
      .do("m3 tamper chatters", () => {
        for (let i = 0; i < 5; i++) {
          s.after(i * 60_000, () => m3!.setTamper(true));
          s.after(i * 60_000 + 20_000, () => m3!.setTamper(false));
        }
      })
      .do("m4's battery goes flat", () => m4!.setBattery(false))
      .do("the voltage at m5's meter falls out of band for an hour", () => (probe.voltageOverride = 1950))
      .wait(HOUR, "an hour", () => (probe.voltageOverride = undefined))
      .when("a quiet minute of a slot", () => slot(7))
      .do("someone tries passwords at m1 with a hand-held terminal", () => {
        const attempt = (n: number) =>
          tool.enqueue({ kind: "session", address: m1!.address, password: "12345678", commands: [readRelay()], priority: 0, onDone: (r) => {
            if (!r.ok && (r.failure.code === "password-refused" || r.failure.code === "locked-out")) wrongPasswords++;
            if (n > 1) attempt(n - 1);
          } });
        attempt(3);
      })
      // The module logs are read at the billing point (midnight) and raise what the readouts missed.
      .when("the second billing point has passed", () => s.now > DAY + HOUR);
    play(site, script, 2 * DAY);

    assert.equal(wrongPasswords, 3, "the terminal's three attempts were refused");
    const c = firmware(site);
    const st = stored(c);
    const n = (m: typeof m1) => site.moduleNumber(m!)!;
    const one = (type: number, subject: number, what: string, alarm = true) => {
      const list = eventsOf(st, type, subject);
      assert.equal(list.length, 1, `${what}: ${JSON.stringify(list)}`);
      assert.equal(list[0]!.alarm, alarm, `${what} is ${alarm ? "" : "not "}an alarm`);
    };
    one(EventType.tamper, n(m1), "m1 tamper (seen by a readout, and in the log)");
    one(EventType.door, n(m2), "m2 door open across one readout");
    one(EventType.tamper, n(m3), "m3 chattering tamper (only in the log)");
    one(EventType.batteryLow, n(m4), "m4 battery low (status and log)");
    one(EventType.passwordGuessing, n(m1), "password guessing at m1 (only in the log)");
    const meter = [...c.topology.module(n(m5))!.meters.values()][0]!;
    one(EventType.voltageOutOfBand, meter, "voltage out of band at m5's meter", false);
    assert.equal(eventsOf(st, EventType.voltageOutOfBand, meter)[0]!.detail, 1950);
    assert.ok(c.events.counters.suppressed > 0, "repeats were counted, not raised");
    for (const m of [m2, m3, m4, m5]) assert.equal(eventsOf(st, EventType.tamper, n(m)).length + eventsOf(st, EventType.door, n(m)).length, m === m2 || m === m3 ? 1 : 0, "nothing raised for modules where nothing happened");
  });
});

describe("core: module logs across a concentrator outage", () => {
  it("raises once, with the module's time, a tamper a module logged while the concentrator was off", () => {
    const site = calmSite("events-outage", { modules: 2 });
    const w = site.world;
    const s = w.scheduler;
    const m1 = w.local[0]![0]!;
    let wallOffsetMs = 0;
    let tamperS = 0;
    const tampers = () => eventsOf(stored(firmware(site)), EventType.tamper, site.moduleNumber(m1)!);
    const script = afterDiscovery(site, 2)
      .when("past the first billing point: every module's log has been read", () => s.now > DAY + HOUR)
      .do("the concentrator loses power", () => {
        wallOffsetMs = w.board.rtc.now() - s.now;
        w.board.cutPower();
      })
      .wait(10 * MINUTE, "ten minutes", () => {
        tamperS = Math.floor((wallOffsetMs + s.now) / 1000);
        m1.setTamper(true);
      })
      .wait(MINUTE, "a minute", () => m1.setTamper(false))
      .wait(30 * MINUTE, "half an hour off", () => w.board.powerOn())
      .within(POLL_MS + 10 * MINUTE, "the tamper is raised at the first readout after the boot", () => tampers().length === 1)
      .wait(DAY, "a day more, through the next billing point's log read");
    play(site, script, 4 * DAY);
    const list = tampers();
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.equal(list[0]!.alarm, true);
    assert.ok(Math.abs(list[0]!.time - tamperS) <= 30, `the module's time ${list[0]!.time}, the tamper at ${tamperS}`);
  });
});

describe("core: the concentrator's cabinet", () => {
  it("raises one alarm when its door stays open past the debounce time, nothing for a bounce, and one for a cabinet already open at boot", () => {
    const site = calmSite("cabinet", { modules: 2 });
    const b = site.world.board;
    const script = afterDiscovery(site, 2)
      .do("the door bounces for half a second", () => b.door.drive(1))
      .wait(500, "half a second", () => b.door.drive(0))
      .wait(MINUTE, "a minute", () => b.door.drive(1))
      .wait(MINUTE, "the door stays open a minute", () => b.door.drive(0))
      .wait(10 * MINUTE, "ten minutes", () => b.tamper.drive(1))
      .do("the concentrator restarts with the tamper switch open", () => b.cutPower())
      .wait(MINUTE, "a minute off", () => b.powerOn())
      .wait(MINUTE, "a minute after the boot");
    play(site, script, 2 * HOUR);
    const st = stored(firmware(site));
    const door = eventsOf(st, EventType.door, CONCENTRATOR);
    const tamper = eventsOf(st, EventType.tamper, CONCENTRATOR);
    assert.equal(door.length, 1, "one door alarm, none for the bounce");
    assert.ok(door[0]!.alarm);
    assert.equal(tamper.length, 1, "the tamper switch found open at boot");
  });
});
