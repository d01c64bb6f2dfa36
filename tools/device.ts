#!/usr/bin/env node
/**
 * A simulated concentrator that speaks to a real broker with the firmware's uplink:
 *
 *   node dist/tools/device.js --keys keys/mc-17.json [--broker mqtt://127.0.0.1:1883] [--meters 10]
 *                             [--interval-ms 1000] [--state keys/mc-17.state.json]
 */
import { parseOptions, UsageError } from "./cli-args.js";
import { SimDevice } from "./device/sim-device.js";

try {
  const o = parseOptions(process.argv.slice(2), { keys: "string", broker: "string", meters: "number", "interval-ms": "number", state: "string" });
  if (!o.keys) throw new UsageError("usage: device --keys FILE [--broker URL] [--meters N] [--interval-ms MS] [--state FILE]");
  const device = new SimDevice({
    keyFile: o.keys,
    broker: o.broker ?? "mqtt://127.0.0.1:1883",
    ...(o.meters !== undefined ? { meters: o.meters } : {}),
    ...(o["interval-ms"] !== undefined ? { intervalMs: o["interval-ms"] } : {}),
    ...(o.state ? { stateFile: o.state } : {}),
    log: (line) => console.log(line),
  });
  device.start();
  const report = setInterval(() => {
    const d = device.uplink.diagnostics();
    console.log(`${device.uplink.mqtt.state}: pending ${device.queue.unacknowledged}, acknowledged ${device.queue.ackedCount}, sent ${d["drain.messagesSent"]} messages, rx auth failed ${d["rx.authFailed"]}`);
  }, 5_000);
  process.on("SIGINT", () => {
    clearInterval(report);
    device.stop();
  });
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
