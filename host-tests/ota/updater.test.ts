import assert from "node:assert/strict";
import nacl from "tweetnacl";
import { EventType } from "../../firmware/model/records.js";
import { FrameObject } from "../../firmware/ota/frames.js";
import { OtaReason, reasonName, SIGNED_BYTES } from "../../firmware/ota/format.js";
import { headOf, OtaRig } from "../../tools/sim/ota-rig.js";

const MINUTE = 60_000;
const OK = 0;
const REJECTED = 1;

/** Runs until the rig's board restarted into the new image and its trial ended. */
function update(rig: OtaRig, pkg: Uint8Array): void {
  rig.offer(pkg);
  rig.run(5 * MINUTE);
}

describe("OTA updater", () => {
  it("downloads, checks, switches, self-tests and confirms; the counters move forward only at the confirmation", () => {
    const rig = new OtaRig();
    const pkg = rig.package(rig.image("1.1.0"));
    rig.offer(pkg);
    rig.s.runUntilTrue(() => rig.of(EventType.otaSwitched).length > 0, 5 * MINUTE);
    assert.deepEqual(rig.results, [{ code: OK, detail: "accepted" }]);
    const downloads = rig.of(EventType.otaDownload).map((e) => e.detail);
    assert.equal(downloads[0], 0, "the offer taken");
    assert.equal(downloads.at(-1), rig.image("1.1.0").length, "every byte in the slot");
    assert.equal(rig.of(EventType.otaVerified).length, 1);
    rig.s.runUntilTrue(() => rig.board.boots === 2, MINUTE);
    assert.equal(rig.hal.firmware.running().version, "1.1.0");
    assert.equal(rig.hal.firmware.running().state, "pending-verify");
    assert.equal(rig.updater.status().state, "testing");
    assert.equal(rig.updater.status().securityCounter, 0, "not before the confirmation");
    rig.run(10_000);
    assert.equal(rig.of(EventType.otaConfirmed).length, 1);
    assert.equal(rig.of(EventType.otaConfirmed)[0]!.detail, 0x01010000, "1.1.0 packed");
    const s = rig.updater.status();
    assert.deepEqual([s.state, s.runningVersion, s.runningSlotState, s.lastOutcome, s.securityCounter, s.sequenceFloor], ["idle", "1.1.0", "valid", "confirmed", 1, 2]);
    // A reboot keeps it.
    rig.board.reset("software");
    rig.run(10_000);
    assert.equal(rig.hal.firmware.running().version, "1.1.0");
  });

  it("re-fetches a chunk that arrives corrupted, and only that chunk", () => {
    const rig = new OtaRig();
    let spoiled = 0;
    const clean = rig.tamper;
    rig.tamper = (f) => {
      if (f.object === FrameObject.chunk && f.index === 2 && spoiled++ === 0) f.data[7]! ^= 0x40;
      return clean(f);
    };
    update(rig, rig.package(rig.image("1.1.0")));
    assert.equal(rig.of(EventType.otaConfirmed).length, 1);
    const chunk2 = rig.requests.filter((r) => r.object === FrameObject.chunk && r.first <= 2 && r.first + r.count > 2);
    assert.equal(chunk2.length, 2, "chunk 2 asked for twice");
  });

  it("resumes a download at the first chunk not written after a power cut, and after a link outage", () => {
    const rig = new OtaRig();
    const image = rig.image("1.1.0", { bytes: 60_000 });
    rig.offer(rig.package(image));
    rig.s.runUntilTrue(() => rig.of(EventType.otaDownload).some((e) => e.detail >= 30_000), 5 * MINUTE);
    const before = rig.updater.status().bytesDone;
    rig.board.cutPower();
    rig.run(MINUTE);
    rig.board.powerOn();
    assert.equal(rig.updater.status().state, "downloading");
    assert.equal(rig.updater.status().bytesDone, before, "the progress survived the cut");
    rig.linkUp = false;
    rig.run(10 * MINUTE);
    rig.linkUp = true;
    rig.updater.linkUp();
    rig.run(5 * MINUTE);
    assert.equal(rig.of(EventType.otaConfirmed).length, 1);
    const asked = new Set<number>();
    let repeats = 0;
    for (const r of rig.requests.filter((x) => x.object === FrameObject.chunk)) {
      for (let k = r.first; k < r.first + r.count; k++) asked.has(k) ? repeats++ : asked.add(k);
    }
    assert.ok(repeats <= 3, `${repeats} chunks asked for again (the one being written at the cut and those in flight)`);
  });

  it("rolls back an image that fails its self-test, reports why, and refuses the same package again", () => {
    const rig = new OtaRig({ probes: { headendAcknowledged: false } });
    const pkg = rig.package(rig.image("1.1.0"));
    update(rig, pkg);
    assert.equal(rig.hal.firmware.running().version, "1.0.0");
    assert.deepEqual(rig.of(EventType.otaRolledBack).map((e) => e.detail), [OtaReason.selfTestUplink]);
    const s = rig.updater.status();
    assert.deepEqual([s.lastOutcome, s.lastReason, s.securityCounter, s.sequenceFloor], ["rolled-back", "selfTestUplink", 0, 0]);
    rig.offer(pkg);
    rig.run(MINUTE);
    assert.deepEqual(rig.results.at(-1), { code: REJECTED, detail: "failedBefore" });
  });

  it("rolls back an image whose trial a power cut ends, and takes the same package again", () => {
    const rig = new OtaRig({ probes: { headendAcknowledged: false } });
    const pkg = rig.package(rig.image("1.1.0"));
    rig.offer(pkg);
    rig.s.runUntilTrue(() => rig.board.boots === 2, 5 * MINUTE);
    rig.run(5_000);
    rig.board.cutPower();
    rig.board.powerOn();
    assert.equal(rig.hal.firmware.running().version, "1.0.0");
    assert.deepEqual(rig.of(EventType.otaRolledBack).map((e) => e.detail), [OtaReason.powerLost]);
    rig.probes.headendAcknowledged = true;
    update(rig, pkg);
    assert.equal(rig.hal.firmware.running().version, "1.1.0");
    assert.equal(rig.of(EventType.otaConfirmed).length, 1);
  });

  it("switches only inside the offer's window, by the site's local time", () => {
    const rig = new OtaRig();
    rig.offer(rig.package(rig.image("1.1.0")), { fromMin: 120, toMin: 180 });
    rig.run(30 * MINUTE);
    assert.equal(rig.updater.status().state, "waiting");
    assert.equal(rig.board.boots, 1);
    rig.s.runUntilTrue(() => rig.board.boots === 2, 3 * 60 * MINUTE);
    const minute = Math.floor(rig.s.now / MINUTE) % 1440;
    assert.ok(minute >= 120 && minute < 122, `switched at minute ${minute} of the day`);
  });

  it("refuses a second package while one is in progress, and takes the same one again as a retry", () => {
    const rig = new OtaRig();
    const pkg = rig.package(rig.image("1.1.0", { bytes: 60_000 }));
    rig.offer(pkg);
    rig.run(5_000);
    assert.equal(rig.updater.status().state, "downloading");
    rig.offer(pkg);
    rig.offer(rig.package(rig.image("1.2.0"), { version: "1.2.0", sequence: 3 }));
    rig.run(5_000);
    assert.deepEqual(rig.results, [
      { code: OK, detail: "accepted" },
      { code: OK, detail: "in progress" },
      { code: REJECTED, detail: "busy" },
    ]);
  });
});

