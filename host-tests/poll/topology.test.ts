import assert from "node:assert/strict";
import fc from "fast-check";
import { Topology, TopologyFullError, type ModuleState, type TopologyChange } from "../../firmware/poll/topology.js";

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

  it("refuses a channel that is not a byte (OBIS value group B) with a RangeError and leaves the table unchanged", () => {
    const t = new Topology();
    t.observe("bus0", "1", "M1", meters("A"), 0);
    const before = JSON.stringify(t.snapshot());
    for (const channel of [-1, 256, 1.5]) assert.throws(() => t.observe("bus0", "2", "M2", new Map([[channel, "B"]]), 1), RangeError);
    assert.equal(JSON.stringify(t.snapshot()), before);
    assert.equal(t.meterNumber("B"), undefined);
  });

  it("answers as a model of Maps does, whatever the sequence of answers, moves, replacements, failures and reboots", () => {
    const observe = fc.record({
      op: fc.constant("observe" as const),
      path: fc.constantFrom("bus0", "bus1", "bridge7"),
      address: fc.constantFrom("1", "02", "0003", "dlms:18"),
      serial: fc.constantFrom("63834781", "M2", "m3", "Zähler4"),
      meters: fc.uniqueArray(fc.constantFrom("20352064", "A", "b", "€5", "10000001"), { maxLength: 3 }),
    });
    const health = fc.record({ op: fc.constantFrom("failed" as const, "succeeded" as const), module: fc.integer({ min: 0, max: 5 }) });
    const reboot = fc.record({ op: fc.constant("reboot" as const) });
    const ops = fc.array(fc.oneof({ weight: 5, arbitrary: observe }, { weight: 3, arbitrary: health }, { weight: 1, arbitrary: reboot }), { maxLength: 50 });
    fc.assert(
      fc.property(ops, (list) => {
        let t = new Topology({ missingAfter: 2 });
        const model = new MapModel(2);
        list.forEach((o, i) => {
          if (o.op === "observe") assert.deepEqual(t.observe(o.path, o.address, o.serial, meters(...o.meters), i), model.observe(o.path, o.address, o.serial, meters(...o.meters), i));
          else if (o.op === "failed") assert.deepEqual(t.failed(o.module), model.failed(o.module));
          else if (o.op === "succeeded") assert.deepEqual(t.succeeded(o.module, i), model.succeeded(o.module, i));
          else (t = new Topology({ missingAfter: 2 }, t.snapshot())), model.reboot();
          assert.equal(t.size, model.modules.size);
          for (let n = 0; n <= 6; n++) {
            const m = model.modules.get(n), v = t.module(n);
            assert.equal(t.has(n), m !== undefined);
            assert.equal(t.inPlace(n), m !== undefined && model.byPlace.get(`${m.path}/${m.address.replace(/^0+/, "")}`) === n, `module ${n} in place`);
            assert.deepEqual(v && { serial: v.serial, path: v.path, address: v.address, state: v.state, failures: v.failures, lastOkMs: v.lastOkMs, meters: [...v.meters] }, m && { ...m, meters: [...m.meters] }, `module ${n} after op ${i}`);
          }
          assert.deepEqual(t.modules.map((m) => m.number), [...model.modules.keys()].sort((a, b) => a - b));
          for (const path of ["bus0", "bus1", "bridge7"]) for (const address of ["1", "2", "3", "dlms:18"]) assert.equal(t.numberAt(path, address), model.byPlace.get(`${path}/${address.replace(/^0+/, "")}`));
          for (const serial of ["20352064", "A", "b", "€5", "10000001"]) {
            const meter = t.meterNumber(serial);
            assert.equal(meter, model.meterNumber(serial), serial);
            if (meter !== undefined) assert.deepEqual(t.meterLocation(meter) && { module: t.meterLocation(meter)!.module.number, channel: t.meterLocation(meter)!.channel }, model.meterLocation(meter));
          }
        });
      }),
    );
  });
});

