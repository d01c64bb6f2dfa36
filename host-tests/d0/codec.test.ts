import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bcc } from "../../firmware/d0/bcc.js";
import { isSound, type D0Block } from "../../firmware/d0/decoder.js";
import {
  encodeAck,
  encodeBreak,
  encodeCommand,
  encodeDataMessage,
  encodeErrorMessage,
  encodeIdentification,
  encodeModeDReadout,
  encodeNak,
  encodeOptionSelect,
  encodeRequest,
} from "../../firmware/d0/encoder.js";
import { parseIdentification } from "../../firmware/d0/identification.js";
import { negotiateModeC, reactionTimeMs } from "../../firmware/d0/modes.js";
import { bytes, dataSets, decodeEvents, errors, messages } from "./events.js";

const SOH = "\x01", STX = "\x02", ETX = "\x03", EOT = "\x04", ACK = "\x06", NAK = "\x15";

/** One row per message of IEC 62056-21 §6.3: the bytes, annotated, and what the decoder must deliver. */
const table: Array<{ name: string; wire: string; encoded?: () => Uint8Array; message: Record<string, unknown>; dataSets?: unknown[]; optionSelect?: boolean }> = [
  {
    name: "request with a device address",
    wire: "/?" + "12345678" + "!\r\n", // start, transmission request, address, end, CR LF
    encoded: () => encodeRequest("12345678"),
    message: { type: "request", address: "12345678" },
  },
  { name: "request with the general address", wire: "/?!\r\n", encoded: () => encodeRequest(""), message: { type: "request", address: "" } },
  {
    name: "identification with enhanced identification characters",
    wire: "/" + "MCS" + "5" + "\\@" + "V0050710000051" + "\r\n", // manufacturer, baud char, \W, identification
    encoded: () => encodeIdentification("MCS", "5", "\\@V0050710000051"),
    message: { type: "identification" },
  },
  {
    name: "ACK/option select for programming at 9600 Bd",
    wire: ACK + "0" + "5" + "1" + "\r\n", // ACK, V protocol, Z baud, Y mode
    encoded: () => encodeOptionSelect("0", "5", "1"),
    message: { type: "option-select", protocol: "0", baudChar: "5", modeChar: "1" },
    optionSelect: true,
  },
  { name: "acknowledge", wire: ACK, encoded: encodeAck, message: { type: "ack" } },
  { name: "repeat request", wire: NAK, encoded: encodeNak, message: { type: "nak" } },
  {
    name: "readout data message with BCC",
    wire: STX + "1.8.0(0008048.375*kWh)\r\n" + "!\r\n" + ETX + "\x4f", // data set, end, ETX, BCC
    encoded: () => encodeDataMessage([{ address: "1.8.0", values: [{ value: "0008048.375", unit: "kWh" }] }], { readout: true }),
    message: { type: "block", start: "stx", readout: true, end: "etx", bcc: "ok", dataSets: 1, errors: 0 },
    dataSets: [{ address: "1.8.0", values: [{ value: "0008048.375", unit: "kWh" }] }],
  },
  {
    name: "password command P1",
    wire: SOH + "P1" + STX + "(00000000)" + ETX + "\x61", // SOH, command, STX, data set, ETX, BCC
    encoded: () => encodeCommand("P", "1", { address: "", values: [{ value: "00000000" }] }),
    message: { type: "block", start: "soh", command: "P1", readout: false, end: "etx", bcc: "ok", dataSets: 1 },
    dataSets: [{ address: "", values: [{ value: "00000000" }] }],
  },
  {
    name: "write command W1",
    wire: SOH + "W1" + STX + "0-0:96.3.10(0)" + ETX + "\x7c",
    encoded: () => encodeCommand("W", "1", { address: "0-0:96.3.10", values: [{ value: "0" }] }),
    message: { type: "block", command: "W1", bcc: "ok" },
    dataSets: [{ address: "0-0:96.3.10", values: [{ value: "0" }] }],
  },
  {
    name: "read command R1 with an empty value",
    wire: SOH + "R1" + STX + "1.8.0()" + ETX + "\x5a",
    encoded: () => encodeCommand("R", "1", { address: "1.8.0", values: [{ value: "" }] }),
    message: { type: "block", command: "R1", bcc: "ok" },
    dataSets: [{ address: "1.8.0", values: [{ value: "" }] }],
  },
  {
    name: "execute command E2",
    wire: SOH + "E2" + STX + "C.90(1)" + ETX + "\x22",
    encoded: () => encodeCommand("E", "2", { address: "C.90", values: [{ value: "1" }] }),
    message: { type: "block", command: "E2", bcc: "ok" },
  },
  { name: "break B0", wire: SOH + "B0" + ETX + "q", encoded: encodeBreak, message: { type: "block", command: "B0", bcc: "ok", dataSets: 0 } },
  { name: "battery sign-off B1", wire: SOH + "B1" + ETX + "p", encoded: () => encodeCommand("B", "1"), message: { type: "block", command: "B1", bcc: "ok" } },
  {
    name: "partial block of an R3 answer, ended by EOT",
    wire: STX + "P.98(0260101000000)(10)(0000)" + EOT + "\x4f",
    encoded: () => encodeDataMessage([{ address: "P.98", values: [{ value: "0260101000000" }, { value: "10" }, { value: "0000" }] }], { partial: true }),
    message: { type: "block", start: "stx", end: "eot", bcc: "ok" },
  },
  {
    name: "error message",
    wire: STX + "(ERPWD)" + ETX + "\x56",
    encoded: () => encodeErrorMessage("ERPWD"),
    message: { type: "error-message", text: "ERPWD", bcc: "ok" },
  },
];

