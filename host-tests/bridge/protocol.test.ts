// The bridge protocol's codec (firmware/bridge/protocol.ts, messages.ts) against annotated byte fixtures:
// each fixture is decoded, encoded and round-tripped; each error case gives its exact error and no frame.
import assert from "node:assert/strict";
import { FrameDecoder, crc16, encodeFrame, type Frame, type FrameError } from "../../firmware/bridge/protocol.js";
import { encodeRelay, parseEntry, parseInfo, parseOutcome, type Parsed } from "../../firmware/bridge/messages.js";

function decode(bytes: number[], chunk = bytes.length): { frames: Frame[]; errors: FrameError[] } {
  const frames: Frame[] = [];
  const errors: FrameError[] = [];
  const d = new FrameDecoder({ onFrame: (f) => frames.push(f), onError: (e) => errors.push(e) });
  for (let i = 0; i < bytes.length; i += chunk) d.push(Uint8Array.from(bytes.slice(i, i + chunk)));
  return { frames, errors };
}

function plain(f: Frame) {
  return { ...f, payload: Array.from(f.payload) };
}

function testFrame(name: string, frame: Frame, wire: number[]): void {
  describe(`bridge frame: ${name}`, () => {
    it("decodes from the bytes, in any chunking", () => {
      for (const chunk of [1, 2, 3, wire.length]) {
        const { frames, errors } = decode(wire, chunk);
        assert.deepEqual(errors, []);
        assert.deepEqual(frames.map(plain), [plain(frame)]);
      }
    });
    it("encodes to the bytes", () => assert.deepEqual(Array.from(encodeFrame(frame)), wire));
  });
}

testFrame("an INFO request whose sequence number is the SOF, escaped", { address: 7, response: false, type: 1, seq: 0x7e, payload: new Uint8Array(0) }, [
  0x7e, // SOF
  0x07, // ADDR
  0x01, // CTRL: request, INFO
  0x7d, 0x5e, // SEQ 0x7E, escaped (0x7E ^ 0x20)
  0x00, // LEN
  0xc9, 0x8b, // CRC-16 over ADDR..PAYLOAD, unescaped
]);

testFrame("a FETCH answer: pending", { address: 7, response: true, type: 4, seq: 3, payload: Uint8Array.of(1) }, [
  0x7e, // SOF
  0x07, // ADDR
  0x84, // CTRL: response, FETCH
  0x03, // SEQ
  0x01, // LEN
  0x01, // status: pending
  0x1b, 0x51, // CRC
]);

testFrame("a TABLE request to bus address 0x7D, escaped", { address: 0x7d, response: false, type: 2, seq: 0, payload: Uint8Array.of(5) }, [
  0x7e, // SOF
  0x7d, 0x5d, // ADDR 0x7D, escaped
  0x02, // CTRL: request, TABLE
  0x00, // SEQ
  0x01, // LEN
  0x05, // index
  0xa3, 0x0c, // CRC
]);

