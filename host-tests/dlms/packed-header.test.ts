import assert from "node:assert/strict";
import fc from "fast-check";
import { packHeader, unpackHeader } from "../../firmware/dlms/integration/packed-header.js";
import type { ProfileHeader } from "../../firmware/dlms/client/scripts.js";

/** A header as a meter gives it: A-XDR ranges of each field (class id and data index long-unsigned, attribute and scaler integer, unit enum). */
const header: fc.Arbitrary<ProfileHeader> = fc
  .array(
    fc.record({
      column: fc.record({
        classId: fc.integer({ min: 0, max: 0xffff }),
        ln: fc.uint8Array({ minLength: 6, maxLength: 6 }),
        attribute: fc.integer({ min: -128, max: 127 }),
        dataIndex: fc.integer({ min: 0, max: 0xffff }),
      }),
      scaler: fc.option(fc.record({ scaler: fc.integer({ min: -128, max: 127 }), unit: fc.integer({ min: 0, max: 255 }) }), { nil: undefined }),
    }),
    { maxLength: 40 },
  )
  .chain((cols) =>
    fc.integer({ min: 0, max: 0x7fff_ffff }).map((period) => ({
      // Plain objects, as the client builds them (fast-check's records have no prototype).
      columns: cols.map((c) => ({ ...c.column })),
      period,
      scalers: cols.map((c) => c.scaler && { ...c.scaler }),
    })),
  );

describe("dlms: packed profile headers", () => {
  it("gives back every header it packed, column by column", () => {
    fc.assert(
      fc.property(header, (h) => {
        assert.deepEqual(unpackHeader(packHeader(h)), h);
      }),
    );
  });

  it("keeps a header of ten columns in one array of 71 numbers", () => {
    const h: ProfileHeader = { columns: Array.from({ length: 10 }, (_, i) => ({ classId: 3, ln: Uint8Array.of(1, 0, 1, 8, i, 255), attribute: 2, dataIndex: 0 })), period: 900, scalers: Array(10).fill({ scaler: -3, unit: 30 }) };
    assert.equal(packHeader(h).length, 71);
  });
});
