import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeClient, encodeServer, serverAddress } from "../../firmware/dlms/hdlc/address.js";
import { fcs16 } from "../../firmware/dlms/hdlc/crc.js";
import { HdlcDecoder, type HdlcErrorCode } from "../../firmware/dlms/hdlc/decoder.js";
import { encodeFrame, type Frame, unnumbered } from "../../firmware/dlms/hdlc/frame.js";
import { HdlcClientLink, type LinkEvent } from "../../firmware/dlms/hdlc/link.js";
import { decodeParameters, encodeParameters, negotiate } from "../../firmware/dlms/hdlc/parameters.js";
import { DLMS_COSEM, hex, toHex } from "./vectors.js";

function decodeAll(bytes: Uint8Array, chunk = bytes.length): { frames: Frame[]; errors: HdlcErrorCode[] } {
  const frames: Frame[] = [];
  const errors: HdlcErrorCode[] = [];
  const d = new HdlcDecoder({ onFrame: (f) => frames.push(f), onError: (e) => errors.push(e) });
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  return { frames, errors };
}

const SERVER_1_17 = serverAddress(1, 17);
const PUBLIC = encodeClient(16);

/**
 * Published frames (tests/test_hdlc/test_hdlc.py of DLMS_COSEM): what each is and what our decoder
 * must read from it; the ones we build are also compared byte for byte.
 */
const PUBLISHED: Array<{ name: string; wire: string; kind: Frame["kind"]; info?: string; segmented?: boolean; ns?: number; nr?: number; build?: () => Uint8Array }> = [
  {
    name: "SNRM from the public client to logical device 1, physical 17 (2-byte server address)",
    wire: "7E A008 0223 21 93 BD64 7E", // flag, format (type 3, length 8), server 1/17, client 16, SNRM+P, FCS, flag
    kind: "SNRM",
    build: () => encodeFrame(unnumbered("SNRM", encodeServer(SERVER_1_17), PUBLIC)),
  },
  {
    name: "UA with negotiated parameters (154-byte information fields, window 1)",
    wire: "7E A01F 21 0223 73 E6C7 818012 05019A 06019A 070400000001 080400000001 CCA2 7E",
    kind: "UA",
    info: "818012 05019A 06019A 070400000001 080400000001",
  },
  {
    name: "UA with a 4-byte server address",
    wire: "7E A023 03 00020023 73 C048 818014 05020080 06020080 070400000001 080400000001 CE6A 7E",
    kind: "UA",
    info: "818014 05020080 06020080 070400000001 080400000001",
  },
  {
    name: "I-frame carrying an AARQ (N(S) 0, N(R) 0)",
    wire: "7E A02C 0223 21 10 AF9F E6E600 601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF C5E4 7E",
    kind: "I",
    info: "E6E600 601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF",
    ns: 0,
    nr: 0,
    build: () =>
      encodeFrame({ kind: "I", destination: encodeServer(SERVER_1_17), source: PUBLIC, pollFinal: true, sendSeq: 0, receiveSeq: 0, segmented: false, info: hex("E6E600 601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF") }),
  },
  {
    name: "I-frame carrying the AARE (N(S) 0, N(R) 1)",
    wire: "7E A038 21 0223 30 34E7 E6E700 6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007 B86A 7E",
    kind: "I",
    info: "E6E700 6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007",
    ns: 0,
    nr: 1,
  },
];

describe(`dlms/hdlc: framing against published frames (${DLMS_COSEM})`, () => {
  it("CRC-16/X.25 of the published header 03 3F is 5B EC (sent low byte first)", () => {
    const crc = fcs16(hex("033F"), 0, 2);
    assert.equal(toHex(Uint8Array.of(crc & 0xff, crc >> 8)), "5BEC");
  });

  it("addresses: client 16 is 0x21, server 1/17 is 02 23 (2 bytes) or 00 02 00 23 (4 bytes)", () => {
    assert.equal(toHex(encodeClient(16)), "21");
    assert.equal(toHex(encodeClient(1)), "03");
    assert.equal(toHex(encodeServer(serverAddress(1, 17))), "0223");
    assert.equal(toHex(encodeServer(serverAddress(1, 17, 4))), "00020023");
    assert.equal(toHex(encodeServer(serverAddress(1, undefined))), "03");
    assert.equal(toHex(encodeServer(serverAddress(1, 0x3ffd))), "0002FEFB", "physical 0x3FFD takes the 4-byte form");
    assert.throws(() => serverAddress(1, 0x4000), RangeError);
  });

  for (const v of PUBLISHED) {
    it(v.name, () => {
      const wire = hex(v.wire);
      for (const chunk of [wire.length, 1, 3]) {
        const { frames, errors } = decodeAll(wire, chunk);
        assert.deepEqual(errors, []);
        assert.equal(frames.length, 1);
        const f = frames[0]!;
        assert.equal(f.kind, v.kind);
        assert.equal(toHex(f.info), toHex(hex(v.info ?? "")));
        if (v.ns !== undefined) assert.equal(f.sendSeq, v.ns);
        if (v.nr !== undefined) assert.equal(f.receiveSeq, v.nr);
        assert.equal(toHex(encodeFrame(f)), toHex(wire), "re-encoding gives the same bytes");
      }
      if (v.build) assert.equal(toHex(v.build()), toHex(wire));
    });
  }

  it("UA parameters decode to what the server states, and the client takes the smaller of each", () => {
    const ua = decodeParameters(hex("818012 05019A 06019A 070400000001 080400000001"))!;
    assert.deepEqual(ua, { maxInfoTransmit: 154, maxInfoReceive: 154, windowTransmit: 1, windowReceive: 1 });
    assert.deepEqual(negotiate({ maxInfoTransmit: 128, maxInfoReceive: 256, windowTransmit: 1, windowReceive: 7 }, ua), { maxInfoTransmit: 128, maxInfoReceive: 154, windowTransmit: 1, windowReceive: 1 });
    assert.deepEqual(decodeParameters(new Uint8Array(0)), { maxInfoTransmit: 128, maxInfoReceive: 128, windowTransmit: 1, windowReceive: 1 }, "no field: the defaults");
    assert.equal(toHex(encodeParameters({ maxInfoTransmit: 128, maxInfoReceive: 128, windowTransmit: 1, windowReceive: 1 })), "", "defaults are left out");
    for (const bad of ["818003 050100", "81800505", "8080 00", "818006 0502FFFF 0600", "818006 07040000000800"]) assert.equal(decodeParameters(hex(bad)), undefined, bad);
  });
});

