#!/usr/bin/env node
/**
 * A census of what holds the firmware's live heap, per firmware class: the 256-meter site of
 * site-xs-run's run B (the firmware without its uplink) run in Node for `--minutes`, then a V8 heap
 * snapshot of it; the board's power is cut (the firmware's RAM is lost) and a second snapshot taken.
 * The firmware is what the concentrator reaches that the cut freed; each of its objects is counted
 * against its owner, the firmware-class instance nearest to it on its shortest path from the
 * concentrator (a table's rows count against the class that holds the table).
 *
 *   node --max-old-space-size=4096 dist/tools/bench/heap-census.js [--minutes M] [--seed S] [--modules N] [--top N] [--json]
 *
 * V8 is not XS, so each object is counted as XS would count it (docs/memory.md, "Census"): an object,
 * function or closure context is one slot plus one per own property (private fields included: V8's
 * snapshot names them); a Map or Set entry is two slots (key and value); an Array is one slot and its
 * elements are a chunk of 16 B each; a string is a chunk of its length + 1 bytes; an ArrayBuffer's
 * bytes are a chunk. The figures are estimates of the XS heap's shares, for ranking the holders; the
 * exact total is site-xs-run's `peakSlotsWithoutUplink`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getHeapSnapshot } from "node:v8";
import { Site } from "../site/site.js";
import { parseOptions } from "../cli-args.js";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface CensusRow {
  owner: string;
  instances: number;
  slots: number;
  chunkBytes: number;
  /** Slots by what holds them inside the owner: "Map entries", "Array", "Object", a class name, ... */
  parts: Record<string, number>;
}

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** The names of the classes declared in firmware/ (the owners). */
function firmwareClasses(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts")) for (const m of readFileSync(p, "utf8").matchAll(/\bclass\s+([A-Z]\w*)/g)) names.add(m[1]!);
    }
  };
  walk(join(root, "firmware"));
  return names;
}

async function takeSnapshot(): Promise<Snapshot> {
  const parts: Buffer[] = [];
  // Numbers as nodes: else a property holding a small integer has no edge and its slot is not counted.
  for await (const c of getHeapSnapshot({ exposeNumericValues: true } as Parameters<typeof getHeapSnapshot>[0])) parts.push(c as Buffer);
  return JSON.parse(Buffer.concat(parts).toString("utf8")) as Snapshot;
}

