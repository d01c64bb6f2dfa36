// The bus statistics' table (firmware/bus/module-stats.ts): rows found by address through one string of
// keys, checked against a Map of objects, one per address.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ModuleStatsTable } from "../../firmware/bus/module-stats.js";
import type { ModuleStats } from "../../firmware/bus/types.js";

const COUNTERS = ["transactions", "ok", "failed", "retries", "timeouts", "errors", "bytesSent", "bytesReceived"] as const;

function zero(): ModuleStats {
  return { transactions: 0, ok: 0, failed: 0, retries: 0, timeouts: 0, errors: 0, bytesSent: 0, bytesReceived: 0, lastResponseMs: 0, maxResponseMs: 0, totalResponseMs: 0 };
}

/** Addresses that are prefixes and suffixes of each other, with leading zeros, empty, or with a line feed. */
const address = fc.oneof(
  fc.constantFrom("1", "12", "123", "0012", "012", "21", "2", "", "0", "000", "1\n2", "\n", "1 2", "A1"),
  fc.stringMatching(/^[0-9A-Z]{0,12}$/),
);

type Op = { kind: "add"; address: string; field: (typeof COUNTERS)[number]; n: number } | { kind: "response"; address: string; ms: number } | { kind: "of"; address: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), address, field: fc.constantFrom(...COUNTERS), n: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ kind: fc.constant("response" as const), address, ms: fc.integer({ min: 0, max: 100_000 }) }),
  fc.record({ kind: fc.constant("of" as const), address }),
);

/** The model's key: the address without leading zeros. */
function key(a: string): string {
  return a.replace(/^0+/, "");
}

describe("bus module statistics table", () => {
  it("keeps each address's statistics as an object per address would, whatever the addresses (property)", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new ModuleStatsTable();
        const model = new Map<string, ModuleStats>();
        const rowOf = (a: string) => {
          if (!model.has(key(a))) model.set(key(a), zero());
          return table.row(a);
        };
        for (const o of ops) {
          if (o.kind === "add") {
            table.add(rowOf(o.address), o.field, o.n);
            model.get(key(o.address))![o.field] += o.n;
          } else if (o.kind === "response") {
            table.response(rowOf(o.address), o.ms);
            const m = model.get(key(o.address))!;
            m.lastResponseMs = o.ms;
            m.maxResponseMs = Math.max(m.maxResponseMs, o.ms);
            m.totalResponseMs += o.ms;
          } else assert.deepEqual(table.of(o.address), model.get(key(o.address)));
        }
        for (const [k, m] of model) assert.deepEqual(table.of(k), m);
      }),
      { numRuns: 300 },
    );
  });

  it("gives a new address a row of zeros and the same row again, leading zeros ignored", () => {
    const table = new ModuleStatsTable();
    const rows = Array.from({ length: 40 }, (_, i) => table.row(String(i + 1)));
    assert.deepEqual(rows, Array.from({ length: 40 }, (_, i) => i));
    assert.equal(table.row("0007"), 6);
    assert.equal(table.row("7"), 6);
    assert.deepEqual(table.of("40"), zero());
    assert.equal(table.of("41"), undefined);
  });
});
