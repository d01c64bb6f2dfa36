// The simulated bridge medium and remote node (hal/sim/bridge-medium.ts, bridge-remote.ts): what the
// firmware's adaptation is tested against must itself behave as documented.
import assert from "node:assert/strict";
import { PLC_PROFILE, RADIO_PROFILE, SimMedium, type TransferResult } from "../../hal/sim/bridge-medium.js";
import { SimRemoteNode, type RemoteAnswer } from "../../hal/sim/bridge-remote.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { populateBus } from "../../hal/sim/site.js";
import { encodeRelay, responseStatus } from "../../firmware/bridge/messages.js";
import { FrameDecoder, FrameType, encodeFrame, type Frame } from "../../firmware/bridge/protocol.js";
import { encodeRequest } from "../../firmware/d0/encoder.js";
import type { FrameAnswer } from "../../firmware/bus/types.js";
import { bridgeSite } from "../../tools/sim/bus-rig.js";

function network(seed: string, profile = PLC_PROFILE, startEpochMs = Date.UTC(2026, 0, 1)) {
  const s = new Scheduler();
  const medium = new SimMedium(s, new Prng(seed), { profile, startEpochMs });
  const nodes = [0, 1, 2].map((id) => {
    const d = new PowerDomain(s, `n${id}`);
    d.powerOn();
    medium.addNode(id, d);
    return d;
  });
  const a = medium.connect(0, 1, { snrDb: 14, fadeDb: 0 });
  const b = medium.connect(1, 2, { snrDb: 14, fadeDb: 0 });
  return { s, medium, nodes, a, b };
}

function transfer(n: ReturnType<typeof network>, bytes: number, rate: number, path = [0, 1, 2]): TransferResult & { ms: number } {
  let r: TransferResult | undefined;
  const t0 = n.s.now;
  n.medium.transfer(path, bytes, rate, (x) => (r = x));
  n.s.runUntilTrue(() => r !== undefined, 3_600_000);
  return { ...r!, ms: n.s.now - t0 };
}

describe("sim bridge medium", () => {
  it("lets fewer frames through as the SNR falls, and half the rate survives 3 dB (10·log10 2) less", () => {
    const { medium, a } = network("m1");
    const p = (db: number, rate: number) => (a.degrade(14 - db), medium.successProbability(a, 72, rate));
    assert.ok(p(13, 2400) > 0.98 && p(11, 2400) < 0.65 && p(10, 2400) < 0.2, `${p(13, 2400)} ${p(11, 2400)} ${p(10, 2400)}`);
    assert.ok(Math.abs(p(13 - 10 * Math.log10(2), 1200) - p(13, 2400)) < 1e-9, "3 dB less at half the rate is the same link");
  });

  it("takes the wire time of every frame and acknowledgement, hop by hop, on a clean link", () => {
    const n = network("m2");
    const r = transfer(n, 100, 2400);
    assert.ok(r.ok);
    assert.deepEqual([r.frames, r.tries], [4, 4], "2 frames of ≤ 64 bytes on each of 2 hops");
    const air = (2 * (PLC_PROFILE.frameOverheadBytes + PLC_PROFILE.ackBytes) * 8 + 100 * 8) / 2.4;
    const min = 2 * (air + 2 * 2 * PLC_PROFILE.hopLatencyMs);
    assert.ok(r.ms >= min && r.ms < min + 4 * PLC_PROFILE.hopJitterMs, `${r.ms} in [${min}, +jitter)`);
  });

  it("fails the hop to a repeater without power after the tries of its first frame", () => {
    const n = network("m3");
    n.nodes[1]!.powerOff("power-cut");
    const r = transfer(n, 100, 2400);
    assert.deepEqual([r.ok, !r.ok && r.hop, r.frames, r.tries], [false, 0, 0, PLC_PROFILE.triesPerFrame]);
    n.nodes[1]!.powerOn();
    n.b.setUp(false);
    const cut = transfer(n, 100, 2400);
    assert.deepEqual([cut.ok, !cut.ok && cut.hop], [false, 1], "a cut link fails the second hop");
  });

  it("gives the same outcomes and times for the same seed, other ones for another seed", () => {
    const outcomes = (seed: string) => {
      const n = network(seed);
      n.a.degrade(3);
      return Array.from({ length: 20 }, () => transfer(n, 300, 2400)).map((r) => `${r.ok}/${r.tries}/${r.ms.toFixed(3)}`).join(" ");
    };
    assert.equal(outcomes("m4"), outcomes("m4"));
    assert.notEqual(outcomes("m4"), outcomes("m5"));
  });

  it("fades the same however often it is asked, and costs PLC 3 dB in the evening only", () => {
    const make = () => {
      const s = new Scheduler();
      const m = new SimMedium(s, new Prng("fade"), { profile: PLC_PROFILE, startEpochMs: Date.UTC(2026, 0, 1) });
      const d = new PowerDomain(s, "d");
      m.addNode(0, d);
      m.addNode(1, d);
      return { s, m, link: m.connect(0, 1, { snrDb: 15 }) };
    };
    const often = make();
    const rarely = make();
    for (let t = 0; t <= 6 * 3_600_000; t += 60_000) {
      often.s.runUntil(t);
      often.m.snrDb(often.link);
    }
    rarely.s.runUntil(6 * 3_600_000);
    assert.equal(often.m.snrDb(often.link), rarely.m.snrDb(rarely.link));
    const n = make();
    const at = (h: number) => (n.s.runUntil(h * 3_600_000), Math.round(n.m.snrDb(n.link) - n.link.fadeAt(n.s.now)));
    assert.deepEqual([at(16), at(18), at(22), at(23)], [15, 12, 12, 15]);
    const radio = new SimMedium(new Scheduler(), new Prng("r"), { profile: RADIO_PROFILE });
    assert.equal(RADIO_PROFILE.eveningNoiseDb, 0);
    assert.ok(radio.profile.ratesBps[0]! < PLC_PROFILE.ratesBps[0]!, "radio is slower than PLC");
  });
});

