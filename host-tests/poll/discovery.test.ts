/**
 * Discovery's passes over a site whose modules are known: every candidate is looked up in the
 * topology and skipped, and a turn does at most a few such lookups (the 256-meter site's first
 * rescan did them all in one turn, over the budget of a turn: docs/memory.md). What is probed and
 * found is the same.
 */
import assert from "node:assert/strict";
import type { Readout, ReadoutResult, Transaction } from "../../firmware/bus/types.js";
import { Discovery } from "../../firmware/poll/discovery.js";
import { Topology } from "../../firmware/poll/topology.js";
import { SimClock } from "../../hal/sim/clock.js";
import { PowerDomain } from "../../hal/sim/power-domain.js";
import { Scheduler } from "../../hal/sim/scheduler.js";

class CountingTopology extends Topology {
  lookups = 0;

  override numberAt(path: string, address: string): number | undefined {
    this.lookups++;
    return super.numberAt(path, address);
  }
}

describe("discovery: a pass over known modules", () => {
  it("looks up at most 16 candidates per turn, and probes and finds what it did before", () => {
    const scheduler = new Scheduler();
    const domain = new PowerDomain(scheduler, "mc");
    domain.powerOn();
    const timers = new SimClock(domain);
    const topology = new CountingTopology();
    const known = Array.from({ length: 100 }, (_, i) => String(i + 1).padStart(3, "0"));
    for (const [i, a] of known.entries()) topology.observe("bus0", a, `M${a}`, new Map([[0, `E${i}`]]), 0);
    const candidates = ["000", ...known.slice(0, 50), "200", ...known.slice(50), "201"];
    const probed: string[] = [];
    const found: string[] = [];
    const answer = (address: string): ReadoutResult =>
      address === "201" ? ({ ok: true, readout: {} as Readout, attempts: 1, responseMs: 50, wire: { bytes: 0, ms: 0 } } as unknown as ReadoutResult) : ({ ok: false, failure: "timeout", attempts: 1 } as unknown as ReadoutResult);
    const bus = {
      enqueue(tx: Transaction) {
        assert.equal(tx.kind, "readout");
        probed.push(tx.address);
        timers.set(() => (tx as { onDone(r: ReadoutResult): void }).onDone(answer(tx.address)), 100);
        return { cancel: () => false } as never;
      },
    };
    const discovery = new Discovery({ timers, topology, paths: new Map([["bus0", bus]]), candidates: () => candidates, onFound: (_p, a) => found.push(a), rescanMs: 60_000 });
    discovery.start();
    let most = topology.lookups;
    topology.lookups = 0;
    while ((scheduler.peek() ?? Infinity) <= 100_000 && scheduler.step()) {
      most = Math.max(most, topology.lookups);
      topology.lookups = 0;
    }
    assert.ok(most <= 16, `${most} lookups in one turn`);
    assert.deepEqual(probed, ["000", "200", "201", "000", "200", "201"], "two passes, the unknown candidates alone");
    assert.deepEqual(found, ["201", "201"]);
    assert.equal(discovery.counters.passes, 2);
  });
});