describe("d0 codec: every message of IEC 62056-21", () => {
  for (const row of table) {
    it(`decodes and encodes the ${row.name}`, () => {
      const wire = bytes(row.wire);
      if (row.encoded) assert.deepEqual(Array.from(row.encoded()), Array.from(wire), "encoder output");
      const ev = decodeEvents([wire], { optionSelect: row.optionSelect ?? false });
      assert.deepEqual(errors(ev), []);
      const ms = messages(ev);
      assert.equal(ms.length, 1, JSON.stringify(ms));
      for (const [k, v] of Object.entries(row.message)) assert.deepEqual((ms[0] as unknown as Record<string, unknown>)[k], v, k);
      if (row.dataSets) assert.deepEqual(dataSets(ev), row.dataSets);
    });
  }

  it("decodes a mode D readout: identification, empty line, data, ! CR LF, no BCC", () => {
    const wire = encodeModeDReadout("ISk3MT174-0001", [
      { address: "0-0:C.1.0", values: [{ value: "63355730" }] },
      { address: "1-0:1.8.0", values: [{ value: "0008048.375", unit: "kWh" }] },
    ]);
    const ev = decodeEvents([wire]);
    const ms = messages(ev);
    assert.equal(ms[0]!.type, "identification");
    const block = ms[1] as D0Block;
    assert.deepEqual([block.start, block.end, block.bcc, block.readout, block.dataSets], ["mode-d", "end", "absent", true, 2]);
    assert.ok(isSound(block));
  });

  it("computes the BCC vectors of the corpus (pwitab, erl62056)", () => {
    const v = JSON.parse(readFileSync("host-tests/corpus/expected/bcc-vectors.json", "utf8")) as {
      vectors: Array<{ frame_hex?: string; frame?: string; data?: string; bcc: string }>;
    };
    const expect = (s: string) => (s.startsWith("0x") ? Number(s) : s.charCodeAt(1));
    const unescape = (s: string) => s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/\\r/g, "\r").replace(/\\n/g, "\n");
    for (const vec of v.vectors) {
      if (vec.data !== undefined) {
        assert.equal(bcc(bytes(vec.data)), expect(vec.bcc), vec.data);
        continue;
      }
      const frame = vec.frame_hex ? Uint8Array.from(Buffer.from(vec.frame_hex, "hex")) : bytes(unescape(vec.frame!));
      assert.equal(bcc(frame, 1, frame.length - 1), expect(vec.bcc), JSON.stringify(vec));
      // The decoder accepts the frame, and rejects it with the last byte changed.
      const good = messages(decodeEvents([frame]));
      assert.equal((good[0] as D0Block).bcc, "ok");
      const bad = frame.slice();
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x01;
      const ev = decodeEvents([bad]);
      assert.equal((messages(ev)[0] as D0Block).bcc, "bad");
      assert.deepEqual(errors(ev), [{ code: "bcc-mismatch", offset: frame.length - 1 }]);
    }
  });

  it("encodes the break as 01 42 30 03 71", () => {
    assert.deepEqual(Array.from(encodeBreak()), [0x01, 0x42, 0x30, 0x03, 0x71]);
  });

  it("rejects encoder arguments outside the standard's limits", () => {
    assert.throws(() => encodeRequest("x".repeat(33)), RangeError);
    assert.throws(() => encodeRequest("12/4"), RangeError);
    assert.throws(() => encodeCommand("W", "1", { address: "a(b", values: [] }), RangeError);
    assert.throws(() => encodeErrorMessage("ER*1"), RangeError);
  });
});

