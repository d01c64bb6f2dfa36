/**
 * Uplink bytes per 15-minute reading, all overhead included (MQTT framing, topic, packet id, the
 * envelope's header and tag, CBOR, the connection's CONNECT/SUBSCRIBE/PINGREQ/status and the PUBACKs
 * for the head-end's acknowledgements), measured on the wire of a simulated day of a 100-meter site;
 * compared with JSON of the same readings in the same run.
 */
import { encodePacket } from "../../firmware/uplink/mqtt/encode.js";
import { UplinkSite } from "../sim/uplink-site.js";
import { utf8Length } from "../../firmware/uplink/utf8.js";
import type { Bench } from "./bench.js";

export const uplinkBytes: Bench = {
  name: "uplink bytes per 15-minute reading",
  async run() {
    const site = new UplinkSite({ seed: "bench" });
    const meters = 100;
    const readings = site.addLoadProfile(meters, 96);
    site.powerOn();
    site.s.runUntilTrue(() => site.queue.unacknowledged === 0, 3_600_000);
    if (site.queue.unacknowledged !== 0) throw new Error("the drain did not finish");
    let wire = 0;
    let bodies = 0;
    for (const p of site.sent) {
      wire += encodePacket(p).length;
      if (p.type === "publish" && p.qos === 1) bodies += p.payload.length - 28; // envelope header + tag
    }
    const n = readings.length;
    const json = utf8Length(JSON.stringify(readings));
    return {
      readings: n,
      "messages (QoS 1)": site.uplink.drain.counters.messagesSent,
      "wire bytes per reading, all overhead": Number((wire / n).toFixed(2)),
      "CBOR body bytes per reading": Number((bodies / n).toFixed(2)),
      "JSON bytes per reading (same readings, body only)": Number((json / n).toFixed(2)),
      "JSON body / wire total": Number((json / wire).toFixed(1)),
    };
  },
};
