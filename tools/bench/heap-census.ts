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
 * V8 is not XS, so each object is counted as XS counts it (XS_SLOTS, measured in xsnap by
 * tools/bench/xs-slot-costs.ts; docs/memory.md, "What XS charges"): an object is one slot plus one per
 * own property (private fields included: V8's snapshot names them), plus one for a firmware class with
 * private members and one per private method (XS gives every instance a slot per private method); a
 * function 9 slots, a closure context one plus one per variable; a Map or Set 4 slots and an entry 3
 * (Map) or 2 (Set); an Array 2 slots and its elements a chunk of 16 B each; a typed array 4 slots and
 * its ArrayBuffer 3 and its bytes a chunk; a string a chunk of its length + 1 bytes. The figures are
 * estimates of the XS heap's shares, for ranking the holders; the exact total is site-xs-heap's.
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

/** What XS charges, in slots (tools/bench/xs-slot-costs.ts measures each in xsnap). */
export const XS_SLOTS = Object.freeze({
  object: 1, function: 9, context: 1, array: 2, map: 4, mapEntry: 3, setEntry: 2, typedArray: 4, arrayBuffer: 3,
  /** Once per instance of a class with private fields or methods, and once per private method. */
  privatePart: 1, privateMethod: 1,
});

const root = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The classes declared in firmware/ (the owners), each with the slots XS adds to its instances
 * beyond their fields: one when it has private members, one per private method.
 */
function firmwareClasses(): Map<string, number> {
  const classes = new Map<string, number>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts")) {
        // Each class's text runs to the next class of the file: enough to count its private methods.
        const text = readFileSync(p, "utf8");
        const found = [...text.matchAll(/\bclass\s+([A-Z]\w*)/g)];
        found.forEach((m, i) => {
          const body = text.slice(m.index, found[i + 1]?.index ?? text.length);
          const methods = body.match(/^\s+(?:async\s+)?(?:get\s+|set\s+)?#\w+\s*\(/gm)?.length ?? 0;
          classes.set(m[1]!, /#\w+/.test(body) ? XS_SLOTS.privatePart + methods * XS_SLOTS.privateMethod : 0);
        });
      }
    }
  };
  walk(join(root, "firmware"));
  return classes;
}

async function takeSnapshot(): Promise<Snapshot> {
  const parts: Buffer[] = [];
  // Numbers as nodes: else a property holding a small integer has no edge and its slot is not counted.
  for await (const c of getHeapSnapshot({ exposeNumericValues: true } as Parameters<typeof getHeapSnapshot>[0])) parts.push(c as Buffer);
  return JSON.parse(Buffer.concat(parts).toString("utf8")) as Snapshot;
}

export function census(s: Snapshot, alive: ReadonlySet<number>, owners: ReadonlyMap<string, number>): { rows: CensusRow[]; slots: number; chunkBytes: number } {
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
  /**
   * A Map's or Set's entries, estimated: V8 shows its table's references to objects and strings, not
   * its numbers, so an entry with an object or a string as key or value is one reference (one with
   * both is counted twice, one with neither not at all).
   */
  const entries = (n: number): number => {
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) {
      if (s.strings[s.edges[e * EF + eName]!] !== "table") continue;
      const table = s.edges[e * EF + eTo]! / NF;
      let refs = 0;
      for (let f = firstEdge[table]!; f < firstEdge[table + 1]!; f++) if (type(s.edges[f * EF + eTo]! / NF) !== "hidden") refs++;
      return refs;
    }
    return 0;
  };
  const rows = new Map<string, CensusRow>();
  let slots = 0, chunkBytes = 0;
  for (let n = 0; n < count; n++) {
    const o = owner[n]!;
    if (o === -1) continue;
    const t = type(n), nm = name(n);
    let sl = 0, ch = 0, part = nm;
    const X = XS_SLOTS;
    if (t === "object" || t === "closure" || t === "regexp") {
      const { props, elements } = propEdges(n);
      if (nm === "Array") (sl = X.array), (ch = 16 * elements), (part = "Array");
      else if (nm === "Map" || nm === "Set") (sl = X.map + entries(n) * (nm === "Map" ? X.mapEntry : X.setEntry)), (part = `${nm} entries`);
      else if (nm === "system / Context") (sl = X.context + props), (part = "closure variables");
      else if (nm === "ArrayBuffer") (sl = X.arrayBuffer), (part = "typed arrays");
      else if (/Array$/.test(nm)) (sl = X.typedArray), (part = "typed arrays");
      else if (t === "closure") (sl = X.function), (part = "functions");
      else sl = X.object + props + elements + (owners.get(nm) ?? 0);
      if (t !== "closure" && !owners.has(nm) && !/Array$|^Map$|^Set$|^ArrayBuffer$|Context$/.test(nm)) part = nm === "Object" ? "Object" : nm;
    } else if (t === "hidden" && nm === "system / Context") {
      sl = X.context + propEdges(n).props;
      part = "closure variables";
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