/** The topology's rules over Maps and objects (as the table was before it was held in rows), for the property test. */
class MapModel {
  readonly modules = new Map<number, { serial: string; path: string; address: string; state: ModuleState; failures: number; lastOkMs: number; meters: Map<number, number> }>();
  readonly byPlace = new Map<string, number>();
  readonly #meterBySerial = new Map<string, number>();
  #nextModule = 1;
  #nextMeter = 1;

  constructor(readonly missingAfter: number) {}

  observe(path: string, address: string, serial: string, read: ReadonlyMap<number, string>, nowMs: number): TopologyChange[] {
    const changes: TopologyChange[] = [];
    const key = `${path}/${address.replace(/^0+/, "")}`;
    const occupant = this.byPlace.get(key);
    let number = [...this.modules].find(([, m]) => m.serial === serial)?.[0];
    if (number === undefined) {
      number = this.#nextModule++;
      this.modules.set(number, { serial, path, address, state: "present", failures: 0, lastOkMs: nowMs, meters: new Map() });
      changes.push(occupant !== undefined ? { kind: "replaced", module: number, previous: occupant } : { kind: "new", module: number });
    } else {
      const m = this.modules.get(number)!;
      if (m.path !== path || m.address !== address) {
        changes.push({ kind: "moved", module: number, fromPath: m.path, fromAddress: m.address });
        const from = `${m.path}/${m.address.replace(/^0+/, "")}`;
        if (this.byPlace.get(from) === number) this.byPlace.delete(from);
        Object.assign(m, { path, address });
      } else if (occupant !== undefined && occupant !== number) changes.push({ kind: "replaced", module: number, previous: occupant });
    }
    if (occupant !== undefined && occupant !== number) this.modules.get(occupant)!.state = "missing";
    this.byPlace.set(key, number);
    const m = this.modules.get(number)!;
    const channels = new Map<number, number>();
    for (const [channel, s] of read) {
      let meter = this.#meterBySerial.get(s);
      if (meter === undefined) {
        this.#meterBySerial.set(s, (meter = this.#nextMeter++));
        changes.push({ kind: "meterNew", module: number, meter });
      } else {
        const from = this.meterLocation(meter)?.module;
        if (from !== undefined && from !== number) {
          const holder = this.modules.get(from)!.meters;
          for (const [c, x] of holder) if (x === meter) holder.delete(c);
          changes.push({ kind: "meterMoved", module: number, meter, from });
        }
      }
      channels.set(channel, meter);
    }
    m.meters = channels;
    const failures = m.failures;
    Object.assign(m, { failures: 0, lastOkMs: nowMs });
    if (m.state === "missing") (m.state = "present"), changes.push({ kind: "restored", module: number, failures });
    return changes;
  }

  failed(number: number): TopologyChange[] {
    const m = this.modules.get(number);
    if (!m) return [];
    m.failures++;
    if (m.state === "missing" || m.failures < this.missingAfter) return [];
    m.state = "missing";
    return [{ kind: "missing", module: number, failures: m.failures }];
  }

  succeeded(number: number, nowMs: number): TopologyChange[] {
    const m = this.modules.get(number);
    if (!m) return [];
    const failures = m.failures;
    Object.assign(m, { failures: 0, lastOkMs: nowMs });
    if (m.state !== "missing") return [];
    m.state = "present";
    return [{ kind: "restored", module: number, failures }];
  }

  /** What a reboot keeps: identity, place and meters (a meter behind no module is forgotten); health is learnt again (a module out of its place is missing). */
  reboot(): void {
    for (const [serial, meter] of this.#meterBySerial) if (!this.meterLocation(meter)) this.#meterBySerial.delete(serial);
    for (const [n, m] of this.modules) {
      const inPlace = this.byPlace.get(`${m.path}/${m.address.replace(/^0+/, "")}`) === n;
      Object.assign(m, { failures: 0, lastOkMs: -1, state: inPlace ? "present" : "missing" });
    }
  }

  meterNumber(serial: string): number | undefined {
    const meter = this.#meterBySerial.get(serial);
    return meter !== undefined && this.meterLocation(meter) ? meter : undefined;
  }

  meterLocation(meter: number): { module: number; channel: number } | undefined {
    for (const [module, m] of this.modules) for (const [channel, x] of m.meters) if (x === meter) return { module, channel };
    return undefined;
  }
}
