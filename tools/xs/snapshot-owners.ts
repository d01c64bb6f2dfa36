#!/usr/bin/env node
/**
 * Who holds the Arrays of an XS machine, read from its snapshot (the format: snapshot-chunks.ts): every
 * Array's chunk (its elements, 16 B each on the device) is put under its holder, named by the path
 * that reaches it, e.g. `Array <- SlotTable <- LatchStore <- Object.persistence.#table.#free`: an
 * Array in the private field `#free` of a SlotTable, itself in `#table` of a LatchStore, in the
 * property `persistence` of a plain object; or `Array <- variable bytes of function next` for one a
 * closure keeps. Comparing a machine with its copy that freed the firmware (site-xs-run
 * `--snapshots DIR`) tells whose Arrays the firmware's chunk figure is made of.
 *
 *   node dist/tools/xs/snapshot-owners.js MACHINE.snap COPY.snap [--all] [--top N] [--depth N]
 *
 * With `--all`, every live slot and chunk instead (`heapOwners`): a slot under the instance whose
 * property chain it is in, a closure's variables and environment under their function (an anonymous
 * one named by the variables it captures), a chunk under its slot's owner; `--depth 0` groups by
 * class alone; a Map's or Set's entries are its own.
 *
 * How a holder is found, in the snapshot's slots (HEAP: a slot's `next` and references are slot
 * indexes, 1-based): an Array is an instance whose first property is the ARRAY slot that owns the
 * chunk; the first reference to that instance found is its holder: a property (the chain it is in
 * leads back to the instance that has it; a private field's chain starts at the PRIVATE slot of its
 * instance), an element of another Array, or a closure's variable (a CLOSURE slot of a function's
 * environment points at it; the function is the one whose CODE slot has that environment). A class is
 * named by its prototype's `constructor`'s `name`; a property by its key (KEYS: the key IDs' strings).
 * With several holders, the first reference in the heap's order names it: the same Array may be
 * named by another holder in another snapshot, so compare totals of a class and field, not one path.
 * Only the host's 64-bit layout (32-byte slots, 32-bit IDs) is read: what xsnap makes here.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { atomOf, BYTES_KINDS, SnapshotFormatError, snapshotAtoms } from "./snapshot-chunks.js";

/** XS kinds (xsAll.h). */
const KIND = Object.freeze({ string: 5, reference: 10, closure: 11, instance: 13, array: 16, code: 19, list: 45, private: 46 });
/** On the 32-bit device: an Array's chunk is a header and 16 B an element (snapshot-chunks.ts). */
const DEVICE = Object.freeze({ header: 8, slot: 16 });
const SLOT = 32, POINTER = 8;

export interface OwnerFigures {
  arrays: number;
  elements: number;
  /** Device layout. */
  deviceBytes: number;
}

/** What an owner holds of the heap: its instances' own slots (an instance and its property chains; a function's closure variables) and the chunks they own (strings, ArrayBuffers' bytes, Arrays' elements). */
export interface HeapOwnerFigures {
  slots: number;
  /** Device layout: chunk headers and elements as on the 32-bit device. */
  chunkBytes: number;
  /** slots × 16 + chunkBytes. */
  deviceBytes: number;
}

/** Device bytes of every Array's chunk by the path of its holder (`depth` holders up). */
export function arrayOwners(snapshot: Uint8Array, depth = 3): Map<string, OwnerFigures> {
  const heap = readHeap(snapshot);
  const owners = new Map<string, OwnerFigures>();
  for (const a of heap.arrays) {
    const key = heap.path(a.instance, depth);
    const f = owners.get(key) ?? { arrays: 0, elements: 0, deviceBytes: 0 };
    f.arrays++, (f.elements += a.elements), (f.deviceBytes += DEVICE.header + DEVICE.slot * a.elements);
    owners.set(key, f);
  }
  return owners;
}

/**
 * Every live slot and chunk by the path of the instance it belongs to (`depth` holders up): a slot to
 * the instance whose property chain (private fields included) it is in, a closure's variable to its
 * function, a chunk to the slot that owns it. Slots in no instance (free slots among them) are put
 * under "(outside an instance)": compare a machine with its copy, as for the Arrays.
 */
