import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeCapture, type CaptureFrame } from "../../firmware/d0/capture.js";
import type { DataSet } from "../../firmware/d0/data-set.js";
import { isSound, type D0Block } from "../../firmware/d0/decoder.js";
import { corpusFile, corpusFiles, CORPUS } from "../../tools/corpus.js";
import { decodeEvents, messages } from "./events.js";

const STX = 0x02, ETX = 0x03;

function readouts(path: string): CaptureFrame[] {
  return decodeCapture(corpusFile(path)).filter((f) => f.dataSets.length > 0);
}

function byAddress(frame: CaptureFrame): Map<string, DataSet> {
  return new Map(frame.dataSets.map((d) => [d.address, d]));
}

function only<T>(xs: T[], what: string): T {
  assert.equal(xs.length, 1, `${what}: ${xs.length}`);
  return xs[0]!;
}

function expected(name: string): { values: Record<string, { value?: unknown; unit?: string; values?: Array<{ value: unknown; unit?: string }> }> } {
  return JSON.parse(readFileSync(`${CORPUS}/expected/${name}.json`, "utf8"));
}

/** Compares our data set with a peer's assertion: numbers by numeric view, strings as sent (parts joined like the peer joins them). */
function matchesPeer(ds: DataSet | undefined, want: { value?: unknown; unit?: string; values?: Array<{ value: unknown; unit?: string }> }, what: string): void {
  assert.ok(ds, `${what} decoded`);
  const wantValues = want.values ?? [{ value: want.value, unit: want.unit }];
  if (wantValues.length === ds.values.length) {
    wantValues.forEach((w, i) => {
      const got = ds.values[i]!;
      if (typeof w.value === "number") assert.equal(got.number, w.value, `${what}[${i}] number`);
      else assert.equal(got.value, w.value, `${what}[${i}] value`);
      if (w.unit) assert.equal(got.unit, w.unit, `${what}[${i}] unit`);
    });
    return;
  }
  // One peer string for several &-separated parts: the peer joins them with a space (or ISO "T").
  assert.equal(wantValues.length, 1, what);
  const joined = ds.values.map((v) => v.value).join(" ");
  assert.equal(joined, String(wantValues[0]!.value).replace("T", " "), `${what} joined`);
}