describe("OTA rejections: each reason reported, nothing written to the boot choice", () => {
  /** Offers what `make` builds on a fresh rig and checks the refusal. */
  function refused(expected: OtaReason, make: (rig: OtaRig) => Uint8Array, prepare?: (rig: OtaRig) => void, head?: (pkg: Uint8Array) => Uint8Array): OtaRig {
    const rig = new OtaRig();
    prepare?.(rig);
    const otadata = rig.board.firmware.otadata.snapshot();
    const inactive = rig.hal.firmware.inactive().state;
    const pkg = make(rig);
    const events = rig.events.length;
    rig.offer(pkg, undefined, head?.(pkg));
    rig.run(5 * MINUTE);
    const rejected = rig.events.slice(events).filter((e) => e.type === EventType.otaRejected);
    assert.deepEqual(rejected.map((e) => reasonName(e.detail)), [reasonName(expected)], "one rejection, with its reason");
    assert.deepEqual(rig.board.firmware.otadata.snapshot(), otadata, "the boot choice is untouched");
    assert.equal(rig.hal.firmware.inactive().state, inactive);
    assert.equal(rig.board.boots, prepare ? rig.board.boots : 1, "no restart");
    assert.equal(rig.of(EventType.otaSwitched).length, prepare ? rig.of(EventType.otaSwitched).length : 0);
    return rig;
  }
  const image = (rig: OtaRig) => rig.image("1.1.0");

  it("unsigned", () => refused(OtaReason.unsigned, (r) => r.package(image(r), { signers: [] })));
  it("signed by too few pinned keys", () => refused(OtaReason.threshold, (r) => r.package(image(r), { signers: [r.keys[0]!.secretKey] })));
  it("signed by keys that are not pinned", () => refused(OtaReason.threshold, (r) => r.package(image(r), { signers: [nacl.sign.keyPair().secretKey, nacl.sign.keyPair().secretKey] })));
  it("a wrong signature by a pinned key", () =>
    refused(
      OtaReason.badSignature,
      (r) => r.package(image(r), { signers: [r.keys[0]!.secretKey, r.keys[1]!.secretKey, r.keys[2]!.secretKey] }),
      undefined,
      (pkg) => {
        const head = headOf(pkg);
        head[SIGNED_BYTES + 1 + 72 * 2 + 8 + 5]! ^= 1; // the third signature's bytes
        return head;
      },
    ));
  it("a signed part changed after signing", () =>
    refused(OtaReason.badSignature, (r) => r.package(image(r)), undefined, (pkg) => {
      const head = headOf(pkg);
      head[12]! ^= 1; // the security counter
      return head;
    }));
  it("below the security counter", () =>
    refused(
      OtaReason.securityCounter,
      (r) => r.package(r.image("1.2.0"), { version: "1.2.0", sequence: 5, securityCounter: 2 }),
      (r) => update(r, r.package(r.image("1.1.0"), { securityCounter: 3 })),
    ));
  it("expired", () => refused(OtaReason.expired, (r) => r.package(image(r), { expiresS: 1_767_225_600 - 1 })));
  it("for other hardware", () => refused(OtaReason.hardware, (r) => r.package(image(r), { hardwareId: "MC-OTHER" })));
  it("for another unit", () => refused(OtaReason.notForUnit, (r) => r.package(image(r), { units: [18, 19] })));
  it("truncated at the head-end", () =>
    refused(OtaReason.truncated, (r) => {
      const pkg = r.package(image(r));
      return pkg.slice(0, pkg.length - 3000);
    }));
  it("a truncated head", () => refused(OtaReason.malformed, (r) => r.package(image(r)), undefined, (pkg) => headOf(pkg).slice(0, 140)));
  it("a chunk that stays corrupted after every re-fetch", () => {
    const rig = refused(
      OtaReason.corruptChunk,
      (r) => {
        const clean = r.tamper;
        r.tamper = (f) => {
          if (f.object === FrameObject.chunk && f.index === 1) f.data[3]! ^= 0x10;
          return clean(f);
        };
        return r.package(image(r));
      },
    );
    assert.equal(rig.updater.downloadCounters?.refetches, 3, "three re-fetches, then refused");
  });
  it("larger than the slot", () => refused(OtaReason.tooLarge, (r) => r.package(r.image("1.1.0", { bytes: 300_000 }))));
  it("a chunk longer than the table says", () =>
    refused(OtaReason.length, (r) => {
      const clean = r.tamper;
      r.tamper = (f) => clean(f.object === FrameObject.chunk && f.index === 1 ? { ...f, data: new Uint8Array([...f.data, 0]) } : f);
      return r.package(image(r));
    }));
  it("metadata replayed from an older campaign", () => {
    let old: Uint8Array | undefined;
    refused(
      OtaReason.replayed,
      () => old!,
      (r) => {
        old = r.package(image(r), { sequence: 2 });
        update(r, r.package(r.image("1.2.0"), { version: "1.2.0", sequence: 3 }));
      },
    );
  });
  it("an image whose own version is not the head's", () => refused(OtaReason.versionMismatch, (r) => r.package(r.image("1.1.1"), { version: "1.1.0" })));
  it("a key-rotation package below the threshold", () =>
    refused(OtaReason.threshold, (r) => r.keysPackage({ version: 2, threshold: 2, keys: [nacl.sign.keyPair().publicKey, nacl.sign.keyPair().publicKey] }, [r.keys[0]!.secretKey])));
});