export function heapOwners(snapshot: Uint8Array, depth = 3): Map<string, HeapOwnerFigures> {
  const heap = readHeap(snapshot);
  const owners = new Map<string, HeapOwnerFigures>();
  const add = (instance: number, slots: number, chunkBytes: number) => {
    const key = instance ? heap.path(instance, depth) : "(outside an instance)";
    const f = owners.get(key) ?? { slots: 0, chunkBytes: 0, deviceBytes: 0 };
    (f.slots += slots), (f.chunkBytes += chunkBytes), (f.deviceBytes += slots * DEVICE.slot + chunkBytes);
    owners.set(key, f);
  };
  // A chunk shared by several slots (a string assigned on) is counted once, with the first.
  const counted = new Set<number>();
  for (let k = 1; k <= heap.n; k++) {
    if (heap.kind[k]! < 0) continue; // a free slot
    const payload = BYTES_KINDS.has(heap.kind[k]!) ? heap.v0[k]! : 0;
    const bytes = payload && !counted.has(payload) ? (counted.add(payload), heap.chunkPayloadBytes(payload)) : undefined;
    add(heap.ownerOf(k), 1, bytes === undefined ? 0 : DEVICE.header + bytes);
  }
  for (const a of heap.arrays) add(a.instance, 0, DEVICE.header + DEVICE.slot * a.elements);
  return owners;
}

