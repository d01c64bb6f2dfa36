import assert from "node:assert/strict";
import fc from "fast-check";
import { Topology, TopologyFullError } from "../../firmware/poll/topology.js";

const meters = (...serials: string[]) => new Map(serials.map((s, i) => [i + 1, s] as [number, string]));

describe("topology", () => {
  it("numbers a new module and its meters, and keeps the numbers for life", () => {
    const t = new Topology();
    const c = t.observe("bus0", "10000001", "M1", meters("A", "B"), 0);
    assert.deepEqual(c.map((x) => x.kind), ["new", "meterNew", "meterNew"]);
    assert.deepEqual(t.observe("bus0", "10000001", "M1", meters("A", "B"), 1), []);
    assert.deepEqual([...t.module(1)!.meters], [[1, 1], [2, 2]]);
  });

  it("calls another serial at a known place a replacement, and keeps a meter's number when it moves to the new module", () => {
    const t = new Topology();
    t.observe("bus0", "10000001", "M1", meters("A"), 0);
    t.takeChanged();
    const c = t.observe("bus0", "10000001", "M2", meters("A"), 1);
    assert.deepEqual(c, [{ kind: "replaced", module: 2, previous: 1 }, { kind: "meterMoved", module: 2, meter: 1, from: 1 }]);
    assert.equal(t.at("bus0", "10000001")!.number, 2);
    assert.equal(t.module(2)!.meters.get(1), 1);
    assert.equal(t.module(1)!.state, "missing");
    // The consumer behind meter 1 is now behind the new module: its latch is enforced there.
    assert.equal(t.meterLocation(1)!.module.number, 2);
    assert.equal(t.module(1)!.meters.size, 0);
    assert.deepEqual(t.takeChanged().sort(), [1, 2]);
  });

  it("follows a meter rewired from one module to another", () => {
    const t = new Topology();
    t.observe("bus0", "1", "M1", meters("A", "B"), 0);
    t.observe("bus0", "2", "M2", meters("C"), 0);
    t.takeChanged();
    assert.deepEqual(t.observe("bus0", "2", "M2", meters("C", "B"), 1), [{ kind: "meterMoved", module: 2, meter: 2, from: 1 }]);
    assert.deepEqual([...t.module(1)!.meters], [[1, 1]]);
    assert.equal(t.meterLocation(2)!.module.number, 2);
    assert.equal(t.meterLocation(2)!.channel, 2);
    assert.deepEqual(t.takeChanged().sort(), [1, 2]);
    assert.deepEqual(t.observe("bus0", "1", "M1", meters("A"), 2), []);
    assert.deepEqual(t.takeChanged(), []);
  });

  it("finds a meter's number by its serial exactly while some module's record lists it", () => {
    const observation = fc.record({ place: fc.integer({ min: 0, max: 3 }), module: fc.constantFrom("M1", "M2", "M3", "M4"), meters: fc.uniqueArray(fc.constantFrom("A", "B", "C", "D", "E"), { maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(observation, { maxLength: 12 }), (observations) => {
        const t = new Topology();
        observations.forEach((o, i) => t.observe("bus0", String(o.place + 1), o.module, meters(...o.meters), i));
        // What the records say: every module's persistent meters, by serial.
        const listed = new Map<string, number>();
        for (const m of t.modules) for (const x of t.persistent(m.number)!.meters) listed.set(x.serial, x.meter);
        for (const serial of ["A", "B", "C", "D", "E", "F"]) assert.equal(t.meterNumber(serial), listed.get(serial), serial);
      }),
    );
  });

  it("gives a meter listed by two records after a cut to the module in its place", () => {
    const snapshot = {
      nextModule: 3,
      nextMeter: 2,
      modules: [
        { number: 2, serial: "M2", path: "bus0", address: "1", displaced: false, meters: [{ channel: 1, meter: 1, serial: "A" }] },
        { number: 1, serial: "M1", path: "bus0", address: "1", displaced: true, meters: [{ channel: 1, meter: 1, serial: "A" }] },
      ],
    };
    const t = new Topology({}, snapshot);
    assert.equal(t.meterLocation(1)!.module.number, 2);
    assert.equal(t.module(1)!.meters.size, 0);
  });

  it("calls a known serial at another place a move, on the same or another path", () => {
    const t = new Topology();
    t.observe("bus0", "10000001", "M1", meters("A"), 0);
    assert.deepEqual(t.observe("bus1", "20000001", "M1", meters("A"), 1), [{ kind: "moved", module: 1, fromPath: "bus0", fromAddress: "10000001" }]);
    assert.equal(t.at("bus0", "10000001"), undefined);
    assert.equal(t.at("bus1", "20000001")!.number, 1);
  });

  it("makes a module missing after consecutive failures and restores it on the next answer", () => {
    const t = new Topology({ missingAfter: 3 });
    t.observe("bus0", "1", "M1", meters(), 0);
    assert.deepEqual(t.failed(1), []);
    assert.deepEqual(t.failed(1), []);
    assert.deepEqual(t.failed(1), [{ kind: "missing", module: 1, failures: 3 }]);
    assert.deepEqual(t.failed(1), []);
    assert.deepEqual(t.observe("bus0", "1", "M1", meters(), 5), [{ kind: "restored", module: 1, failures: 4 }]);
  });

  it("treats addresses with and without leading zeros as the same place", () => {
    const t = new Topology();
    t.observe("bus0", "00012", "M1", meters(), 0);
    assert.equal(t.at("bus0", "12")!.number, 1);
  });

  it("restores exactly what it snapshotted, whatever the history", () => {
    const op = fc.record({ path: fc.constantFrom("bus0", "bus1"), address: fc.constantFrom("1", "2", "3"), serial: fc.constantFrom("M1", "M2", "M3", "M4"), meter: fc.constantFrom("A", "B", "C") });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const t = new Topology();
        ops.forEach((o, i) => t.observe(o.path, o.address, o.serial, meters(o.meter), i));
        const copy = new Topology({}, t.snapshot());
        assert.deepEqual(copy.snapshot(), t.snapshot());
        for (const m of t.modules) assert.equal(copy.at(m.path, m.address)?.number, t.at(m.path, m.address)?.number);
      }),
    );
  });

  it("keeps every meter behind exactly one module, and names every module whose record changed", () => {
    const op = fc.record({ path: fc.constantFrom("bus0", "bus1"), address: fc.constantFrom("1", "2", "3"), serial: fc.constantFrom("M1", "M2", "M3", "M4"), meters: fc.subarray(["A", "B", "C", "D"]) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const t = new Topology();
        ops.forEach((o, i) => {
          const before = new Map([...t.modules].map((m) => [m.number, JSON.stringify(t.persistent(m.number))]));
          t.observe(o.path, o.address, o.serial, meters(...o.meters), i);
          const changed = new Set(t.takeChanged());
          for (const m of t.modules) assert.equal(changed.has(m.number), before.get(m.number) !== JSON.stringify(t.persistent(m.number)), `module ${m.number} after op ${i}`);
          const holders = new Map<number, number[]>();
          for (const m of t.modules) for (const meter of m.meters.values()) holders.set(meter, [...(holders.get(meter) ?? []), m.number]);
          for (const [meter, list] of holders) {
            assert.equal(list.length, 1, `meter ${meter} behind ${list}`);
            assert.equal(t.meterLocation(meter)!.module.number, list[0]);
          }
        });
      }),
    );
  });

  it("refuses a module beyond its capacity and leaves the table unchanged", () => {
    const t = new Topology({ maxModules: 2 });
    t.observe("bus0", "1", "M1", meters(), 0);
    t.observe("bus0", "2", "M2", meters(), 0);
    const before = JSON.stringify(t.snapshot());
    assert.throws(() => t.observe("bus0", "3", "M3", meters(), 0), TopologyFullError);
    assert.equal(JSON.stringify(t.snapshot()), before);
  });
});
