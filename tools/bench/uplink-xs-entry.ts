/**
 * Evaluated inside XS by uplink-xs-run.ts: the uplink's per-message operations, one per command, so
 * the XS meter of a crank is the cost of one operation. Keys are derived at load (≈ 12 M units each).
 */
import type { Reading } from "../../firmware/model/records.js";
import { SecureChannel } from "../../firmware/uplink/channel.js";
import { deriveSharedKey, Direction, open } from "../../firmware/uplink/envelope.js";
import { decodeDownlink, decodeUplink, encodeMessage } from "../../firmware/uplink/messages.js";
import { encodePacket } from "../../firmware/uplink/mqtt/encode.js";
import { MqttParser } from "../../firmware/uplink/mqtt/parser.js";
import { seqSetOf } from "../../firmware/uplink/seq-set.js";
import { Uplink } from "../../firmware/uplink/uplink.js";
import { MemoryCounters, MemoryQueue } from "../sim/memory-ports.js";
import { keyPairOf } from "../sim/keys.js";
import { serveJsonCommands } from "../xs/json-commands.js";

const device = keyPairOf("concentrator");
const headend = keyPairOf("headend");
const key = deriveSharedKey(device.secretKey, headend.publicKey);
const mc = new SecureChannel({ sharedKey: key, concentratorId: 17, role: "concentrator", counters: new MemoryCounters() });
const he = new SecureChannel({ sharedKey: key, concentratorId: 17, role: "headend", counters: new MemoryCounters() });

function profile(n: number): Reading[] {
  const out: Reading[] = [];
  const meters = Math.ceil(n / 96);
  for (let i = 0; out.length < n; i++) for (let m = 1; m <= meters && out.length < n; m++) out.push({ meter: m, register: 0x010800, time: 1_767_225_600 + 900 * i, value: 5_000_000 * m + i * (100 + ((m * 37 + i * 11) % 400)), status: 0 });
  return out;
}
/** Poll-round readouts as a site acquires them: meters of 11 registers (3-phase), one time each. */
function readouts(n: number): Reading[] {
  const registers = [0x010800, 0x020800, 0x030800, 0x040800, 0x1f0700, 0x330700, 0x470700, 0x200700, 0x340700, 0x480700, 0x100700];
  const values = [12_345_678, 234_567, 3_456_789, 45_678, 5_123, 4_876, 6_012, 2_301, 2_297, 2_312, 3_456];
  return Array.from({ length: n }, (_, i) => ({ meter: 1 + Math.floor(i / 11), register: registers[i % 11]!, time: 1_767_225_600, value: values[i % 11]! + 97 * i, status: 0 }));
}
const batch = (n: number, readings = profile(n)) => ({ kind: "readings" as const, seqs: seqSetOf(Array.from({ length: n }, (_, i) => 1000 + i)), readings });
const b96 = batch(96);
const b256 = batch(256);
const rows64 = batch(64, readouts(64));
const rows64Body = encodeMessage(rows64);
const sealed256 = mc.seal(encodeMessage(b256));
const sealedRows64 = mc.seal(rows64Body);
const ack = he.seal(encodeMessage({ kind: "ack", seqs: seqSetOf(Array.from({ length: 256 }, (_, i) => 1000 + i)) }));
const command = he.seal(encodeMessage({ kind: "command", command: { id: 7, op: "disconnect", meter: 12 } }));
const publish = encodePacket({ type: "publish", topic: "mc/17/up", payload: sealed256, qos: 1, dup: false, retain: false, packetId: 9 });
let kept: unknown;

const ops: Record<string, () => unknown> = {
  noop: () => 0,
  "build 96 readings (CBOR + seal)": () => mc.seal(encodeMessage(b96)).length,
  "build 256 readings (CBOR + seal)": () => mc.seal(encodeMessage(b256)).length,
  "CBOR encode only, 256 readings": () => encodeMessage(b256).length,
  "encode a 64-reading message of readouts (rows): the drain's second turn": () => encodeMessage(rows64).length,
  "seal it: the drain's third turn": () => mc.seal(rows64Body).length,
  "open it (head-end: verify + decrypt + decode)": () => {
    const r = open(key, sealedRows64, { direction: Direction.up, concentrator: 17 });
    return r.ok ? (decodeUplink(r.body) as { kind: string }).kind : "fail";
  },
  "open 256 readings (head-end: verify + decrypt + decode)": () => {
    const r = open(key, sealed256, { direction: Direction.up, concentrator: 17 });
    return r.ok ? (decodeUplink(r.body) as { kind: string }).kind : "fail";
  },
  "open an ack of 256 seqs (concentrator)": () => {
    const r = open(key, ack, { direction: Direction.down, concentrator: 17 });
    return r.ok ? (decodeDownlink(r.body) as { kind: string }).kind : "fail";
  },
  "open a command (concentrator)": () => {
    const r = open(key, command, { direction: Direction.down, concentrator: 17 });
    return r.ok ? (decodeDownlink(r.body) as { kind: string }).kind : "fail";
  },
  "MQTT encode + parse a 256-reading PUBLISH": () => {
    let n = 0;
    const p = new MqttParser({ onPacket: () => n++, onError: () => {} });
    p.push(encodePacket({ type: "publish", topic: "mc/17/up", payload: sealed256, qos: 1, dup: false, retain: false, packetId: 9 }));
    p.push(publish);
    return n;
  },
  "keep an Uplink (heap)": () => {
    const nothing = { connect: () => ({ write: () => false, close: () => {} }) };
    const clock = { now: () => 0, set: () => 0, clear: () => {} };
    kept = new Uplink({
      concentratorId: 17,
      sharedKey: key,
      counters: new MemoryCounters(),
      queue: new MemoryQueue(),
      handlers: {} as never,
      crypto: {} as never,
      connector: nothing,
      host: "broker",
      port: 1883,
      clock,
      timers: clock,
      wallClock: { now: () => 0, set: () => {}, valid: false },
      random: { fill: () => {} },
    });
    return 1;
  },
  "drop the Uplink": () => {
    const had = kept !== undefined;
    kept = undefined;
    return had;
  },
  gc: () => ((globalThis as { gc?: () => void }).gc?.(), 0),
};

serveJsonCommands(({ op }: { op: string }) => (op === "list" ? Object.keys(ops) : ops[op]!()));
