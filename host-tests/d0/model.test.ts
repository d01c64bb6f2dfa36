import assert from "node:assert/strict";
import fc from "fast-check";
import { DataValue, type DataSet } from "../../firmware/d0/data-set.js";
import { decimalNumber, scaledInteger } from "../../firmware/d0/decimal.js";
import { encodeDataMessage } from "../../firmware/d0/encoder.js";
import { loadProfiles, rowLocalSeconds } from "../../firmware/d0/load-profile.js";
import { parseObis } from "../../firmware/d0/obis.js";
import { readingsOf } from "../../firmware/d0/readings.js";
import { Quantity, registerCode } from "../../firmware/model/records.js";
import { dataSets, decodeEvents } from "./events.js";

const ds = (address: string, ...values: Array<[string, string?]>): DataSet => ({ address, values: values.map(([v, u]) => new DataValue(v, u)), offset: 0 });

describe("d0 numeric view", () => {
  it("converts decimal text to integers exactly, dropping digits below the resolution", () => {
    assert.equal(scaledInteger("0008048.375", 3), 8048375);
    assert.equal(scaledInteger("00052185.7825309", 3), 52185782);
    assert.equal(scaledInteger("-000073.69", 0), -73);
    assert.equal(scaledInteger("+000.8", 3), 800);
    assert.equal(scaledInteger("        18438636", 0), 18438636);
    assert.equal(scaledInteger("233.7", 1), 2337);
    assert.equal(scaledInteger("12345678901234567", 0), undefined);
    assert.equal(scaledInteger("1ISK0063355730", 0), undefined);
    assert.equal(decimalNumber("L1-L2-L3"), undefined);
    assert.equal(decimalNumber("02.468"), 2.468);
  });

  it("agrees with integer arithmetic for every kWh value with three decimals (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999_999 }), fc.integer({ min: 0, max: 4 }), (wh, pad) => {
        const text = "0".repeat(pad) + `${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, "0")}`;
        return scaledInteger(text, 3) === wh;
      }),
    );
  });
});

describe("d0 OBIS addresses", () => {
  it("reads full and short forms, letter codes and billing periods", () => {
    assert.deepEqual(parseObis("1-0:1.8.0*255"), { a: 1, b: 0, c: 1, d: 8, e: 0, f: 255 });
    assert.deepEqual(parseObis("1.8.1"), { a: undefined, b: undefined, c: 1, d: 8, e: 1, f: undefined });
    assert.deepEqual(parseObis("0-0:F.F.0*255"), { a: 0, b: 0, c: 97, d: 97, e: 0, f: 255 });
    assert.deepEqual(parseObis("C.1"), { a: undefined, b: undefined, c: 96, d: 1, e: undefined, f: undefined });
    assert.deepEqual(parseObis("1-0:1.8.1*07")!.f, 7);
    assert.deepEqual(parseObis("P.01"), { a: undefined, b: undefined, c: 99, d: 1, e: undefined, f: undefined });
    assert.equal(parseObis("KZ"), undefined);
    assert.equal(parseObis("1-0:1.8.0*256"), undefined);
  });
});

describe("d0 readings", () => {
  it("maps current electricity registers to readings in their integer resolution", () => {
    const readings = readingsOf(
      [
        ds("1-1:1.8.0*255", ["0008048.375", "kWh"]),
        ds("1-1:1.8.1", ["0006334.294", "kWh"]),
        ds("1-1:2.8.0*255", ["0000012.001", "kWh"]),
        ds("1-1:1.8.0*07", ["0006000.000", "kWh"]), // billing period: not current
        ds("1-2:32.7.0", ["230.1", "V"]),
        ds("1-2:31.7.0", ["+005.23", "A"]),
        ds("1-2:1.7.0", ["-0.908", "kW"]),
        ds("1-1:96.5.5", ["80"]), // status, no quantity
        ds("1-1:1.8.2", ["0000001.000"]), // no unit
        ds("0-0:96.3.10", ["1"]),
      ],
      { meterOf: (b) => (b === 1 ? 10 : b === 2 ? 11 : undefined), time: 1_700_000_000 },
    );
    assert.deepEqual(
      readings.map((r) => [r.meter, r.register, r.value]),
      [
        [10, registerCode(1, 8, 0), 8048375],
        [10, registerCode(1, 8, 1), 6334294],
        [10, registerCode(2, 8, 0), 12001],
        [11, registerCode(32, 7, 0), 2301],
        [11, registerCode(31, 7, 0), 5230],
        [11, registerCode(1, 7, 0), -908],
      ],
    );
    assert.ok(Quantity.energyWh);
  });
});

describe("d0 load profiles", () => {
  it("reads P.01 headers, rows and a new header after a gap from an R5 answer", () => {
    const answer = encodeDataMessage([
      { address: "P.01", values: ["1220823161500", "00000000", "15", "2", "1.5", "kW", "2.5", "kW"].map((value) => ({ value })) },
      { address: "", values: [{ value: "0.18374" }, { value: "0.00078" }] },
      { address: "", values: [{ value: "0.20000" }, { value: "0.00000" }] },
      { address: "P.01", values: ["1220823180000", "00000008", "15", "2", "1.5", "kW", "2.5", "kW"].map((value) => ({ value })) },
      { address: "", values: [{ value: "0.1" }, { value: "0.2" }] },
    ]);
    const sets = dataSets(decodeEvents([answer])).map((d) => ({ address: d.address, values: d.values.map((v) => new DataValue(v.value, v.unit)), offset: 0 }));
    const { blocks, errors } = loadProfiles(sets);
    assert.deepEqual(errors, []);
    assert.equal(blocks.length, 2);
    assert.deepEqual(blocks[0]!.start, { season: 1, year: 2022, month: 8, day: 23, hour: 16, minute: 15, second: 0 });
    assert.deepEqual([blocks[0]!.periodMinutes, blocks[0]!.channels, blocks[0]!.rows.length, blocks[1]!.status], [15, [{ code: "1.5", unit: "kW" }, { code: "2.5", unit: "kW" }], 2, "00000008"]);
    assert.equal(rowLocalSeconds(blocks[0]!, 1) - rowLocalSeconds(blocks[0]!, 0), 900);
    assert.equal(rowLocalSeconds(blocks[0]!, 0), Date.UTC(2022, 7, 23, 16, 15) / 1000);
  });

  it("reports a header whose channel count does not match, and rows of the wrong width", () => {
    const { blocks, errors } = loadProfiles([ds("P.01", ["1220823161500"], ["0"], ["15"], ["2"], ["1.5"], ["kW"]), ds("", ["1"]), ds("P.01", ["1220823161500"], ["0"], ["15"], ["1"], ["1.5"], ["kW"]), ds("", ["1"], ["2"])]);
    assert.equal(blocks.length, 1);
    assert.deepEqual(errors.map((e) => e.code), ["bad-header", "bad-row"]);
  });
});