/** The snapshot's slots, read once: their links, kinds and values, and how to name an instance by its holders. */
function readHeap(snapshot: Uint8Array) {
  const atoms = snapshotAtoms(snapshot);
  const atom = (name: string) => atomOf(atoms, name);
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  if (view.getInt8(atom("VERS").offset + 3) !== SLOT) throw new SnapshotFormatError("holders are read from a 64-bit host's snapshot only");
  const heap = atom("HEAP"), bloc = atom("BLOC"), keys = atom("KEYS");
  const n = heap.length / SLOT;
  const next = new Uint32Array(n + 1), kind = new Int8Array(n + 1), id = new Int32Array(n + 1), v0 = new Uint32Array(n + 1), v1 = new Uint32Array(n + 1);
  for (let k = 1; k <= n; k++) {
    const o = heap.offset + (k - 1) * SLOT;
    next[k] = view.getUint32(o, true);
    kind[k] = view.getInt8(o + POINTER);
    id[k] = view.getInt32(o + POINTER + 4, true);
    v0[k] = view.getUint32(o + 2 * POINTER, true);
    v1[k] = view.getUint32(o + 3 * POINTER, true);
  }
  const prev = new Uint32Array(n + 1);
  for (let k = 1; k <= n; k++) {
    const t = next[k]!;
    if (t && t <= n) prev[t] = k;
  }
  const cString = (payload: number) => {
    const from = bloc.offset + payload;
    let to = from;
    while (to < bloc.offset + bloc.length && snapshot[to]) to++;
    return new TextDecoder().decode(snapshot.subarray(from, to));
  };
  const keyCount = keys.length / POINTER;
  const keyName = (i: number) => {
    const k = i > 0 && i < keyCount ? view.getUint32(keys.offset + i * POINTER, true) : 0;
    return k && k <= n && v0[k] ? cString(v0[k]!) : `#${i}`;
  };
  let constructorId = -1, nameId = -1;
  for (let i = 1; i < keyCount && (constructorId < 0 || nameId < 0); i++) {
    const name = keyName(i);
    if (name === "constructor") constructorId = i;
    else if (name === "name") nameId = i;
  }
  // A private field chain's first slot → its instance's PRIVATE slot; a closure's variable → its CLOSURE slot; an environment → its function's CODE slot.
  // A Map's or Set's entries (key, value, next key...: one chain) → the LIST slot of its instance.
  const privateOf = new Map<number, number>(), closureOf = new Map<number, number>(), codeOf = new Map<number, number>(), listOf = new Map<number, number>();
  for (let k = 1; k <= n; k++) {
    if (kind[k] === KIND.private && v1[k]) privateOf.set(v1[k]!, k);
    else if (kind[k] === KIND.list && v0[k]) listOf.set(v0[k]!, k);
    else if (kind[k] === KIND.closure && v0[k] && !closureOf.has(v0[k]!)) closureOf.set(v0[k]!, k);
    else if (kind[k] === KIND.code && v1[k] && !codeOf.has(v1[k]!)) codeOf.set(v1[k]!, k);
  }
  /** The instance whose property chain holds slot `k` (or the chain's first slot when it is no instance's). */
  const chainHead = (k: number) => {
    for (let steps = 0; steps < n; ) {
      while (prev[k] && steps++ < n) k = prev[k]!;
      const owner = privateOf.get(k);
      if (!owner) return k;
      k = owner;
    }
    return k;
  };
  const property = (instance: number, key: number, ofKind: number) => {
    for (let p = next[instance]!, steps = 0; p && steps < n; p = next[p]!, steps++) if (id[p] === key && kind[p] === ofKind) return p;
    return 0;
  };
  const named = (fn: number) => {
    const name = property(fn, nameId, KIND.string);
    return name ? cString(v0[name]!) : undefined;
  };
  /** The names of the variables a function's closure captures (its CODE slot's environment's CLOSURE slots). */
  const captures = (fn: number) => {
    const names: string[] = [];
    for (let p = next[fn]!, steps = 0; p && steps < 8; p = next[p]!, steps++) {
      if (kind[p] !== KIND.code || !v1[p]) continue;
      for (let c = next[v1[p]!]!, m = 0; c && m < 6; c = next[c]!, m++) if (kind[c] === KIND.closure) names.push(keyName(id[c]!));
      break;
    }
    return names.join(",");
  };
  const classNames = new Map<number, string>();
  const className = (instance: number) => {
    const proto = v1[instance]!;
    if (!proto) return "(no prototype)";
    let name = classNames.get(proto);
    if (name === undefined) {
      const ctor = property(proto, constructorId, KIND.reference);
      name = (ctor && named(v0[ctor]!)) || "(anonymous class)";
      classNames.set(proto, name);
    }
    return name;
  };
  const arrays: Array<{ instance: number; payload: number; elements: number }> = [];
  for (let k = 1; k <= n; k++) {
    if (kind[k] !== KIND.array || !v0[k]) continue;
    const size = view.getUint32(bloc.offset + v0[k]! - 2 * POINTER, true) & 0x7fffffff;
    arrays.push({ instance: prev[k] ? chainHead(k) : 0, payload: v0[k]!, elements: (size - 2 * POINTER) / SLOT });
  }
  // The first reference to each instance: a slot of the heap, or an element of an Array.
  const holder = new Map<number, { slot: number } | { inArrayOf: number }>();
  for (let k = 1; k <= n; k++) if (kind[k] === KIND.reference && v0[k] && !holder.has(v0[k]!)) holder.set(v0[k]!, { slot: k });
  for (const a of arrays) {
    for (let e = 0; e < a.elements; e++) {
      const o = bloc.offset + a.payload + e * SLOT;
      const target = view.getUint32(o + 2 * POINTER, true);
      if (view.getInt8(o + POINTER) === KIND.reference && !holder.has(target)) holder.set(target, { inArrayOf: a.instance });
    }
  }
  const path = (instance: number, up: number): string => {
    if (!instance || kind[instance] !== KIND.instance) return "(not an instance)";
    const cls = className(instance) === "Function" ? `Function ${named(instance) || `(capturing ${captures(instance)})`}` : className(instance);
    if (up === 0) return cls;
    const h = holder.get(instance);
    if (!h) return `${cls} <- (no reference)`;
    if ("inArrayOf" in h) return `${cls} <- [] of ${path(h.inArrayOf, up - 1)}`;
    const head = chainHead(h.slot);
    if (kind[head] === KIND.instance) return `${cls} <- ${path(head, up - 1)}.${keyName(id[h.slot]!)}`;
    const closure = closureOf.get(head);
    if (closure) {
      const code = codeOf.get(chainHead(closure));
      return `${cls} <- variable ${keyName(id[closure]!)} of function ${code ? (named(chainHead(code)) ?? "(anonymous)") : "(unknown)"}`;
    }
    return `${cls} <- (slot ${keyName(id[h.slot]!)} outside an instance)`;
  };
  /** The instance a slot belongs to: its chain's, or for a closure's variable its function (0 when none). */
  const ownerOf = (k: number): number => {
    let head = chainHead(k);
    const list = kind[head] === KIND.instance ? undefined : listOf.get(head);
    if (list) head = chainHead(list);
    const closure = kind[head] === KIND.instance ? undefined : closureOf.get(head);
    if (closure) head = chainHead(closure);
    const code = codeOf.get(head); // an environment: its function's
    if (code) head = chainHead(code);
    return head && kind[head] === KIND.instance ? head : 0;
  };
  /** A byte chunk's payload size, its header left out (0 when the offset is no chunk's). */
  const blocView = new DataView(snapshot.buffer, snapshot.byteOffset + bloc.offset, bloc.length);
  const chunkPayloadBytes = (payload: number) => (payload >= 2 * POINTER && payload <= bloc.length ? (blocView.getUint32(payload - 2 * POINTER, true) & 0x7fffffff) - 2 * POINTER : 0);
  return { n, kind, v0, arrays, path, ownerOf, chunkPayloadBytes };
}