describe("d0 corpus: real readouts decode to the values peers assert", () => {
  it("iskra-mt174-1: mode C readout after an ACK echo, BCC valid, 343 data sets, multi-value groups", () => {
    const f = only(readouts("d0/iskra-mt174-1.bin"), "readouts");
    assert.deepEqual([f.identification, f.mode, f.bcc, f.optionSelect, f.dataSets.length, f.errors], ["ISk5MT174-0001", "C", "ok", "050", 343, []]);
    const m = byAddress(f);
    const exp = expected("iskra-mt174-1").values;
    matchesPeer(m.get("1-0:1.8.1*07"), exp["1-0:1.8.1*7"]!, "1.8.1*07");
    matchesPeer(m.get("1-0:1.6.0*255"), exp["1-0:1.6.0*255"]!, "1.6.0");
    assert.equal(m.get("1-0:1.8.0*255")!.values[0]!.value, "0008048.375");
  });

  it("elster-unknown-1: a data message without identification, BCC valid, values as strings", () => {
    const f = only(readouts("d0/elster-unknown-1.bin"), "readouts");
    assert.deepEqual([f.identification, f.bcc, f.errors], [null, "ok", []]);
    const m = byAddress(f);
    for (const [addr, want] of Object.entries(expected("elster-unknown-1").values)) {
      const got = m.get(addr)!.values[0]!;
      assert.equal(got.value, want.value, addr);
      assert.equal(got.unit, want.unit, addr);
    }
  });

  it("unknown-datablock-1: the peer's BCC 0x3d verifies once the STX is put back", () => {
    const raw = corpusFile("d0/unknown-datablock-1.bin");
    const framed = Uint8Array.of(STX, ...raw, 0x3d);
    const block = messages(decodeEvents([framed]))[0] as D0Block;
    assert.deepEqual([block.bcc, block.dataSets, isSound(block)], ["ok", 14, true]);
  });

  it("landisgyr-uh50-1: its kept BCC 'h' verifies once STX and ETX are put back; the values match the peer", () => {
    const text = corpusFile("d0/landisgyr-uh50-1.txt");
    const s = Buffer.from(text).toString("latin1");
    const start = s.indexOf("\n") + 1;
    const end = s.indexOf("!\n") + 2;
    const framed = Uint8Array.of(STX, ...text.subarray(start, end), ETX, "h".charCodeAt(0));
    const block = messages(decodeEvents([framed]))[0] as D0Block;
    assert.equal(block.bcc, "ok");
    const f = readouts("d0/landisgyr-uh50-1.txt")[0]!;
    assert.equal(f.identification, "LUGCUH50");
    const m = byAddress(f);
    for (const [addr, want] of Object.entries(expected("landisgyr-uh50-1").values)) matchesPeer(m.get(addr), want, addr);
  });

  for (const name of ["landisgyr-uh50-2", "landisgyr-uh50-3", "landisgyr-uh50-4"]) {
    it(`${name}: values match the peer's assertions`, () => {
      const f = readouts(`d0/${name}.txt`)[0]!;
      const m = byAddress(f);
      for (const [addr, want] of Object.entries(expected(name).values)) matchesPeer(m.get(addr), want, addr);
    });
  }

  it("landisgyr-uh50-3: the stray backslash is an error, and the rest of the readout stays", () => {
    const f = readouts("d0/landisgyr-uh50-3.txt")[0]!;
    assert.deepEqual(f.errors.map((e) => e.code), ["bad-data-set"]);
    assert.equal(f.dataSets.length, 66);
  });

  it("landisgyr-zmd120ap-1 and -e350-1: values match vzlogger; the missing CR LF and ETX are reported", () => {
    const z = only(readouts("d0/landisgyr-zmd120ap-1.txt"), "readouts");
    assert.equal(z.dataSets.length, 8);
    for (const [addr, want] of Object.entries(expected("landisgyr-zmd120ap-1").values)) matchesPeer(byAddress(z).get(addr), want, addr);
    assert.deepEqual(z.errors.map((e) => e.code), ["truncated"]);
    const e = only(readouts("d0/landisgyr-e350-1.bin"), "readouts");
    assert.deepEqual([e.identification, e.mode, e.dataSets.length], ["LGZ4ZMF100AC.M27", "C", 23]);
    assert.equal(byAddress(e).get("C.5.0")!.values[0]!.number, 1420);
    assert.equal(byAddress(e).get("0.0")!.values[0]!.value, "        18438636");
  });

  it("siemens-2wr5-1: 50 data sets match the peer, and the placeholder BCC is reported bad", () => {
    const f = only(readouts("d0/siemens-2wr5-1.bin"), "readouts");
    assert.deepEqual([f.identification, f.mode, f.bcc, f.dataSets.length], ["SIEC2WR5", "B", "bad", 50]);
    assert.deepEqual(f.errors.map((e) => e.code), ["bcc-mismatch"]);
    assert.equal(byAddress(f).get("9.20")!.values[0]!.number, 64030874);
    matchesPeer(byAddress(f).get("6.8"), { value: 29.055, unit: "MWh" }, "6.8");
  });

  it("actaris-ace3000-2 and itron-em214-1: values match; the frames end without ETX, which is reported", () => {
    const a = only(readouts("d0/actaris-ace3000-2.bin"), "readouts");
    // smartmeter-obis calls this mode E for any "\"; STD Annex E reserves E for "\2" ("\3" is reserved): mode C.
    assert.deepEqual([a.identification!.slice(0, 3), a.mode, a.bcc], ["ACE", "C", "absent"]);
    assert.equal(byAddress(a).get("F.F")!.values[0]!.value, "00");
    matchesPeer(byAddress(a).get("1.8.0"), { value: 285.4, unit: "kWh" }, "1.8.0");
    assert.deepEqual(a.errors.map((e) => e.code), ["truncated"]);
    const i = only(readouts("d0/itron-em214-1.bin"), "readouts");
    assert.equal(byAddress(i).get("F.F")!.values[0]!.value, "00000000");
    // The peer splits on "#"; the standard knows no such separator, so the value stays as sent.
    assert.equal(byAddress(i).get("0.2.0")!.values[0]!.value, "V01.69#EEA3546C");
  });

  it("corrupted inputs give errors, not values: actaris-ace3000-1, kamstrup-multical66-1 and the negative UH50 files", () => {
    const frames = decodeCapture(corpusFile("d0/actaris-ace3000-1.bin"));
    const errors = frames.flatMap((f) => f.errors.map((e) => e.code));
    assert.ok(errors.includes("garbage") && errors.includes("bad-unit") && errors.includes("truncated"), errors.join());
    assert.ok(!frames.some((f) => f.dataSets.some((d) => d.address === "1.8.0")), "the corrupted 1.8.0 line gives no value");
    assert.ok(!frames.some((f) => f.bcc === "ok"));
    const k = only(readouts("d0/kamstrup-multical66-1.bin"), "readouts");
    assert.deepEqual([k.mode, k.bcc, k.errors.map((e) => e.code)], ["A", "bad", ["bcc-mismatch"]]);
    for (const name of ["landisgyr-uh50-1-corrupt", "landisgyr-uh50-2-corrupt"]) {
      const f = readouts(`d0/negative/${name}.txt`)[0]!;
      assert.ok(f.errors.some((e) => e.code === "value-not-numeric"), name);
      assert.ok(!f.dataSets.some((d) => d.address === "6.8"), `${name}: no value for the corrupted 6.8`);
    }
  });

  it("mode D push telegrams (eHZ, EasyMeter, eBZ, Hager) are mode D with every data set", () => {
    const counts: Record<string, number> = {
      "emh-ehz-1.txt": 4,
      "hager-ehz161-1.txt": 15,
      "easymeter-q3da1024-1.txt": 9,
      "easymeter-q3db1024-1.bin": 9,
      "ebz-dd3-1.txt": 12,
      "ebz-dd3-2.txt": 12,
    };
    for (const [file, n] of Object.entries(counts)) {
      const f = readouts(`d0/${file}`)[0]!;
      assert.deepEqual([f.mode, f.end, f.dataSets.length, f.errors], ["D", "end", n, []], file);
    }
    // The gateway trailer and 0xFF run after the EasyMeter telegram are garbage, in a frame of their own.
    const q = decodeCapture(corpusFile("d0/easymeter-q3db1024-1.bin"));
    assert.equal(q[q.length - 1]!.message, "garbage");
  });
});

describe("d0 corpus: streaming", () => {
  const files = corpusFiles();

  it("gives the same events for every split of every corpus file into two chunks", () => {
    for (const file of files) {
      const bytes = corpusFile(file);
      const whole = JSON.stringify(decodeEvents([bytes], { optionSelect: true, bareBlocks: true }));
      for (let k = 1; k < bytes.length; k++) {
        const split = JSON.stringify(decodeEvents([bytes.subarray(0, k), bytes.subarray(k)], { optionSelect: true, bareBlocks: true }));
        if (split !== whole) assert.fail(`${file}: split at ${k} differs`);
      }
    }
  });

  it("gives the same events when every corpus file arrives one byte at a time", () => {
    for (const file of files) {
      const bytes = corpusFile(file);
      const whole = JSON.stringify(decodeEvents([bytes], { optionSelect: true, bareBlocks: true }));
      const single = JSON.stringify(decodeEvents(Array.from(bytes, (b) => Uint8Array.of(b)), { optionSelect: true, bareBlocks: true }));
      assert.equal(single, whole, file);
    }
  });
});