describe("bridge frame: CRC and errors", () => {
  it("computes CRC-16/IBM-3740: 0x29B1 for '123456789'", () => {
    assert.equal(crc16(Uint8Array.from("123456789", (c) => c.charCodeAt(0))), 0x29b1);
  });

  const good = [0x7e, 0x09, 0x83, 0xc8, 0x01, 0x00, 0x43, 0xf3]; // RELAY answer "ok" from bridge 9, seq 200
  const cases: Array<[string, number[], FrameError[], number]> = [
    ["bytes before a frame are one garbage error, then the frame", [0x2f, 0x3f, 0x31, ...good], [{ code: "garbage", offset: 0 }], 1],
    ["a flipped payload bit is a CRC error at the SOF, and no frame", [...good.slice(0, 5), 0x01, ...good.slice(6)], [{ code: "crc", offset: 0 }], 0],
    ["address 0 is refused", encode0(), [{ code: "bad-address", offset: 0 }], 0],
    ["an SOF inside a frame cuts it off and starts the next one", [0x7e, 0x09, 0x83, ...good], [{ code: "truncated", offset: 0 }], 1],
    ["a frame after noise that holds an SOF is still found: the noise is a cut-off frame", [0x7e, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, ...good], [{ code: "truncated", offset: 0 }], 1],
  ];
  for (const [name, bytes, errors, frames] of cases) {
    it(name, () => {
      const r = decode(bytes);
      assert.deepEqual(r.errors, errors);
      assert.equal(r.frames.length, frames);
    });
  }

  it("end() reports a frame still open as truncated, at its SOF", () => {
    const errors: FrameError[] = [];
    const d = new FrameDecoder({ onFrame: () => assert.fail("no frame"), onError: (e) => errors.push(e) });
    d.push(Uint8Array.of(0x00, 0x7e, 0x09, 0x83));
    d.end();
    assert.deepEqual(errors, [{ code: "garbage", offset: 0 }, { code: "truncated", offset: 1 }]);
  });

  it("refuses to encode what does not fit the format", () => {
    assert.throws(() => encodeFrame({ address: 0, response: false, type: 1, seq: 0, payload: new Uint8Array(0) }), RangeError);
    assert.throws(() => encodeFrame({ address: 1, response: false, type: 0x80, seq: 0, payload: new Uint8Array(0) }), RangeError);
    assert.throws(() => encodeFrame({ address: 1, response: false, type: 1, seq: 256, payload: new Uint8Array(0) }), RangeError);
    assert.throws(() => encodeFrame({ address: 1, response: false, type: 1, seq: 0, payload: new Uint8Array(256) }), RangeError);
  });
});

/** A frame to address 0 with a right CRC (the encoder refuses to make one). */
function encode0(): number[] {
  const body = [0x00, 0x01, 0x00, 0x00];
  const crc = crc16(Uint8Array.from(body));
  return [0x7e, ...body, crc >> 8, crc & 0xff];
}

function ok<T>(p: Parsed<T>): T {
  assert.ok(p.ok, JSON.stringify(p));
  return p.value;
}

