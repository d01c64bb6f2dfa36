import assert from "node:assert/strict";
import fc from "fast-check";
import type { ExchangePort } from "../../firmware/bus/exchange.js";
import { DlmsSession } from "../../firmware/dlms/client/session.js";
import { newSessionCounters } from "../../firmware/dlms/client/types.js";
import { encodeClient, encodeServer, serverAddress } from "../../firmware/dlms/hdlc/address.js";
import { encodeFrame, type Frame } from "../../firmware/dlms/hdlc/frame.js";
import type { FrameResult } from "../../firmware/bus/types.js";
import { ReadScript, SequenceScript, type MeterRead } from "../../firmware/dlms/client/scripts.js";
import type { Endpoint, Script } from "../../firmware/dlms/client/types.js";
import { Attr, ClassId, Method } from "../../firmware/dlms/cosem/classes.js";
import { Obis, parseLogicalName } from "../../firmware/dlms/cosem/obis.js";
import { Tag } from "../../firmware/dlms/axdr/data.js";
import type { SimDlmsMeter } from "../../hal/sim/dlms/meter.js";
import { CLIENT_TITLE, dlmsRig, MemoryCounters, TEST_KEYS, type DlmsRig } from "../../tools/sim/dlms-rig.js";
import { SoftSha256 } from "../../hal/sim/sha256.js";

const HOUR = 3_600_000;
const ENERGY = [parseLogicalName("1.0.1.8.0.255")!, parseLogicalName("1.0.2.8.0.255")!];

function run<T>(rig: DlmsRig, meter: SimDlmsMeter, endpoint: Partial<Endpoint>, script: () => Script<T>, counters?: MemoryCounters): FrameResult<T> {
  let result: FrameResult<T> | undefined;
  rig.session(meter, endpoint, script, (r) => (result = r), counters);
  rig.scheduler.runUntilTrue(() => result !== undefined, 10 * 60_000);
  assert.ok(result, "the session ended");
  return result;
}

const readEnergy = () => new ReadScript({ registers: ENERGY.map((ln) => ({ ln, classId: 3 as const })) });

function energyOf(r: FrameResult<MeterRead>, meter: SimDlmsMeter): void {
  assert.ok(r.ok, JSON.stringify(r));
  const v = r.value.registers.get("1.0.1.8.0.255")!.value;
  assert.equal(v.unit, "Wh");
  // The meter sends value × 10^scaler: the text is exactly the register truncated to its resolution.
  const scaler = Number(v.text.length) && meter.objects.o.energyScaler;
  assert.equal(v.text, String(Math.floor(meter.meter.importWh() / 10 ** scaler) * 10 ** scaler));
  assert.equal(r.value.serial, meter.serial);
}