describe("d0 codec: malformed input gives typed errors with offsets", () => {
  const cases: Array<{ name: string; wire: string; errors: Array<{ code: string; offset: number }>; then?: string; optionSelect?: boolean }> = [
    { name: "garbage before a message is one error per run", wire: "\x7f\x7f\x7f/?1!\r\n", errors: [{ code: "garbage", offset: 0 }], then: "request" },
    { name: "a request address longer than 32 characters", wire: "/?" + "1".repeat(33) + "!\r\n", errors: [{ code: "bad-request", offset: 34 }] },
    { name: "a request address with a forbidden character", wire: "/?12#4!\r\n/?1!\r\n", errors: [{ code: "bad-request", offset: 4 }], then: "request" },
    { name: "an identification with a non-letter manufacturer", wire: "/1Sk5MT174\r\n", errors: [{ code: "bad-identification", offset: 0 }] },
    { name: "an identification longer than 16 characters after Z", wire: "/ISk5" + "A".repeat(17) + "\r\n", errors: [{ code: "bad-identification", offset: 21 }] },
    { name: "a dangling escape in an identification", wire: "/ISk5MT\\\r\n", errors: [{ code: "bad-identification", offset: 0 }] },
    { name: "a bad option select", wire: ACK + "0x1\r\n", errors: [{ code: "bad-option-select", offset: 2 }], optionSelect: true },
    { name: "an unknown command letter", wire: SOH + "X1" + STX + "(1)" + ETX + "\x00", errors: [{ code: "bad-command", offset: 1 }, { code: "bcc-mismatch", offset: 8 }] },
    { name: "a value group never closed at the line end", wire: STX + "1.8.0(12\r\n!\r\n" + ETX + "\x00", errors: [{ code: "bad-data-set", offset: 9 }, { code: "bcc-mismatch", offset: 15 }] },
    { name: "an address without value", wire: STX + "000\r\n!\r\n" + ETX + "X", errors: [{ code: "bad-data-set", offset: 4 }, { code: "bcc-mismatch", offset: 10 }] },
    { name: "an address longer than 16 characters", wire: STX + "A".repeat(17) + "(1)\r\n!\r\n" + ETX + "\x00", errors: [{ code: "address-too-long", offset: 17 }, { code: "bcc-mismatch", offset: 27 }] },
    { name: "a unit after * that is empty", wire: STX + "1.8.0(1*)\r\n!\r\n" + ETX + "\x00", errors: [{ code: "bad-unit", offset: 9 }, { code: "bcc-mismatch", offset: 16 }] },
    { name: "a value with a unit that is not a number", wire: STX + "6.8(032A.871*GJ)\r\n!\r\n" + ETX + "\x00", errors: [{ code: "value-not-numeric", offset: 5 }, { code: "bcc-mismatch", offset: 23 }] },
    { name: "a block cut off by a new message", wire: STX + "1.8.0(1)\r\n/?1!\r\n", errors: [{ code: "truncated", offset: 11 }], then: "request" },
    { name: "a stray control character inside a data set", wire: STX + "1.8.0(1\x102)\r\n!\r\n" + ETX + "\x00", errors: [{ code: "bad-character", offset: 8 }, { code: "bcc-mismatch", offset: 17 }] },
    { name: "a message the input ends in", wire: "/ISk5MT1", errors: [{ code: "truncated", offset: 8 }] },
  ];
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      const ev = decodeEvents([bytes(c.wire)], { optionSelect: c.optionSelect ?? false });
      assert.deepEqual(errors(ev), c.errors);
      const ms = messages(ev);
      if (c.then) assert.equal(ms[ms.length - 1]!.type, c.then, "the decoder resynchronises on the next message");
      // No data set with an error in it is delivered.
      for (const d of dataSets(ev)) assert.ok(!/[^ -~]/.test(JSON.stringify(d)));
    });
  }

  it("reports a parity error at the offset of the character and drops only its data set", () => {
    const wire = bytes(STX + "1.8.0(1)\r\n2.8.0(2)\r\n!\r\n" + ETX + "\x00");
    wire[7] = 0x31 | 0x80; // "1" as received with wrong parity
    const ev = decodeEvents([wire]);
    assert.deepEqual(errors(ev).slice(0, 1), [{ code: "parity", offset: 7 }]);
    assert.deepEqual(dataSets(ev).map((d) => d.address), ["2.8.0"]);
    assert.equal(isSound(messages(ev)[0] as D0Block), false);
  });

  it("delivers a lone ACK at once to a master, and after the next byte when it decodes both directions", () => {
    assert.deepEqual(messages(decodeEvents([bytes(ACK)])).map((m) => m.type), ["ack"]);
    const both = decodeEvents([bytes(ACK + "/?1!\r\n")], { optionSelect: true });
    assert.deepEqual(messages(both).map((m) => m.type), ["ack", "request"]);
  });

  it("continues a data set split across partial blocks, and returns to the block start when a block is repeated", () => {
    const first = encodeDataMessage([], { partial: true }); // empty partial block
    assert.equal(first.length, 3);
    const a = bytes(STX + "P.98(0260101" + EOT);
    const aBcc = Uint8Array.of(bcc(a, 1));
    const b = bytes(STX + "000000)(10)" + ETX);
    const bBcc = Uint8Array.of(bcc(b, 1));
    const badB = Uint8Array.of(bBcc[0]! ^ 1);
    const ev = decodeEvents([a, aBcc, b, badB, b, bBcc]);
    const blocks = messages(ev) as D0Block[];
    assert.deepEqual(blocks.map((m) => [m.end, m.bcc]), [["eot", "ok"], ["etx", "bad"], ["etx", "ok"]]);
    assert.deepEqual(dataSets(ev).slice(-1), [{ address: "P.98", values: [{ value: "0260101000000" }, { value: "10" }] }]);
  });
});

