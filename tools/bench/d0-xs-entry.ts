/**
 * Evaluated inside XS by tools/bench/d0-xs.ts: decodes a readout given as 7E1 wire bytes (parity check
 * and strip, decoder, data sets kept), one command per crank so the XS meter prices exactly that.
 */
import { D0Decoder } from "../../firmware/d0/decoder.js";
import type { DataSet } from "../../firmware/d0/data-set.js";
import { decode7E1InPlace } from "../../hal/serial-7e1.js";
import { serveJsonCommands } from "../xs/json-commands.js";

const inputs: Uint8Array[] = [];

function execute(cmd: { op: "noop" } | { op: "load"; bytes: number[] } | { op: "decode"; index: number }): unknown {
  if (cmd.op === "noop") return {};
  if (cmd.op === "load") {
    inputs.push(Uint8Array.from(cmd.bytes));
    return { index: inputs.length - 1 };
  }
  const chars = inputs[cmd.index]!.slice();
  decode7E1InPlace(chars);
  const sets: DataSet[] = [];
  let errors = 0;
  const d = new D0Decoder({ onDataSet: (ds) => sets.push(ds), onMessage: () => undefined, onError: () => errors++ });
  d.push(chars);
  d.end();
  return { dataSets: sets.length, errors };
}

serveJsonCommands(execute);
