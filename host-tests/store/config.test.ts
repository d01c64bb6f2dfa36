import assert from "node:assert/strict";
import { ChangeResult, ChangeSource } from "../../firmware/store/audit.js";
import { ConfigStore, type ConfigSchema } from "../../firmware/store/config.js";
import { InvalidKeyError } from "../../firmware/store/errors.js";
import { RecordLog } from "../../firmware/store/log.js";
import { decodeRecord } from "../../firmware/store/record-codec.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { SimRtc } from "../../hal/sim/clock.js";
import { simFlash, T0 } from "./fixtures.js";

const SCHEMA: ConfigSchema = {
  pollIntervalS: { type: "int", key: 0, default: 900, min: 60, max: 86_400 },
  apn: { type: "text", key: 1, default: "internet", maxLength: 32 },
  tariff: { type: "int", key: 2, default: 0, min: 0, max: 4, writableBy: [ChangeSource.headEnd] },
};

function setup() {
  const state = simFlash(8, 4096, "state");
  const logRig = simFlash(16, 4096, "log");
  const clock = new SimRtc(state.domain, { startEpochMs: T0 * 1000 });
  const open = () => {
    const journal = StateJournal.open(state.flash);
    const log = RecordLog.open(logRig.flash);
    return { journal, log, config: new ConfigStore({ journal, log, schema: SCHEMA, wallClock: clock }) };
  };
  return { open, clock };
}

describe("store: configuration with an audit trail", () => {
  it("applies a valid change and audits it with time, source, old and new value", () => {
    const { open } = setup();
    const { config } = open();
    assert.equal(config.get("pollIntervalS"), 900);
    const e = config.set("pollIntervalS", "300", ChangeSource.console);
    assert.deepEqual(e, { number: 1, time: T0, timeValid: true, source: ChangeSource.console, name: "pollIntervalS", oldValue: "900", newValue: "300", result: ChangeResult.applied });
    assert.equal(config.get("pollIntervalS"), 300);
    assert.equal(open().config.get("pollIntervalS"), 300);
  });

  it("audits refused changes and changes nothing: invalid value, unknown name, source not allowed", () => {
    const { open } = setup();
    const { config } = open();
    assert.equal(config.set("pollIntervalS", 5, ChangeSource.headEnd).result, ChangeResult.invalid);
    assert.equal(config.set("apn", "caf\u00e9", ChangeSource.local).result, ChangeResult.invalid);
    assert.equal(config.set("colour", "red", ChangeSource.console).result, ChangeResult.unknown);
    assert.equal(config.set("tariff", 2, ChangeSource.console).result, ChangeResult.denied);
    assert.equal(config.set("tariff", 2, ChangeSource.headEnd).result, ChangeResult.applied);
    assert.deepEqual([config.get("pollIntervalS"), config.get("apn"), config.get("tariff")], [900, "internet", 2]);
    assert.deepEqual(
      open().config.history().map((e) => [e.number, e.name, e.result]),
      [
        [1, "pollIntervalS", ChangeResult.invalid],
        [2, "apn", ChangeResult.invalid],
        [3, "colour", ChangeResult.unknown],
        [4, "tariff", ChangeResult.denied],
        [5, "tariff", ChangeResult.applied],
      ],
    );
    assert.throws(() => config.get("colour"), InvalidKeyError);
  });

  it("keeps the last entries of the trail and numbers them without repeats across reboots", () => {
    const { open } = setup();
    for (let i = 0; i < 70; i++) open().config.set("apn", `apn${i}`, ChangeSource.headEnd);
    const h = open().config.history();
    assert.equal(h.length, 63);
    assert.deepEqual([h[0]!.number, h[62]!.number, h[62]!.newValue], [8, 70, "apn69"]);
  });

  it("copies every entry into the log once for the head-end", () => {
    const { open } = setup();
    const { config, log } = open();
    config.set("apn", "m2m", ChangeSource.headEnd);
    config.set("pollIntervalS", 1, ChangeSource.console);
    open();
    const audits = log.cursor().next(10).map((r) => decodeRecord(r)).filter((d) => d.kind === "audit");
    assert.deepEqual(audits.map((d) => d.kind === "audit" && [d.entry.number, d.entry.result]), [
      [1, ChangeResult.applied],
      [2, ChangeResult.invalid],
    ]);
  });

  it("records that the wall clock was not set", () => {
    const { open, clock } = setup();
    const rtc = new SimRtc(simFlash().domain);
    const { journal, log } = open();
    const e = new ConfigStore({ journal, log, schema: SCHEMA, wallClock: rtc }).set("apn", "x", ChangeSource.local);
    assert.equal(e.timeValid, false);
    assert.equal(clock.valid, true);
  });
});
