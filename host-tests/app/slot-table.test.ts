// firmware/app/slot-table.ts against a Map model: any sequence of writes and removes, then a reopening.
import assert from "node:assert/strict";
import fc from "fast-check";
import { SlotTable } from "../../firmware/app/slot-table.js";
import { StoreFullError } from "../../firmware/store/errors.js";
import { StateJournal } from "../../firmware/store/state-journal.js";
import { simFlash } from "../store/fixtures.js";

const CAPACITY = 11; // not a multiple of 8: the last byte of free bits is partly beyond the table

/** Ids from a small set spread over the whole u32 range (the table keeps them sorted for its search). */
const IDS = [0, 1, 2, 3, 7, 8, 9, 200, 255, 256, 65_535, 65_536, 1 << 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1, 12_345, 99, 5, 6];

/** A record: its id's index in IDS then its value, one byte each. */
const decode = (b: Uint8Array) => (b.length === 2 ? { id: IDS[b[0]!]!, value: b[1]! } : undefined);

function open(journal: StateJournal, loaded: Map<number, number>) {
  return new SlotTable<{ id: number; value: number }>(journal, 5, CAPACITY, (b) => { const r = decode(b); return r && { id: r.id, value: r }; }, (r) => loaded.set(r.id, r.value));
}

describe("app: slot table", () => {
  it("keeps every id's record in a key of its own, refuses the one too many, reuses freed keys, and reads back the same after a reboot", () => {
    const op = fc.oneof(fc.record({ write: fc.integer({ min: 0, max: IDS.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), fc.record({ remove: fc.integer({ min: 0, max: IDS.length - 1 }) }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { flash } = simFlash(8, 4096);
        const journal = StateJournal.open(flash, { keyCount: 64 });
        const table = open(journal, new Map());
        const model = new Map<number, number>();
        for (const o of ops) {
          if ("write" in o) {
            const id = IDS[o.write]!;
            const full = !model.has(id) && model.size === CAPACITY;
            if (full) assert.throws(() => table.write(id, Uint8Array.of(o.write, o.value)), StoreFullError);
            else {
              table.write(id, Uint8Array.of(o.write, o.value));
              model.set(id, o.value);
            }
          } else {
            table.remove(IDS[o.remove]!);
            model.delete(IDS[o.remove]!);
          }
          assert.equal(table.size, model.size);
          for (const id of IDS) assert.equal(table.slot(id) !== undefined, model.has(id), `id ${id} found exactly when it has a record`);
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

  it("refuses an id that is not an unsigned 32-bit integer, and keeps the table as it was", () => {
    const { flash } = simFlash(8, 4096);
    const table = open(StateJournal.open(flash, { keyCount: 64 }), new Map());
    table.write(3, Uint8Array.of(3, 1));
    for (const id of [-1, 2 ** 32, 1.5, Number.NaN]) assert.throws(() => table.write(id, Uint8Array.of(0, 0)), RangeError);
    assert.equal(table.size, 1);
    assert.equal(table.slot(3), 0);
  });
});