describe("bridge messages", () => {
  it("encodes a RELAY: node, rate, flags, D0 rates, first-byte time, deadline, path, then the D0 message", () => {
    const d0 = Uint8Array.from("/?20000002!\r\n", (c) => c.charCodeAt(0));
    const p = encodeRelay({ node: 101, rateIndex: 1, path: [1], listen: true, signOn: true, sendBaud: 300, listenBaud: 300, maxBaud: 9600, firstByteMs: 1600, deadlineMs: 11_950, d0 });
    assert.deepEqual(Array.from(p), [
      0x00, 0x65, // node 101
      0x01, // rate index 1
      0x03, // flags: listen | sign-on
      0x00, 0x00, // send and listen at 300 Bd (mode C code 0)
      0x05, // highest session rate 9600 Bd (code 5)
      0x06, 0x40, // first byte within 1600 ms
      0x00, 0x78, // deadline 120 × 100 ms (11 950 rounded up)
      0x01, // one repeater
      0x00, 0x01, // repeater 1
      ...d0,
    ]);
  });

  it("refuses a RELAY that cannot be encoded", () => {
    const base = { node: 1, rateIndex: 0, path: [], listen: true, signOn: false, sendBaud: 2400, listenBaud: 2400, maxBaud: 9600, firstByteMs: 1600, deadlineMs: 5000, d0: new Uint8Array(4) };
    assert.throws(() => encodeRelay({ ...base, path: [1, 2, 3] }), RangeError, "three repeaters");
    assert.throws(() => encodeRelay({ ...base, sendBaud: 2500 }), RangeError, "not a mode C rate");
    assert.throws(() => encodeRelay({ ...base, d0: new Uint8Array(250) }), RangeError, "longer than a frame");
  });

  it("parses INFO", () => {
    const info = ok(parseInfo(Uint8Array.of(0, 1, 1, 2, 0x09, 0x60, 0x04, 0xb0, 8, 64, 8, 0x00, 0x1e, 2, 3)));
    assert.deepEqual(info, { version: 1, medium: "plc", ratesBps: [2400, 1200], frameOverheadBytes: 8, framePayloadBytes: 64, ackBytes: 8, hopLatencyMs: 30, maxHops: 2, entries: 3 });
  });

  it("parses a table entry with a backup route, one without, and the end of the table", () => {
    const addr = Array.from("20000002", (c) => c.charCodeAt(0));
    assert.deepEqual(ok(parseEntry(Uint8Array.of(0, 1, 3, 0x00, 0x65, 8, ...addr, 1, 0x00, 0x01, 1, 0x00, 0x02))), { index: 1, count: 3, node: 101, address: "20000002", primary: [1], backup: [2] });
    assert.deepEqual(ok(parseEntry(Uint8Array.of(0, 0, 1, 0x00, 0x64, 8, ...addr, 0, 0xff))), { index: 0, count: 1, node: 100, address: "20000002", primary: [], backup: undefined });
    assert.equal(ok(parseEntry(Uint8Array.of(5))), undefined);
  });

  it("parses a FETCH outcome with its header and answer bytes", () => {
    const o = ok(parseOutcome(Uint8Array.of(0, 0, 1, 0x00, 0x03, 0x00, 0x00, 0x00, 0, 0x00, 0x02, 0x00, 0x03, 0x00, 0x10, 0x2f, 0x41, 0xc1)));
    assert.deepEqual({ ...o, data: "data" in o ? Array.from(o.data) : [] }, { status: "ok", part: 0, parts: 1, total: 3, split: 0, signOnBaudChar: "", hop: 0, frames: 2, tries: 3, elapsedMs: 160, data: [0x2f, 0x41, 0xc1] });
    assert.deepEqual(ok(parseOutcome(Uint8Array.of(1))), { status: "pending" });
  });

  const bad: Array<[string, () => Parsed<unknown>, string]> = [
    ["an INFO with rates not decreasing", () => parseInfo(Uint8Array.of(0, 1, 1, 2, 0x04, 0xb0, 0x09, 0x60, 8, 64, 8, 0, 30, 2, 3)), "rates"],
    ["an INFO of an unknown medium", () => parseInfo(Uint8Array.of(0, 1, 3, 1, 0x09, 0x60, 8, 64, 8, 0, 30, 2, 3)), "medium"],
    ["an INFO cut short", () => parseInfo(Uint8Array.of(0, 1, 1, 2, 0x09, 0x60)), "length"],
    ["an entry whose address has a character D0 forbids", () => parseEntry(Uint8Array.of(0, 0, 1, 0, 1, 2, 0x31, 0x21, 0, 0xff)), "address"],
    ["an entry with three repeaters", () => parseEntry(Uint8Array.of(0, 0, 1, 0, 1, 1, 0x31, 3, 0, 1, 0, 2, 0, 3, 0xff)), "path"],
    ["an entry with bytes after its backup route", () => parseEntry(Uint8Array.of(0, 0, 1, 0, 1, 1, 0x31, 0, 0xff, 9)), "length"],
    ["an outcome whose part is past its parts", () => parseOutcome(Uint8Array.of(0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), "value"],
    ["an outcome with more bytes than its total", () => parseOutcome(Uint8Array.of(0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0x42)), "value"],
    ["an outcome with a reserved baud character", () => parseOutcome(Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 0x39, 0, 0, 0, 0, 0, 0, 0)), "value"],
    ["a status byte nobody defined", () => parseOutcome(Uint8Array.of(42)), "status"],
    ["a pending status with bytes after it", () => parseOutcome(Uint8Array.of(1, 0)), "length"],
  ];
  for (const [name, parse, reason] of bad) {
    it(`refuses ${name} (${reason})`, () => assert.deepEqual(parse(), { ok: false, reason }));
  }
});
