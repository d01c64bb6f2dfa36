// firmware/app/slot-table.ts against a Map model: any sequence of writes and removes, then a reopening.
import assert from "node:assert/strict";
import fc from "fast-check";
import { SlotTable } from "../../firmware/app/slot-table.js";
import { StoreFullError } from "../../firmware/store/errors.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { simFlash } from "../store/fixtures.js";

const CAPACITY = 11; // not a multiple of 8: the last byte of free bits is partly beyond the table

/** A record: its id then its value, one byte each. */
const decode = (b: Uint8Array) => (b.length === 2 ? { id: b[0]!, value: b[1]! } : undefined);

function open(journal: StateJournal, loaded: Map<number, number>) {
  return new SlotTable<{ id: number; value: number }>(journal, 5, CAPACITY, (b) => { const r = decode(b); return r && { id: r.id, value: r }; }, (r) => loaded.set(r.id, r.value));
}

describe("app: slot table", () => {
  it("keeps every id's record in a key of its own, refuses the one too many, reuses freed keys, and reads back the same after a reboot", () => {
    const op = fc.oneof(fc.record({ write: fc.integer({ min: 0, max: 20 }), value: fc.integer({ min: 0, max: 255 }) }), fc.record({ remove: fc.integer({ min: 0, max: 20 }) }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { flash } = simFlash(8, 4096);
        const journal = StateJournal.open(flash, { keyCount: 64 });
        const table = open(journal, new Map());
        const model = new Map<number, number>();
        for (const o of ops) {
          if ("write" in o) {
            const full = !model.has(o.write) && model.size === CAPACITY;
            if (full) assert.throws(() => table.write(o.write, Uint8Array.of(o.write, o.value)), StoreFullError);
            else {
              table.write(o.write, Uint8Array.of(o.write, o.value));
              model.set(o.write, o.value);
            }
          } else {
            table.remove(o.remove);
            model.delete(o.remove);
          }
          assert.equal(table.size, model.size);
          const slots = [...model.keys()].map((id) => table.slot(id)!);
          assert.ok(slots.every((s) => s >= 0 && s < CAPACITY), "within the table");
          assert.equal(new Set(slots).size, slots.length, "a key of its own");
        }
        const loaded = new Map<number, number>();
        const again = open(StateJournal.open(flash, { keyCount: 64 }), loaded);
        assert.deepEqual([...loaded].sort((a, b) => a[0] - b[0]), [...model].sort((a, b) => a[0] - b[0]));
        for (const id of model.keys()) assert.equal(again.slot(id), table.slot(id));
      }),
      { numRuns: 300 },
    );
  });
});
