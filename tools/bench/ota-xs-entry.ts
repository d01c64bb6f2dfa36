/**
 * Evaluated inside XS by ota-xs-run.ts: the OTA updater's costs, one operation per command, so the
 * XS meter of a crank is the cost of one operation. A whole download runs turn by turn on the rig
 * (tools/sim/ota-rig.ts), each turn told by what did the work in it.
 */
import { deflateSync } from "fflate";
import nacl from "tweetnacl";
import { EventType } from "../../firmware/model/records.js";
import { parseHead } from "../../firmware/ota/format.js";
import { policyReason } from "../../firmware/ota/verify.js";
import { SoftSha256 } from "../../hal/sim/sha256.js";
import { SimInflater } from "../../hal/sim/system.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { headOf, OtaRig } from "../sim/ota-rig.js";
import { standInBundle } from "../site/ota-world.js";
import { serveJsonCommands } from "../xs/json-commands.js";

const setupRig = new OtaRig({ seed: "bench" });
const head = headOf(setupRig.package(setupRig.image("1.1.0")));
const parsed = parseHead(head);
if (typeof parsed === "number") throw new Error("bench head");
const key = setupRig.keys[0]!.publicKey;
const signature = parsed.signatures[0]!.signature;
const plain = standInBundle(4096, "bench");
const packed = deflateSync(plain, { level: 9 });
const domain = new PowerDomain(new Scheduler(), "bench");
domain.powerOn();
const inflater = new SimInflater(domain);
const out = new Uint8Array(4096);
let rig: OtaRig | undefined;
let marks: number[] = [];

function mark(r: OtaRig): number[] {
  return [r.board.crypto.verifications, r.board.inflater.calls, r.served, r.board.boots, r.board.firmware.imageChecks];
}
const KINDS = ["signature check (crypto worker)", "inflate (fflate stand-in)", "head-end", "boot", "image check (esp_image_verify: native)"];

const ops: Record<string, (a: { bytes?: number }) => unknown> = {
  noop: () => 0,
  verify: () => nacl.sign.detached.verify(parsed.signed, signature, key),
  judge: () => {
    const h = parseHead(head);
    const d = new SoftSha256();
    d.update(head.subarray(0, 128));
    d.digest();
    return typeof h === "number" ? h : policyReason(h, { hardwareId: "MC-TEST-1", nowS: 1_767_225_600, securityCounter: 0, sequenceFloor: 0, capacity: 256 * 1024, blockSize: 4096, keySetVersion: 1 }) ?? 0;
  },
  sha4k: () => {
    const h = new SoftSha256();
    h.update(plain);
    return h.digest().length;
  },
  inflate: () => inflater.inflateRaw(packed, out),
  "rig-setup": ({ bytes }) => {
    rig = new OtaRig({ seed: "bench" });
    const image = rig.image("1.1.0", { bytes: bytes ?? 60_000 });
    rig.offer(rig.package(image));
    marks = mark(rig);
    return Math.ceil(image.length / 4096);
  },
  "rig-turn": () => {
    const r = rig!;
    if (r.of(EventType.otaVerified).length > 0) return { more: false };
    r.s.step();
    const now = mark(r);
    const changed = now.findIndex((x, i) => x !== marks[i]);
    marks = now;
    return { more: true, kind: changed < 0 ? "firmware" : KINDS[changed] };
  },
};

serveJsonCommands((c: { op: string; bytes?: number }) => (c.op === "list" ? Object.keys(ops) : ops[c.op]!(c)));
