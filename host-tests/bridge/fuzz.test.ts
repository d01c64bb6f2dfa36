// Random-input campaigns for the bridge protocol (style habit 8): the frame decoder and the payload
// parsers of firmware/bridge, and the simulated bridge's receiver. The only pass is "no throw, state
// consistent": every input ends, what is reported keeps its contract, and a valid frame right after
// any input is still understood.
import assert from "node:assert/strict";
import fc from "fast-check";
import { BusMaster } from "../../firmware/bus/bus-master.js";
import { BridgeClient, type Answer } from "../../firmware/bridge/client.js";
import { parseEntry, parseInfo, parseOutcome, type BridgeInfo } from "../../firmware/bridge/messages.js";
import { ESC, FrameDecoder, SOF, encodeFrame, type Frame, type FrameError } from "../../firmware/bridge/protocol.js";
import { populateBridge } from "../../hal/sim/bridge-site.js";
import { CharTransceiver } from "../../hal/sim/char-transceiver.js";
import { SimClock } from "../../hal/sim/clock.js";
import { SimDigitalOutput } from "../../hal/sim/digital.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Rs485Bus } from "../../hal/sim/rs485-bus.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { SimUart } from "../../hal/sim/uart.js";

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 100_000);

/** Bytes that steer the decoder: SOF, escape, plausible addresses and lengths. */
const INTERESTING = [SOF, SOF, ESC, 0x5e, 0x5d, 0x01, 0x07, 0x00, 0xff, 0x80, 0x84];

function randomFrame(p: Prng): Uint8Array {
  const payload = new Uint8Array(p.int(p.chance(0.1) ? 256 : 24));
  p.fill(payload);
  return encodeFrame({ address: 1 + p.int(254), response: p.chance(0.5), type: p.int(128), seq: p.int(256), payload });
}

function mutate(p: Prng, base: Uint8Array): Uint8Array {
  const out = Array.from(base);
  for (let i = 1 + p.int(4); i > 0; i--) {
    const at = p.int(out.length + 1);
    if (p.chance(0.3)) out.splice(at, 1);
    else if (p.chance(0.5)) out.splice(at, 0, INTERESTING[p.int(INTERESTING.length)]!);
    else out[at] = (out[at] ?? 0) ^ (1 << p.int(8));
  }
  return Uint8Array.from(out);
}

function random(p: Prng): Uint8Array {
  const out = new Uint8Array(p.int(300));
  for (let i = 0; i < out.length; i++) out[i] = p.chance(0.2) ? INTERESTING[p.int(INTERESTING.length)]! : p.int(256);
  return out;
}

function collect() {
  const frames: Frame[] = [];
  const errors: FrameError[] = [];
  const decoder = new FrameDecoder({ onFrame: (f) => frames.push(f), onError: (e) => errors.push(e) });
  return { frames, errors, decoder };
}