export function census(s: Snapshot, alive: ReadonlySet<number>, owners: Set<string>): { rows: CensusRow[]; slots: number; chunkBytes: number } {
  const nf = s.snapshot.meta.node_fields, ef = s.snapshot.meta.edge_fields;
  const NF = nf.length, EF = ef.length;
  const nType = nf.indexOf("type"), nName = nf.indexOf("name"), nSelf = nf.indexOf("self_size"), nEdges = nf.indexOf("edge_count"), nId = nf.indexOf("id");
  const eType = ef.indexOf("type"), eName = ef.indexOf("name_or_index"), eTo = ef.indexOf("to_node");
  const types = s.snapshot.meta.node_types[0], etypes = s.snapshot.meta.edge_types[0];
  const count = s.nodes.length / NF;
  const type = (n: number): string => types[s.nodes[n * NF + nType]!]!;
  const name = (n: number): string => s.strings[s.nodes[n * NF + nName]!]!;
  const firstEdge = new Int32Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n]! + s.nodes[n * NF + nEdges]!;
  const id = (n: number): number => s.nodes[n * NF + nId]!;
  const weak = etypes.indexOf("weak");
  const concentrator = Array.from({ length: count }, (_, n) => n).find((n) => type(n) === "object" && name(n) === "Concentrator");
  if (concentrator === undefined) throw new Error("no Concentrator in the snapshot");
  // The firmware: what the concentrator reaches that the cut of power freed. Each object's owner is
  // the firmware-class instance nearest to it on its shortest path from the concentrator.
  const owner = new Int32Array(count).fill(-1);
  /** The owner's field (or variable) each object was reached through: where in its owner it is. */
  const via: string[] = [];
  owner[concentrator] = concentrator;
  for (let queue = [concentrator], i = 0; i < queue.length; i++) {
    const n = queue[i]!;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) {
      if (s.edges[e * EF + eType] === weak) continue;
      const m = s.edges[e * EF + eTo]! / NF;
      if (owner[m] !== -1 || alive.has(id(m))) continue;
      owner[m] = type(m) === "object" && owners.has(name(m)) ? m : owner[n]!;
      const edge = s.edges[e * EF + eName]!;
      via[m] = owner[m] === m ? "" : owner[n] === n ? (etypes[s.edges[e * EF + eType]!] === "element" ? `[${edge}]` : String(s.strings[edge])) : via[n]!;
      queue.push(m);
    }
  }
  const propEdges = (n: number): { props: number; elements: number } => {
    let props = 0, elements = 0;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) {
      const t = etypes[s.edges[e * EF + eType]!];
      if (t === "property" || t === "context") props++;
      else if (t === "element") elements++;
    }
    return { props, elements };
  };
  const rows = new Map<string, CensusRow>();
  let slots = 0, chunkBytes = 0;
  for (let n = 0; n < count; n++) {
    const o = owner[n]!;
    if (o === -1) continue;
    const t = type(n), nm = name(n);
    let sl = 0, ch = 0, part = nm;
    if (t === "object" || t === "closure" || t === "regexp") {
      const { props, elements } = propEdges(n);
      if (nm === "Array") (sl = 1), (ch = 16 * elements), (part = "Array");
      else if (nm === "Map" || nm === "Set") (sl = 1), (part = `${nm} entries`);
      else if (nm === "system / Context") (sl = 1 + props), (part = "closure variables");
      else sl = 1 + props + elements;
      if (t === "closure") part = "functions";
      else if (!owners.has(nm) && nm !== "Array" && nm !== "Map" && nm !== "Set") part = /Array$/.test(nm) ? "typed arrays" : nm === "Object" ? "Object" : nm;
    } else if (t === "hidden" && nm === "system / Context") {
      sl = 1 + propEdges(n).props;
      part = "closure variables";
    } else if (t === "array" && /OrderedHash(Map|Set)/.test(nm)) {
      // A Map's or Set's table: V8 counts key and value as elements; XS as two slots an entry.
      sl = propEdges(n).elements;
      part = "Map entries";
    } else if (t === "string" || t === "concatenated string" || t === "sliced string") {
      ch = s.nodes[n * NF + nSelf]! > 0 ? nm.length + 1 : 0;
      part = "strings";
    } else if (t === "native" && /ArrayBuffer/.test(nm)) {
      ch = s.nodes[n * NF + nSelf]!;
      part = "typed arrays";
    } else if (t === "number" || t === "bigint") {
      continue; // A number is in its slot in XS.
    } else continue;
    const key = o === concentrator ? "Concentrator" : name(o);
    const row = rows.get(key) ?? { owner: key, instances: 0, slots: 0, chunkBytes: 0, parts: {} };
    if (n === o) row.instances++;
    row.slots += sl;
    row.chunkBytes += ch;
    if (via[n]) part = `${via[n]}: ${part}`;
    if (sl) row.parts[part] = (row.parts[part] ?? 0) + sl;
    rows.set(key, row);
    slots += sl;
    chunkBytes += ch;
  }
  return { rows: [...rows.values()].sort((a, b) => b.slots - a.slots), slots, chunkBytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseOptions(process.argv.slice(2), { minutes: "number", seed: "string", modules: "number", top: "number", json: "boolean" });
  const minutes = o.minutes ?? 15;
  const site = new Site({ seed: o.seed ?? "1", days: 1, modules: o.modules ?? 156, uplink: {}, config: { uplink: undefined } });
  site.world.scheduler.runFor(minutes * 60_000);
  const before = await takeSnapshot();
  // Power gone: the firmware's RAM is lost; what stays is the simulated world (as site-xs-run's copies).
  site.world.board.cutPower();
  site.world.scheduler.runFor(60_000);
  const after = await takeSnapshot();
  const NF = after.snapshot.meta.node_fields.length, nId = after.snapshot.meta.node_fields.indexOf("id");
  const alive = new Set<number>();
  for (let i = nId; i < after.nodes.length; i += NF) alive.add(after.nodes[i]!);
  const c = census(before, alive, firmwareClasses());
  if (o.json) console.log(JSON.stringify({ minutes, ...c }));
  else {
    console.log(`firmware (dominated by the Concentrator) after ${minutes} simulated minutes: ~${c.slots} slots, ~${c.chunkBytes} chunk bytes`);
    console.log("owner".padEnd(28) + "instances".padStart(10) + "slots".padStart(9) + "chunk B".padStart(10) + "  slots by part");
    for (const r of c.rows.slice(0, o.top ?? 30)) {
      const parts = Object.entries(r.parts).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${v}`).join(", ");
      console.log(r.owner.padEnd(28) + String(r.instances).padStart(10) + String(r.slots).padStart(9) + String(r.chunkBytes).padStart(10) + "  " + parts);
    }
  }
}