describe("dlms/session: association at every security level", () => {
  it("HLS-GMAC with suite 0: reads the registers exactly, both invocation counters advance", () => {
    const rig = dlmsRig("hls", { meters: 2 });
    rig.scheduler.runUntil(HOUR);
    const counters = new MemoryCounters();
    const meter = rig.meters[1]!;
    energyOf(run(rig, meter, {}, readEnergy, counters), meter);
    assert.ok(counters.client > 3, "the client's counter was used");
    assert.ok(counters.server > 1000, "the meter's counter was accepted");
    assert.equal(meter.app.lastClientIc, counters.client - 1, "the meter saw the client's last counter");
    assert.equal(rig.stats.replayed + rig.stats.authFailed, 0);
  });

  it("LLS with the right password reads; a wrong password is refused, not retried, and logged by the meter", () => {
    const rig = dlmsRig("lls", { meters: 1, meter: { management: { mechanism: "lls", password: "12345678" } } });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    const lls = (p: string): Partial<Endpoint> => ({ security: { level: "lls", password: Uint8Array.from(p, (c) => c.charCodeAt(0)) } });
    energyOf(run(rig, meter, lls("12345678"), readEnergy), meter);
    const wrong = run(rig, meter, lls("00000000"), readEnergy);
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.failure.code, "association-refused");
    assert.equal(wrong.attempts, 1, "a refused password is not tried again");
    assert.ok(meter.objects.logs.get("0.0.99.98.1.255")!.some((e) => e.code === 46), "failed login in the fraud log");
  });

  it("the public client (SAP 16, no security) reads; the meter refuses it a SET and an ACTION", () => {
    const rig = dlmsRig("public", { meters: 1 });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    const publicClient: Partial<Endpoint> = { clientSap: 16, security: { level: "none" } };
    energyOf(run(rig, meter, publicClient, readEnergy), meter);
    const dc = (index: number) => ({ classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index });
    const r = run(rig, meter, publicClient, () => new SequenceScript([{ kind: "set", ref: dc(Attr.controlMode), value: { tag: Tag.enum, value: 0 } }, { kind: "action", ref: dc(Method.remoteDisconnect), parameter: { tag: Tag.integer, value: 0 } }]));
    assert.ok(r.ok);
    assert.deepEqual(r.value.map((x) => (x.kind === "get" ? -1 : x.result)), [3, 3], "read-write-denied both");
    assert.equal(meter.relayConnected, true);
  });

  it("HLS with a wrong encryption key: the meter refuses the association; with a wrong authentication key too", () => {
    const rig = dlmsRig("keys", { meters: 1 });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    for (const keys of [{ ...TEST_KEYS, encryptionKey: new Uint8Array(16) }, { ...TEST_KEYS, authenticationKey: new Uint8Array(16).fill(7) }]) {
      const r = run(rig, meter, { security: { level: "hls", keys, clientSystemTitle: CLIENT_TITLE } }, readEnergy);
      assert.equal(!r.ok && r.failure.code, "association-refused");
    }
    assert.equal(meter.app.counters.refused, 2);
  });

  it("a meter answering with a used invocation counter is caught: nothing of the answer is used", () => {
    const rig = dlmsRig("replay", { meters: 1 });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    const counters = new MemoryCounters();
    energyOf(run(rig, meter, {}, readEnergy, counters), meter);
    meter.faults.replayCounter = true;
    const r = run(rig, meter, {}, readEnergy, counters);
    assert.equal(!r.ok && r.failure.code, "security");
    assert.ok(rig.stats.replayed >= 1);
  });

  it("a client counter the meter has seen already (another client used the key) is refused", () => {
    const rig = dlmsRig("stale", { meters: 1 });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    meter.app.lastClientIc = 5000;
    const r = run(rig, meter, {}, readEnergy, new MemoryCounters());
    assert.equal(!r.ok && r.failure.code, "association-refused");
    const fresh = new MemoryCounters();
    fresh.client = 5001;
    energyOf(run(rig, meter, {}, readEnergy, fresh), meter);
  });
});

describe("dlms/session: the registers' GET-with-list", () => {
  it("read in batches of any size, gives the same identity, values and refusals as in one request", () => {
    const rig = dlmsRig("batches", { meters: 1 });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    // Extended and demand registers (3 attributes each) and one the meter does not have (refused item by item).
    const registers = [
      { ln: parseLogicalName("1.0.1.8.0.255")!, classId: 3 as const },
      { ln: parseLogicalName("1.0.1.6.0.255")!, classId: 4 as const },
      { ln: parseLogicalName("1.0.99.9.9.255")!, classId: 3 as const },
      { ln: parseLogicalName("1.0.1.4.0.255")!, classId: 5 as const },
      { ln: parseLogicalName("1.0.2.8.0.255")!, classId: 3 as const },
    ];
    // What does not change from read to read (the values and clock move with time): which registers,
    // their units and whether they carry a capture time, the refusals, the identity.
    const read = (listSize: number) => {
      const r = run(rig, meter, {}, () => new ReadScript({ registers, listSize }));
      assert.ok(r.ok, JSON.stringify(r));
      const v = r.value;
      const values = [...v.registers].map(([name, x]) => [name, x.value.unit, x.captureS !== undefined]);
      return { serial: v.serial, clock: v.clock && v.clock.deviation, powerFailures: v.powerFailures, disconnect: v.disconnect, values, refused: [...v.refused], profiles: v.profiles };
    };
    const whole = read(32);
    assert.equal(whole.serial, meter.serial);
    assert.deepEqual(whole.refused, [["3/1.0.99.9.9.255/2", 4], ["3/1.0.99.9.9.255/3", 4]], "the missing register is refused item by item");
    assert.deepEqual(whole.values.map((x) => x[0]), ["1.0.1.8.0.255", "1.0.1.6.0.255", "1.0.1.4.0.255", "1.0.2.8.0.255"]);
    assert.deepEqual(whole.values.map((x) => x[2]), [false, true, true, false], "extended and demand registers with their capture time");
    fc.assert(fc.property(fc.integer({ min: 1, max: 17 }), (size) => assert.deepEqual(read(size), whole)), { numRuns: 8 });
  });
});