describe("bridge protocol fuzz", () => {
  it(`decodes ${INPUTS} random and mutated inputs in random chunks without throwing, and a valid frame right after each`, () => {
    const p = new Prng("bridge-fuzz");
    let framesSeen = 0, errorsSeen = 0;
    for (let n = 0; n < INPUTS; n++) {
      const input = n % 2 ? random(p) : mutate(p, randomFrame(p));
      const { frames, errors, decoder } = collect();
      for (let i = 0; i < input.length; ) {
        const k = 1 + p.int(40);
        decoder.push(input.subarray(i, i + k));
        i += k;
      }
      let sofs = 0;
      for (const b of input) if (b === SOF) sofs++;
      assert.ok(frames.length <= sofs, "a frame per SOF at most");
      for (const f of frames) {
        assert.ok(f.address >= 1 && f.address <= 254 && f.type <= 0x7f && f.payload.length <= 255, "fields in range");
        // Re-encoding a decoded frame decodes to the same frame: its CRC held.
        const again = collect();
        again.decoder.push(encodeFrame(f));
        assert.deepEqual(again.frames.map((x) => Array.from(x.payload)), [Array.from(f.payload)]);
      }
      for (const e of errors) assert.ok(e.offset >= 0 && e.offset < input.length, `error offset ${e.offset} inside the input`);
      framesSeen += frames.length;
      errorsSeen += errors.length;
      const valid = { address: 9, response: true, type: 4, seq: n & 0xff, payload: Uint8Array.of(1) };
      const before = frames.length;
      decoder.push(encodeFrame(valid));
      assert.equal(frames.length, before + 1, "the decoder resynchronises on the next SOF");
      assert.deepEqual(Array.from(frames[before]!.payload), [1]);
    }
    assert.ok(framesSeen > INPUTS / 100 && errorsSeen > INPUTS / 2, `the campaign reaches frames (${framesSeen}) and errors (${errorsSeen})`);
  });

  it(`parses ${INPUTS} random payloads of every response without throwing, and what parses is in range`, () => {
    const p = new Prng("bridge-payload-fuzz");
    let parsed = 0;
    for (let n = 0; n < INPUTS; n++) {
      const payload = new Uint8Array(p.int(40));
      p.fill(payload);
      if (payload.length) payload[0] = p.int(10);
      const info = parseInfo(payload);
      if (info.ok) {
        parsed++;
        assert.ok(info.value.ratesBps.every((r, i, a) => r > 0 && (i === 0 || r < a[i - 1]!)));
      }
      const entry = parseEntry(payload);
      if (entry.ok && entry.value) {
        parsed++;
        assert.ok(entry.value.index < entry.value.count && entry.value.primary.length <= 2 && (entry.value.backup?.length ?? 0) <= 2);
      }
      const outcome = parseOutcome(payload);
      if (outcome.ok && "part" in outcome.value) {
        parsed++;
        assert.ok(outcome.value.part < outcome.value.parts && outcome.value.data.length <= outcome.value.total && outcome.value.split <= outcome.value.total);
      }
    }
    assert.ok(parsed > 0, "some random payloads parse");
  });

  it("decodes any frame after any noise, in any chunking (property)", () => {
    const frame = fc.record({
      address: fc.integer({ min: 1, max: 254 }),
      response: fc.boolean(),
      type: fc.integer({ min: 0, max: 127 }),
      seq: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ maxLength: 255 }),
    });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), frame, fc.integer({ min: 1, max: 300 }), (noise, f, chunk) => {
        const bytes = Uint8Array.from([...noise, ...encodeFrame(f)]);
        const { frames, decoder } = collect();
        for (let i = 0; i < bytes.length; i += chunk) decoder.push(bytes.subarray(i, i + chunk));
        const last = frames[frames.length - 1];
        assert.ok(last);
        assert.deepEqual({ ...last, payload: Array.from(last.payload) }, { ...f, payload: Array.from(f.payload) });
      }),
      { numRuns: 2000 },
    );
  });

  it("the simulated bridge survives random bytes on its bus at its rate and at D0 rates, and answers a valid request after them", () => {
    const s = new Scheduler();
    const prng = new Prng("sim-bridge-fuzz");
    const bus = new Rs485Bus(s, prng);
    const fuzzDomain = new PowerDomain(s, "fuzzer");
    fuzzDomain.powerOn();
    const fuzzer = new CharTransceiver({ name: "fuzzer", domain: fuzzDomain, bus, onByte: () => undefined });
    const site = populateBridge({ scheduler: s, prng, bus, kind: "plc", address: 7, modules: 1, firstAddress: 20_000_001 });
    const p = prng.fork("inputs");
    for (let n = 0; n < 3000; n++) {
      const input = n % 3 === 0 ? randomFrame(p) : n % 3 === 1 ? mutate(p, randomFrame(p)) : random(p).subarray(0, 64);
      let sent = false;
      fuzzer.send(input, p.chance(0.8) ? 9600 : 2400, () => (sent = true));
      s.runUntilTrue(() => sent, 10_000);
      s.runFor(30);
    }
    // A concentrator asks for INFO after the storm: the bridge answers it.
    const d = new PowerDomain(s, "mc");
    const uart = new SimUart(d, "mc.rs485", prng.fork("mc"));
    const de = new SimDigitalOutput(d);
    bus.attach({ uart, de, echo: true });
    d.powerOn();
    const clock = new SimClock(d);
    s.runFor(60_000); // any relay the storm started ends
    const client = new BridgeClient({ bus: new BusMaster({ port: { serial: uart, direction: de }, clock, timers: clock }), address: 7 });
    let info: Answer<BridgeInfo> | undefined;
    client.info((a) => (info = a));
    s.runUntilTrue(() => info !== undefined, 10_000);
    assert.ok(info?.ok, JSON.stringify(info));
    assert.deepEqual(info.value.ratesBps, [2400, 1200, 600, 300]);
    assert.ok(site.bridge.counters.badFrames > 100, `bad frames counted (${site.bridge.counters.badFrames})`);
  });
});
