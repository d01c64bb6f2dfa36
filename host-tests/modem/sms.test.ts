import assert from "node:assert/strict";
import { AppKind, APP_IEI } from "../../firmware/modem/sms/app-header.js";
import { MAX_SMS_PAYLOAD, SmsError, type OutgoingSms, type SmsState } from "../../firmware/modem/sms/channel.js";
import { gsm7Text } from "../../firmware/modem/sms/gsm7.js";
import { gsm7Septets, type SimModemFamily } from "../../hal/sim/modem/index.js";
import { CONCENTRATOR_NUMBER, HEADEND_NUMBER, STRANGER_NUMBER, autoConfirm, modemRig, pattern, type Rig, type RigOptions } from "../../tools/sim/modem-rig.js";

const MINUTE = 60_000;

function smsRig(family: SimModemFamily, options: Partial<RigOptions> = {}): Rig {
  const rig = modemRig({ family, seed: `sms-${family}`, ...options });
  assert.ok(rig.until(() => rig.fw.sms.ready, 2 * MINUTE), "SMS ready");
  return rig;
}

const statesOf = (rig: Rig, m: OutgoingSms): SmsState[] => rig.smsStates.filter((e) => e.id === m.id).map((e) => e.state);
const settled = (m: OutgoingSms) => () => m.state === "processed" || m.state === "failed";
const command = (ref: number, data = [0x01]) => ({ data: new Uint8Array(data), header: [{ id: APP_IEI, data: new Uint8Array([AppKind.dataConfirm, ref >> 8, ref & 0xff]) }] });
const confirmationsAt = (rig: Rig) => rig.headend.received.filter((m) => m.header.some((h) => h.id === APP_IEI && h.data[0] === AppKind.confirmation));

