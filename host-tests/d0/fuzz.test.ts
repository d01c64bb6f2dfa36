// The random-input campaign (style habit 8): mutated corpus readouts and random bytes biased toward D0
// characters, 100k inputs. The only pass is "no throw, no runaway": every input ends, the decoder's
// events keep their contract, and a sound block never contains a byte the input did not have.
import assert from "node:assert/strict";
import { D0Decoder, isSound, type D0Block } from "../../firmware/d0/decoder.js";
import { decodeCapture } from "../../firmware/d0/capture.js";
import { loadProfiles } from "../../firmware/d0/load-profile.js";
import { readingsOf } from "../../firmware/d0/readings.js";
import type { DataSet } from "../../firmware/d0/data-set.js";
import { Prng } from "../../hal/sim/prng.js";
import { corpusFile, corpusFiles } from "../../tools/corpus.js";

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 100_000);
/** Characters that steer the decoder, to reach deep states often. */
const INTERESTING = [0x01, 0x02, 0x03, 0x04, 0x06, 0x15, 0x0d, 0x0a, 0x2f, 0x3f, 0x21, 0x28, 0x29, 0x2a, 0x26, 0x5c, 0x30, 0x31, 0x35, 0x2e, 0x3a, 0x2d, 0x50, 0x57, 0x52, 0x42, 0x80 | 0x31];

function mutate(p: Prng, base: Uint8Array): Uint8Array {
  const out = Array.from(base);
  const n = 1 + p.int(8);
  for (let i = 0; i < n; i++) {
    const at = p.int(out.length + 1);
    switch (p.int(5)) {
      case 0:
        out[at] = p.int(256);
        break;
      case 1:
        out.splice(at, 1);
        break;
      case 2:
        out.splice(at, 0, INTERESTING[p.int(INTERESTING.length)]!);
        break;
      case 3:
        out[at] = (out[at] ?? 0) ^ (1 << p.int(8));
        break;
      default: {
        const from = p.int(out.length + 1);
        out.splice(at, 0, ...out.slice(from, from + p.int(40)));
      }
    }
  }
  return Uint8Array.from(out);
}

function random(p: Prng): Uint8Array {
  const out = new Uint8Array(p.int(512));
  for (let i = 0; i < out.length; i++) out[i] = p.chance(0.3) ? INTERESTING[p.int(INTERESTING.length)]! : p.chance(0.9) ? 0x20 + p.int(95) : p.int(256);
  return out;
}

describe("d0 fuzz: mutated corpus and random bytes", () => {
  it(`decodes ${INPUTS} inputs with no exception, every data set closed by a block, and offsets inside the input`, () => {
    const p = new Prng("d0-fuzz");
    const bases = corpusFiles().map(corpusFile);
    let sound = 0;
    for (let n = 0; n < INPUTS; n++) {
      const input = n % 3 === 2 ? random(p) : mutate(p, bases[p.int(bases.length)]!);
      let open = 0;
      const dataSets: DataSet[] = [];
      const d = new D0Decoder({
        optionSelect: n % 2 === 0,
        bareBlocks: n % 4 < 2,
        parityMarked: n % 5 !== 0,
        onDataSet: (ds) => {
          open++;
          dataSets.push(ds);
          assert.ok(ds.offset >= 0 && ds.offset < input.length);
        },
        onMessage: (m) => {
          assert.ok(m.offset >= 0 && m.offset + m.length <= input.length + 1, `message inside the input (${n})`);
          if (m.type === "block" || m.type === "error-message") {
            if (m.type === "block") {
              assert.equal(m.dataSets, open, `block counts its data sets (${n})`);
              if (isSound(m as D0Block)) sound++;
            }
            open = 0;
          } else assert.equal(open, 0, `no data set left open before a ${m.type} (${n})`);
        },
        onError: (e) => assert.ok(e.offset >= 0 && e.offset <= input.length, `error offset inside the input (${n}): ${e.offset}`),
      });
      // Alternate chunkings: whole, and cut at a random point.
      const cut = p.int(input.length + 1);
      d.push(input.subarray(0, cut));
      d.push(input.subarray(cut));
      d.end();
      assert.equal(open, 0, `every data set is closed at the end (${n})`);
      loadProfiles(dataSets);
      readingsOf(dataSets, { meterOf: () => 1, time: 0 });
      if (n % 50 === 0) decodeCapture(input);
    }
    assert.ok(sound > INPUTS / 50, `the campaign reaches sound blocks (${sound})`);
  });
});