describe("d0 identification and modes", () => {
  it("reads manufacturer, baud character, enhanced characters and mode from real identifications", () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ["ISk5MT174-0001", { manufacturer: "ISk", baudChar: "5", mode: "C", baud: 9600, reactionMs: 20, model: "MT174-0001" }],
      ["ISk5\\2MT382-1000", { mode: "E", enhanced: "2", baud: 9600, model: "MT382-1000" }],
      ["LGZ52ZMD120APt.G03", { mode: "C", baud: 9600, reactionMs: 200, model: "2ZMD120APt.G03" }],
      ["LUGCUH50", { mode: "B", baud: 2400 }],
      ["KAM MC", { mode: "A", baud: 300 }],
      ["SIE32WR5", { mode: "C", baud: 2400 }],
      ["ACE0\\3k260V01.19", { mode: "C", enhanced: "3", baud: 300 }],
    ];
    for (const [text, want] of cases) {
      const id = parseIdentification(text)!;
      assert.ok(id, text);
      for (const [k, v] of Object.entries(want)) assert.deepEqual((id as unknown as Record<string, unknown>)[k], v, `${text}: ${k}`);
    }
    assert.equal(parseIdentification("IS5MT"), undefined);
  });

  it("switches baud in mode C only when the master can use the meter's rate, else stays at 300", () => {
    assert.deepEqual(negotiateModeC("5", 19200), { ackBaudChar: "5", baud: 9600 });
    assert.deepEqual(negotiateModeC("6", 9600), { ackBaudChar: "0", baud: 300 });
    assert.deepEqual(negotiateModeC("9", 19200), { ackBaudChar: "0", baud: 300 });
  });

  it("gives tr 20 ms for a lower-case third manufacturer letter and 200 ms otherwise", () => {
    assert.equal(reactionTimeMs("HAg"), 20);
    assert.equal(reactionTimeMs("HAG"), 200);
  });
});
