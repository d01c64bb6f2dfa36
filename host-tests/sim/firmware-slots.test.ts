import assert from "node:assert/strict";
import type { Hal } from "../../hal/index.js";
import { SimBoard } from "../../hal/sim/board.js";
import { buildEspImage, verifyEspImage } from "../../hal/sim/esp-image.js";
import { PowerLossError } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { Scheduler } from "../../hal/sim/scheduler.js";

const SLOT = 64 * 1024;
const image = (version: string, bytes = 6000) => buildEspImage({ version, securityVersion: 3, bundle: new Uint8Array(bytes).map((_, i) => (i * 13) & 0xff) });

/** Writes `img` into the inactive slot the way the OTA module does. */
function install(hal: Hal, img: Uint8Array): void {
  const f = hal.firmware;
  f.release();
  for (let b = 0; b * f.blockSize < img.length; b++) f.eraseBlock(b);
  f.write(0, img);
}

function board(seed = "slots") {
  const s = new Scheduler();
  const b = new SimBoard(s, new Prng(seed), { firmwareSlotBytes: SLOT, firmwareImage: image("1.0.0") });
  let hal!: Hal;
  const booted: string[] = [];
  b.onBoot((h) => {
    hal = h;
    const r = h.firmware.running();
    booted.push(`${r.label} ${r.version} ${r.state}`);
  });
  b.powerOn();
  return { s, b, booted, get hal() { return hal; } };
}

describe("sim firmware slots and bootloader", () => {
  it("checks images as esp_image_verify does: any changed byte, a short or long length, another chip fail", () => {
    const img = image("2.1.0", 3000);
    const read = (o: number, n: number) => img.subarray(o, o + n);
    const info = verifyEspImage(read, img.length);
    assert.equal(info?.version, "2.1.0");
    assert.equal(info?.securityVersion, 3);
    for (let i = 0; i < img.length; i += 97) {
      const bad = img.slice();
      bad[i]! ^= 0x10;
      assert.equal(verifyEspImage((o, n) => bad.subarray(o, o + n), bad.length), undefined, `byte ${i} changed`);
    }
    assert.equal(verifyEspImage(read, img.length - 1), undefined);
    assert.equal(verifyEspImage((o, n) => img.subarray(o, o + n), img.length + 16), undefined);
    assert.equal(verifyEspImage(read, img.length, 0x0002), undefined);
  });

  it("boots a selected image once pending, confirms it, and keeps it after a reset", () => {
    const t = board();
    install(t.hal, image("2.0.0"));
    t.hal.firmware.select(image("2.0.0").length);
    assert.equal(t.hal.firmware.inactive().state, "new");
    t.b.reset("software");
    t.s.runUntil(1000);
    t.hal.firmware.confirm();
    t.b.reset("software");
    t.s.runUntil(2000);
    assert.deepEqual(t.booted, ["ota_0 1.0.0 none", "ota_1 2.0.0 pending-verify", "ota_1 2.0.0 valid"]);
    assert.equal(t.hal.firmware.inactive().version, "1.0.0");
  });

  it("rolls back an image reset before confirmation, and on rollback()", () => {
    const t = board();
    install(t.hal, image("2.0.0"));
    t.hal.firmware.select(image("2.0.0").length);
    t.b.cutPower();
    t.b.powerOn();
    t.b.cutPower();
    t.b.powerOn();
    assert.deepEqual(t.booted, ["ota_0 1.0.0 none", "ota_1 2.0.0 pending-verify", "ota_0 1.0.0 none"]);
    assert.equal(t.hal.firmware.inactive().state, "aborted");
    install(t.hal, image("3.0.0"));
    assert.equal(t.hal.firmware.inactive().state, "none", "release took the aborted slot out of the boot choice");
    t.hal.firmware.select(image("3.0.0").length);
    t.b.reset("software");
    t.s.runUntil(1000);
    t.hal.firmware.rollback();
    t.s.runUntil(2000);
    assert.deepEqual(t.booted.slice(3), ["ota_1 3.0.0 pending-verify", "ota_0 1.0.0 none"]);
    assert.equal(t.hal.firmware.inactive().state, "invalid");
  });

  it("refuses to select an image that does not check and leaves the boot choice untouched", () => {
    const t = board();
    const img = image("2.0.0");
    img[img.length - 40]! ^= 1;
    install(t.hal, img);
    const before = t.b.firmware.otadata.snapshot();
    assert.throws(() => t.hal.firmware.select(img.length), /invalid image/);
    assert.deepEqual(t.b.firmware.otadata.snapshot(), before);
    t.b.reset("software");
    t.s.runUntil(1000);
    assert.deepEqual(t.booted, ["ota_0 1.0.0 none", "ota_0 1.0.0 none"]);
  });

  it("boots the old image whichever flash operation of select, first boot and confirm a power cut interrupts", () => {
    const img = image("2.0.0");
    /** Select, reboot, confirm; returns the flash operations it took. Throws PowerLossError at a cut. */
    const update = (t: ReturnType<typeof board>) => {
      const start = t.b.flashOperations.operations;
      t.hal.firmware.select(img.length);
      t.b.reset("software");
      t.s.runUntil(t.s.now + 1000);
      t.hal.firmware.confirm();
      return t.b.flashOperations.operations - start;
    };
    const clean = board("clean");
    install(clean.hal, img);
    const total = update(clean);
    assert.equal(total, 6, "select 2, first boot 2, confirm 2 (an erase and a program each)");
    const versions = new Set<string>();
    for (let n = 1; n <= total; n++) {
      const t = board(`cut-${n}`);
      install(t.hal, img);
      t.b.cutAtFlashOperation(n);
      assert.throws(() => update(t), PowerLossError);
      for (let k = 0; k < 3; k++) {
        t.b.powerOn();
        assert.ok(t.b.firmware.booted, `cut at operation ${n}, boot ${k}: an image boots`);
        versions.add(t.b.firmware.booted!.version);
        t.b.cutPower();
      }
    }
    // Until confirm() returns, the new image has had its one try (ESP-IDF rollback semantics).
    assert.deepEqual([...versions], ["1.0.0"]);
  });
});