describe("OTA key rotation", () => {
  it("installs a key set signed by the old threshold; then only the new keys sign, and the rotation cannot be replayed", () => {
    const rig = new OtaRig();
    const next = [1, 2, 3].map(() => nacl.sign.keyPair());
    const rotation = rig.keysPackage({ version: 2, threshold: 2, keys: next.map((k) => k.publicKey) }, [rig.keys[1]!.secretKey, rig.keys[2]!.secretKey]);
    rig.offer(rotation);
    rig.run(MINUTE);
    assert.deepEqual(rig.of(EventType.otaConfirmed).map((e) => e.detail), [2], "key set 2 installed");
    assert.equal(rig.updater.status().keySetVersion, 2);
    rig.board.reset("software");
    rig.run(MINUTE);
    assert.equal(rig.updater.status().keySetVersion, 2, "kept across a reboot");
    rig.offer(rig.package(rig.image("1.1.0")));
    rig.run(MINUTE);
    assert.deepEqual(rig.results.at(-1), { code: REJECTED, detail: "threshold" }, "the old keys sign no more");
    rig.offer(rotation);
    rig.run(MINUTE);
    assert.deepEqual(rig.results.at(-1), { code: REJECTED, detail: "threshold" }, "the old rotation again: its signers are no longer pinned");
    rig.offer(rig.keysPackage({ version: 2, threshold: 2, keys: next.map((k) => k.publicKey) }, [next[0]!.secretKey, next[1]!.secretKey]));
    rig.run(MINUTE);
    assert.deepEqual(rig.results.at(-1), { code: REJECTED, detail: "replayed" }, "a key set version that is not the next one");
    update(rig, rig.package(rig.image("1.1.0"), { signers: [next[0]!.secretKey, next[2]!.secretKey] }));
    assert.equal(rig.hal.firmware.running().version, "1.1.0");
  });
});
