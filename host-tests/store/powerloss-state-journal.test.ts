// The state journal alone, under a cut after every program/erase of a put-heavy workload that
// collects garbage many times, and under a second cut right after the first recovery: every key is
// exactly its old or its new value; a multi-key write lands whole or not at all.
import assert from "node:assert/strict";
import { PowerLossError } from "../../hal/sim/power-domain.js";
import { Prng } from "../../hal/sim/prng.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { simFlash } from "./fixtures.js";

const KEYS = 16;
const STEPS = 160;

interface Model {
  values: Map<number, string>;
  inFlight: Map<number, string> | undefined;
}

const hex = (b: Uint8Array | undefined) => (b ? Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("") : "-");

/** Step i: a put, a two-key atomic write, or a maintenance step (choices depend on i only). */
function step(j: StateJournal, m: Model, i: number): void {
  const r = new Prng(`journal/${i}`);
  const x = r.next();
  if (x < 0.2) {
    j.maintain();
    return;
  }
  const keys = x < 0.8 ? [r.int(KEYS)] : [r.int(KEYS / 2), KEYS / 2 + r.int(KEYS / 2)];
  const entries = keys.map((k) => [k, new Uint8Array(1 + r.int(60)).map(() => r.int(256))] as const);
  m.inFlight = new Map(entries.map(([k, v]) => [k, hex(v)]));
  j.putAll(entries);
  for (const [k, v] of m.inFlight) m.values.set(k, v);
  m.inFlight = undefined;
}

/** Every key old or new; the keys of the interrupted write all old or all new. */
function check(j: StateJournal, m: Model): void {
  let landed: boolean | undefined;
  for (let k = 0; k < KEYS; k++) {
    const got = hex(j.get(k));
    const old = m.values.get(k) ?? "-";
    const fresh = m.inFlight?.get(k);
    if (fresh !== undefined && fresh !== old) {
      assert.ok(got === old || got === fresh, `key ${k}: ${got} is neither ${old} nor ${fresh}`);
      const isNew = got === fresh;
      assert.ok(landed === undefined || landed === isNew, "an atomic write landed in part");
      landed = isNew;
    } else assert.equal(got, old, `key ${k}`);
    m.values.set(k, got === "-" ? old : got);
  }
  m.inFlight = undefined;
}

function operationsOfUncutRun(): number {
  const { flash } = simFlash(6, 1024);
  const j = StateJournal.open(flash, { keyCount: 64 });
  const m: Model = { values: new Map(), inFlight: undefined };
  for (let i = 0; i < STEPS; i++) step(j, m, i);
  return flash.counters.operations;
}

describe("powerloss: state journal, a cut at every operation, and a second cut after recovery", () => {
  it("keeps every key exactly old or new through garbage collection", () => {
    const total = operationsOfUncutRun();
    let collections = 0;
    for (let n = 1; n <= total; n++) {
      for (const second of [0, 1, 3]) {
        const rig = simFlash(6, 1024, `cut-${n}`);
        const m: Model = { values: new Map(), inFlight: undefined };
        let j = StateJournal.open(rig.flash, { keyCount: 64 });
        rig.flash.cutAtOperation(n);
        let i = 0;
        let cuts = 0;
        while (i < STEPS) {
          try {
            for (; i < STEPS; i++) step(j, m, i);
          } catch (e) {
            if (!(e instanceof PowerLossError)) throw e;
            cuts++;
            i++;
            rig.domain.powerOn();
            j = StateJournal.open(rig.flash, { keyCount: 64 });
            check(j, m);
            if (cuts === 1 && second > 0) rig.flash.cutAtOperation(second);
          }
        }
        check(j, m);
        collections += j.stats.collections;
      }
    }
    assert.ok(total > 100 && collections > total, `operations ${total}, collections ${collections}`);
  });
});
