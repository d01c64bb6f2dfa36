/**
 * Parse throughput on Node: our decoder against the smartmeter-obis 4.0.0 peer (Apollon77/smartmeter-obis)
 * on the same corpus, in one run. The peer parses text and checks neither BCC nor parity; we are given
 * each file as a raw 8N1 capture of a 7E1 line (parity bits added), and pay for the parity check and
 * strip (hal/serial-7e1.ts), the BCC, and a DataValue per value. Files the peer's state machine rejects
 * go through its prepareResult() on the text between STX and "!", as peers.md runs them. Ours runs as
 * the firmware does: D0Decoder with every data set kept until its block's verdict.
 */
import { createRequire } from "node:module";
import type { DataSet } from "../../firmware/d0/data-set.js";
import { D0Decoder } from "../../firmware/d0/decoder.js";
import { encode7E1, decode7E1InPlace } from "../../hal/serial-7e1.js";
import { corpusFile, corpusFiles } from "../corpus.js";
import type { Bench } from "./bench.js";

interface PeerD0 {
  initState(): void;
  checkMessage(b: Buffer): boolean;
  handleMessage(b: Buffer): Buffer;
  isProcessComplete(): boolean;
  prepareResult(text: string): unknown;
}

const require = createRequire(import.meta.url);

function peerParse(D0Protocol: new (o: object, cb: (e: unknown, r: unknown) => void) => PeerD0, data: Buffer): number {
  let objects = 0;
  const d0 = new D0Protocol({ transportSerialBaudrate: 300, obisFallbackMedium: 1, debug: 0, logger: () => undefined }, (err, r) => {
    if (!err && r) objects += Object.keys(r as object).length;
  });
  d0.initState();
  let buf: Buffer | undefined = data;
  for (let rounds = 0; buf && buf.length > 0 && !d0.isProcessComplete() && rounds < 10; rounds++) {
    if (!d0.checkMessage(buf)) break;
    buf = d0.handleMessage(buf);
  }
  if (!d0.isProcessComplete()) {
    let text = data.toString("latin1");
    while (text.startsWith("/")) text = text.slice(text.indexOf("\n") + 1 || text.length);
    const stx = text.indexOf("\u0002");
    if (stx >= 0) text = text.slice(stx + 1);
    const bang = text.indexOf("!");
    if (bang >= 0) text = text.slice(0, bang);
    objects = Object.keys(d0.prepareResult(text) as object).length;
  }
  return objects;
}

export const d0Parse: Bench = {
  name: "D0 parse throughput on Node (ours with parity and BCC vs smartmeter-obis 4.0.0)",
  async run() {
    const { D0Protocol } = require("smartmeter-obis") as { D0Protocol: new (o: object, cb: (e: unknown, r: unknown) => void) => PeerD0 };
    const files = corpusFiles().filter((f) => f.startsWith("d0/"));
    const texts = files.map((f) => Buffer.from(corpusFile(f)));
    const wires = texts.map((t) => encode7E1(Uint8Array.from(t)));
    const bytes = texts.reduce((n, t) => n + t.length, 0);
    // Ours as the firmware runs it: parity checked and stripped, every data set kept until its block's verdict.
    const ours = () => {
      let n = 0;
      for (const w of wires) {
        const chars = w.slice();
        decode7E1InPlace(chars);
        let pending: DataSet[] = [];
        const kept: DataSet[][] = [];
        const d = new D0Decoder({
          bareBlocks: true,
          onDataSet: (ds) => pending.push(ds),
          onError: () => undefined,
          onMessage: (m) => {
            if (m.type === "block" || m.type === "error-message") {
              kept.push(pending);
              n += pending.length;
              pending = [];
            }
          },
        });
        d.push(chars);
        d.end();
      }
      return n;
    };
    const peer = () => texts.reduce((n, t) => n + peerParse(D0Protocol, t), 0);
    const time = (fn: () => number, rounds: number) => {
      const t = performance.now();
      for (let i = 0; i < rounds; i++) fn();
      return (performance.now() - t) / rounds;
    };
    for (let i = 0; i < 30; i++) (ours(), peer()); // warm-up
    // Interleave the two so both see the same machine load; report medians (a shared host is noisy).
    const oursRuns: number[] = [], peerRuns: number[] = [], ratios: number[] = [];
    for (let r = 0; r < 21; r++) {
      const o = time(ours, 10);
      const p = time(peer, 10);
      oursRuns.push(o);
      peerRuns.push(p);
      ratios.push(p / o);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const oursMs = median(oursRuns);
    const peerMs = median(peerRuns);
    return {
      "corpus files (d0/)": files.length,
      "corpus bytes": bytes,
      "data sets (ours) / objects (peer)": `${ours()} / ${peer()}`,
      "ours, MB/s": Number((bytes / 1e6 / (oursMs / 1000)).toFixed(2)),
      "smartmeter-obis, MB/s": Number((bytes / 1e6 / (peerMs / 1000)).toFixed(2)),
      "speed-up (ours / peer), median of 21 interleaved rounds": Number(median(ratios).toFixed(2)),
    };
  },
};