describe("dlms/session: profiles, blocks, control", () => {
  it("a day of load profile by range comes in data blocks, every row between the bounds, with its status and values", () => {
    const rig = dlmsRig("profile", { meters: 1 });
    rig.scheduler.runUntil(26 * HOUR);
    const meter = rig.meters[0]!;
    const now = Math.floor(meter.clockMs() / 1000);
    const from = now - 24 * 3600;
    const r = run(rig, meter, {}, () => new ReadScript({ identity: false, registers: [], ranges: [{ ln: Obis.loadProfile1, fromS: from, toS: now, deviation: 0 }] }));
    assert.ok(r.ok);
    const p = r.value.profiles[0]!;
    const truth = meter.objects.profile.filter((e) => e.t >= from && e.t <= now);
    assert.equal(p.rows.length, truth.length);
    assert.ok(truth.length >= 96);
    p.rows.forEach((row, i) => {
      assert.equal(row.timeS, truth[i]!.t);
      assert.equal((row.values[2] as { value: number }).value * 10 ** meter.objects.o.energyScaler, Math.floor(truth[i]!.import / 10 ** meter.objects.o.energyScaler) * 10 ** meter.objects.o.energyScaler);
    });
    assert.ok(rig.stats.bytesReceived > 3000, "more than one block");
  });

  it("a meter that drops the association in the middle of a profile: the session fails, the retry reads it whole", () => {
    const rig = dlmsRig("drop", { meters: 1 });
    rig.scheduler.runUntil(26 * HOUR);
    const meter = rig.meters[0]!;
    meter.faults.dropAfterBlocks = 2;
    const now = Math.floor(meter.clockMs() / 1000);
    const r = run(rig, meter, {}, () => new ReadScript({ identity: false, registers: [], ranges: [{ ln: Obis.loadProfile1, fromS: now - 86400, toS: now, deviation: 0 }] }));
    assert.ok(r.ok);
    assert.equal(r.attempts, 2);
    assert.ok(r.value.profiles[0]!.rows.length >= 96);
  });

  it("IC 70: remote disconnect opens the relay, remote reconnect in mode 1 leaves it ready for reconnection, the button closes it", () => {
    const rig = dlmsRig("ic70", { meters: 1, meter: { controlMode: 1 } });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    const dc = (index: number) => ({ classId: ClassId.disconnectControl, ln: Obis.disconnectControl, index });
    const act = (method: number) => () => new SequenceScript([{ kind: "action", ref: dc(method), parameter: { tag: Tag.integer, value: 0 } }, { kind: "get", refs: [dc(Attr.outputState), dc(Attr.controlState)] }]);
    const off = run(rig, meter, {}, act(Method.remoteDisconnect));
    assert.ok(off.ok);
    assert.equal(meter.relayConnected, false);
    assert.equal(meter.meter.supplied, false, "the consumer's supply follows the relay");
    const on = run(rig, meter, {}, act(Method.remoteReconnect));
    assert.ok(on.ok);
    assert.deepEqual(on.value[1], { kind: "get", results: [{ ok: true, data: { tag: Tag.boolean, value: false } }, { ok: true, data: { tag: Tag.enum, value: 2 } }] });
    assert.equal(meter.pressButton(), true);
    assert.equal(meter.relayConnected, true);
  });
});

