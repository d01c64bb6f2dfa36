// The console's line editor and paced output, alone: properties over any input.
import assert from "node:assert/strict";
import fc from "fast-check";
import { LineEditor, MAX_LINE } from "../../firmware/console/line-editor.js";
import { ConsoleOutput } from "../../firmware/console/output.js";
import type { SerialPort } from "../../hal/serial.js";

function feed(editor: LineEditor, text: string): { echo: string; lines: string[]; cancels: number } {
  const out = { echo: "", lines: [] as string[], cancels: 0 };
  for (let i = 0; i < text.length; i++) {
    const r = editor.feed(text.charCodeAt(i));
    out.echo += r.echo;
    if (r.kind === "line") out.lines.push(r.line);
    if (r.kind === "cancel") out.cancels++;
  }
  return out;
}

describe("console: line editor", () => {
  it("ends a line at CR, LF or CR LF, never two for CR LF", () => {
    assert.deepEqual(feed(new LineEditor(), "a\rb\nc\r\nd\n\re\r\r").lines, ["a", "b", "c", "d", "", "e", ""]);
  });

  it("rubs out with BS and DEL, kills the line with Ctrl-U, cancels with Ctrl-C", () => {
    const e = new LineEditor();
    const r = feed(e, "abx\x08c\x7fd\r");
    assert.deepEqual(r.lines, ["abd"]);
    assert.equal(r.echo, "abx\b \bc\b \bd\r\n");
    assert.deepEqual(feed(e, "junk\x15ok\r").lines, ["ok"]);
    const c = feed(e, "reboot\x03");
    assert.equal(c.cancels, 1);
    assert.equal(c.echo.endsWith("^C\r\n"), true);
    assert.equal(e.text, "");
  });

  it("drops the escape sequences of arrow and function keys and any byte that is not printable", () => {
    assert.deepEqual(feed(new LineEditor(), "a\x1b[A\x1b[1;5Cb\x1bOPc\x1bxd\x00\x80\xffe\r").lines, ["abcde"]);
  });

  it("never yields a line longer than MAX_LINE or with a character that is not printable ASCII (any bytes)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const e = new LineEditor();
        for (const b of bytes) {
          const r = e.feed(b);
          if (r.kind === "line") {
            assert.ok(r.line.length <= MAX_LINE);
            assert.match(r.line, /^[\x20-\x7e]*$/);
          }
          assert.ok(e.text.length <= MAX_LINE);
        }
      }),
    );
  });

  it("gives back exactly the printable text typed, however it is cut by backspaces typed and retyped", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."abcdef 0123=+.".split("")), maxLength: MAX_LINE }), fc.array(fc.nat(), { maxLength: 5 }), (text, cuts) => {
        const e = new LineEditor();
        let typed = "";
        for (const cut of cuts) {
          const n = text.length ? cut % text.length : 0;
          typed += text.slice(0, n) + "\x7f".repeat(n);
        }
        assert.deepEqual(feed(e, typed + text + "\r").lines, [text]);
      }),
    );
  });
});

/** A transmit FIFO that takes what fits and drains when told. */
class FifoPort implements SerialPort {
  readonly sent: number[] = [];
  level = 0;
  writes = 0;
  read(): undefined {
    return undefined;
  }
  write(bytes: Uint8Array): boolean {
    if (bytes.length > 128 - this.level) throw new Error("output full");
    this.writes++;
    this.level += bytes.length;
    this.sent.push(...bytes);
    return true;
  }
  get writable(): number {
    return 128 - this.level;
  }
  readonly overruns = 0;
  close(): void {}
}

describe("console: paced output", () => {
  it("writes only what the FIFO has room for, and everything, in order (any texts, any drain pattern)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme-ascii", maxLength: 300 }), { maxLength: 20 }), fc.array(fc.integer({ min: 0, max: 128 }), { minLength: 1, maxLength: 50 }), (texts, drains) => {
        const port = new FifoPort();
        const out = new ConsoleOutput(256);
        out.attach(port);
        let k = 0;
        for (const t of texts) {
          out.write(t);
          port.level = Math.max(0, port.level - drains[k++ % drains.length]!);
          out.pump();
        }
        while (out.pending > 0) {
          port.level = 0;
          out.pump();
        }
        const expected = texts.join("").replace(/[^\x20-\x7e]/g, "?");
        assert.equal(String.fromCharCode(...port.sent), expected);
        assert.equal(out.written, expected.length);
      }),
    );
  });

  it("keeps everything queued when the port refuses a write (free space over-estimated)", () => {
    const port = new FifoPort();
    const out = new ConsoleOutput(256);
    out.attach({ ...port, read: () => undefined, write: () => false, writable: 128, overruns: 0, close() {} });
    out.write("hello\r\n");
    assert.equal(out.pending, 7);
    out.attach(port);
    out.pump();
    assert.equal(String.fromCharCode(...port.sent), "hello\r\n");
  });
});