describe("sim bridge remote node", () => {
  function node(seed: string) {
    const s = new Scheduler();
    const prng = new Prng(seed);
    const n = new SimRemoteNode({ scheduler: s, prng, id: 100 });
    const [module] = populateBus({ scheduler: s, prng, bus: n.segment, count: 1 });
    const step = (d0: string, baud: number, extra: Partial<Parameters<SimRemoteNode["execute"]>[0]> = {}) => {
      let a: RemoteAnswer | undefined;
      const send = Uint8Array.from(d0, (c) => c.charCodeAt(0));
      n.execute({ send, sendBaud: baud, listen: true, listenBaud: baud, signOn: false, maxBaud: 9600, firstByteMs: 1600, ...extra }, (x) => (a = x));
      s.runUntilTrue(() => a !== undefined, 120_000);
      return { ...a!, text: String.fromCharCode(...a!.bytes) };
    };
    return { s, n, module: module!, step };
  }

  it("relays a mode D readout whole, ended by 10 quiet characters", () => {
    const { module, step } = node("n1");
    const a = step(`/?${module.address}!\r\n`, 2400);
    assert.equal(a.status, "ok");
    assert.match(a.text, /^\/...3.*\r\n\r\n0-0:C\.1\.0\(.*!\r\n$/s);
    assert.ok(a.text.includes(`0-0:0.0.0(${module.address})`));
  });

  it("says 'no answer' when the module sends nothing within the first-byte time", () => {
    const { step } = node("n2");
    const a = step("/?99999999!\r\n", 2400, { firstByteMs: 800 });
    assert.deepEqual([a.status, a.bytes.length], ["no-answer", 0]);
  });

  it("answers the identification with the option select at sign-on, and returns the P0 that follows", () => {
    const { module, step } = node("n3");
    const a = step(`/?${module.address}!\r\n`, 300, { signOn: true });
    const z = module.identity.sessionBaudChar ?? "5";
    assert.equal(a.signOnBaudChar, z);
    assert.match(a.text.slice(0, a.split), new RegExp(`^/...${z}.*\\r\\n$`));
    assert.equal(a.text.slice(a.split), `\x01P0\x02(${module.serial})\x03${String.fromCharCode(bcc(`P0\x02(${module.serial})\x03`))}`);
  });

  it("signs on with Z = 0 (stays at 300 Bd) when the module's rate is above the highest allowed", () => {
    const { module, step } = node("n4");
    const a = step(`/?${module.address}!\r\n`, 300, { signOn: true, maxBaud: 1200 });
    assert.equal(a.signOnBaudChar, "0");
    assert.ok(a.text.slice(a.split).startsWith("\x01P0\x02("));
  });
});

function bcc(text: string): number {
  let x = 0;
  for (let i = 0; i < text.length; i++) x ^= text.charCodeAt(i);
  return x;
}

describe("sim bridge: relays", () => {
  it("starts a RELAY repeated with the same sequence number and payload once, and is busy for another one meanwhile", () => {
    const site = bridgeSite("b1", { bridges: [{ kind: "plc", address: 7, modules: 2 }] });
    const sim = site.bridges[0]!.sim;
    const relay = (seq: number, module: number) =>
      encodeFrame({
        address: 7,
        response: false,
        type: FrameType.relay,
        seq,
        payload: encodeRelay({ node: sim.remotes[module]!.node.id, rateIndex: 0, path: [...sim.remotes[module]!.primary], listen: true, signOn: false, sendBaud: 2400, listenBaud: 2400, maxBaud: 9600, firstByteMs: 1600, deadlineMs: 60_000, d0: encodeRequest(sim.remotes[module]!.module.address) }),
      });
    const statuses: string[] = [];
    for (const request of [relay(5, 0), relay(5, 0), relay(6, 1)]) site.master.enqueueFrame({ kind: "frame", address: "test", baud: 9600, request, answer: anyFrame(), onDone: (r) => statuses.push(r.ok ? String(responseStatus(r.value.payload)) : r.failure.code) });
    site.scheduler.runFor(1000);
    assert.deepEqual(statuses, ["ok", "ok", "busy"]);
    assert.equal(sim.bridge.counters.relays, 1, "started once");
  });
});

/** A frame transaction's answer that takes the first sound frame. */
function anyFrame(): FrameAnswer<Frame> {
  let frame: Frame | undefined;
  const decoder = new FrameDecoder({ onFrame: (f) => (frame ??= f), onError: () => undefined });
  return {
    reset: () => ((frame = undefined), decoder.reset()),
    push: (bytes) => (decoder.push(bytes), frame ? { ok: true, value: frame } : undefined),
  };
}
