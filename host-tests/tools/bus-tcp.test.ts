// An RS485 bus of the simulation behind a TCP port that behaves like an RS485-to-Ethernet converter:
// read by a plain IEC 62056-21 client over raw TCP, and polled by the project's own bus master through
// a tunnel to that port (the path of `npm run device --bus tcp://HOST:PORT`). Real TCP on loopback,
// both simulations kept to real time.
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { decode7E1InPlace, encode7E1 } from "../../hal/serial-7e1.js";
import { Prng } from "../../hal/sim/prng.js";
import type { ReadoutResult } from "../../firmware/bus/types.js";
import { RealTimeRunner } from "../../tools/net/realtime-runner.js";
import { BusConverter, tunnelBus } from "../../tools/net/tcp-bus.js";
import { busSite } from "../../tools/sim/bus-rig.js";

function ascii(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "latin1"));
}

describe("tools: RS485 buses over TCP", () => {
  it("lets a plain IEC 62056-21 client read a simulated module through the converter's TCP port", async function () {
    this.timeout(30_000);
    const field = busSite("converter", { modules: 2 });
    const runner = new RealTimeRunner(field.scheduler, { alwaysPaced: true });
    const converter = new BusConverter(runner, field.bus, new Prng("converter"));
    const { port } = await converter.listen("127.0.0.1", 0);
    let stop = false;
    const running = runner.run(() => stop, Infinity);
    const address = field.modules[0]!.address;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write(encode7E1(ascii(`/?${address}!\r\n`))));
      let text = "";
      socket.on("data", (d: Buffer) => {
        const b = new Uint8Array(d);
        decode7E1InPlace(b);
        text += Buffer.from(b).toString("latin1");
        if (/!\r\n$/.test(text)) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
      setTimeout(() => reject(new Error(`no readout: ${JSON.stringify(text)}`)), 20_000);
    });
    stop = true;
    await running;
    converter.close();
    assert.match(answer, /^\/[A-Z]{2}[A-Za-z]\d\S*\r\n\r\n/, "identification line, then the data block");
    assert.ok(answer.includes(`0-0:0.0.0(${address})`), "the module's own address in its readout");
    assert.match(answer, /1-1:1\.8\.0\(\d+\.\d+\*kWh\)/);
  });

  it("lets the project's bus master poll the simulated bus through a tunnel to the converter", async function () {
    this.timeout(30_000);
    const field = busSite("field", { modules: 2 });
    const fieldRunner = new RealTimeRunner(field.scheduler, { alwaysPaced: true });
    const converter = new BusConverter(fieldRunner, field.bus, new Prng("field"));
    const { port } = await converter.listen("127.0.0.1", 0);
    // The concentrator's side: its bus master alone on a segment whose other node is the tunnel.
    const unit = busSite("unit", { modules: 0 });
    const unitRunner = new RealTimeRunner(unit.scheduler, { alwaysPaced: true });
    let stop = false;
    const runs = [fieldRunner.run(() => stop, Infinity), unitRunner.run(() => stop, Infinity)];
    const tunnel = await tunnelBus(unitRunner, unit.bus, new Prng("unit"), "127.0.0.1", port);
    const target = field.modules[1]!;
    const result = await new Promise<ReadoutResult>((resolve) => unitRunner.deliver(() => unit.master.enqueue({ kind: "readout", address: target.address, onDone: resolve })));
    stop = true;
    await Promise.all(runs);
    tunnel.close();
    converter.close();
    assert.ok(result.ok, `readout failed: ${JSON.stringify(result)}`);
    const sets = new Map(result.readout.dataSets.map((d) => [d.address, d.values[0]?.value]));
    assert.equal(sets.get("0-0:0.0.0"), target.address);
    assert.equal(sets.get("0-0:C.1.0"), target.serial);
    assert.equal(unit.master.lineCounters.echoMismatches, 0);
  });
});