for (const family of ["sim800", "quectel"] as const) {
  describe(`SMS channel (${family})`, () => {
    it("reports 'undeliverable' when the recipient cannot be reached (TP-ST 0x43)", () => {
      const rig = smsRig(family);
      const m = rig.fw.sms.send("+40711111111", pattern(10));
      rig.until(settled(m), 5 * MINUTE);
      assert.deepEqual(statesOf(rig, m), ["sent", "accepted", "failed"]);
      assert.equal(m.failure, "undeliverable");
      assert.equal(m.deliveryStatus, 0x43);
    });

    it("submits again when the service centre refuses, and gives up as 'rejected' after three attempts", () => {
      const rig = smsRig(family);
      rig.smsc.rejectSubmissions(3, 500);
      const m = rig.fw.sms.send(HEADEND_NUMBER, pattern(10));
      rig.until(settled(m), 5 * MINUTE);
      assert.deepEqual(statesOf(rig, m), ["sent", "queued", "sent", "queued", "sent", "failed"]);
      assert.equal(m.failure, "rejected");
      assert.equal(m.attempts, 3);
    });

    it("does not repeat a submission refused for good (+CMS ERROR: 304)", () => {
      const rig = smsRig(family);
      rig.smsc.rejectSubmissions(1, 304);
      const m = rig.fw.sms.send(HEADEND_NUMBER, pattern(10));
      rig.until(settled(m), 5 * MINUTE);
      assert.equal(m.failure, "rejected");
      assert.equal(m.attempts, 1);
    });

    it("fails as 'unconfirmed' when the receiver never confirms in time", () => {
      const rig = smsRig(family, { firmware: { sms: { whitelist: [HEADEND_NUMBER], confirmTimeoutMs: 2 * MINUTE } } });
      const m = rig.fw.sms.send(HEADEND_NUMBER, pattern(10));
      rig.until(settled(m), 10 * MINUTE);
      assert.equal(m.state, "failed");
      assert.equal(m.failure, "unconfirmed");
      assert.equal(m.deliveryStatus, 0, "it was delivered, just never confirmed");
    });

    it("takes a confirmation that comes before the status report as 'processed'; the late report changes nothing", () => {
      const rig = smsRig(family);
      autoConfirm(rig.headend);
      rig.smsc.holdReports = true;
      const m = rig.fw.sms.send(HEADEND_NUMBER, pattern(10));
      rig.until(settled(m), 5 * MINUTE);
      assert.equal(m.state, "processed");
      rig.smsc.releaseReports();
      rig.scheduler.runFor(MINUTE);
      assert.deepEqual(statesOf(rig, m), ["sent", "accepted", "processed"]);
    });

    it("ends at 'received' for a message sent without a confirmation request", () => {
      const rig = smsRig(family);
      autoConfirm(rig.headend);
      const m = rig.fw.sms.send(HEADEND_NUMBER, pattern(10), { confirm: false });
      rig.until(() => m.state === "received", 5 * MINUTE);
      rig.scheduler.runFor(MINUTE);
      assert.deepEqual(statesOf(rig, m), ["sent", "accepted", "received"]);
      assert.deepEqual(Array.from(rig.headend.received[0]!.header[0]!.data), [AppKind.data, m.id >> 8, m.id & 0xff]);
    });

    it("holds messages queued while the modem is not registered and sends them once it is", () => {
      const rig = modemRig({ family, seed: "sms-early" });
      autoConfirm(rig.headend);
      rig.scheduler.runFor(1000);
      const m = rig.fw.sms.send(HEADEND_NUMBER, pattern(10));
      assert.equal(m.state, "queued");
      rig.until(settled(m), 5 * MINUTE);
      assert.equal(m.state, "processed");
    });

    it("keeps a message's reference when a modem reset interrupts it, so the receiver can drop the repeat", () => {
      const rig = smsRig(family);
      autoConfirm(rig.headend);
      const m = rig.fw.sms.send(HEADEND_NUMBER, pattern(10));
      rig.until(() => m.state === "sent", MINUTE);
      rig.modem.reboot();
      rig.until(settled(m), 10 * MINUTE);
      assert.equal(m.state, "processed");
      const refs = rig.headend.received.map((s) => s.header[0]!.data[2]);
      assert.ok(refs.length >= 1 && refs.every((r) => r === (m.id & 0xff)), "every copy carries the same reference");
    });

    it("hands a whitelisted command over once, drops its repeat and confirms it again", () => {
      const rig = smsRig(family);
      rig.headend.send(CONCENTRATOR_NUMBER, command(5, [9, 9]));
      rig.until(() => confirmationsAt(rig).length === 1, 5 * MINUTE);
      rig.headend.send(CONCENTRATOR_NUMBER, command(5, [9, 9]));
      rig.until(() => confirmationsAt(rig).length === 2, 5 * MINUTE);
      assert.equal(rig.incoming.length, 1);
      assert.deepEqual(Array.from(rig.incoming[0]!.data), [9, 9]);
      assert.equal(rig.fw.sms.counters.duplicates, 1);
    });

    it("drops and deletes messages from numbers not on the whitelist, counting them", () => {
      const rig = smsRig(family);
      rig.smsc.phone(STRANGER_NUMBER).send(CONCENTRATOR_NUMBER, command(7));
      rig.smsc.phone("0722000111").send(CONCENTRATOR_NUMBER, command(8));
      rig.until(() => rig.fw.sms.counters.rejectedSenders === 2 && rig.modem.storedMessages === 0, 5 * MINUTE);
      assert.equal(rig.incoming.length, 0);
      assert.equal(rig.smsc.counters.delivered, 2);
      assert.equal(confirmationsAt(rig).length, 0, "nothing is sent back");
    });

    it("reads the messages that arrived while it was not listening (AT+CMGL at start)", () => {
      const rig = smsRig(family);
      rig.fw.stop();
      rig.headend.send(CONCENTRATOR_NUMBER, command(11));
      rig.until(() => rig.modem.storedMessages === 1, 5 * MINUTE);
      rig.fw.start();
      rig.until(() => rig.incoming.length === 1 && rig.modem.storedMessages === 0, 5 * MINUTE);
      assert.equal(rig.incoming[0]!.ref, 11);
    });

    it("reads a full-length message intact while every modem read waits behind a 40 ms turn (RTS/CTS)", () => {
      const rig = smsRig(family, { lateReadMs: 40 });
      const data = pattern(MAX_SMS_PAYLOAD);
      rig.headend.send(CONCENTRATOR_NUMBER, command(21, Array.from(data)));
      rig.until(() => rig.incoming.length === 1 && rig.modem.storedMessages === 0, 5 * MINUTE);
      assert.deepEqual(Array.from(rig.incoming[0]!.data), Array.from(data));
      assert.equal(rig.board.modemUart.rxOverruns, 0);
    });

    it("reads a message again when the answer to AT+CMGR is lost, instead of deleting it unread", () => {
      const rig = smsRig(family);
      rig.headend.send(CONCENTRATOR_NUMBER, command(22, [7, 7, 7]));
      assert.ok(rig.until(() => rig.modem.storedMessages === 1, 5 * MINUTE));
      const commands = rig.modem.counters.commands;
      assert.ok(rig.until(() => rig.modem.counters.commands > commands, MINUTE), "AT+CMGR reached the modem");
      rig.link.connected = false; // its answer goes nowhere
      rig.scheduler.runFor(2_000);
      rig.link.connected = true;
      rig.until(() => rig.incoming.length === 1 && rig.modem.storedMessages === 0, 5 * MINUTE);
      assert.deepEqual(Array.from(rig.incoming[0]!.data), [7, 7, 7]);
      assert.equal(rig.fw.sms.counters.malformed, 0);
    });

    it("cannot read that message on a board without RTS/CTS, and drops it as malformed after three reads (the control case)", () => {
      const rig = smsRig(family, { lateReadMs: 40, flowControl: false });
      rig.headend.send(CONCENTRATOR_NUMBER, command(21, Array.from(pattern(MAX_SMS_PAYLOAD))));
      rig.until(() => rig.smsc.counters.delivered === 1 && rig.modem.storedMessages === 0, 5 * MINUTE);
      assert.ok(rig.board.modemUart.rxOverruns > 0);
      assert.equal(rig.incoming.length, 0);
      assert.equal(rig.fw.sms.counters.malformed, 1, "dropped as malformed, never handed over damaged");
    });

    it("hands over a 7-bit text from a whitelisted phone as septets, without a reference", () => {
      const rig = smsRig(family);
      rig.headend.send(CONCENTRATOR_NUMBER, { data: gsm7Septets("WAKE UP"), alphabet: "gsm7" });
      rig.until(() => rig.incoming.length === 1, 5 * MINUTE);
      assert.equal(rig.incoming[0]!.alphabet, "gsm7");
      assert.equal(gsm7Text(rig.incoming[0]!.data), "WAKE UP");
      assert.equal(rig.incoming[0]!.ref, undefined);
    });
  });
}

describe("SMS channel: bad input", () => {
  it("refuses a bad number, a payload over the limit and a full queue with typed errors", () => {
    const rig = modemRig({ family: "sim800", seed: "sms-input" });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof SmsError);
        return e.code;
      }
      return "none";
    };
    assert.equal(code(() => rig.fw.sms.send("+40 722", new Uint8Array(1))), "bad-number");
    assert.equal(code(() => rig.fw.sms.send(HEADEND_NUMBER, new Uint8Array(MAX_SMS_PAYLOAD + 1))), "too-long");
    for (let i = 0; i < 8; i++) rig.fw.sms.send(HEADEND_NUMBER, new Uint8Array(MAX_SMS_PAYLOAD));
    assert.equal(code(() => rig.fw.sms.send(HEADEND_NUMBER, new Uint8Array(1))), "queue-full");
  });

  it("refuses an invalid whitelist at construction", () => {
    assert.throws(() => modemRig({ family: "sim800", seed: "x", firmware: { sms: { whitelist: ["not a number"] } } }), RangeError);
  });
});