describe("dlms/session: the wire", () => {
  it("mode E: the IEC 62056-21 sign-on at 300 Bd with the mode E acknowledgement, then HDLC at 9600 Bd", () => {
    const rig = dlmsRig("mode-e", { meters: 1, meter: { iecAddress: "12345678" } });
    rig.scheduler.runUntil(HOUR);
    const meter = rig.meters[0]!;
    energyOf(run(rig, meter, { modeE: { deviceAddress: "12345678" } }, readEnergy), meter);
  });

  it("meters on the same bus answer only their own address; another client's frames are not answered", () => {
    const rig = dlmsRig("multidrop", { meters: 4 });
    rig.scheduler.runUntil(HOUR);
    for (const m of rig.meters) energyOf(run(rig, m, {}, readEnergy), m);
    const foreign = rig.meters.reduce((n, m) => n + m.counters.foreign, 0);
    assert.ok(foreign > 0, "every meter saw the frames for the others and left them");
  });

  it("line noise (byte error rate 1e-3): frames are resent, every read still exact", () => {
    const rig = dlmsRig("noise", { meters: 2, noise: { flip: 1e-3 } });
    rig.scheduler.runUntil(HOUR);
    let ok = 0;
    for (let i = 0; i < 6; i++) {
      const m = rig.meters[i % 2]!;
      const r = run(rig, m, {}, readEnergy);
      if (r.ok) {
        energyOf(r, m);
        ok++;
      }
    }
    assert.ok(ok >= 5, `${ok} of 6 sessions`);
    assert.ok(rig.stats.frameRetransmissions + rig.stats.parseFailed > 0, "noise was met and recovered from");
  });
});

describe("dlms/session: robustness", () => {
  it("a meter at physical address 291 is reached with the 4-byte server address", () => {
    const rig = dlmsRig("far", { meters: 1, meter: { physical: 291 } });
    rig.scheduler.runUntil(HOUR);
    energyOf(run(rig, rig.meters[0]!, {}, readEnergy), rig.meters[0]!);
  });

  it("fuzz: random frames and bytes from the bus never throw out of a session, which ends in a typed failure or keeps waiting", () => {
    const server = encodeServer(serverAddress(1, 17));
    const client = encodeClient(1);
    const frame = fc.record({
      kind: fc.constantFrom<Frame["kind"]>("I", "RR", "UA", "DM", "FRMR", "SNRM"),
      sendSeq: fc.nat(7),
      receiveSeq: fc.nat(7),
      segmented: fc.boolean(),
      info: fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 80 }).map((b) => Uint8Array.from([0xe6, 0xe7, 0x00, ...b]))),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(frame.map((f) => encodeFrame({ ...f, destination: client, source: server, pollFinal: true })), fc.uint8Array({ maxLength: 40 })), { maxLength: 12 }), (inputs) => {
        const calls: string[] = [];
        const port: ExchangePort = {
          timing: { firstCharTimeoutMs: 1000, interCharTimeoutMs: 100, retries: 0, backoffMs: 1, resyncIdleChars: 10, maxBaud: 9600 },
          resetDecoder: () => undefined,
          send: (_b, _baud, then) => (calls.push("send"), then()),
          listen: () => calls.push("listen"),
          wait: (_ms, fn) => fn(),
          fail: (f) => calls.push(`fail:${f.code}`),
          succeed: () => calls.push("succeed"),
          hold: () => calls.push("hold"),
        };
        const crypto = { verifyEd25519: () => undefined, aesGcmSeal: () => undefined, aesGcmOpen: () => undefined, secretboxSeal: () => undefined, secretboxOpen: () => undefined, sha256: () => new SoftSha256() };
        const session = new DlmsSession(port, { server: serverAddress(1, 17), clientSap: 1, baud: 9600, security: { level: "lls", password: Uint8Array.of(1) } }, { crypto, random: { fill: () => undefined }, stats: newSessionCounters() }, readEnergy);
        session.start();
        for (const bytes of inputs) session.data(bytes);
        session.timeout();
        for (const c of calls) assert.ok(/^(send|listen|hold|succeed|fail:(link|malformed|association-refused|security|service-error|timeout))$/.test(c), c);
      }),
      { numRuns: 300 },
    );
  });
});