export interface OwnerDifference {
  owner: string;
  /** The machine's device bytes less the copy's. */
  deviceBytes: number;
  machine: OwnerFigures;
  copy: OwnerFigures;
}

/** Per holder, the machine's Arrays less its copy's, the largest differences (either sign) first. */
export function ownersDifference(machine: Map<string, OwnerFigures>, copy: Map<string, OwnerFigures>): OwnerDifference[] {
  const none: OwnerFigures = { arrays: 0, elements: 0, deviceBytes: 0 };
  return [...new Set([...machine.keys(), ...copy.keys()])]
    .map((owner) => {
      const m = machine.get(owner) ?? none, c = copy.get(owner) ?? none;
      return { owner, deviceBytes: m.deviceBytes - c.deviceBytes, machine: m, copy: c };
    })
    .filter((d) => d.deviceBytes !== 0)
    .sort((a, b) => Math.abs(b.deviceBytes) - Math.abs(a.deviceBytes) || a.owner.localeCompare(b.owner));
}

/** Per owner, the machine's slots and chunks less its copy's, the largest differences (either sign) first. */
export function heapOwnersDifference(machine: Map<string, HeapOwnerFigures>, copy: Map<string, HeapOwnerFigures>): Array<HeapOwnerFigures & { owner: string }> {
  const none: HeapOwnerFigures = { slots: 0, chunkBytes: 0, deviceBytes: 0 };
  return [...new Set([...machine.keys(), ...copy.keys()])]
    .map((owner) => {
      const m = machine.get(owner) ?? none, c = copy.get(owner) ?? none;
      return { owner, slots: m.slots - c.slots, chunkBytes: m.chunkBytes - c.chunkBytes, deviceBytes: m.deviceBytes - c.deviceBytes };
    })
    .filter((d) => d.deviceBytes !== 0)
    .sort((a, b) => Math.abs(b.deviceBytes) - Math.abs(a.deviceBytes) || a.owner.localeCompare(b.owner));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [machineFile, copyFile] = process.argv.slice(2);
  const top = process.argv.includes("--top") ? Number(process.argv[process.argv.indexOf("--top") + 1]) : 40;
  const depth = process.argv.includes("--depth") ? Number(process.argv[process.argv.indexOf("--depth") + 1]) : 3;
  if (!machineFile || !copyFile) {
    console.error("usage: snapshot-owners MACHINE.snap COPY.snap [--all] [--top N] [--depth N]");
    process.exit(2);
  }
  const machine = readFileSync(machineFile), copy = readFileSync(copyFile);
  if (process.argv.includes("--all")) {
    const rows = heapOwnersDifference(heapOwners(machine, depth), heapOwners(copy, depth));
    console.log(`Slots and chunks, machine less copy (device bytes): ${rows.reduce((s, r) => s + r.deviceBytes, 0)} (slots ${rows.reduce((s, r) => s + r.slots, 0)})`);
    for (const r of rows.slice(0, top)) console.log(`${String(r.deviceBytes).padStart(8)}  ${String(r.slots).padStart(6)} slots ${String(r.chunkBytes).padStart(7)} B  ${r.owner}`);
  } else {
    const rows = ownersDifference(arrayOwners(machine, depth), arrayOwners(copy, depth));
    console.log(`Arrays, machine less copy (device bytes): ${rows.reduce((s, r) => s + r.deviceBytes, 0)}`);
    for (const r of rows.slice(0, top)) console.log(`${String(r.deviceBytes).padStart(8)}  ${`${r.machine.arrays}/${r.machine.elements}`.padStart(10)}  ${`${r.copy.arrays}/${r.copy.elements}`.padStart(10)}  ${r.owner}`);
  }
}
