import assert from "node:assert/strict";
import fc from "fast-check";
import { AtLineAssembler, MAX_LINE_BYTES, type LineSink } from "../../firmware/modem/at/line-assembler.js";

type Event = string; // "line:…", "prompt", "raw:…", "rawEnd", "overflow"

/** Feeds `chunks` into an assembler; `onLine` may react (arm the prompt, announce raw bytes). */
function run(chunks: Uint8Array[], react: (a: AtLineAssembler, line: string) => void = () => undefined): Event[] {
  const events: Event[] = [];
  const sink: LineSink = {
    line: (t) => {
      events.push(`line:${t}`);
      react(a, t);
    },
    prompt: () => events.push("prompt"),
    raw: (b) => events.push(`raw:${Array.from(b).join(".")}`),
    rawEnd: () => events.push("rawEnd"),
    overflow: () => events.push("overflow"),
  };
  const a = new AtLineAssembler(sink);
  for (const c of chunks) a.push(c);
  return events;
}

const bytes = (s: string) => new Uint8Array(Array.from(s, (c) => c.charCodeAt(0)));

/** Raw events merged, so results do not depend on how raw data was chunked. */
function merged(events: Event[]): Event[] {
  const out: Event[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.startsWith("raw:") && last?.startsWith("raw:")) out[out.length - 1] = `${last}.${e.slice(4)}`;
    else out.push(e);
  }
  return out;
}

/** Splits `data` at the given cut points. */
function chunked(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, data.length]) {
    out.push(data.subarray(at, p));
    at = p;
  }
  return out;
}

describe("AT line assembler", () => {
  const table: Array<[string, string, Event[]]> = [
    ["a final result framed by CR LF", "\r\nOK\r\n", ["line:OK"]],
    ["an information line and OK", "\r\n+CSQ: 21,0\r\n\r\nOK\r\n", ["line:+CSQ: 21,0", "line:OK"]],
    ["an echoed command (CR only) then its answer", "AT+CSQ\r\r\n+CSQ: 5,0\r\n\r\nOK\r\n", ["line:AT+CSQ", "line:+CSQ: 5,0", "line:OK"]],
    ["bare LF line ends", "RDY\nCall Ready\n", ["line:RDY", "line:Call Ready"]],
    ["empty lines dropped", "\r\n\r\n\r\n\n\r", []],
    ["NUL bytes skipped", "O\0K\r\n", ["line:OK"]],
    ["a prompt is a line while not armed", "\r\n> \r\n", ["line:> "]],
    ["garbage bytes stay in the line", "\r\n\xff\x80G\r\n", ["line:\xff\x80G"]],
    ["an unterminated line is held", "\r\nOK", []],
  ];
  for (const [name, input, expected] of table) {
    it(`splits ${name}`, () => assert.deepEqual(run([bytes(input)]), expected));
  }

  it("recognises the armed prompt with or without a space and without a line ending", () => {
    for (const input of ["\r\n> ", "> ", "\r\n>"]) {
      const events: Event[] = [];
      const a = new AtLineAssembler({ line: (t) => events.push(`line:${t}`), prompt: () => events.push("prompt"), raw: () => 0, rawEnd: () => 0, overflow: () => 0 });
      a.armPrompt(true);
      a.push(bytes(input));
      assert.deepEqual(events, ["prompt"], JSON.stringify(input));
    }
  });

  it("swallows the prompt's space but not a following line", () => {
    const events: Event[] = [];
    const a = new AtLineAssembler({ line: (t) => events.push(`line:${t}`), prompt: () => events.push("prompt"), raw: () => 0, rawEnd: () => 0, overflow: () => 0 });
    a.armPrompt(true);
    a.push(bytes("> \r\nDATA ACCEPT:0,5\r\n"));
    assert.deepEqual(events, ["prompt", "line:DATA ACCEPT:0,5"]);
  });

  it("takes the announced number of raw bytes after a header line, including CR, LF and NUL", () => {
    const input = new Uint8Array([...bytes("\r\n+CIPRXGET: 2,0,6,0\r\n"), 13, 10, 0, 62, 79, 75, ...bytes("\r\nOK\r\n")]);
    const events = run([input], (a, line) => line.startsWith("+CIPRXGET") && a.expectRaw(6));
    assert.deepEqual(events, ["line:+CIPRXGET: 2,0,6,0", "raw:13.10.0.62.79.75", "rawEnd", "line:OK"]);
  });

  it("drops a line longer than the limit whole, reports it, and goes on with the next", () => {
    const long = "x".repeat(MAX_LINE_BYTES + 1);
    assert.deepEqual(run([bytes(`\r\n${long}\r\nOK\r\n`)]), ["overflow", "line:OK"]);
    assert.deepEqual(run([bytes(`\r\n${"y".repeat(MAX_LINE_BYTES)}\r\n`)]), [`line:${"y".repeat(MAX_LINE_BYTES)}`]);
  });

  it("forgets a partial line and a raw block on reset", () => {
    const events: Event[] = [];
    const a = new AtLineAssembler({ line: (t) => events.push(`line:${t}`), prompt: () => 0, raw: () => events.push("raw"), rawEnd: () => 0, overflow: () => 0 });
    a.push(bytes("+CSQ: 1"));
    a.expectRaw(10);
    a.reset();
    a.push(bytes("OK\r\n"));
    assert.deepEqual(events, ["line:OK"]);
  });

  const printable = fc.string({ minLength: 1, maxLength: 80, unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+:,\" .-_") });

  it("gives the same lines for every chunking of framed responses", () => {
    fc.assert(
      fc.property(fc.array(printable, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), fc.constantFrom("\r\n", "\n", "\r"), (lines, cuts, nl) => {
        const text = lines.map((l) => `${nl}${l}${nl}`).join("");
        const expected = lines.filter((l) => l.length > 0).map((l) => `line:${l}`);
        assert.deepEqual(run(chunked(bytes(text), cuts)), expected);
      }),
      { numRuns: 500 },
    );
  });

  it("delivers raw blocks of any bytes intact for every chunking", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 20 }), (data, cuts) => {
        const framed = new Uint8Array([...bytes(`\r\n+QIRD: ${data.length}\r\n`), ...data, ...bytes("\r\n\r\nOK\r\n")]);
        const events = run(chunked(framed, cuts), (a, line) => line.startsWith("+QIRD:") && a.expectRaw(data.length));
        const expected = [`line:+QIRD: ${data.length}`, ...(data.length ? [`raw:${Array.from(data).join(".")}`, "rawEnd"] : []), "line:OK"];
        assert.deepEqual(merged(events), expected);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on random bytes, and the line after them is read cleanly", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (noise) => {
        const events = run([noise, bytes("\r\nOK\r\n")]);
        assert.equal(events[events.length - 1], "line:OK");
      }),
      { numRuns: 1000 },
    );
  });

  it("never throws with the prompt armed and raw blocks announced at random", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.boolean(), fc.nat(2000), (noise, armed, raw) => {
        run([noise], (a) => {
          a.armPrompt(armed);
          if (raw % 7 === 0) a.expectRaw(raw % 50);
        });
      }),
      { numRuns: 500 },
    );
  });
});
