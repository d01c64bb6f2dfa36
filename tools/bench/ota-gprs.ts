/**
 * An OTA update of a 1.5 MiB image over GPRS (docs/ota.md "Figures"), in simulation: a small site
 * (two modules: little else on the link) whose modem reaches the head-end through a GPRS radio hop
 * of 6 kB/s down and 3 kB/s up (class 10, CS-2: 4 + 2 slots of 13.4 kbit/s), 300 ms one way, 20 % of
 * TCP segment transmissions lost, and the radio lost for 10 minutes when half the image is in the
 * slot. The image carries this build's firmware bundle (dist/device/device.js) repeated to 1.5 MiB.
 * Once with compressed chunks, once without.
 */
import { readFileSync } from "node:fs";
import { buildEspImage } from "../../hal/sim/esp-image.js";
import { Site } from "../site/site.js";
import { NO_FAULTS } from "../site/world.js";
import type { Bench } from "./bench.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const IMAGE_BYTES = 1.5 * 1024 * 1024;
const RADIO = { downBytesPerSecond: 6_000, upBytesPerSecond: 3_000, lossRate: 0.2 };

/** The firmware bundle repeated so that the image is 1.5 MiB. */
function bundle(): Uint8Array {
  const js = new Uint8Array(readFileSync(new URL("../../device/device.js", import.meta.url)));
  const overhead = buildEspImage({ version: "1.1.0", bundle: new Uint8Array(0) }).length;
  const out = new Uint8Array(IMAGE_BYTES - overhead - 16);
  for (let at = 0; at < out.length; at += js.length) out.set(js.subarray(0, Math.min(js.length, out.length - at)), at);
  return out;
}

interface Run {
  outcome: string;
  downloadMs: number;
  confirmMs: number;
  imageBytes: number;
  packageBytes: number;
  bytesOnAir: number;
  modemBytes: number;
  retransmissions: number;
  outageMs: number;
}

function run(compress: boolean, b: Uint8Array): Run {
  const site = new Site({
    seed: "ota-gprs",
    days: 1,
    modules: 2,
    plc: 0,
    radio: 0,
    ...NO_FAULTS,
    uplink: { radio: RADIO },
    ota: { bundle: b, campaign: { atMs: 20 * MINUTE, compress } },
  });
  const w = site.world;
  const s = w.scheduler;
  const u = w.uplink!;
  s.runUntil(20 * MINUTE);
  const modem0 = u.bytes.up + u.bytes.down;
  const retx0 = u.internet!.air.retransmissions;
  let outageAt = -1;
  s.runUntilTrue(() => {
    const st = site.concentrator?.ota?.status();
    if (outageAt < 0 && st && st.bytesTotal > 0 && st.bytesDone >= st.bytesTotal / 2) {
      outageAt = s.now;
      u.modem.setCoverage("none");
      s.after(10 * MINUTE, () => u.modem.setCoverage("home"));
    }
    return site.ota!.reached("verified");
  }, 12 * HOUR);
  const modem = u.bytes.up + u.bytes.down - modem0;
  const retx = u.internet!.air.retransmissions - retx0;
  const verifiedAt = s.now;
  s.runUntilTrue(() => site.ota!.reached("confirmed"), 2 * HOUR);
  const confirmedAt = s.now;
  s.runUntil(s.now + 10 * MINUTE);
  const r = site.report().ota!;
  const offered = r.timeline.find(([, step]) => step === "download")?.[0] ?? 20 * MINUTE;
  return {
    outcome: r.outcome,
    downloadMs: r.downloadMs,
    confirmMs: Math.round(confirmedAt - offered),
    imageBytes: r.imageBytes,
    packageBytes: r.packageBytes,
    bytesOnAir: r.bytesOnAir,
    modemBytes: modem,
    retransmissions: retx,
    outageMs: outageAt >= 0 && outageAt < verifiedAt ? 10 * MINUTE : 0,
  };
}

export const otaGprs: Bench = {
  name: "OTA of a 1.5 MiB image over GPRS (20 % loss, a 10-minute outage)",
  async run() {
    const b = bundle();
    const out: Record<string, number | string> = {};
    for (const compress of [true, false]) {
      const r = run(compress, b);
      const k = compress ? "compressed chunks" : "raw chunks";
      out[`${k}: outcome`] = r.outcome;
      out[`${k}: image bytes / package bytes`] = `${r.imageBytes} / ${r.packageBytes}`;
      out[`${k}: OTA bytes on the air (MQTT packets of frames and requests, re-sent ones included)`] = r.bytesOnAir;
      out[`${k}: bytes on the air / image bytes`] = Number((r.bytesOnAir / r.imageBytes).toFixed(3));
      out[`${k}: TCP payload through the modem during the download, both ways (readings too)`] = r.modemBytes;
      out[`${k}: TCP segments sent again on the radio hop during the download`] = r.retransmissions;
      out[`${k}: radio outage during the download, s`] = r.outageMs / 1000;
      out[`${k}: offer to image checked, s`] = Number((r.downloadMs / 1000).toFixed(0));
      out[`${k}: offer to new image confirmed, s`] = Number((r.confirmMs / 1000).toFixed(0));
    }
    return out;
  },
};
