#!/usr/bin/env node
/**
 * Child process of snapshot-chunks.test.ts (the xsnap driver locks down its process: never inside
 * mocha): a tiny XS machine keeps, in turn, each value the arguments describe, and the chunk figures
 * of its snapshot (tools/xs/snapshot-chunks.ts) are printed before and while it keeps it.
 *
 *   node dist/host-tests/tools/xs-chunks-probe.js '[["buffer", 1000], ["array", 100], ["map", 50]]'
 *
 * Prints one JSON array: per value, `{ value, without, with }` (ChunkFigures each). With `--snapshot`
 * instead, prints the machine's snapshot in base64, while it keeps `["array", 10]` or the value given
 * after (`--snapshot '["held", 100]'`: Arrays of 100, 101 and 102 elements in a class's private
 * field, a plain object's property and a closure's variable, and a Uint8Array of n + 3 bytes beside
 * the second, for snapshot-owners.test.ts).
 */
import { chunkFigures } from "../../tools/xs/snapshot-chunks.js";
import { startXs } from "../../tools/xs/xs-worker.js";

/** The machine: a command `[kind, n]` keeps a value of that kind and size, `["drop"]` drops it. */
const MACHINE = `
globalThis.handleCommand = (msg) => {
  const [kind, n] = JSON.parse(new TextDecoder().decode(msg));
  if (kind === "buffer") globalThis.kept = new ArrayBuffer(n);
  else if (kind === "array") { const a = []; for (let i = 0; i < n; i++) a.push(i); globalThis.kept = a; }
  else if (kind === "map") { const m = new Map(); for (let i = 0; i < n; i++) m.set(i, i); globalThis.kept = m; }
  else if (kind === "string") globalThis.kept = "s".repeat(n);
  else if (kind === "closures") { const a = []; for (let i = 0; i < n; i++) a.push(() => i); globalThis.kept = a; }
  else if (kind === "held") {
    const filled = (n) => { const a = []; for (let i = 0; i < n; i++) a.push(i); return a; };
    class Holder { #items = filled(n); get size() { return this.#items.length; } }
    const made = (bytes) => function counter() { return bytes.length; };
    globalThis.kept = { holder: new Holder(), plain: { list: filled(n + 1), bytes: new Uint8Array(n + 3) }, counter: made(filled(n + 2)) };
  }
  else delete globalThis.kept;
  return new TextEncoder().encode("{}").buffer;
};`;

const xs = await startXs(MACHINE, "chunks-probe");
try {
  if (process.argv[2] === "--snapshot") {
    await xs.command(JSON.parse(process.argv[3] ?? '["array", 10]'));
    console.log(Buffer.from(await xs.snapshot()).toString("base64"));
  } else await measure(JSON.parse(process.argv[2] ?? "[]") as Array<[string, number]>);
} finally {
  await xs.close();
}

async function measure(values: Array<[string, number]>): Promise<void> {
  const out = [];
  for (const value of values) {
    await xs.command(["drop"]);
    const without = chunkFigures(await xs.snapshot());
    await xs.command(value);
    out.push({ value, without, with: chunkFigures(await xs.snapshot()) });
  }
  console.log(JSON.stringify(out));
}
