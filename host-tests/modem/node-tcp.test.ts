// The modem emulator on real TCP: a Node echo server on a free loopback port, reached by the firmware's
// modem driver through the emulator and NodePacketNetwork, with the real-time runner driving the
// simulation (free-running while no socket is open, paced against real time while one is).
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server } from "node:net";
import { Scheduler } from "../../hal/sim/scheduler.js";
import { NodePacketNetwork } from "../../tools/net/node-packet-network.js";
import { RealTimeRunner } from "../../tools/net/realtime-runner.js";
import { echoClient, modemRig, pattern } from "../../tools/sim/modem-rig.js";

function echoServer(): Promise<{ server: Server; port: number; received: () => number }> {
  let received = 0;
  const server = createServer((socket) => {
    socket.on("data", (chunk) => {
      received += chunk.length;
      socket.write(chunk);
    });
    socket.on("error", () => undefined);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port, received: () => received })));
}

describe("modem emulator on real TCP (loopback)", function () {
  this.timeout(30_000);

  for (const family of ["sim800", "quectel"] as const) {
    it(`echoes 3000 bytes through a real echo server (${family})`, async () => {
      const { server, port, received } = await echoServer();
      try {
        const scheduler = new Scheduler();
        const runner = new RealTimeRunner(scheduler);
        const network = new NodePacketNetwork(runner, { hosts: { "echo.local": "127.0.0.1" } });
        const rig = modemRig({ family, seed: "node-tcp", scheduler, network });
        const wallBefore = performance.now();
        assert.ok(await runner.run(() => rig.fw.state === "ready", 120_000), "ready");
        const bringUpWall = performance.now() - wallBefore;
        assert.ok(bringUpWall < scheduler.now / 5, `bring-up ran freely: ${scheduler.now} virtual ms in ${bringUpWall} real ms`);

        const payload = pattern(3000, 5);
        const client = echoClient(rig, payload, { host: "echo.local", port });
        const startVirtual = scheduler.now;
        const startReal = performance.now();
        assert.ok(await runner.run(() => client.complete || client.closed !== undefined, 60_000), `echo (closed: ${client.closed})`);
        const virtualMs = scheduler.now - startVirtual;
        const realMs = performance.now() - startReal;
        assert.deepEqual(client.received, Array.from(payload));
        assert.equal(received(), 3000, "the real server got every byte");
        assert.ok(virtualMs <= realMs + 50, `paced: ${virtualMs} virtual ms within ${realMs} real ms`);
        assert.ok(runner.stats.delivered > 0);

        client.close();
        assert.ok(await runner.run(() => client.closed !== undefined && !network.busy, 10_000));
        assert.equal(client.closed, "closed");
      } finally {
        server.close();
      }
    });
  }

  it("reports a refused connection when nothing listens on the port", async () => {
    const { server, port } = await echoServer();
    server.close();
    await new Promise((r) => server.on("close", r));
    const scheduler = new Scheduler();
    const runner = new RealTimeRunner(scheduler);
    const network = new NodePacketNetwork(runner);
    const rig = modemRig({ family: "quectel", seed: "node-refused", scheduler, network });
    assert.ok(await runner.run(() => rig.fw.state === "ready", 120_000));
    const client = echoClient(rig, pattern(10), { host: "127.0.0.1", port });
    assert.ok(await runner.run(() => client.closed !== undefined, 60_000));
    assert.equal(client.closed, "refused");
  });
});

describe("real-time runner", () => {
  it("runs virtual time freely while no real I/O is outstanding", async () => {
    const s = new Scheduler();
    const runner = new RealTimeRunner(s);
    let ticks = 0;
    const tick = () => {
      ticks++;
      s.after(1000, tick);
    };
    tick();
    const t0 = performance.now();
    await runner.run(() => false, 3_600_000);
    assert.equal(s.now, 3_600_000);
    assert.equal(ticks, 3601);
    assert.ok(performance.now() - t0 < 2000, "an hour of timers in well under real time");
  });

  it("paces virtual time against real time while I/O is outstanding, and takes real events in at the current virtual time", async () => {
    const s = new Scheduler();
    const runner = new RealTimeRunner(s);
    const io = { busy: true };
    runner.watch(io);
    let deliveredAt = -1;
    setTimeout(() => runner.deliver(() => (deliveredAt = s.now)), 60);
    setTimeout(() => (io.busy = false), 120);
    const t0 = performance.now();
    await runner.run(() => deliveredAt >= 0 && !io.busy, 10_000);
    const real = performance.now() - t0;
    assert.ok(deliveredAt >= 0 && deliveredAt <= real + 5, `delivered at virtual ${deliveredAt} ms`);
    assert.ok(s.now <= real + 5, `virtual ${s.now} ms did not run ahead of real ${real} ms`);
    // How far it got depends on how often a loaded machine lets the pacing run; that it moved does not.
    assert.ok(s.now > 0, `virtual time advanced while paced (${s.now} ms)`);
  });

  it("paces even without I/O when told to (a device keeping real time)", async () => {
    const s = new Scheduler();
    const runner = new RealTimeRunner(s, { speed: 10, alwaysPaced: true });
    const t0 = performance.now();
    await runner.run(() => false, 1_000);
    const real = performance.now() - t0;
    assert.equal(s.now, 1_000);
    assert.ok(real >= 90, `1 s of virtual time at 10× took ${real} real ms`);
  });

  it("refuses a speed that is not positive", () => {
    assert.throws(() => new RealTimeRunner(new Scheduler(), { speed: 0 }), RangeError);
  });
});