describe("dlms/hdlc: the streaming decoder's error table", () => {
  const good = hex("7E A008 0223 21 93 BD64 7E");
  const ua = hex("7E A01F 21 0223 73 E6C7 818012 05019A 06019A 070400000001 080400000001 CCA2 7E");
  const cases: Array<{ name: string; wire: Uint8Array; frames: number; errors: HdlcErrorCode[] }> = [
    { name: "a bad FCS", wire: flip(good, 7), frames: 0, errors: ["fcs"] },
    { name: "a bad HCS (the header of a frame with information)", wire: flip(ua, 7), frames: 0, errors: ["hcs"] },
    { name: "a bad information byte is caught by the FCS", wire: flip(ua, 12), frames: 0, errors: ["fcs"] },
    { name: "not frame type 3", wire: hex("7E B008 0223 21 93 BD64 7E"), frames: 0, errors: ["format"] },
    { name: "no closing flag where the length ends", wire: hex("7E A007 0223 21 93 BD64 7E"), frames: 0, errors: ["closing-flag"] },
    { name: "a control code HDLC has but this profile does not use", wire: withFcs("A008 0223 21 FF"), frames: 0, errors: ["control"] },
    { name: "garbage, then a good frame", wire: concat(hex("00 FF 13 37 A0"), good), frames: 1, errors: [] },
    { name: "a cut frame, then a good one (resync on its flag)", wire: concat(good.subarray(0, 6), good), frames: 1, errors: ["closing-flag"] },
    { name: "two frames sharing a flag", wire: concat(good, good.subarray(1)), frames: 2, errors: [] },
    { name: "idle flags between frames", wire: concat(good, hex("7E7E7E"), good), frames: 2, errors: [] },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.frames} frame(s), errors ${JSON.stringify(c.errors)}`, () => {
      const { frames, errors } = decodeAll(c.wire);
      assert.equal(frames.length, c.frames);
      assert.deepEqual(errors, c.errors);
    });
  }

  // A corrupted length may make the decoder take what follows as the rest of that frame, but never
  // more than the longest frame (2049 bytes): good frames after that are always found.
  const goodRun = concat(...Array.from({ length: 206 }, () => good));

  it("fuzz: random bytes and mangled frames never throw, and good frames after them are always found", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(40), fc.nat(255)), { maxLength: 4 }), (noise, flips) => {
        const mangled = ua.slice();
        for (const [at, v] of flips) mangled[at % mangled.length] = v;
        const { frames } = decodeAll(concat(noise, mangled, goodRun), 1 + (noise.length % 7));
        assert.ok(frames.some((f) => f.kind === "SNRM"));
      }),
      { numRuns: 300 },
    );
  });

  it("frames of every length up to the longest (2,047 bytes), short and long mixed, in chunks of any size, come out whole", () => {
    const infoOf = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2047 - 12 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 300 }), (sizes, chunk) => {
        const sent = sizes.map((n, k) => encodeFrame({ kind: "I", destination: PUBLIC, source: encodeServer(SERVER_1_17), pollFinal: true, sendSeq: k % 8, receiveSeq: 0, segmented: false, info: infoOf(n, k) }));
        const { frames, errors } = decodeAll(concat(...sent), chunk);
        assert.deepEqual(errors, []);
        assert.deepEqual(frames.map((f) => toHex(f.info)), sizes.map((n, k) => toHex(infoOf(n, k))));
      }),
      { numRuns: 60 },
    );
  });
});

function flip(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at] = c[at]! ^ 0x01;
  return c;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

function withFcs(body: string): Uint8Array {
  const b = hex(body);
  const crc = fcs16(b, 0, b.length);
  return concat(hex("7E"), b, Uint8Array.of(crc & 0xff, crc >> 8), hex("7E"));
}

describe("dlms/hdlc: the client link", () => {
  const server = encodeServer(SERVER_1_17);
  const fromServer = (f: Partial<Frame> & Pick<Frame, "kind">): Frame => ({ destination: PUBLIC, source: server, pollFinal: true, sendSeq: 0, receiveSeq: 0, segmented: false, info: new Uint8Array(0), ...f });
  const connected = (maxInfo = 128) => {
    const link = new HdlcClientLink({ clientSap: 16, server: SERVER_1_17, proposed: { maxInfoTransmit: maxInfo, maxInfoReceive: 128, windowTransmit: 1, windowReceive: 1 } });
    link.connect();
    const e = link.receive(fromServer({ kind: "UA" }));
    assert.equal(e.kind, "connected");
    return link;
  };
  const frameOf = (bytes: Uint8Array) => decodeAll(bytes).frames[0]!;

  it("segments a long APDU by the negotiated size, each segment after the server's RR, and numbers them", () => {
    const link = connected(32);
    const apdu = Uint8Array.from({ length: 70 }, (_, i) => i);
    const first = frameOf(link.send(apdu));
    assert.equal(first.segmented, true);
    assert.equal(first.info.length, 32);
    assert.equal(first.sendSeq, 0);
    const e1 = link.receive(fromServer({ kind: "RR", receiveSeq: 1 }));
    assert.equal(e1.kind, "send");
    const second = frameOf((e1 as { bytes: Uint8Array }).bytes);
    assert.equal(second.sendSeq, 1);
    assert.equal(second.segmented, true);
    const e2 = link.receive(fromServer({ kind: "RR", receiveSeq: 2 }));
    const third = frameOf((e2 as { bytes: Uint8Array }).bytes);
    assert.equal(third.segmented, false, "the last segment has S = 0");
    assert.equal(first.info.length + second.info.length + third.info.length, 73, "LLC header + 70 bytes");
  });

  it("reassembles a segmented answer, asking for each segment with RR N(R)", () => {
    const link = connected();
    link.send(Uint8Array.of(0xc0));
    const e1 = link.receive(fromServer({ kind: "I", sendSeq: 0, receiveSeq: 1, segmented: true, info: hex("E6E700 C401C1") }));
    assert.equal(e1.kind, "send");
    assert.equal(frameOf((e1 as { bytes: Uint8Array }).bytes).kind, "RR");
    assert.equal(frameOf((e1 as { bytes: Uint8Array }).bytes).receiveSeq, 1);
    const e2 = link.receive(fromServer({ kind: "I", sendSeq: 1, receiveSeq: 1, info: hex("0006000013 91") }));
    assert.deepEqual(e2, { kind: "apdu", apdu: hex("C401C1 00 06 00001391") });
  });

  it("ignores frames for other addresses, duplicates and out-of-sequence frames", () => {
    const link = connected();
    link.send(Uint8Array.of(0xc0));
    const ignored = (e: LinkEvent) => (e.kind === "ignored" ? e.reason : e.kind);
    assert.equal(ignored(link.receive(fromServer({ kind: "I", source: encodeServer(serverAddress(1, 18)), info: hex("E6E700 C5") }))), "foreign");
    assert.equal(ignored(link.receive(fromServer({ kind: "I", destination: encodeClient(1), info: hex("E6E700 C5") }))), "foreign");
    assert.equal(ignored(link.receive(fromServer({ kind: "I", sendSeq: 3, receiveSeq: 1, info: hex("E6E700 C5") }))), "sequence", "N(S) not expected");
    assert.equal(ignored(link.receive(fromServer({ kind: "I", sendSeq: 0, receiveSeq: 0, info: hex("E6E700 C5") }))), "sequence", "N(R) does not acknowledge our frame");
    link.receive(fromServer({ kind: "I", sendSeq: 0, receiveSeq: 1, segmented: true, info: hex("E6E700 C4") }));
    assert.equal(ignored(link.receive(fromServer({ kind: "I", sendSeq: 0, receiveSeq: 1, segmented: true, info: hex("E6E700 C4") }))), "duplicate");
    assert.deepEqual(link.counters, { ...link.counters, foreign: 2, outOfSequence: 2, duplicates: 1 });
  });

  it("a time-out sends the last frame again; DM ends the link; DM to SNRM is a refusal", () => {
    const link = connected();
    const sent = link.send(Uint8Array.of(0xc0));
    assert.equal(toHex(link.retransmit()), toHex(sent));
    assert.deepEqual(link.receive(fromServer({ kind: "DM" })), { kind: "disconnected", how: "dm" });
    const other = new HdlcClientLink({ clientSap: 16, server: SERVER_1_17 });
    other.connect();
    assert.equal(other.receive(fromServer({ kind: "DM" })).kind, "failed");
  });
});
