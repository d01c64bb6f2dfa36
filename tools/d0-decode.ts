#!/usr/bin/env node
/**
 * Decodes IEC 62056-21 bytes (a capture file, or standard input with "-") and prints every frame found,
 * as JSON: identification, mode, BCC status, data sets (values exactly as sent) and typed errors with
 * their byte offsets. docs/d0.md describes the output.
 *
 *   npm run --silent d0-decode -- [--parity] FILE|-
 *
 * --parity: the bytes are a raw 8N1 capture of a 7E1 line; bit 7 is the parity bit, checked and
 * stripped, and a character with wrong parity is an error at its offset.
 */
import { readFileSync } from "node:fs";
import { decode7E1InPlace } from "../hal/serial-7e1.js";
import { decodeCapture, type CaptureFrame } from "../firmware/d0/capture.js";
import { parseOptions, UsageError } from "./cli-args.js";

/** The JSON shape of one frame (docs/d0.md). */
export function frameJson(f: CaptureFrame): Record<string, unknown> {
  const out: Record<string, unknown> = {
    message: f.message,
    identification: f.identification,
    mode: f.mode,
    bcc: f.bcc,
    dataSets: f.dataSets.map((d) => ({ address: d.address, values: d.values.map((v) => v.toJSON()) })),
    errors: f.errors.map((e) => ({ code: e.code, offset: e.offset })),
    offset: f.offset,
  };
  for (const k of ["end", "address", "command", "optionSelect", "text"] as const) if (f[k] !== undefined) out[k] = f[k];
  return out;
}

export function decodeBytes(bytes: Uint8Array, parity: boolean): { frames: Record<string, unknown>[] } {
  const input = Uint8Array.from(bytes);
  if (parity) decode7E1InPlace(input);
  return { frames: decodeCapture(input, { parityMarked: parity }).map(frameJson) };
}

function main(): void {
  const o = parseOptions(process.argv.slice(2), { parity: "boolean" });
  const file = o._[0];
  if (file === undefined || o._.length > 1) throw new UsageError("usage: d0-decode [--parity] FILE|-");
  const bytes = readFileSync(file === "-" ? 0 : file);
  console.log(JSON.stringify(decodeBytes(bytes, o.parity ?? false)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`d0-decode: ${e.message}`);
      process.exitCode = 2;
    } else if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      console.error(`d0-decode: ${(e as Error).message}`);
      process.exitCode = 1;
    } else throw e;
  }
}
